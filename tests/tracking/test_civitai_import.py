"""import_civitai_post: checked fetch, one transaction, re-runnable, refuses untrusted answers."""

import json

import pytest
from django.db import IntegrityError

from tests.conftest import table_counts
from tests.fakes.civitai_site import (
    IMAGE_ID,
    OTHER_IMAGE_ID,
    OTHER_POST_ID,
    POST_ID,
    SECOND_IMAGE_ID,
    VIDEO_ID,
)
from tracking.civitai_import import import_civitai_post
from tracking.errors import Duplicate, InvalidInput, RecordNotFound, UpstreamFailure
from tracking.models import Asset, Post, Prompt

pytestmark = pytest.mark.django_db
TOKEN = "site-token-Qw73hh1Ter"
POST_URL = f"https://civitai.com/posts/{POST_ID}"


def test_it_records_the_post_its_images_video_and_prompts(fake_site, alice, settings):
    settings.CIVITAI_ACCOUNT = "team-account"
    result = import_civitai_post(post=f"https://www.civitai.red/posts/{POST_ID}/edit", user=alice)

    assert (result["created"], result["updated"], result["dry_run"]) == (3, 0, False)
    post = Post.objects.get()
    assert post.civitai_id == POST_ID
    assert post.civitai_url == POST_URL
    assert (post.title, post.description, post.status) == (
        "Lanterns",
        "<p>Two tries.</p>",
        "published",
    )
    assert post.civitai_account == "team-account"
    assert post.created_by == alice
    assert post.metadata["civitai"]["user"]["username"] == "lantern_maker"
    assert post.metadata["civitai"]["images"] == [IMAGE_ID, SECOND_IMAGE_ID, VIDEO_ID]

    assets = {a.civitai_id: a for a in Asset.objects.select_related("input_prompt")}
    assert set(assets) == {IMAGE_ID, SECOND_IMAGE_ID, VIDEO_ID}
    image, video = assets[IMAGE_ID], assets[VIDEO_ID]
    assert image.asset_type == "image" and image.asset_source == "upload"
    assert image.asset_url == fake_site.images[IMAGE_ID]["url"]
    assert image.civitai_url == f"https://civitai.com/images/{IMAGE_ID}"
    assert image.post == post and image.created_by == alice
    assert image.metadata["civitai"]["stats"]["likeCount"] == 37
    assert image.input_prompt.prompt_text == "a paper lantern on a pond"
    assert image.input_prompt.purpose == "civitai_import"
    assert image.input_prompt.metadata["negative_prompt"] == "blurry"
    assert image.input_prompt.metadata["generation"]["seed"] == 4242
    assert image.input_prompt.metadata["civitai_image_id"] == IMAGE_ID
    assert image.input_prompt.llm_model is None and image.input_prompt.created_by == alice
    assert video.asset_type == "video"
    assert video.asset_url.endswith(".mp4")  # the playable file, not the thumbnail
    assert video.input_prompt is None  # no meta, no prompt
    assert Prompt.objects.count() == 2

    assert result["post"]["post_id"] == str(post.pk) and result["post"]["action"] == "create"
    shaped = {a["civitai_id"]: a for a in result["assets"]}
    assert shaped[str(IMAGE_ID)]["asset_id"] == str(image.pk)
    assert shaped[str(IMAGE_ID)]["input_prompt"]["prompt_text"] == "a paper lantern on a pond"
    assert {a["action"] for a in result["assets"]} == {"create"}
    assert result["skipped"] == []
    json.dumps(result)  # the tool adapters send it as is


def test_it_reimports_in_place_without_duplicates(fake_site, alice):
    import_civitai_post(post=str(POST_ID), user=alice)
    before = table_counts()
    image = Asset.objects.get(civitai_id=IMAGE_ID)
    prompt_id = image.input_prompt_id
    image.metadata["note"] = "kept"
    image.save()
    fake_site.posts[POST_ID]["payload"]["title"] = "Lanterns, final"
    fake_site.images[IMAGE_ID]["meta"]["prompt"] = "a paper lantern on a still pond"
    fake_site.set_stats(IMAGE_ID, likeCount=99)

    result = import_civitai_post(post=POST_URL, user=alice)

    counts = table_counts()
    history = [t for t in counts if t.startswith("tracking_historical")]
    assert {t: c for t, c in counts.items() if t not in history} == {
        t: c for t, c in before.items() if t not in history
    }
    assert (result["created"], result["updated"]) == (0, 3)
    assert result["post"]["action"] == "update"
    assert Post.objects.get().title == "Lanterns, final"
    image.refresh_from_db()
    assert image.input_prompt_id == prompt_id
    assert image.input_prompt.prompt_text == "a paper lantern on a still pond"
    assert image.metadata["civitai"]["stats"]["likeCount"] == 99
    assert image.metadata["note"] == "kept"
    assert image.created_by == alice  # created_by is who recorded it first


