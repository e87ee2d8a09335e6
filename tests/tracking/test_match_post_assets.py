"""``match_post_assets``: recorded assets linked to a Civitai post's re-encoded images.

The fake site's post 880030 serves re-encoded copies of two demo images (the fox and
the waves: resized, recompressed JPEG, so their sha256 differs) and one unrelated
picture, from loopback; the demo data records the originals without a Civitai id.
"""

from __future__ import annotations

import hashlib
import json
from io import StringIO

import anyio
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from mcp import Client

from devdata.tracking_demo import load_demo
from tests.conftest import table_counts
from tests.fakes.civitai_site import (
    FOX_IMAGE_ID,
    MATCH_POST_ID,
    MEDIA_KEYS,
    UNRELATED_IMAGE_ID,
    WAVES_IMAGE_ID,
)
from tests.fakes.images import demo_bytes, reencode
from tests.tracking.recording_helpers import post as record_post
from tracking import file_facts, services
from tracking.errors import Forbidden, InvalidInput, RecordNotFound, UpstreamFailure
from tracking.models import ApiToken, Asset, NearDuplicateDecision, Post
from tracking.tools.mcp import build_server

pytestmark = pytest.mark.django_db


def hash_like_ingest(asset: Asset, data: bytes) -> None:
    """Give an asset the perceptual hashes ingest would have stored for ``data``."""
    facts = file_facts.read_facts(data, asset.asset_type)
    assert facts.phash is not None, facts.problems
    asset.set_perceptual(facts)
    asset.save()


@pytest.fixture
def demo(alice):
    """The demo data recorded by alice, each asset hashed from its shipped file."""
    load_demo(alice)
    assets = {a.metadata["file"]: a for a in Asset.objects.all()}
    for name, asset in assets.items():
        hash_like_ingest(asset, demo_bytes(name))
    return assets


def rows_by_image(result) -> dict[int, dict]:
    return {int(row["civitai_id"]): row for row in result["images"]}


def test_it_links_the_demo_assets_to_the_reencoded_civitai_images(alice, demo, fake_site):
    fox, waves = demo["orchestration/fox.png"], demo["waves-dusk.jpg"]
    post = record_post(alice, MATCH_POST_ID)

    proposed = services.match_post_assets(user=alice, post=str(MATCH_POST_ID))
    rows = rows_by_image(proposed)
    assert rows[FOX_IMAGE_ID]["status"] == "proposed"
    assert rows[FOX_IMAGE_ID]["asset_id"] == str(fox.pk)
    assert rows[FOX_IMAGE_ID]["match"] == "perceptual"
    assert 0 < rows[FOX_IMAGE_ID]["distance"] <= 8
    assert rows[FOX_IMAGE_ID]["sha256sum"] != fox.sha256sum  # re-encoded: other bytes
    assert rows[WAVES_IMAGE_ID]["status"] == "proposed"
    assert rows[WAVES_IMAGE_ID]["asset_id"] == str(waves.pk)
    assert rows[UNRELATED_IMAGE_ID]["status"] == "no_match"
    assert rows[UNRELATED_IMAGE_ID]["asset_id"] is None
    assert proposed["counts"] == {"proposed": 2, "no_match": 1}
    fox.refresh_from_db()
    assert fox.civitai_id is None  # proposing writes nothing

    applied = services.match_post_assets(user=alice, post=str(MATCH_POST_ID), apply=True)
    assert applied["counts"] == {"applied": 2, "no_match": 1}
    fox.refresh_from_db()
    waves.refresh_from_db()
    assert (fox.civitai_id, fox.post_id) == (FOX_IMAGE_ID, int(post["post_id"]))
    assert fox.civitai_url == f"https://civitai.com/images/{FOX_IMAGE_ID}"
    assert (waves.civitai_id, waves.post_id) == (WAVES_IMAGE_ID, int(post["post_id"]))
    assert fox.history.first().history_user == alice  # written through update_asset

    again = services.match_post_assets(user=alice, post=str(MATCH_POST_ID), apply=True)
    assert rows_by_image(again)[FOX_IMAGE_ID]["status"] == "already_linked"
    assert rows_by_image(again)[FOX_IMAGE_ID]["asset_id"] == str(fox.pk)


def test_it_puts_an_identical_file_first_at_distance_zero(alice, demo, fake_site):
    served = fake_site.media[MEDIA_KEYS[FOX_IMAGE_ID]]
    exact = services.create_asset(
        user=alice,
        asset_url="s3://renders/fox-as-served.jpeg",
        asset_type="image",
        asset_source="generated",
        sha256sum=hashlib.sha256(served).hexdigest(),
    )["asset"]
    hash_like_ingest(Asset.objects.get(pk=exact["asset_id"]), served)

    row = rows_by_image(services.match_post_assets(user=alice, post=MATCH_POST_ID))[FOX_IMAGE_ID]
    assert (row["asset_id"], row["match"], row["distance"]) == (exact["asset_id"], "sha256", 0)
    # The perceptual look-alike (the original fox) is shown as an alternative, and the
    # identical bytes are not ambiguous for it.
    assert row["status"] == "proposed"
    assert [a["asset_id"] for a in row["alternatives"]] == [str(demo["orchestration/fox.png"].pk)]


