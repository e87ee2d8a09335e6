"""Lists that cost the same at 10k and 1M rows (issue 17): capped counts said honestly,
filter choices from the index, searches routed by the term's shape onto indexes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from civitrack.listing import CappedPaginator, ScaledAdminMixin, distinct_values
from devdata import scale
from orchestration.models import Job, Workflow
from tracking.models import Asset, Post

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/tracking/asset/",
    "/admin/tracking/post/",
    "/admin/tracking/prompt/",
    "/admin/tracking/assetstatssnapshot/",
    "/admin/orchestration/workflow/",
    "/admin/orchestration/step/",
    "/admin/orchestration/job/",
    "/admin/orchestration/blob/",
    "/orchestration/",
    "/orchestration/review/",
]


@pytest.fixture
def seeded(db):
    scale.seed_scale(posts=30, assets=120, prompts=60, workflows=80, seed=5)


def queries(client, path: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, path
    return [q["sql"] for q in ctx.captured_queries]


@pytest.fixture
def small_cap(monkeypatch):
    # above a page (50) and above "show all" (kept below the cap, as 200 is below 10,000)
    monkeypatch.setattr(CappedPaginator, "cap", 60)
    monkeypatch.setattr(ScaledAdminMixin, "list_max_show_all", 40)


def test_it_counts_at_most_the_cap_and_says_more_than(client, superuser, seeded, small_cap):
    client.force_login(superuser)
    response = client.get(reverse("admin:tracking_asset_changelist"))
    cl = response.context["cl"]
    assert cl.paginator.capped and cl.result_count == 61
    assert cl.full_result_count is None  # no second COUNT(*) of the whole table
    page = response.content.decode()
    assert "more than 60 assets" in page
    assert "Select all matching (more than 60)" in page
    assert "120" not in page.split('class="paginator"')[1]  # never a number it did not count
    # the rows shown are the newest, as without the cap
    newest = list(Asset.objects.order_by("-created_at", "-id").values_list("pk", flat=True)[:50])
    assert [a.pk for a in cl.result_list] == newest
    assert "showall" not in page

    search = client.get(reverse("admin:tracking_asset_changelist"), {"q": "cdn"})
    assert "more than 60 results" in search.content.decode()


def test_it_gives_the_exact_count_under_the_cap(client, superuser, seeded):
    client.force_login(superuser)
    cl = client.get(reverse("admin:tracking_post_changelist")).context["cl"]
    assert not cl.paginator.capped and cl.result_count == Post.objects.count() == 30
    assert "30 posts" in client.get(reverse("admin:tracking_post_changelist")).content.decode()


def test_the_staff_lists_say_more_than_the_cap(client, superuser, seeded, small_cap):
    client.force_login(superuser)
    page = client.get(reverse("orchestration:workflow_list")).content.decode()
    assert "more than 60 in all" in page
    assert Workflow.objects.count() == 80


@pytest.mark.parametrize("path", PAGES)
def test_every_list_counts_with_a_limit_and_has_no_date_hierarchy(
    client, superuser, seeded, small_cap, path
):
    client.force_login(superuser)
    sql = queries(client, path)
    counts = [s for s in sql if s.startswith("SELECT COUNT(*)")]
    assert counts and all("LIMIT 61" in s for s in counts), counts
    assert not [s for s in sql if "DISTINCT" in s and "DATE_TRUNC" in s.upper()]


def test_filter_choices_come_from_the_index_not_a_full_distinct(client, superuser, seeded):
    client.force_login(superuser)
    sql = queries(client, reverse("admin:tracking_post_changelist"))
    accounts = sorted(set(Post.objects.values_list("civitai_account", flat=True)))
    assert len(accounts) > 1
    assert distinct_values(Post, "civitai_account") == accounts
    page = client.get(reverse("admin:tracking_post_changelist")).content.decode()
    assert all(f"?civitai_account={a}" in page for a in accounts)
    if connection.vendor == "postgresql":
        assert any("WITH RECURSIVE" in s and "civitai_account" in s for s in sql)
        assert not any("SELECT DISTINCT" in s and "civitai_account" in s for s in sql)


def test_a_number_is_searched_as_ids_only(client, superuser, seeded):
    client.force_login(superuser)
    asset = Asset.objects.exclude(civitai_id=None).first()
    for term, expected in [
        (asset.civitai_id, {asset.pk}),
        (
            asset.pk,
            {asset.pk}
            | set(Asset.objects.filter(civitai_id=asset.pk).values_list("pk", flat=True)),
        ),
        (asset.post.civitai_id, set(asset.post.assets.values_list("pk", flat=True))),
    ]:
        with CaptureQueriesContext(connection) as ctx:
            cl = client.get(reverse("admin:tracking_asset_changelist"), {"q": term}).context["cl"]
        assert {a.pk for a in cl.result_list} == expected
        searched = [q["sql"] for q in ctx.captured_queries if "tracking_asset" in q["sql"]]
        assert not any(" LIKE " in s for s in searched)  # no trigram index, no prompt text


def test_a_sha256_prefix_and_a_url_find_their_asset(client, superuser, seeded):
    client.force_login(superuser)
    asset = Asset.objects.exclude(sha256sum=None).first()
    url = reverse("admin:tracking_asset_changelist")
    by_prefix = client.get(url, {"q": asset.sha256sum[:10].upper()}).context["cl"]
    assert [a.pk for a in by_prefix.result_list] == [asset.pk]
    by_url = client.get(url, {"q": asset.asset_url}).context["cl"]
    assert [a.pk for a in by_url.result_list] == [asset.pk]


def test_post_search_routes_numbers_and_text(client, superuser, seeded):
    client.force_login(superuser)
    post = Post.objects.exclude(title=None).first()
    url = reverse("admin:tracking_post_changelist")
    assert [p.pk for p in client.get(url, {"q": post.civitai_id}).context["cl"].result_list] == [
        post.pk
    ]
    word = post.title.split()[0]
    found = {p.pk for p in client.get(url, {"q": word}).context["cl"].result_list}
    assert post.pk in found
    assert found == set(
        Post.objects.filter(title__icontains=word).values_list("pk", flat=True)
    ) | set(Post.objects.filter(description__icontains=word).values_list("pk", flat=True))


def test_related_admin_searches_need_no_join(client, superuser, seeded):
    client.force_login(superuser)
    workflow = Workflow.objects.order_by("id").first()
    cl = client.get("/admin/orchestration/job/", {"q": workflow.civitai_id}).context["cl"]
    assert {j.pk for j in cl.result_list} == set(
        Job.objects.filter(workflow__civitai_id__icontains=workflow.civitai_id).values_list(
            "pk", flat=True
        )
    )
    sql = queries(client, f"/admin/orchestration/job/?q={workflow.civitai_id}")
    page = [s for s in sql if 'FROM "orchestration_job"' in s and not s.startswith("SELECT COUNT")]
    assert page and not any("DISTINCT" in s for s in page)


def test_the_review_queue_leaves_the_json_out_of_its_sort(client, superuser, seeded):
    client.force_login(superuser)
    sql = queries(client, reverse("orchestration:review_queue"))
    page = next(s for s in sql if "orchestration_scanresult" in s and "ORDER BY" in s)
    for column in ('"orchestration_scanresult"."raw"', '"orchestration_scanresult"."context"',
                   '"orchestration_workflow"."raw"', '"orchestration_job"."raw"'):  # fmt: skip
        assert column not in page


@pytest.mark.parametrize(
    "model, left_out",
    [
        ("workflow", ['"orchestration_workflow"."raw"']),
        ("step", ['"orchestration_step"."raw"', '"orchestration_workflow"."raw"']),
        (
            "job",
            [
                '"orchestration_job"."raw"',
                '"orchestration_workflow"."raw"',
                '"orchestration_scanresult"."raw"',
                '"orchestration_scanresult"."context"',
            ],
        ),
        ("blob", ['"orchestration_blob"."raw"', '"orchestration_workflow"."raw"']),
    ],
)
def test_mirror_lists_leave_the_raw_json_unread(client, superuser, seeded, model, left_out):
    client.force_login(superuser)
    path = f"/admin/orchestration/{model}/"
    sql = queries(client, path)
    # The rows' query (the list's other queries name only the columns they count or list).
    rows = [s for s in sql if s.startswith(f'SELECT "orchestration_{model}"."id", ')]
    assert len(rows) == 1
    assert not [column for column in left_out if column in rows[0]]


@pytest.mark.parametrize("path", PAGES)
def test_query_counts_do_not_grow_with_the_data(client, superuser, path):
    client.force_login(superuser)
    scale.seed_scale(posts=2, assets=8, prompts=4, workflows=3, seed=1)
    few = len(queries(client, path))
    scale.seed_scale(posts=30, assets=150, prompts=60, workflows=60, seed=2, force=True)
    assert len(queries(client, path)) == few


# What the WHERE of a query that carries a search contains.
SEARCH_MARKS = (" LIKE ", "= ANY(", '"civitai_id" = ', '"sha256sum" >= ')
SEARCHES = [
    ("/admin/tracking/asset/", "lantern"),
    ("/admin/tracking/asset/", "{image_id}"),
    ("/admin/tracking/asset/", "{sha_prefix}"),
    ("/admin/tracking/asset/", "https://civitai.com/images/{image_id}"),
    ("/admin/tracking/post/", "lantern"),
    ("/admin/tracking/post/", "{post_id}"),
    ("/admin/orchestration/workflow/", "lantern"),
    ("/admin/orchestration/step/", "{workflow_id}"),
    ("/admin/orchestration/job/", "{workflow_id}"),
    ("/admin/orchestration/blob/", "{workflow_id}"),
    ("/orchestration/", "lantern"),
]


@pytest.mark.postgres
@pytest.mark.parametrize("path, term", SEARCHES)
def test_every_search_reads_indexes_only(client, superuser, seeded, is_postgres, path, term):
    """Each query that carries the search is planned on indexes (sequential scans
    disabled, so a tiny test table does not make one look cheaper)."""
    if not is_postgres:
        pytest.skip("PostgreSQL only")
    asset = Asset.objects.exclude(civitai_id=None).exclude(sha256sum=None).first()
    term = term.format(
        image_id=asset.civitai_id,
        sha_prefix=asset.sha256sum[:12],
        post_id=Post.objects.first().civitai_id,
        workflow_id=Workflow.objects.first().civitai_id,
    )
    client.force_login(superuser)
    sql = queries(client, f"{path}?q={term}")
    searched = [
        s
        for s in sql
        if " WHERE " in s and any(m in s.split(" WHERE ", 1)[1] for m in SEARCH_MARKS)
    ]
    assert searched, sql
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for statement in searched:
            cursor.execute("EXPLAIN " + statement)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Seq Scan" not in plan, plan
            assert "Index" in plan, plan


def test_the_dashboard_says_more_than_the_cap(client, superuser, seeded, monkeypatch):
    import workspace.dashboard

    monkeypatch.setattr(workspace.dashboard, "TILE_COUNT_CAP", 10)
    client.force_login(superuser)
    tiles = {t.key: t for t in client.get("/admin/").context["tiles"]}
    queued = {f.label: f.value for f in tiles["review"].figures}["needing a decision"]
    assert queued == 11 and str(queued) == "more than 10"
    no_post = Asset.objects.filter(post=None).count()
    assert no_post > 10
    assert "more than 10" in client.get("/admin/").content.decode()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_row_checkbox_is_the_html_django_renders(seeded, language):
    from django.contrib import admin
    from django.utils import translation

    admins = [a for a in admin.site._registry.values() if isinstance(a, ScaledAdminMixin)]
    assert admins
    odd = Workflow.objects.first()
    odd.civitai_id = "wf-<b>\"&'-1"
    with translation.override(language):
        for model_admin in admins:
            rows = list(model_admin.model._default_manager.all()[:3])
            for obj in [*rows, odd] if model_admin.model is Workflow else rows:
                ours = model_admin.action_checkbox(obj)
                assert ours == admin.ModelAdmin.action_checkbox(model_admin, obj), model_admin
