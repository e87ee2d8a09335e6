"""The dashboard on the admin index (issue 14 item 1): figures, links, personas, queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from devdata import orchestration_demo, tracking_demo
from tests.orchestration.conftest import make_reviewer, make_scanned_job
from tracking.models import Asset, AssetStatsSnapshot, Post
from workspace.dashboard import dashboard_tiles

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(superuser):
    tracking_demo.load_demo(superuser, base_url="http://127.0.0.1:8000")
    orchestration_demo.load_demo()


def figures(user) -> dict[str, dict[str, object]]:
    return {t.key: {str(f.label): f.value for f in t.figures} for t in dashboard_tiles(user)}


def more_rows(n: int) -> None:
    """n more of everything the dashboard counts."""
    now = timezone.now()
    for i in range(n):
        make_scanned_job(1000 + i, csam=0.9 if i % 2 else 0.01)
        post = Post.objects.create(
            civitai_id=900000 + i, civitai_url=f"https://civitai.com/posts/{900000 + i}"
        )
        asset = Asset.objects.create(
            asset_url=f"https://cdn.example.com/{i}.png",
            asset_type="image",
            asset_source="upload",
            post=post if i % 2 else None,
            civitai_id=700000 + i,
            civitai_url=f"https://civitai.com/images/{700000 + i}",
        )
        for days, likes in ((5, 1), (1, 10 + i)):
            AssetStatsSnapshot.objects.create(
                asset=asset, captured_at=now - dt.timedelta(days=days), like_count=likes
            )


def test_it_counts_the_queue_by_risk_band_and_the_records_to_finish(data, superuser):
    shown = figures(superuser)
    review = shown["review"]
    # demo: the blocked job (CSAM 0.91, prompt flagged), the R-rated job (prompt
    # flagged), the clean one
    assert review["needing a decision"] == 3
    assert review["CSAM score at threshold"] == 1
    assert review["blocked"] == 1
    assert review["prompt flagged"] == 2
    assert review["lower risk (below threshold, not blocked or flagged)"] == 1
    assert review["jobs flagged in the last 24 h"] == 2
    records = shown["records"]
    assert records["posts pending"] == Post.objects.filter(status="pending").count() == 1
    assert records["assets without sha256"] == 0
    assert records["assets in no post"] == Asset.objects.filter(post=None).count()
    assert shown["sync"]["workflows synced"] is not None


def test_it_ranks_assets_by_reactions_gained_this_week(db, superuser):
    more_rows(3)
    old = Asset.objects.get(civitai_id=700002)
    AssetStatsSnapshot.objects.create(
        asset=old, captured_at=timezone.now() - dt.timedelta(days=30), like_count=0
    )  # before the week: not counted
    growth = next(t for t in dashboard_tiles(superuser) if t.key == "growth")
    assert [(str(f.label), f.value, str(f.note)) for f in growth.figures] == [
        (f"asset #{old.pk}", "+11", "Civitai image 700002"),
        (f"asset #{old.pk - 1}", "+10", "Civitai image 700001"),
        (f"asset #{old.pk - 2}", "+9", "Civitai image 700000"),
    ]


def test_the_csam_band_counts_unreadable_scores_once_and_decided_jobs_never(db, superuser):
    from orchestration.models import Job, ScanResult

    for n, (csam, unparsed, status) in enumerate(
        [
            (0.9, False, "pending"),  # at the threshold
            (0.9, True, "escalated"),  # at the threshold and unreadable: once
            (None, True, "pending"),  # unreadable, no score
            (0.1, True, "pending"),  # unreadable, a low score
            (0.1, False, "pending"),  # below: not in the band
            (0.9, True, "cleared"),  # decided: not waiting
        ]
    ):
        job = make_scanned_job(2000 + n, csam=csam)
        ScanResult.objects.filter(job=job).update(csam_score_unparsed=unparsed)
        Job.objects.filter(pk=job.pk).update(review_status=status)
    review = figures(superuser)["review"]
    assert review["CSAM score at threshold"] == 4
    assert review["needing a decision"] == 5


def test_the_snapshots_reaction_total_is_the_sum_of_the_four_counts(db):
    asset = Asset.objects.create(
        asset_url="https://cdn.example.com/r.png", asset_type="image", asset_source="upload"
    )
    big = 2**31 - 1  # four of them pass the integer range: the total is a bigint
    AssetStatsSnapshot.objects.create(
        asset=asset, like_count=big, heart_count=big, laugh_count=3, cry_count=4, comment_count=9
    )
    AssetStatsSnapshot.objects.create(asset=asset, like_count=1, dislike_count=7)
    totals = AssetStatsSnapshot.objects.order_by("id").values_list("reaction_total", flat=True)
    assert list(totals) == [2 * big + 7, 1]
    assert [s.reactions for s in AssetStatsSnapshot.objects.order_by("id")] == list(totals)


def test_it_links_every_figure_to_its_filtered_list(client, data, superuser):
    client.force_login(superuser)
    html = client.get(reverse("admin:index")).content.decode()
    assert 'id="workspace-dashboard"' in html
    assert 'href="/admin/tracking/post/?status__exact=pending"' in html
    assert 'href="/admin/tracking/asset/?has_sha256=no"' in html
    assert 'href="/admin/tracking/asset/?has_post=no"' in html
    assert 'href="/orchestration/review/?min_csam=0.5"' in html
    assert 'href="/orchestration/review/?prompt_flagged=true"' in html
    for tile in dashboard_tiles(superuser):
        for figure in tile.figures:
            if figure.url:
                assert client.get(figure.url).status_code == 200, figure.url


def test_the_links_land_on_lists_showing_the_counted_rows(client, data, superuser):
    client.force_login(superuser)
    review = {str(f.label): f for f in dashboard_tiles(superuser)[0].figures}
    for label in (
        "CSAM score at threshold",
        "prompt flagged",
        "needing a decision",
        "lower risk (below threshold, not blocked or flagged)",
    ):
        response = client.get(review[label].url)
        assert len(response.context["rows"]) == review[label].value, label
    records = {str(f.label): f for f in dashboard_tiles(superuser)[1].figures}
    response = client.get(records["assets in no post"].url)
    assert response.context["cl"].result_count == records["assets in no post"].value


def test_staff_without_the_review_permission_see_no_queue(client, data, staff):
    assert "review" not in figures(staff)
    client.force_login(staff)
    html = client.get(reverse("admin:index")).content.decode()
    assert "Review queue" not in html.split('id="workspace-dashboard"', 1)[1].split("</section>")[0]


def test_a_reviewer_without_tracking_permissions_sees_the_queue_only(django_user_model, data):
    rita = make_reviewer(django_user_model, "rita")
    assert set(figures(rita)) == {"review", "sync"}


def test_it_keeps_the_same_number_of_queries_whatever_the_data_size(
    client, superuser, django_assert_num_queries
):
    client.force_login(superuser)
    url = reverse("admin:index")
    client.get(url)
    with django_assert_num_queries(18) as small:
        assert client.get(url).status_code == 200
    more_rows(30)
    with django_assert_num_queries(len(small)):
        client.get(url)


def test_it_shows_the_task_runs_last_success_per_kind_and_the_weeks_failures(db, superuser):
    from background.models import TaskRun

    now = timezone.now()
    for kind, status, days in [
        ("sync_workflows", "succeeded", 2),
        ("sync_workflows", "succeeded", 1),
        ("sync_workflows", "failed", 1),
        ("sync_post_stats", "failed", 30),  # older than a week: not counted
    ]:
        TaskRun.objects.create(kind=kind, status=status, finished_at=now - dt.timedelta(days=days))
    sync = next(t for t in dashboard_tiles(superuser) if t.key == "sync")
    shown = {str(f.label): f for f in sync.figures}
    failed = shown["failed task runs, last 7 days"]
    assert failed.value == 1
    last = [f for label, f in shown.items() if label.endswith("last success")]
    assert len(last) == 1 and (now - last[0].value) < dt.timedelta(days=1, minutes=1)


def plan_of(queryset) -> str:
    """PostgreSQL's plan for a handful of test rows, sequential scans ruled out: an index
    is then chosen if one can serve the query."""
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_the_queue_counts_read_the_waiting_jobs_index(data):
    # Index-only at scale (docs/scale.md); unvacuumed test rows may be read as a bitmap.
    from django.db.models import Q

    from orchestration.models import Job

    queued = Job.objects.needing_review()
    for flag in (Q(scan__is_blocked=True), Q(scan__prompt_flagged=True), Q()):
        plan = plan_of(queued.filter(flag).order_by().values("pk")[:10001])
        assert "job_waiting_idx" in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_the_csam_band_reads_the_scores_at_the_threshold_from_the_risk_index(data):
    from django.conf import settings

    from orchestration.models import ScanResult

    # The band's scan side (its jobs are then probed in job_waiting_idx, tested above);
    # a handful of test rows may be planned from the jobs' side instead.
    at_threshold = ScanResult.objects.filter(
        csam_score_max__gte=settings.MODERATION_CSAM_THRESHOLD
    ).values("job_id")
    sql, params = at_threshold.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        # unvacuumed test rows would be read as a bitmap; at scale the range is index-only
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # the job id is in the index (orchestration 0009): no scan row is read
    assert "Index Only Scan using scan_risk_order_idx" in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_the_growth_tile_reads_bounds_and_twenty_assets_not_the_week(db, superuser):
    more_rows(3)
    # The tile's one query (AssetStatsSnapshotQuerySet.top_growth), run again in EXPLAIN.
    with CaptureQueriesContext(connection) as ctx:
        tile = next(t for t in dashboard_tiles(superuser) if t.key == "growth")
    (sql,) = [q["sql"] for q in ctx.captured_queries if "growth_candidate" in q["sql"]]
    assert [str(f.value) for f in tile.figures] == ["+11", "+10", "+9"]
    with connection.cursor() as cursor:
        # a handful of unvacuumed test rows would be read as bitmaps; at 1M they are not
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # the candidates from the bounds' day index, each one's week from its own snapshots
    assert "using week_growth_day_idx" in plan, plan
    assert "using stats_asset_captured_idx" in plan, plan
    # the bounds settled it: the grouping of the whole week is never run
    fallback = plan.split("One-Time Filter: ($")[-1]
    assert "Aggregate (never executed)" in fallback, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_the_snapshot_list_order_is_the_index_order(db):
    # One sync's snapshots share a captured_at: with the time alone in the index the
    # changelist sorted the whole newest group by id to show a page (docs/scale.md).
    more_rows(3)
    plan = plan_of(AssetStatsSnapshot.objects.all()[:100])
    assert "stats_captured_reactions_idx" in plan, plan
    assert "Sort" not in plan, plan
