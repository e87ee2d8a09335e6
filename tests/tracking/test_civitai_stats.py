"""fetch_civitai_post_assets (live, writes nothing) and sync_post_asset_stats (history kept)."""

import pytest

from tests.conftest import table_counts
from tests.fakes.civitai_site import IMAGE_ID, OTHER_IMAGE_ID, POST_ID, SECOND_IMAGE_ID, VIDEO_ID
from tracking import services
from tracking.civitai_import import import_civitai_post
from tracking.errors import InvalidInput, RecordNotFound, UpstreamFailure
from tracking.models import Asset, AssetStatsSnapshot, Post
from tracking.permissions import OPERATOR

pytestmark = pytest.mark.django_db


def fetch_civitai_post_assets(**params):
    return services.fetch_civitai_post_assets(user=OPERATOR, **params)


def sync_post_asset_stats(**params):
    return services.sync_post_asset_stats(user=OPERATOR, **params)


def test_it_lists_live_images_with_stats_and_writes_nothing(fake_site, django_assert_num_queries):
    before = table_counts()
    with django_assert_num_queries(1):  # which images are already recorded
        result = fetch_civitai_post_assets(post_id=str(POST_ID))
    assert table_counts() == before
    assert (result["post_id"], result["total"], result["page"], result["limit"]) == (
        str(POST_ID),
        3,
        1,
        20,
    )
    assert result["has_more"] is False
    first, _second, video = result["assets"]
    assert first["civitai_id"] == str(IMAGE_ID)
    assert first["civitai_url"] == f"https://civitai.com/images/{IMAGE_ID}"
    assert first["stats"] == {
        "like_count": 37,
        "heart_count": 12,
        "laugh_count": 1,
        "cry_count": 0,
        "dislike_count": 0,
        "comment_count": 2,
    }
    assert first["prompt"] == "a paper lantern on a pond"
    assert first["recorded_asset_id"] is None
    assert video["asset_type"] == "video" and video["thumbnail_url"].endswith("frame.jpeg")


def test_it_pages_the_checked_listing(fake_site):
    import_civitai_post(post=str(POST_ID))
    page2 = fetch_civitai_post_assets(
        post_id=f"https://civitai.com/posts/{POST_ID}", limit=2, page=2
    )
    assert [a["civitai_id"] for a in page2["assets"]] == [str(VIDEO_ID)]
    assert page2["has_more"] is False and page2["total"] == 3
    assert page2["assets"][0]["recorded_asset_id"] == str(Asset.objects.get(civitai_id=VIDEO_ID).pk)
    page1 = fetch_civitai_post_assets(post_id=str(POST_ID), limit="2")
    assert [a["civitai_id"] for a in page1["assets"]] == [str(IMAGE_ID), str(SECOND_IMAGE_ID)]
    assert page1["has_more"] is True


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"post_id": "abc"}, "post_id must be a valid integer ID"),
        ({"post_id": "1", "limit": 0}, "limit must be a whole number between 1 and 100"),
        ({"post_id": "1", "limit": 101}, "limit must be a whole number between 1 and 100"),
        ({"post_id": "1", "limit": "x"}, "limit must be a whole number between 1 and 100"),
        ({"post_id": "1", "page": 0}, "page must be a whole number at least 1"),
    ],
)
def test_it_refuses_bad_fetch_parameters(fake_site, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        fetch_civitai_post_assets(**kwargs)
    assert fake_site.requests == []


def test_it_refuses_a_listing_mixing_posts(fake_site):
    fake_site.set_fault("foreign_image")
    with pytest.raises(UpstreamFailure, match=f"image {OTHER_IMAGE_ID} of post .* post {POST_ID}"):
        fetch_civitai_post_assets(post_id=str(POST_ID))


def test_it_accumulates_snapshots_across_syncs(fake_site):
    import_civitai_post(post=str(POST_ID))
    post = Post.objects.get()
    first = sync_post_asset_stats(post_id=str(post.pk))
    assert first["snapshots_created"] == 3
    assert first["post_id"] == str(post.pk) and first["civitai_id"] == str(POST_ID)
    image = Asset.objects.get(civitai_id=IMAGE_ID)
    assert image.latest_stats().like_count == 37

    fake_site.set_stats(IMAGE_ID, likeCount=40, commentCount=5)
    second = sync_post_asset_stats(post_id=str(post.pk))
    assert second["captured_at"] > first["captured_at"]
    assert AssetStatsSnapshot.objects.count() == 6
    history = list(
        image.stats_snapshots.order_by("captured_at").values_list("like_count", flat=True)
    )
    assert history == [37, 40]
    latest = image.latest_stats()
    assert (latest.like_count, latest.comment_count, latest.heart_count) == (40, 5, 12)
    # all snapshots of one sync share the moment, so a post's totals sum per sync
    assert AssetStatsSnapshot.objects.values("captured_at").distinct().count() == 2


def test_it_reports_assets_no_longer_listed_and_images_not_recorded(fake_site):
    import_civitai_post(post=str(POST_ID))
    post = Post.objects.get()
    Asset.objects.get(civitai_id=SECOND_IMAGE_ID).delete()
    del fake_site.images[VIDEO_ID]
    fake_site.posts[POST_ID]["pages"] = [[IMAGE_ID, SECOND_IMAGE_ID]]
    video = Asset.objects.get(civitai_id=VIDEO_ID)
    result = sync_post_asset_stats(post_id=str(post.pk))
    assert result["snapshots_created"] == 1
    assert result["missing_on_civitai"] == [str(video.pk)]
    assert result["not_recorded"] == [str(SECOND_IMAGE_ID)]


def test_it_refuses_unknown_or_malformed_post_ids(fake_site):
    with pytest.raises(RecordNotFound, match=r"^Record not found: post_id 999$"):
        sync_post_asset_stats(post_id="999")
    with pytest.raises(InvalidInput, match=r"^post_id must be a valid integer ID$"):
        sync_post_asset_stats(post_id="12x")
    assert fake_site.requests == []


def test_it_stores_nothing_when_civitai_fails(fake_site):
    import_civitai_post(post=str(POST_ID))
    post = Post.objects.get()
    fake_site.set_fault("truncated")
    before = table_counts()
    with pytest.raises(UpstreamFailure, match="not valid JSON"):
        sync_post_asset_stats(post_id=str(post.pk))
    assert table_counts() == before