def test_it_applies_nothing_ambiguous_and_says_why(alice, demo, fake_site):
    record_post(alice, MATCH_POST_ID)
    copy = services.create_asset(
        user=alice,
        asset_url="s3://renders/fox-copy.webp",
        asset_type="image",
        asset_source="upload",
    )["asset"]
    fox_copy = Asset.objects.get(pk=copy["asset_id"])
    hash_like_ingest(fox_copy, reencode(demo_bytes("orchestration/fox.png"), scale=0.6))

    result = services.match_post_assets(user=alice, post=MATCH_POST_ID, apply=True)
    row = rows_by_image(result)[FOX_IMAGE_ID]
    assert row["status"] == "ambiguous"
    assert {row["asset_id"], *(a["asset_id"] for a in row["alternatives"])} == {
        str(demo["orchestration/fox.png"].pk),
        str(fox_copy.pk),
    }
    assert "other candidates" in row["reason"]
    assert rows_by_image(result)[WAVES_IMAGE_ID]["status"] == "applied"
    assert not Asset.objects.filter(civitai_id=FOX_IMAGE_ID).exists()


def test_it_reports_an_asset_that_is_the_best_match_of_two_images(alice, demo, fake_site):
    fake_site.media[MEDIA_KEYS[UNRELATED_IMAGE_ID]] = reencode(
        demo_bytes("waves-dusk.jpg"), scale=0.7, quality=40
    )
    result = services.match_post_assets(user=alice, post=MATCH_POST_ID)
    rows = rows_by_image(result)
    waves = str(demo["waves-dusk.jpg"].pk)
    for image_id in (WAVES_IMAGE_ID, UNRELATED_IMAGE_ID):
        assert rows[image_id]["status"] == "ambiguous"
        assert rows[image_id]["asset_id"] == waves
        assert f"asset #{waves} is also the best match of image" in rows[image_id]["reason"]
    assert rows[FOX_IMAGE_ID]["status"] == "proposed"


def test_it_matches_only_the_callers_own_assets_by_default(alice, staff, demo, fake_site):
    rows = rows_by_image(services.match_post_assets(user=staff, post=MATCH_POST_ID))
    assert {row["status"] for row in rows.values()} == {"no_match"}
    # Named on purpose, a colleague's assets are matched by staff allowed to change them.
    fox = demo["orchestration/fox.png"]
    named = services.match_post_assets(user=staff, post=MATCH_POST_ID, asset_ids=[str(fox.pk)])
    assert rows_by_image(named)[FOX_IMAGE_ID]["asset_id"] == str(fox.pk)


def test_it_refuses_assets_the_caller_may_not_change(alice, django_user_model, demo, fake_site):
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "pw-bob-1")
    fox = demo["orchestration/fox.png"]
    with pytest.raises(Forbidden, match=f"can change asset_ids {fox.pk}"):
        services.match_post_assets(user=bob, post=MATCH_POST_ID, asset_ids=[fox.pk])
    with pytest.raises(RecordNotFound, match="Record not found: asset_ids 999999"):
        services.match_post_assets(user=alice, post=MATCH_POST_ID, asset_ids=[999999])


def test_it_refuses_to_apply_for_a_post_not_recorded_here(alice, demo, fake_site):
    before = table_counts()
    with pytest.raises(InvalidInput, match="not recorded here"):
        services.match_post_assets(user=alice, post=MATCH_POST_ID, apply=True)
    assert table_counts() == before
    assert fake_site.requests == []  # refused before anything was fetched


def test_it_writes_nothing_when_civitai_answers_with_another_posts_image(alice, demo, fake_site):
    record_post(alice, MATCH_POST_ID)
    fake_site.set_fault("foreign_image")
    before = table_counts()
    with pytest.raises(UpstreamFailure, match=f"for requested post {MATCH_POST_ID}"):
        services.match_post_assets(user=alice, post=MATCH_POST_ID, apply=True)
    assert table_counts() == before


def test_it_reports_an_unreadable_image_and_matches_the_others(alice, demo, fake_site):
    del fake_site.media[MEDIA_KEYS[FOX_IMAGE_ID]]  # the CDN answers 404
    rows = rows_by_image(services.match_post_assets(user=alice, post=MATCH_POST_ID))
    assert rows[FOX_IMAGE_ID]["status"] == "unreadable"
    assert "HTTP 404" in rows[FOX_IMAGE_ID]["reason"]
    assert rows[WAVES_IMAGE_ID]["status"] == "proposed"


def test_it_downloads_under_the_hashing_guards(alice, demo, fake_site, settings):
    settings.HASH_ALLOW_PRIVATE_URLS = False  # the fake's CDN is on loopback
    rows = rows_by_image(services.match_post_assets(user=alice, post=MATCH_POST_ID))
    assert {row["status"] for row in rows.values()} == {"unreadable"}
    assert "loopback address" in rows[FOX_IMAGE_ID]["reason"]


