"""The public API client against the loopback fake: every answer is checked before use."""

import re
import time

import pytest

from civitrack.http import BadResponse, NotFound, RateLimited, ResponseMismatch, UpstreamError
from tests.fakes.civitai_site import (
    IMAGE_ID,
    OTHER_IMAGE_ID,
    OTHER_POST_ID,
    POST_ID,
    SECOND_IMAGE_ID,
    VIDEO_ID,
)
from tracking.civitai_site import CivitaiSiteClient

TOKEN = "site-token-Zx81kq0PLm"


@pytest.fixture
def client(fake_site):
    return CivitaiSiteClient()


def test_it_fetches_one_image_unwrapping_nested_meta(client, fake_site):
    image = client.get_image(IMAGE_ID)
    assert image.id == IMAGE_ID and image.post_id == POST_ID
    assert image.type == "image" and image.url.endswith(".jpeg")
    assert image.meta["prompt"] == "a paper lantern on a pond"  # was meta.meta (S4)
    assert image.prompt == "a paper lantern on a pond"
    assert image.negative_prompt == "blurry"
    assert image.stats["likeCount"] == 37
    assert image.width == 896 and image.nsfw_level == "None" and image.username == "lantern_maker"
    assert image.created_at.year == 2026
    assert image.raw["meta"] == {"id": IMAGE_ID, "meta": fake_site.images[IMAGE_ID]["meta"]}
    [request] = fake_site.requests
    assert request.path == "/api/v1/images"
    assert request.query == {"imageId": str(IMAGE_ID), "withMeta": "true", "browsingLevel": "31"}
    assert "Authorization" not in request.headers


def test_it_sends_the_site_token_as_bearer(settings, fake_site):
    settings.CIVITAI_SITE_TOKEN = TOKEN
    CivitaiSiteClient().get_image(IMAGE_ID)
    assert fake_site.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_it_refuses_a_different_image_than_requested(client, fake_site):
    fake_site.set_fault("wrong_image_id")
    with pytest.raises(ResponseMismatch) as exc:
        client.get_image(IMAGE_ID)
    assert (
        str(exc.value) == f"Civitai returned image {OTHER_IMAGE_ID} for requested image {IMAGE_ID}"
    )


def test_it_reports_an_empty_answer_as_not_found_with_the_reasons(client, fake_site):
    fake_site.set_fault("empty")
    with pytest.raises(NotFound) as exc:
        client.get_image(96712457)
    message = str(exc.value)
    assert "96712457" in message
    assert "deleted" in message and "restricted" in message and "never have existed" in message


def test_it_never_uses_the_images_by_id_path_which_is_not_a_route(client, fake_site):
    response = client.session.get(f"{fake_site.url}/api/v1/images/{IMAGE_ID}")
    assert response.status_code == 404
    client.get_image(IMAGE_ID)
    assert fake_site.requests[-1].path == "/api/v1/images"


def test_it_follows_cursors_through_an_empty_page_to_the_end(client, fake_site):
    images = client.get_post_images(POST_ID)
    assert [i.id for i in images] == [IMAGE_ID, SECOND_IMAGE_ID, VIDEO_ID]
    calls = fake_site.requests_to("/api/v1/images")
    assert len(calls) == 3
    assert "cursor" not in calls[0].query
    assert calls[1].query["cursor"] != calls[2].query["cursor"]
    assert all(c.query["postId"] == str(POST_ID) for c in calls)
    assert all(c.query["withMeta"] == "true" and c.query["limit"] == "100" for c in calls)


def test_it_reads_video_items(client):
    video = client.get_post_images(POST_ID)[-1]
    assert video.type == "video"
    assert video.url.endswith(".mp4")
    assert video.thumbnail_url.endswith("frame.jpeg")
    assert (video.width, video.height, video.nsfw_level) == (720, 1280, "Soft")
    assert video.meta == {} and video.prompt is None


def test_it_refuses_a_post_listing_with_an_image_of_another_post(client, fake_site):
    fake_site.set_fault("foreign_image")
    with pytest.raises(ResponseMismatch) as exc:
        client.get_post_images(POST_ID)
    assert str(exc.value) == (
        f"Civitai returned image {OTHER_IMAGE_ID} of post {OTHER_POST_ID} "
        f"for requested post {POST_ID}"
    )


def test_it_reports_a_post_without_images_as_not_found(client, fake_site):
    fake_site.set_fault("empty", only="images")
    with pytest.raises(NotFound, match=rf"no images for post {POST_ID}: .*deleted, be restricted"):
        client.get_post_images(POST_ID)


def test_it_stops_when_a_cursor_repeats(client, fake_site):
    fake_site.set_fault("repeat_cursor")
    images = client.get_post_images(POST_ID)
    assert len(images) == 3
    assert len(fake_site.requests) == 3


