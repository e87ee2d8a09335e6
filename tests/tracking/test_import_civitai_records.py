"""``import_civitai_records``: a civitai-records database moved into civitrack (issue 18).

The source is a throw-away PostgreSQL database built from tests/tracking/legacy/
civitai_records.sql and filled through its triggers, like the original server fills
it; the civitrack side is the test database (SQLite or PostgreSQL).
"""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from tests.conftest import table_counts
from tests.tracking.legacy.source import source_database
from tracking.legacy_import import EVENT_REASON, import_civitai_records
from tracking.models import Asset, AssetStatsSnapshot, Post, Prompt

pytestmark = pytest.mark.django_db

SHA_A1 = "a1" * 32
SHA_TRACKED = "ee" * 32  # already tracked in civitrack before the import
SHA_A5 = "a5" * 32


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture
def source():
    with source_database() as db:
        yield db


@pytest.fixture
def richard(django_user_model):
    return django_user_model.objects.create_user("richard", password="pw-richard-1")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="pw-bob-1")


@pytest.fixture
def tracked(richard):
    """Records civitrack has before the import: the source's duplicates point at them."""
    return {
        "asset_sha": Asset.objects.create(
            asset_url="https://cdn.example.com/tracked.png",
            asset_type="image",
            asset_source="upload",
            sha256sum=SHA_TRACKED,
        ),
        "asset_civitai": Asset.objects.create(
            asset_url="https://cdn.example.com/tracked-777.png",
            asset_type="image",
            asset_source="upload",
            civitai_id=777,
            civitai_url="https://civitai.com/images/777",
        ),
        "post": Post.objects.create(civitai_id=4242, civitai_url="https://civitai.com/posts/4242"),
    }