def test_it_leaves_unchanged_records_unsaved_on_reimport(fake_site):
    import_civitai_post(post=str(POST_ID))
    before = table_counts()
    import_civitai_post(post=str(POST_ID))
    assert table_counts() == before  # not even a history row


def test_it_keeps_what_others_recorded_on_an_asset(fake_site, alice):
    mine = Prompt.objects.create(prompt_text="the real generating prompt", purpose="generation")
    generated = Asset.objects.create(
        asset_url="s3://bucket/lantern.png",
        asset_type="image",
        asset_source="generated",
        civitai_id=IMAGE_ID,
        input_prompt=mine,
        created_by=alice,  # the importer may change it (tracking.permissions)
    )
    result = import_civitai_post(post=str(POST_ID), user=alice)
    generated.refresh_from_db()
    assert generated.post.civitai_id == POST_ID  # an unlinked asset joins the post
    assert generated.asset_url == "s3://bucket/lantern.png"
    assert generated.asset_source == "generated"
    assert generated.input_prompt == mine
    assert generated.metadata["civitai"]["url"] == fake_site.images[IMAGE_ID]["url"]
    assert (result["created"], result["updated"]) == (2, 1)
    assert Prompt.objects.filter(purpose="civitai_import").count() == 1


def test_it_refuses_an_image_already_on_another_post(fake_site):
    other = Post.objects.create(civitai_id=123, civitai_url="https://civitai.com/posts/123")
    asset = Asset.objects.create(
        asset_url="https://x.test/v.mp4",
        asset_type="video",
        asset_source="upload",
        civitai_id=VIDEO_ID,
        post=other,
    )
    before = table_counts()
    with pytest.raises(Duplicate) as exc:
        import_civitai_post(post=str(POST_ID))
    assert exc.value.message == (
        f"Civitai image {VIDEO_ID} is already recorded as asset_id {asset.pk} on post_id "
        f"{other.pk} (Civitai post 123), not on Civitai post {POST_ID}; nothing was imported"
    )
    assert table_counts() == before


def test_it_writes_nothing_when_a_write_fails_midway(fake_site, monkeypatch):
    real_save = Asset.save

    def save(self, *args, **kwargs):
        if self.civitai_id == VIDEO_ID:
            raise IntegrityError("UNIQUE constraint failed: tracking_asset.sha256sum")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Asset, "save", save)
    before = table_counts()
    with pytest.raises(
        Duplicate, match=rf"post {POST_ID} conflicts .*sha256sum.*nothing was imported"
    ):
        import_civitai_post(post=str(POST_ID))
    assert table_counts() == before


def test_it_previews_without_writing(fake_site, alice):
    before = table_counts()
    preview = import_civitai_post(post=str(POST_ID), dry_run=True, user=alice)
    assert table_counts() == before
    assert preview["dry_run"] is True
    assert (preview["created"], preview["updated"]) == (3, 0)
    assert preview["post"]["post_id"] is None and preview["post"]["action"] == "create"
    assert [a["asset_id"] for a in preview["assets"]] == [None, None, None]
    assert preview["assets"][0]["input_prompt"]["prompt_text"] == "a paper lantern on a pond"
    json.dumps(preview)

    import_civitai_post(post=str(POST_ID), user=alice)
    fake_site.posts[POST_ID]["payload"]["title"] = "Renamed"
    before = table_counts()
    again = import_civitai_post(post=str(POST_ID), dry_run=True)
    assert table_counts() == before
    assert Post.objects.get().title == "Lanterns"
    assert again["post"]["action"] == "update" and again["post"]["title"] == "Renamed"
    assert {a["action"] for a in again["assets"]} == {"update"}
    assert all(a["asset_id"] for a in again["assets"])