def test_it_gives_up_after_the_page_bound_instead_of_looping(fake_site):
    fake_site.set_fault("endless")
    client = CivitaiSiteClient(max_pages=6)
    with pytest.raises(BadResponse, match="still more pages after 6 pages"):
        client.get_post_images(POST_ID)
    assert len(fake_site.requests) == 6


def test_it_retries_429_honouring_retry_after_then_succeeds(client, fake_site):
    fake_site.set_fault("429", times=2)
    started = time.monotonic()
    assert client.get_image(IMAGE_ID).id == IMAGE_ID
    assert len(fake_site.requests) == 3
    assert time.monotonic() - started >= 1.9  # two waits of Retry-After: 1


def test_it_reports_rate_limiting_after_bounded_retries(client, fake_site, settings):
    fake_site.set_fault("429", only="posts")
    with pytest.raises(RateLimited, match=rf"Civitai post {POST_ID}: HTTP 429 rate limited"):
        client.get_post(POST_ID)
    assert len(fake_site.requests) == settings.HTTP_MAX_RETRIES + 1


def test_it_retries_500_then_succeeds(client, fake_site):
    fake_site.set_fault("500", times=2)
    assert len(client.get_post_images(POST_ID)) == 3
    assert len(fake_site.requests) == 2 + 3


def test_it_reports_a_persistent_503(client, fake_site, settings):
    fake_site.set_fault("503")
    with pytest.raises(UpstreamError, match=r"HTTP 503 from upstream: search overloaded"):
        client.get_image(IMAGE_ID)
    assert len(fake_site.requests) == settings.HTTP_MAX_RETRIES + 1


def test_it_refuses_an_html_page(client, fake_site):
    fake_site.set_fault("html")
    with pytest.raises(BadResponse, match="expected JSON but got an HTML page"):
        client.get_image(IMAGE_ID)
    assert len(fake_site.requests) == 1


@pytest.mark.parametrize("only", ["images", "posts"])
def test_it_refuses_truncated_json(client, fake_site, only):
    fake_site.set_fault("truncated", only=only)
    with pytest.raises(BadResponse, match="response is not valid JSON"):
        client.get_post(POST_ID) if only == "posts" else client.get_post_images(POST_ID)


def test_it_refuses_non_integer_stats(client, fake_site):
    fake_site.set_fault("bad_stats")
    with pytest.raises(BadResponse, match=rf"image {IMAGE_ID} has a non-integer stats.likeCount"):
        client.get_post_images(POST_ID)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"url": None}, "has no http(s) 'url'"),
        ({"url": "javascript:alert(1)"}, "has no http(s) 'url'"),
        ({"type": "model3d"}, "'type' 'model3d', not image/video/audio"),
        ({"postId": "880001"}, "has no integer 'postId'"),
        ({"stats": None}, "has no 'stats' object"),
        ({"width": "896"}, "non-integer 'width'"),
    ],
)
def test_it_refuses_items_missing_or_mistyping_required_fields(client, fake_site, change, problem):
    fake_site.images[IMAGE_ID].update(change)
    with pytest.raises(BadResponse, match=re.escape(problem)):
        client.get_image(IMAGE_ID)


def test_it_fetches_a_post_and_checks_its_id(client, fake_site):
    post = client.get_post(POST_ID)
    assert (post.id, post.title, post.detail) == (POST_ID, "Lanterns", "<p>Two tries.</p>")
    assert post.username == "lantern_maker" and post.tags == ["still life"]
    assert post.published_at.isoformat() == "2026-09-01T10:21:00+00:00"
    fake_site.posts[POST_ID]["payload"]["id"] = OTHER_POST_ID
    with pytest.raises(
        ResponseMismatch, match=f"returned post {OTHER_POST_ID} for requested post {POST_ID}"
    ):
        client.get_post(POST_ID)


@pytest.mark.parametrize("mode", ["404", "empty"])
def test_it_reports_a_missing_post_as_not_found(client, fake_site, mode):
    fake_site.set_fault(mode, only="posts")
    with pytest.raises(NotFound, match=str(POST_ID)):
        client.get_post(POST_ID)
    assert len(fake_site.requests) == 1  # a 404 is not retried


def test_it_keeps_the_token_out_of_messages_and_payloads(settings, fake_site):
    settings.CIVITAI_SITE_TOKEN = TOKEN
    fake_site.set_fault("leak_token")
    client = CivitaiSiteClient()
    with pytest.raises(NotFound) as exc:
        client.get_post(999)
    assert "Post not found" in str(exc.value) and TOKEN not in str(exc.value)
    images = client.get_post_images(POST_ID)
    assert images[0].raw["debug"] == "served for Bearer [redacted]"
    assert TOKEN not in repr([i.raw for i in images])
    assert fake_site.requests[-1].headers["Authorization"] == f"Bearer {TOKEN}"
