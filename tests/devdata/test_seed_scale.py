"""seed_scale: a large synthetic data set in bulk, with every link and constraint real."""

import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from devdata import scale
from tests.conftest import table_counts
from tracking.models import Asset, AssetStatsSnapshot, Post, Prompt

pytestmark = pytest.mark.django_db

SMALL = {"posts": 40, "assets": 300, "prompts": 120}


def test_it_creates_the_requested_counts_with_links_and_valid_values():
    counts = scale.seed_scale(**SMALL, batch=64, seed=7)

    assert Post.objects.count() == counts["posts"] == 40
    assert Asset.objects.count() == counts["assets"] == 300
    assert Prompt.objects.count() == counts["prompts"] == 120
    through = Asset.input_assets.through
    assert through.objects.count() == counts["lineage links"] > 0
    assert AssetStatsSnapshot.objects.count() == counts["stats snapshots"] > 0

    # links are present and point at real rows
    assert Asset.objects.filter(post__isnull=False).count() > 150
    assert Asset.objects.filter(input_prompt__isnull=False).count() > 150
    assert Asset.objects.filter(output_prompt__purpose="caption").exists()
    assert not Asset.objects.filter(input_prompt__purpose="caption").exists()
    assert Asset.objects.filter(derived_assets__isnull=False).exists()
    # lineage goes backwards in time: an asset is made from earlier ones
    for link in through.objects.select_related("from_asset", "to_asset")[:50]:
        assert link.to_asset.created_at <= link.from_asset.created_at

    # the mix is realistic, not uniform
    types = dict(Asset.objects.values_list("asset_type").annotate(n=Count("id")))
    assert types["image"] > types["video"] > 0
    statuses = dict(Post.objects.values_list("status").annotate(n=Count("id")))
    assert statuses["published"] > statuses.get("pending", 0)
    assert Post.objects.values("created_by").distinct().count() > 2

    # values satisfy the contract's rules
    for post in Post.objects.all():
        assert post.civitai_url == f"https://civitai.com/posts/{post.civitai_id}"
    hashes = list(Asset.objects.exclude(sha256sum=None).values_list("sha256sum", flat=True))
    assert len(hashes) > 250 and len(set(hashes)) == len(hashes)
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)
    on_civitai = Asset.objects.exclude(civitai_id=None)
    assert on_civitai.exists()
    assert not on_civitai.exclude(post__status="published").exists()
    for asset in on_civitai:
        assert asset.civitai_url == f"https://civitai.com/images/{asset.civitai_id}"
    for asset in Asset.objects.all()[:20]:
        asset.full_clean()
    for prompt in Prompt.objects.all()[:20]:
        prompt.full_clean()
        assert len(prompt.prompt_text.split()) >= 5

    # spread over a year, newest last in id order
    now = timezone.now()
    oldest = Asset.objects.order_by("created_at").first().created_at
    assert now - timedelta(days=366) < oldest < now - timedelta(days=200)
    ids_by_time = list(Asset.objects.order_by("created_at").values_list("id", flat=True))
    assert ids_by_time == sorted(ids_by_time)


def test_it_gives_the_same_text_for_the_same_seed():
    scale.seed_scale(posts=2, assets=5, prompts=10, seed=3)
    first = list(Prompt.objects.order_by("id").values_list("prompt_text", flat=True))
    Asset.objects.all().delete()
    Post.objects.all().delete()
    Prompt.objects.all().delete()
    scale.seed_scale(posts=2, assets=5, prompts=10, seed=3)
    assert list(Prompt.objects.order_by("id").values_list("prompt_text", flat=True)) == first


def test_it_refuses_a_non_empty_database_without_force():
    Prompt.objects.create(prompt_text="a real prompt")
    before = table_counts()
    with pytest.raises(CommandError, match=r"not empty .*Use --force"):
        call_command("seed_scale", "--posts=2", "--assets=2", "--prompts=2", verbosity=0)
    assert table_counts() == before