def test_it_skips_audio_items_and_says_so(fake_site):
    fake_site.images[SECOND_IMAGE_ID]["type"] = "audio"
    result = import_civitai_post(post=str(POST_ID))
    assert result["skipped"] == [
        {
            "civitai_id": str(SECOND_IMAGE_ID),
            "reason": "audio items are not recorded (assets are images or videos)",
        }
    ]
    assert set(Asset.objects.values_list("civitai_id", flat=True)) == {IMAGE_ID, VIDEO_ID}


@pytest.mark.parametrize(
    "bad", ["", "abc", "0", "https://civitai.com/images/5", "https://e.x/posts/1"]
)
def test_it_refuses_bad_references_before_calling_civitai(fake_site, bad):
    with pytest.raises(InvalidInput, match="post must be a valid integer ID or a Civitai post URL"):
        import_civitai_post(post=bad)
    assert fake_site.requests == []


# Each fault of the fake: the import refuses (nothing written, ids named) or retries and succeeds.
# (mode, only, times, error, message fragment, requests made)
REFUSALS = [
    (
        "foreign_image",
        None,
        None,
        UpstreamFailure,
        f"Civitai returned image {OTHER_IMAGE_ID} of post {OTHER_POST_ID} "
        f"for requested post {POST_ID}",
        4,
    ),
    ("empty", "images", None, RecordNotFound, f"no images for post {POST_ID}", 2),
    ("empty", "posts", None, RecordNotFound, f"Civitai post {POST_ID} not found: it may", 1),
    ("404", "posts", None, RecordNotFound, f"Civitai post {POST_ID}: HTTP 404", 1),
    ("429", "posts", None, UpstreamFailure, f"Civitai post {POST_ID}: HTTP 429 rate limited", 5),
    ("500", None, None, UpstreamFailure, f"Civitai post {POST_ID}: HTTP 500", 5),
    ("503", "images", None, UpstreamFailure, f"images of post {POST_ID}: HTTP 503", 6),
    ("html", None, None, UpstreamFailure, "expected JSON but got an HTML page", 1),
    ("truncated", "images", None, UpstreamFailure, "response is not valid JSON", 2),
    ("bad_stats", None, None, UpstreamFailure, f"image {IMAGE_ID} has a non-integer stats", 2),
    ("endless", None, None, UpstreamFailure, "still more pages after 50 pages", 51),
]


@pytest.mark.parametrize(("mode", "only", "times", "error", "fragment", "calls"), REFUSALS)
def test_it_refuses_untrustworthy_answers_and_writes_nothing(
    fake_site, mode, only, times, error, fragment, calls
):
    before = table_counts()
    fake_site.set_fault(mode, only=only, times=times)
    with pytest.raises(error) as exc:
        import_civitai_post(post=POST_URL)
    assert fragment in exc.value.message
    assert table_counts() == before
    assert len(fake_site.requests) == calls


RECOVERIES = [
    ("429", "posts", 1, 1 + 1 + 3),
    ("429", "images", 2, 1 + 2 + 3),
    ("500", None, 2, 2 + 1 + 3),
    ("503", "images", 1, 1 + 1 + 3),
    ("repeat_cursor", None, None, 1 + 3),
]


@pytest.mark.parametrize(("mode", "only", "times", "calls"), RECOVERIES)
def test_it_retries_transient_failures_and_imports(fake_site, mode, only, times, calls):
    fake_site.set_fault(mode, only=only, times=times)
    result = import_civitai_post(post=POST_URL)
    assert result["created"] == 3
    assert len(fake_site.requests) == calls
    assert Asset.objects.count() == 3


def test_it_keeps_the_site_token_out_of_errors_and_records(fake_site, settings):
    settings.CIVITAI_SITE_TOKEN = TOKEN
    fake_site.set_fault("leak_token")
    with pytest.raises(RecordNotFound) as exc:
        import_civitai_post(post="777")  # the fake's 404 text echoes the token
    assert "Post not found for [redacted]" in exc.value.message
    assert TOKEN not in exc.value.message

    result = import_civitai_post(post=str(POST_ID))
    assert fake_site.requests[-1].headers["Authorization"] == f"Bearer {TOKEN}"
    stored = [a.metadata for a in Asset.objects.all()] + [p.metadata for p in Post.objects.all()]
    assert stored and TOKEN not in json.dumps(stored)
    assert "[redacted]" in json.dumps(stored)
    assert TOKEN not in json.dumps(result)
