"""Admin search finds the same records as before, through conditions PostgreSQL can index."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tracking.models import Asset, Post, Prompt

pytestmark = pytest.mark.django_db

TRIGRAM_INDEXES = {
    "tracking_prompt_text_trgm",
    "tracking_prompt_model_trgm",
    "tracking_asset_url_trgm",
    "tracking_asset_civurl_trgm",
    "tracking_post_civurl_trgm",
    "tracking_post_title_trgm",
    "tracking_post_descr_trgm",
}


@pytest.fixture
def records(superuser):
    lantern = Prompt.objects.create(prompt_text="A paper Lantern on a pond", llm_model="flux-1-dev")
    fox = Prompt.objects.create(prompt_text="red fox in a meadow", llm_model="dall-e-3")
    post = Post.objects.create(
        civitai_id=23602354,
        civitai_url="https://civitai.com/posts/23602354",
        title="Lanterns at night",
        description="two tries",
    )
    other = Post.objects.create(civitai_id=77, civitai_url="https://civitai.com/posts/77")
    a = Asset.objects.create(
        asset_url="https://cdn.example.com/lantern.png",
        asset_type="image",
        asset_source="generated",
        input_prompt=lantern,
        post=post,
        sha256sum="ab" * 32,
        civitai_id=106433016,
        civitai_url="https://civitai.com/images/106433016",
    )
    b = Asset.objects.create(
        asset_url="s3://bucket/raw/1.png",
        asset_type="image",
        asset_source="generated",
        input_prompt=lantern,
        post=other,
    )
    c = Asset.objects.create(
        asset_url="https://cdn.example.com/fox.mp4",
        asset_type="video",
        asset_source="generated",
        input_prompt=fox,
    )
    return {"a": a, "b": b, "c": c, "post": post, "other": other}


def found(client, name, q) -> set[int]:
    response = client.get(reverse(name), {"q": q})
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


@pytest.mark.parametrize(
    "q, expected",
    [
        ("lantern", {"a", "b"}),  # URL of a, prompt text of a and b
        ("LANTERN pond", {"a", "b"}),  # every word must match
        ('"paper lantern"', {"a", "b"}),  # a quoted phrase
        ("fox", {"c"}),
        ("ab" * 32, {"a"}),
        (("AB" * 32), {"a"}),  # hashes are stored lower-case
        ("106433016", {"a"}),  # Civitai image id
        ("23602354", {"a"}),  # Civitai post id
        ("77", {"b"}),  # post id of b
        ("raw/1.png", {"b"}),
        ("civitai.com/images/1064", {"a"}),
        ("abababab", {"a"}),  # a sha256 prefix of 8 hex digits
        ("ABABABABABAB", {"a"}),
        ("abababa", set()),  # shorter than 8: not a prefix search
        ("https://civitai.com/posts/23602354/", {"a"}),  # a pasted post URL
        ("https://civitai.com/posts/77", {"b"}),
        ("https://civitai.com/images/106433016?postId=23602354", {"a"}),
        ("not-a-number", set()),
        ("99999999999999999999999", set()),  # beyond BigInteger: no error, no match
    ],
)
def test_it_finds_assets_by_url_prompt_hash_and_ids(client, superuser, records, q, expected):
    client.force_login(superuser)
    assert found(client, "admin:tracking_asset_changelist", q) == {records[k].pk for k in expected}


def test_it_finds_prompts_by_text_and_model(client, superuser, records):
    client.force_login(superuser)
    name = "admin:tracking_prompt_changelist"
    assert len(found(client, name, "lantern")) == 1
    assert len(found(client, name, "DALL-E")) == 1
    assert found(client, name, "nothing-like-this") == set()


def test_it_finds_posts_by_id_url_title_and_description(client, superuser, records):
    client.force_login(superuser)
    name = "admin:tracking_post_changelist"
    post, other = records["post"].pk, records["other"].pk
    assert found(client, name, "23602354") == {post}
    assert found(client, name, "77") == {other}
    assert found(client, name, "lanterns") == {post}
    assert found(client, name, "two tries") == {post}
    assert found(client, name, "posts/77") == {other}
    assert found(client, name, "x77") == set()


def test_it_counts_related_rows_per_row(client, superuser, records):
    client.force_login(superuser)
    response = client.get(reverse("admin:tracking_post_changelist"), {"o": "5"})  # by assets
    rows = {p.pk: p._assets for p in response.context["cl"].result_list}
    assert rows == {records["post"].pk: 1, records["other"].pk: 1}
    response = client.get(reverse("admin:tracking_prompt_changelist"))
    counts = sorted(p._generated for p in response.context["cl"].result_list)
    assert counts == [1, 2]


@pytest.mark.postgres
def test_it_has_the_trigram_indexes_on_postgresql(is_postgres):
    if not is_postgres:
        pytest.skip("PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE 'tracking%_trgm'"
        )
        rows = dict(cursor.fetchall())
    assert set(rows) == TRIGRAM_INDEXES
    assert all("gin_trgm_ops" in d and "upper(" in d for d in rows.values())


@pytest.mark.postgres
@pytest.mark.parametrize(
    "name, q, index",
    [
        ("admin:tracking_prompt_changelist", "lantern", "tracking_prompt_search_gin"),
        ("admin:tracking_prompt_changelist", "flux", "tracking_prompt_model_trgm"),
        ("admin:tracking_post_changelist", "lantern", "tracking_post_title_trgm"),
        ("admin:tracking_asset_changelist", "lantern", "tracking_prompt_text_trgm"),
        ("admin:tracking_asset_changelist", "lantern", "tracking_asset_url_trgm"),
        ("admin:tracking_asset_changelist", "23602354", "tracking_post_civitai_id_key"),
        ("admin:tracking_asset_changelist", "f619aeb4", "tracking_asset_sha256sum_key"),
    ],
)
def test_it_plans_the_admins_search_query_on_the_indexes(
    client, superuser, records, is_postgres, name, q, index
):
    """The admin's own COUNT query for a search can use the index (seq scans disabled so
    that a tiny test table does not make a sequential scan cheaper)."""
    if not is_postgres:
        pytest.skip("PostgreSQL only")
    client.force_login(superuser)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse(name), {"q": q}).status_code == 200
    count_sql = next(
        query["sql"]
        for query in ctx.captured_queries
        if query["sql"].startswith("SELECT COUNT(*)") and "WHERE" in query["sql"]
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + count_sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan
