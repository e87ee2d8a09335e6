"""The perceptual-hash backfill (``hash_perceptual``), over real HTTP on loopback."""

import hashlib

import pytest
from django.core.management import call_command

from background import work
from background.models import TaskRun
from background.tasks import run_now
from tests.fakes.media_server import Route, serving
from tests.tracking import media_samples as media
from tracking import perceptual
from tracking.models import Asset

pytestmark = pytest.mark.django_db


def asset(url: str, kind: str = "image", sha: str | None = None) -> Asset:
    return Asset.objects.create(
        asset_url=url, asset_type=kind, asset_source="generated", sha256sum=sha
    )


def test_it_backfills_images_and_videos_and_marks_undecodable_files_checked():
    picture, clip = media.png(41), media.video(42, frames=12)
    with serving({"/a.png": picture, "/v.mp4": clip, "/junk.png": b"not an image"}) as server:
        image = asset(server.url("/a.png"), sha=hashlib.sha256(picture).hexdigest())
        video = asset(server.url("/v.mp4"), "video")
        junk = asset(server.url("/junk.png"))
        unreadable = asset("s3://bucket/x.png")
        run = run_now("hash_perceptual")
        requests_after_first = len(server.requests)
        again = run_now("hash_perceptual")
    assert run.status == TaskRun.Status.SUCCEEDED
    assert run.result == {"candidates": 3, "hashed": 2, "undecodable": 1, "failed": 0}
    image.refresh_from_db(), video.refresh_from_db(), junk.refresh_from_db()
    assert image.phash == perceptual.image_hashes(picture).phash
    assert len(video.video_signature) == 16 * perceptual.VIDEO_FRAMES and video.phash is not None
    assert junk.phash is None and junk.perceptual_checked_at is not None
    assert any(f"asset {junk.pk}: no perceptual hash" in e for e in run.item_errors)
    assert Asset.objects.get(pk=unreadable.pk).perceptual_checked_at is None
    # Nothing left to do: the second run downloads nothing.
    assert again.result["candidates"] == 0 and len(server.requests) == requests_after_first
    # The bands follow the hash even though update() bypasses save().
    assert (image.phash_b0, image.phash_b3) == perceptual.bands(image.phash)[::3]


def test_a_file_that_changed_since_it_was_recorded_is_left_alone():
    with serving({"/a.png": media.png(43)}) as server:
        stale = asset(server.url("/a.png"), sha="0" * 64)
        run = run_now("hash_perceptual")
    stale.refresh_from_db()
    assert stale.phash is None and stale.perceptual_checked_at is None
    assert "not the recorded one" in run.item_errors[0]


def test_a_failed_download_fails_the_run_so_it_is_retried():
    with serving({}) as server:
        server.route("/down.png", Route(status=503))
        down = asset(server.url("/down.png"))
        with pytest.raises(work.RunFailed):
            run_now("hash_perceptual")
    down.refresh_from_db()
    assert down.perceptual_checked_at is None  # the retry tries it again


def test_the_command_runs_it_in_the_foreground(capsys):
    with serving({"/a.png": media.png(44)}) as server:
        asset(server.url("/a.png"))
        call_command("hash_perceptual", "--limit", "1", verbosity=0)
    assert "Perceptual hashes for 1 of 1 asset(s)" in capsys.readouterr().out
    assert Asset.objects.filter(phash__isnull=False).count() == 1