@pytest.fixture
def filled(source):
    """Realistic rows, with every conflict of issue 18; returns their source ids."""
    db, ids = source, {}
    ids["p1"] = db.insert(
        "prompts",
        "richard",
        "2025-01-10T09:00:00Z",
        content="a lighthouse at dusk, oil painting",
        llm_model_provider="openai",
        llm_model="gpt-4o",
        purpose="image_generation",
        metadata={"temperature": 0.7},
    )
    db.update("prompts", ids["p1"], "alice", "2025-01-11T10:00:00Z", purpose="video_generation")
    ids["p2"] = db.insert(
        "prompts", "carol", "2025-01-12T08:00:00Z", content="a cat", on_behalf_of="team-x"
    )
    ids["caption"] = db.insert(
        "prompts", "richard", "2025-01-13T08:00:00Z", content="A lighthouse.", purpose="caption"
    )
    ids["p_empty"] = db.insert("prompts", "richard", "2025-01-13T09:00:00Z", content="")
    ids["post1"] = db.insert(
        "civitai_posts",
        "richard",
        "2025-02-01T12:00:00Z",
        civitai_id="23602354",
        civitai_url="https://civitai.com/posts/23602354",
        status="published",
        title="Lighthouses",
        description="three takes",
        metadata={"tags": ["sea"]},
    )
    ids["post_dup"] = db.insert(
        "civitai_posts",
        "richard",
        "2025-02-02T12:00:00Z",
        civitai_id="4242",
        civitai_url="https://civitai.com/posts/4242",
        status="published",
    )
    ids["post_bad_id"] = db.insert(
        "civitai_posts",
        "richard",
        "2025-02-03T12:00:00Z",
        civitai_id="draft-7",
        civitai_url="https://civitai.com/posts/7",
        status="pending",
    )
    ids["post_bad_url"] = db.insert(
        "civitai_posts",
        "alice",
        "2025-02-04T12:00:00Z",
        civitai_id="555",
        civitai_url="https://civitai.com/posts/556",
        status="failed",
        civitai_account="c30",
    )
    ids["a1"] = db.insert(
        "assets",
        "richard",
        "2025-02-01T12:30:00Z",
        asset_type="image",
        asset_source="generated",
        uri="https://cdn.example.com/lighthouse.png",
        sha256sum=SHA_A1,
        input_prompt_id=ids["p1"],
        output_prompt_id=ids["caption"],
        metadata={"width": 1024},
    )
    db.update(
        "assets",
        ids["a1"],
        "alice",
        "2025-02-02T08:00:00Z",
        post_id=ids["post1"],
        civitai_id="106433016",
        civitai_url="https://civitai.com/images/106433016",
    )
    # An old row, recorded before hashing was required and before the audit triggers.
    db.without_triggers(
        "INSERT INTO civitai.assets (asset_type, asset_source, uri, post_id, input_asset_ids,"
        " created_by, updated_by, on_behalf_of, created_at, updated_at) VALUES ('video',"
        " 'generated', 'https://cdn.example.com/old.mp4', %s, %s, 'richard', 'alice',"
        " 'studio', '2024-11-05T10:00:00Z', '2024-11-06T10:00:00Z')",
        [ids["post1"], [ids["a1"]]],
    )
    ids["a2"] = db.conn.execute("SELECT max(id) FROM civitai.assets").fetchone()[0]
    ids["a3_dup_sha"] = db.insert(
        "assets",
        "richard",
        "2025-03-01T00:00:00Z",
        asset_type="image",
        asset_source="upload",
        uri="https://cdn.example.com/same-file.png",
        sha256sum=SHA_TRACKED.upper(),
    )
    ids["a4_dup_civitai"] = db.insert(
        "assets",
        "richard",
        "2025-03-02T00:00:00Z",
        asset_type="image",
        asset_source="upload",
        uri="https://cdn.example.com/777.png",
        civitai_id="777",
    )
    ids["a5_bad_id"] = db.insert(
        "assets",
        "carol",
        "2025-03-03T00:00:00Z",
        asset_type="image",
        asset_source="upload",
        uri="https://cdn.example.com/a5.png",
        sha256sum=SHA_A5,
        civitai_id="see https://civitai.com/images/123",
        civitai_url="https://civitai.com/images/123",
    )
    ids["a6_bad_url"] = db.insert(
        "assets",
        "richard",
        "2025-03-04T00:00:00Z",
        asset_type="image",
        asset_source="upload",
        uri="https://cdn.example.com/a6.png",
        civitai_id="888",
        civitai_url="https://civitai.com/images/889",
    )
    ids["a7_lost_post"] = db.insert(
        "assets",
        "richard",
        "2025-03-05T00:00:00Z",
        asset_type="image",
        asset_source="upload",
        uri="https://cdn.example.com/a7.png",
        post_id=ids["post_bad_id"],
        sha256sum="not-a-hash",
    )
    ids["a8_from_dup"] = db.insert(
        "assets",
        "richard",
        "2025-03-06T00:00:00Z",
        asset_type="video",
        asset_source="generated",
        uri="https://cdn.example.com/a8.mp4",
        input_asset_ids=[ids["a3_dup_sha"], ids["a1"]],
    )
    ids["a9_self"] = db.insert(
        "assets",
        "richard",
        "2025-03-07T00:00:00Z",
        asset_type="image",
        asset_source="generated",
        uri="https://cdn.example.com/a9.png",
    )
    db.update("assets", ids["a9_self"], "richard", "2025-03-08T00:00:00Z",
              input_asset_ids=[ids["a9_self"], ids["a1"]])  # fmt: skip
    # A prompt from before the original had on_behalf_of (and its backfill).
    db.without_triggers(
        "INSERT INTO civitai.prompts (content, created_by, updated_by, created_at, updated_at)"
        " VALUES ('an old prompt', 'richard', 'richard', '2024-10-01T00:00:00Z',"
        " '2024-10-01T00:00:00Z')"
    )
    ids["p_old"] = db.conn.execute("SELECT max(id) FROM civitai.prompts").fetchone()[0]
    db.without_triggers(
        "INSERT INTO civitai.prompts (content, created_by, updated_by, created_at, updated_at)"
        " VALUES ('another old prompt', 'carol', 'carol', '2024-10-02T00:00:00Z',"
        " '2024-10-02T00:00:00Z')"
    )
    ids["p_old_carol"] = db.conn.execute("SELECT max(id) FROM civitai.prompts").fetchone()[0]
    ids["stats_a1"] = db.insert(
        "asset_stats",
        "richard",
        "2025-04-01T00:00:00Z",
        asset_id=ids["a1"],
        like_count=12,
        heart_count=3,
        laugh_count=1,
        cry_count=0,
        dislike_count=2,
        comment_count=5,
    )
    db.update("asset_stats", ids["stats_a1"], "richard", "2025-04-20T00:00:00Z", like_count=15)
    ids["stats_a3"] = db.insert(
        "asset_stats", "richard", "2025-04-01T00:00:00Z", asset_id=ids["a3_dup_sha"]
    )
    return ids