def test_it_refuses_bad_input(alice):
    with pytest.raises(InvalidInput, match="max_distance must be a whole number between 0 and"):
        services.match_post_assets(user=alice, post=MATCH_POST_ID, max_distance=65)
    with pytest.raises(InvalidInput, match="apply must be true or false"):
        services.match_post_assets(user=alice, post=MATCH_POST_ID, apply="yes")
    with pytest.raises(InvalidInput):
        services.match_post_assets(user=alice, post="https://civitai.com/models/1")


def test_it_works_over_http_with_the_distance_shown(client, alice, demo, fake_site):
    record_post(alice, MATCH_POST_ID)
    token = ApiToken.issue(alice, name="tests")[1]
    response = client.post(
        reverse("api:tool", args=["match_post_assets"]),
        data=json.dumps({"post": f"https://civitai.com/posts/{MATCH_POST_ID}", "apply": True}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    rows = rows_by_image(response.json())
    assert rows[WAVES_IMAGE_ID]["status"] == "applied"
    assert isinstance(rows[WAVES_IMAGE_ID]["distance"], int)
    assert Asset.objects.get(civitai_id=WAVES_IMAGE_ID) == demo["waves-dusk.jpg"]


@pytest.mark.django_db(transaction=True)
def test_it_works_over_mcp(alice, demo, fake_site):
    async def main():
        async with Client(build_server(alice)) as mcp:
            return await mcp.call_tool("match_post_assets", {"post": str(MATCH_POST_ID)})

    result = anyio.run(main)
    assert not result.is_error, result.content
    rows = rows_by_image(result.structured_content)
    assert rows[FOX_IMAGE_ID]["asset_id"] == str(demo["orchestration/fox.png"].pk)
    assert json.loads(result.content[0].text) == result.structured_content


def test_the_command_proposes_then_applies(alice, demo, fake_site):
    Post.objects.create(
        civitai_id=MATCH_POST_ID, civitai_url=f"https://civitai.com/posts/{MATCH_POST_ID}"
    )
    out = StringIO()
    call_command("match_post_assets", str(MATCH_POST_ID), "--user", "alice", stdout=out)
    text = out.getvalue()
    fox = demo["orchestration/fox.png"]
    assert f"PROPOSED        image {FOX_IMAGE_ID} (image) -> asset {fox.pk}, perceptual" in text
    assert "Nothing was written (use --apply)" in text
    assert not Asset.objects.filter(civitai_id=FOX_IMAGE_ID).exists()

    out = StringIO()
    call_command("match_post_assets", str(MATCH_POST_ID), "--apply", "--json", stdout=out)
    assert json.loads(out.getvalue())["counts"] == {"applied": 2, "no_match": 1}
    assert Asset.objects.get(civitai_id=FOX_IMAGE_ID) == fox


def test_the_command_exits_non_zero_on_a_refusal(alice, demo, fake_site):
    with pytest.raises(CommandError, match="not recorded here"):
        call_command("match_post_assets", str(MATCH_POST_ID), "--apply", stdout=StringIO())


def test_decisions_and_matching_do_not_interfere(alice, demo, fake_site):
    """A near-duplicate verdict between two local assets does not hide them from matching."""
    NearDuplicateDecision.decide(
        alice, demo["orchestration/fox.png"].pk, demo["waves-dusk.jpg"].pk, "not_duplicate"
    )
    rows = rows_by_image(services.match_post_assets(user=alice, post=MATCH_POST_ID))
    assert rows[FOX_IMAGE_ID]["status"] == "proposed"


def test_it_matches_a_reencoded_video_to_the_local_video(alice, fake_site):
    from tests.tracking import media_samples

    original = media_samples.video(5)
    local = Asset(
        asset_url="s3://renders/clip.mp4",
        asset_type="video",
        asset_source="generated",
        created_by=alice,
        sha256sum=hashlib.sha256(original).hexdigest(),
    )
    hash_like_ingest(local, original)
    image = Asset(asset_url="s3://renders/still.png", asset_type="image", asset_source="generated")
    image.created_by = alice
    hash_like_ingest(image, demo_bytes("orchestration/fox.png"))  # an image is never a video's

    key, video_id = "8c3d9e0f-5b68-4dee-c7bb-0f2a6d8e9f1e", 41000504
    fake_site.media[key] = media_samples.reencoded(original, size=(256, 192), bit_rate=200_000)
    fake_site.images[video_id] = {
        **fake_site.images[FOX_IMAGE_ID],
        "id": video_id,
        "type": "video",
        "url": fake_site.media_url(key),
    }
    fake_site.posts[MATCH_POST_ID]["pages"][0].append(video_id)

    rows = rows_by_image(services.match_post_assets(user=alice, post=MATCH_POST_ID))
    assert rows[video_id]["asset_type"] == "video"
    assert rows[video_id]["status"] == "proposed", rows[video_id]
    assert rows[video_id]["asset_id"] == str(local.pk)
    assert rows[video_id]["match"] == "perceptual"
    assert rows[FOX_IMAGE_ID]["asset_id"] == str(image.pk)  # images still find images
