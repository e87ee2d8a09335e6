"""The background work itself (immediate backend): hashing under the media policy,
retries of failed downloads, the incremental sync's watermark and the per-kind lock."""

import datetime as dt
import hashlib
import threading

import pytest
from django.db import connection

from background import work
from background.locks import LockBusy, kind_lock
from background.models import TaskRun
from background.tasks import run_now
from orchestration.models import Blob, Job, ScanResult, ScanState, Workflow
from tests.fakes.media_server import Route, serving
from tracking.models import Asset

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def noop(*_args):
    pass


def blob(name: str, url: str, **scan) -> Blob:
    wf, _ = Workflow.objects.get_or_create(civitai_id="7731-1", defaults={"synced_at": NOW})
    job = Job.objects.create(
        civitai_id=f"job-{name}", workflow=wf, status="succeeded", synced_at=NOW
    )
    if scan.pop("scanned", True):
        ScanResult.objects.create(job=job, **scan)
    return Blob.objects.create(
        civitai_id=f"{name}.png",
        workflow=wf,
        job=job,
        url=url,
        available=True,
        nsfw_level="pg",
        synced_at=NOW,
    )


def test_hash_blobs_hashes_only_what_the_media_policy_allows():
    body = b"clean image"
    with serving({"/clean.png": body, "/other.png": b"x"}) as media:
        clean = blob("clean", media.url("/clean.png"), nsfw_level="pg", csam_score_max=0.01)
        flagged = blob("csam", media.url("/other.png"), csam_score_max=0.9, csam_scores=[0.9])
        blocked = blob("blocked", media.url("/other.png"), is_blocked=True, blocked_reason="x")
        unscanned = blob("unscanned", media.url("/other.png"), scanned=False)
        unknown = blob("unknown", media.url("/other.png"), state=ScanState.UNKNOWN)
        outcome = work.hash_blobs(progress=noop)
        fetched = [r.path for r in media.requests]
    assert fetched == ["/clean.png"]  # nothing withheld was downloaded
    clean.refresh_from_db()
    assert clean.sha256 == hashlib.sha256(body).hexdigest()
    for withheld in (flagged, blocked, unscanned, unknown):
        withheld.refresh_from_db()
        assert withheld.sha256 is None
    assert outcome.result["hashed"] == 1 and outcome.result["withheld"] == 4


def test_hash_assets_fills_null_sha256_and_a_failed_download_retries(settings):
    with serving({"/a.png": b"asset a"}) as media:
        media.route("/down.png", Route(status=503))
        ok = Asset.objects.create(
            asset_url=media.url("/a.png"), asset_type="image", asset_source="generated"
        )
        down = Asset.objects.create(
            asset_url=media.url("/down.png"), asset_type="image", asset_source="generated"
        )
        Asset.objects.create(
            asset_url="s3://bucket/x.png", asset_type="image", asset_source="generated"
        )  # cannot hash
        with pytest.raises(work.RunFailed) as failed:
            run_now("hash_assets")
    run = TaskRun.objects.get()
    assert run.status == TaskRun.Status.FAILED  # the engine retries it with backoff
    assert failed.value.outcome.result == {"candidates": 2, "hashed": 1, "failed": 1}
    assert run.item_errors[0].startswith(f"asset {down.pk}:")
    ok.refresh_from_db()
    assert ok.sha256sum == hashlib.sha256(b"asset a").hexdigest()


def test_the_incremental_sync_starts_before_the_last_complete_run(settings):
    assert work.sync_watermark() is None
    TaskRun.objects.create(
        kind="sync_workflows",
        status="succeeded",
        finished_at=NOW,
        result={"complete": True, "newest_created_at": NOW.isoformat()},
    )
    # a later run that died halfway does not move it
    TaskRun.objects.create(kind="sync_workflows", status="failed", finished_at=NOW)
    settings.SYNC_WORKFLOWS_OVERLAP = 3600
    assert work.sync_watermark() == NOW - dt.timedelta(hours=1)


def test_the_incremental_sync_asks_for_workflows_from_the_watermark(fake_orchestration, settings):
    settings.SYNC_WORKFLOWS_OVERLAP = 600
    first = run_now("sync_workflows", max_scans=0)
    assert first.status == "succeeded" and first.result["complete"] is True
    assert fake_orchestration.requests_to("workflows")[0].param("fromDate") is None
    newest = dt.datetime.fromisoformat(first.result["newest_created_at"])
    second = run_now("sync_workflows", max_scans=0)
    sent = fake_orchestration.requests_to("workflows")[-1].param("fromDate")
    assert sent is not None
    assert dt.datetime.fromisoformat(sent.replace("Z", "+00:00")) == newest - dt.timedelta(
        minutes=10
    )
    assert second.result["from"] is not None


def test_a_sync_without_a_token_is_skipped(settings):
    settings.CIVITAI_API_TOKEN = None
    run = run_now("sync_workflows")
    assert run.status == TaskRun.Status.SKIPPED and "CIVITAI_API_TOKEN" in run.summary


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_kind_do_not_interleave():
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's; SQLite runs one worker")
    from django.db import connections

    held, release, seen = threading.Event(), threading.Event(), []

    def other_run():
        try:
            with kind_lock("sync_workflows"):
                held.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_run)
    thread.start()
    assert held.wait(10)
    try:
        with kind_lock("sync_workflows"):
            seen.append("entered")
    except LockBusy:
        seen.append("busy")
    release.set()
    thread.join()
    assert seen == ["busy"]
    with kind_lock("sync_workflows"):  # free again once the other run ended
        pass