def run(source, **options) -> str:
    out = StringIO()
    args = ["--from", source.url, "--no-progress"]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif isinstance(value, list):
            for item in value:
                args += [flag, item]
        else:
            args += [flag, str(value)]
    call_command("import_civitai_records", *args, stdout=out)
    return out.getvalue()


def imported(model, legacy_id):
    return model.objects.get(legacy_id=legacy_id)


# An imported asset's file is not read (the source database holds no bytes), so its
# perceptual fields stay empty until the hash_perceptual backfill reads it.
NOT_READ = {
    "phash": None,
    "dhash": None,
    "phash_b0": None,
    "phash_b1": None,
    "phash_b2": None,
    "phash_b3": None,
    "video_signature": None,
    "perceptual_checked_at": None,
}


def fields_of(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_it_imports_every_field_of_every_record(source, filled, tracked, richard, bob):
    output = run(source, map_user=["carol=bob"])
    ids = filled
    alice = get_user_model().objects.get(username="alice")
    src = {t: {r["id"]: r for r in source.rows(t)} for t in ("prompts", "civitai_posts", "assets")}

    p1 = imported(Prompt, ids["p1"])
    row = src["prompts"][ids["p1"]]
    assert fields_of(p1) == {
        "id": p1.pk,
        "prompt_text": "a lighthouse at dusk, oil painting",
        "llm_model_provider": "openai",
        "llm_model": "gpt-4o",
        "purpose": "video_generation",
        "metadata": {"temperature": 0.7},
        "legacy_id": ids["p1"],
        "on_behalf_of": "richard",
        "created_by_id": richard.pk,
        "created_at": ts("2025-01-10T09:00:00Z"),
        "updated_at": ts("2025-01-11T10:00:00Z"),
    }
    assert row["updated_at"] == p1.updated_at
    p2 = imported(Prompt, ids["p2"])
    assert p2.created_by == bob  # --map-user carol=bob
    assert (p2.on_behalf_of, p2.metadata) == ("team-x", {})
    assert not Prompt.objects.filter(legacy_id=ids["p_empty"]).exists()
    p_old = imported(Prompt, ids["p_old"])
    assert (p_old.on_behalf_of, p_old.created_by) == ("richard", richard)
    p_old_by_carol = imported(Prompt, ids["p_old_carol"])
    assert (p_old_by_carol.on_behalf_of, p_old_by_carol.created_by) == ("bob", bob)

    post1 = imported(Post, ids["post1"])
    assert fields_of(post1) == {
        "id": post1.pk,
        "civitai_id": 23602354,
        "civitai_url": "https://civitai.com/posts/23602354",
        "civitai_account": "c29",
        "status": "published",
        "title": "Lighthouses",
        "description": "three takes",
        "metadata": {"tags": ["sea"]},
        "legacy_id": ids["post1"],
        "on_behalf_of": "richard",
        "created_by_id": richard.pk,
        "created_at": ts("2025-02-01T12:00:00Z"),
        "updated_at": ts("2025-02-01T12:00:00Z"),
    }
    bad_url = imported(Post, ids["post_bad_url"])
    assert (bad_url.civitai_id, bad_url.civitai_url, bad_url.status) == (555, "", "failed")
    assert bad_url.civitai_account == "c30"
    assert bad_url.metadata == {"legacy": {"civitai_url": "https://civitai.com/posts/556"}}
    assert bad_url.created_by == alice
    assert not Post.objects.filter(legacy_id__in=[ids["post_dup"], ids["post_bad_id"]]).exists()

    a1 = imported(Asset, ids["a1"])
    assert fields_of(a1) == {
        "id": a1.pk,
        "asset_url": "https://cdn.example.com/lighthouse.png",
        "asset_type": "image",
        "asset_source": "generated",
        "sha256sum": SHA_A1,
        "civitai_id": 106433016,
        "civitai_url": "https://civitai.com/images/106433016",
        "post_id": post1.pk,
        "input_prompt_id": p1.pk,
        "output_prompt_id": imported(Prompt, ids["caption"]).pk,
        "metadata": {"width": 1024},
        "legacy_id": ids["a1"],
        "on_behalf_of": "richard",
        "created_by_id": richard.pk,
        "created_at": ts("2025-02-01T12:30:00Z"),
        "updated_at": ts("2025-02-02T08:00:00Z"),
        **NOT_READ,
    }
    assert list(a1.input_assets.all()) == []

    a2 = imported(Asset, ids["a2"])
    assert fields_of(a2) == {
        "id": a2.pk,
        "asset_url": "https://cdn.example.com/old.mp4",
        "asset_type": "video",
        "asset_source": "generated",
        "sha256sum": None,
        "civitai_id": None,
        "civitai_url": None,
        "post_id": post1.pk,
        "input_prompt_id": None,
        "output_prompt_id": None,
        "metadata": {},
        "on_behalf_of": "studio",
        "legacy_id": ids["a2"],
        "created_by_id": richard.pk,
        "created_at": ts("2024-11-05T10:00:00Z"),
        "updated_at": ts("2024-11-06T10:00:00Z"),
        **NOT_READ,
    }
    assert list(a2.input_assets.all()) == [a1]

    a5 = imported(Asset, ids["a5_bad_id"])
    assert (a5.civitai_id, a5.civitai_url, a5.sha256sum, a5.created_by) == (None, None, SHA_A5, bob)
    assert a5.metadata["legacy"] == {
        "civitai_id": "see https://civitai.com/images/123",
        "civitai_url": "https://civitai.com/images/123",
    }
    a6 = imported(Asset, ids["a6_bad_url"])
    assert (a6.civitai_id, a6.civitai_url) == (888, None)
    assert a6.metadata == {"legacy": {"civitai_url": "https://civitai.com/images/889"}}
    a7 = imported(Asset, ids["a7_lost_post"])
    assert (a7.post, a7.sha256sum) == (None, None)
    assert a7.metadata == {"legacy": {"post_id": ids["post_bad_id"], "sha256sum": "not-a-hash"}}
    a8 = imported(Asset, ids["a8_from_dup"])
    assert list(a8.input_assets.all()) == [a1]
    assert a8.metadata == {"legacy": {"input_asset_ids": [ids["a3_dup_sha"], ids["a1"]]}}
    assert not Asset.objects.filter(
        legacy_id__in=[ids["a3_dup_sha"], ids["a4_dup_civitai"]]
    ).exists()
    a9 = imported(Asset, ids["a9_self"])
    assert list(a9.input_assets.all()) == [a1]
    assert a9.metadata == {"legacy": {"input_asset_ids": [ids["a9_self"], ids["a1"]]}}

    (snapshot,) = AssetStatsSnapshot.objects.filter(legacy_id__isnull=False)
    assert fields_of(snapshot) == {
        "id": snapshot.pk,
        "asset_id": a1.pk,
        "captured_at": ts("2025-04-20T00:00:00Z"),
        "like_count": 15,
        "heart_count": 3,
        "laugh_count": 1,
        "cry_count": 0,
        "dislike_count": 2,
        "comment_count": 5,
        "legacy_id": ids["stats_a1"],
        "reaction_total": 19,  # computed by the database (tracking 0013)
    }
    assert "Users created (inactive, no password): alice" in output
    assert not alice.is_active and not alice.has_usable_password()
    assert "role carol recorded as user bob" in output
    assert "prompts: 6 read, 5 were imported, 0 already imported, 0 linked, 1 skipped" in output
    assert "assets: 9 read, 7 were imported, 0 already imported, 0 linked, 2 skipped" in output


def test_it_reports_each_conflict_with_both_ids(source, filled, tracked, richard):
    ids = filled
    report = import_civitai_records(source_url=source.url)
    found = {(p.table, p.legacy_id, p.kind): p for p in report.problems}
    dup = found["assets", ids["a3_dup_sha"], "duplicate"]
    assert dup.existing_id == tracked["asset_sha"].pk
    assert f"sha256 {SHA_TRACKED} is already tracked" in dup.message
    assert f"already tracked as asset {tracked['asset_sha'].pk}; skipped" in dup.message
    dup = found["assets", ids["a4_dup_civitai"], "duplicate"]
    assert dup.existing_id == tracked["asset_civitai"].pk
    assert "Civitai id 777" in dup.message
    dup = found["civitai_posts", ids["post_dup"], "duplicate"]
    assert f"already tracked as post {tracked['post'].pk}" in dup.message
    assert "draft-7" in found["civitai_posts", ids["post_bad_id"], "invalid_civitai_id"].message
    mismatch = found["civitai_posts", ids["post_bad_url"], "civitai_url_mismatch"]
    assert "points to post 556 but civitai_id is 555" in mismatch.message
    assert ("assets", ids["a5_bad_id"], "invalid_civitai_id") in found
    assert ("assets", ids["a5_bad_id"], "civitai_url_mismatch") in found
    assert (
        "889 but civitai_id is 888"
        in found["assets", ids["a6_bad_url"], "civitai_url_mismatch"].message
    )
    assert ("assets", ids["a7_lost_post"], "invalid_sha256") in found
    assert f"post {ids['post_bad_id']} is not imported" in (
        found["assets", ids["a7_lost_post"], "missing_reference"].message
    )
    assert f"input asset(s) {ids['a3_dup_sha']} not imported" in (
        found["assets", ids["a8_from_dup"], "missing_reference"].message
    )
    assert ("asset_stats", ids["stats_a3"], "missing_reference") in found
    assert ("prompts", ids["p_empty"], "invalid_row") in found
    assert ("assets", ids["a9_self"], "self_input") in found


def test_the_command_prints_each_row_and_exits_zero_on_conflicts(source, filled, tracked):
    output = run(source)
    assert f"duplicate            asset {filled['a3_dup_sha']}: sha256" in output
    assert f"invalid_civitai_id   post {filled['post_bad_id']}:" in output


def test_running_it_again_changes_nothing(source, filled, tracked, richard):
    run(source)
    before = table_counts()
    history = {m: m.history.count() for m in (Prompt, Post, Asset)}
    users = get_user_model().objects.count()
    state = [fields_of(a) for a in Asset.objects.order_by("id")]
    report = import_civitai_records(source_url=source.url)
    assert report.written == 0 and report.history_entries == 0
    assert report.counts["assets"]["already_imported"] == 7
    assert table_counts() == before
    assert {m: m.history.count() for m in (Prompt, Post, Asset)} == history
    assert get_user_model().objects.count() == users
    assert [fields_of(a) for a in Asset.objects.order_by("id")] == state


def test_merge_duplicates_links_them_instead(source, filled, tracked, richard):
    ids = filled
    output = run(source, merge_duplicates=True)
    existing = tracked["asset_sha"]
    existing.refresh_from_db()
    assert existing.legacy_id == ids["a3_dup_sha"]
    assert existing.asset_url == "https://cdn.example.com/tracked.png"  # nothing else changes
    assert existing.history.first().history_change_reason == (
        f"Linked to civitai-records assets {ids['a3_dup_sha']} (--merge-duplicates)"
    )
    tracked["post"].refresh_from_db()
    assert tracked["post"].legacy_id == ids["post_dup"]
    a8 = imported(Asset, ids["a8_from_dup"])
    assert set(a8.input_assets.all()) == {existing, imported(Asset, ids["a1"])}
    assert AssetStatsSnapshot.objects.get(legacy_id=ids["stats_a3"]).asset == existing
    assert "assets: 9 read, 7 were imported, 0 already imported, 2 linked, 0 skipped" in output
    again = import_civitai_records(source_url=source.url, merge_duplicates=True)
    assert again.written == 0


def test_dry_run_writes_nothing_and_reports_the_same(source, filled, tracked, richard):
    before = table_counts()
    users = get_user_model().objects.count()
    output = run(source, dry_run=True)
    assert "Dry run: nothing was written." in output
    assert "Users that would be created (inactive, no password): alice, carol" in output
    assert f"would import         asset {filled['a1']}\n" in output
    assert f"asset {filled['a3_dup_sha']}: sha256" in output
    dry = import_civitai_records(source_url=source.url, dry_run=True)
    assert table_counts() == before
    assert get_user_model().objects.count() == users
    real = import_civitai_records(source_url=source.url)
    assert dry.counts == real.counts
    assert [p.as_dict() for p in dry.problems] == [p.as_dict() for p in real.problems]
    assert dry.users_created == real.users_created == ["alice", "carol"]


def test_the_history_of_an_imported_asset_shows_its_events(
    source, filled, tracked, richard, superuser, client
):
    ids = filled
    run(source)
    alice = get_user_model().objects.get(username="alice")
    a1 = imported(Asset, ids["a1"])
    events = source.events("assets", ids["a1"])
    entries = list(a1.history.order_by("history_date", "history_id"))
    assert [(e.history_type, e.history_date, e.history_user) for e in entries] == [
        ("+", ts("2025-02-01T12:30:00Z"), richard),
        ("~", ts("2025-02-02T08:00:00Z"), alice),
    ]
    assert [e.history_change_reason for e in entries] == [
        EVENT_REASON.format(event["id"]) for event in events
    ]
    first, second = entries
    assert (first.post_id, first.civitai_id, first.civitai_url) == (None, None, None)
    delta = second.diff_against(first)
    assert {c.field: (c.old, c.new) for c in delta.changes} == {
        "post": (None, imported(Post, ids["post1"]).pk),
        "civitai_id": (None, 106433016),
        "civitai_url": (None, "https://civitai.com/images/106433016"),
    }
    assert (first.updated_at, second.updated_at) == (a1.created_at, a1.updated_at)
    # The old row had no audit events: its creation and last change are still shown.
    a2 = imported(Asset, ids["a2"])
    entries = list(a2.history.order_by("history_date"))
    assert [(e.history_type, e.history_date, e.history_user) for e in entries] == [
        ("+", ts("2024-11-05T10:00:00Z"), richard),
        ("~", ts("2024-11-06T10:00:00Z"), alice),
    ]
    assert [list(e.input_assets.values_list("to_asset", flat=True)) for e in entries] == [
        [a1.pk],
        [a1.pk],
    ]
    p1 = imported(Prompt, ids["p1"])
    assert [e.purpose for e in p1.history.order_by("history_date")] == [
        "image_generation",
        "video_generation",
    ]
    client.force_login(superuser)
    page = client.get(reverse("admin:tracking_asset_history", args=[a1.pk]))
    assert page.status_code == 200
    assert "alice" in page.content.decode()


def test_since_adds_only_new_source_rows(source, filled, tracked, richard):
    run(source)
    source.insert(
        "assets",
        "richard",
        "2025-09-01T00:00:00Z",
        asset_type="image",
        asset_source="upload",
        uri="https://cdn.example.com/new.png",
        input_asset_ids=[filled["a1"]],
    )
    report = import_civitai_records(source_url=source.url, since=ts("2025-08-01T00:00:00Z"))
    assert report.counts["assets"] == {
        "read": 1,
        "created": 1,
        "already_imported": 0,
        "linked": 0,
        "skipped": 0,
    }
    assert report.counts["prompts"]["read"] == 0
    new = Asset.objects.get(asset_url="https://cdn.example.com/new.png")
    assert list(new.input_assets.all()) == [imported(Asset, filled["a1"])]
    # Without --since the same new rows would have been found too (ids are the guard).
    assert import_civitai_records(source_url=source.url).written == 0


def test_it_never_writes_to_the_source(source, filled, tracked, richard):
    before = {t: source.rows(t) for t in ("prompts", "civitai_posts", "assets", "events")}
    run(source)
    assert {t: source.rows(t) for t in before} == before


def test_map_user_needs_an_existing_user(source, filled):
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        run(source, map_user=["carol=nobody"])
    with pytest.raises(CommandError, match="role=username"):
        run(source, map_user=["carol"])
    assert Asset.objects.count() == 0


def test_it_refuses_a_database_that_is_not_civitai_records(source):
    source.conn.execute("DROP SCHEMA civitai CASCADE")
    with pytest.raises(CommandError, match=r"no table civitai\.prompts"):
        run(source)


def test_it_says_when_the_source_cannot_be_reached():
    with pytest.raises(CommandError, match="Cannot connect to the source database"):
        call_command(
            "import_civitai_records", "--from", "postgresql://postgres@127.0.0.1:1/x",
            "--no-progress",
        )  # fmt: skip


def test_since_must_be_a_timestamp(source):
    with pytest.raises(CommandError, match="ISO 8601"):
        run(source, since="yesterday")


def test_the_admin_shows_and_finds_records_by_their_civitai_records_id(
    source, filled, tracked, richard, superuser, client
):
    ids = filled
    run(source)
    client.force_login(superuser)
    a1 = imported(Asset, ids["a1"])
    page = client.get(reverse("admin:tracking_asset_change", args=[a1.pk])).content.decode()
    assert "Civitai-records id" in page and f">{ids['a1']}<" in page
    for model, legacy_id in ((Asset, ids["a6_bad_url"]), (Prompt, ids["p2"]), (Post, ids["post1"])):
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        found = client.get(url, {"q": str(legacy_id)}).context["cl"].result_list
        assert imported(model, legacy_id) in list(found), model


def test_the_source_connection_is_read_only_and_one_snapshot(source, filled):
    from tracking.legacy_import import Source

    with Source(source.url) as src:
        assert src.conn.read_only is True
        before = src.count("assets", None)
        source.insert(
            "assets", "richard", "2025-05-01T00:00:00Z", asset_type="image",
            asset_source="upload", uri="https://cdn.example.com/late.png",
        )  # fmt: skip
        assert src.count("assets", None) == before  # written after the snapshot began
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            src.conn.execute("DELETE FROM civitai.events")


def test_one_row_the_database_refuses_is_reported_and_the_rest_imported(
    source, filled, tracked, richard, monkeypatch
):
    from django.db import IntegrityError
    from django.db.models import QuerySet

    real_bulk_create, real_save = QuerySet.bulk_create, Prompt.save

    def bulk_create(self, objs, *args, **kwargs):
        if self.model is Prompt and any(o.prompt_text == "a cat" for o in objs):
            raise IntegrityError("simulated refusal")
        return real_bulk_create(self, objs, *args, **kwargs)

    def save(self, *args, **kwargs):
        if self.prompt_text == "a cat":
            raise IntegrityError("value refused by a check")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", bulk_create)
    monkeypatch.setattr(Prompt, "save", save)
    with pytest.raises(CommandError, match="1 source rows could not be written"):
        run(source)
    assert not Prompt.objects.filter(legacy_id=filled["p2"]).exists()
    assert imported(Prompt, filled["p1"]).history.count() == 2  # history only from the source
    assert Asset.objects.filter(legacy_id=filled["a1"]).exists()


@pytest.mark.django_db(transaction=True)
def test_it_runs_as_a_background_task_with_progress(source, filled, tracked, richard):
    from background.models import TaskRun
    from background.tasks import run_now

    run = run_now("import_civitai_records", source_url=source.url, merge_duplicates=True)
    assert run.status == TaskRun.Status.SUCCEEDED
    total = 6 + 4 + 9 + 2
    assert (run.progress_done, run.progress_total) == (total, total)
    assert run.summary == (
        "Imported from civitai-records: 5 prompt(s), 2 post(s), 7 asset(s), 2 stats snapshot(s);"
        " 12 row(s) reported"
    )
    assert run.result["counts"]["assets"]["linked"] == 2
    assert imported(Asset, filled["a1"]).history.count() == 2


@pytest.mark.django_db(transaction=True)
def test_enqueue_hands_it_to_a_worker_without_storing_a_password(source, filled, tracked):
    from background.models import TaskRun

    output = run(source, enqueue=True)
    run_record = TaskRun.objects.get(kind="import_civitai_records")
    assert f"as run {run_record.pk}" in output
    assert run_record.arguments["source_url"] == source.url
    assert run_record.status == TaskRun.Status.SUCCEEDED  # the immediate backend of the tests
    assert Asset.objects.filter(legacy_id=filled["a1"]).exists()
    with pytest.raises(CommandError, match="must not contain a password"):
        call_command(
            "import_civitai_records", "--from", "postgres://u:secret@127.0.0.1:5432/x", "--enqueue"
        )
    with pytest.raises(CommandError, match="must not contain a password"):
        call_command(
            "import_civitai_records", "--from", "postgres://127.0.0.1/x?password=s", "--enqueue"
        )