def test_it_adds_to_existing_data_with_force_without_collisions():
    scale.seed_scale(posts=10, assets=50, prompts=20, seed=1)
    scale.seed_scale(posts=10, assets=50, prompts=20, seed=1, force=True)
    assert Post.objects.count() == 20
    assert Asset.objects.count() == 100
    assert Asset.objects.exclude(sha256sum=None).values("sha256sum").distinct().count() == (
        Asset.objects.exclude(sha256sum=None).count()
    )


def test_it_writes_nothing_when_a_step_fails(monkeypatch):
    real_bulk = scale._bulk

    def failing_bulk(model, objs, *args, **kwargs):
        if model is AssetStatsSnapshot:
            raise RuntimeError("disk full")
        return real_bulk(model, objs, *args, **kwargs)

    monkeypatch.setattr(scale, "_bulk", failing_bulk)
    before = table_counts()
    with pytest.raises(RuntimeError, match="disk full"):
        scale.seed_scale(**SMALL)
    assert table_counts() == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--posts=-1"], "--posts must not be negative"),
        (["--assets=-5"], "--assets must not be negative"),
        (["--batch=0"], "--batch must be at least 1"),
    ],
)
def test_it_refuses_bad_sizes(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("seed_scale", *args, verbosity=0)
    assert not Prompt.objects.exists()


def test_it_reports_what_it_created(capsys):
    call_command("seed_scale", "--posts=3", "--assets=12", "--prompts=6", "--batch=5", verbosity=0)
    out = capsys.readouterr().out
    assert re.search(r"Created 6 prompts, 3 posts, 12 assets, \d+ lineage links, \d+ stats", out)


def test_it_links_assets_without_posts_or_prompts_when_there_are_none():
    counts = scale.seed_scale(posts=0, assets=10, prompts=0)
    assert counts["assets"] == 10
    assert not Asset.objects.filter(post__isnull=False).exists()
    assert not Asset.objects.filter(input_prompt__isnull=False).exists()


def _schema() -> set:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE connamespace = 'public'::regnamespace "
            "UNION ALL SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public'"
        )
        return set(cursor.fetchall())


@pytest.mark.postgres
def test_a_bulk_load_puts_back_every_index_and_constraint(monkeypatch, is_postgres):
    """With every table counted as a large load, keys and indexes are dropped for the
    COPY and rebuilt: the schema afterwards is the schema before, and still refuses."""
    if not is_postgres:
        pytest.skip("PostgreSQL only")
    from django.db import IntegrityError, connection, transaction

    monkeypatch.setattr(scale, "INDEX_REBUILD_ROWS", 1)
    before = _schema()
    counts = scale.seed_scale(**SMALL, workflows=20, seed=4)
    assert counts["workflows"] == 20 and counts["scans"] == 20
    assert _schema() == before
    asset = Asset.objects.exclude(sha256sum=None).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Asset.objects.create(asset_url="https://x.example/a.png", sha256sum=asset.sha256sum)
    with pytest.raises(IntegrityError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the key is deferrable
        Asset.objects.filter(pk=asset.pk).update(post_id=10**9)


@pytest.mark.postgres
def test_the_load_runs_with_the_bulk_session_settings(monkeypatch, is_postgres):
    """The COPY and the index builds run with a large maintenance_work_mem, parallel
    B-tree builds and no flush at commit: without them a 1M load takes minutes longer."""
    if not is_postgres:
        pytest.skip("PostgreSQL only")
    from django.db import connection

    seen = []
    real_bulk = scale._bulk

    def recording_bulk(model, objs, *args, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('maintenance_work_mem'), "
                "current_setting('max_parallel_maintenance_workers'), "
                "current_setting('synchronous_commit')"
            )
            seen.append(cursor.fetchone())
        return real_bulk(model, objs, *args, **kwargs)

    monkeypatch.setattr(scale, "_bulk", recording_bulk)
    scale.seed_scale(**SMALL, seed=5)
    assert seen and set(seen) == {("1GB", "2", "off")}
