"""TaskRun records on the immediate backend: who, when, progress, result, errors."""

import pytest

from background.models import TaskRun
from background.tasks import enqueue, run_now
from civitrack.http import NotFound
from tests.fakes.civitai_site import POST_ID
from tracking.civitai_import import import_civitai_post
from tracking.models import AssetStatsSnapshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_records_an_enqueued_run_with_progress_and_result(fake_site, superuser):
    import_civitai_post(post=str(POST_ID))
    run = enqueue("sync_stats", user=superuser, origin="page")
    run.refresh_from_db()
    assert run.status == TaskRun.Status.SUCCEEDED
    assert (run.enqueued_by, run.origin, run.attempts) == (superuser, "page", 1)
    assert run.queued_at <= run.started_at <= run.finished_at
    assert (run.progress_done, run.progress_total) == (1, 1)
    assert run.summary == "Stored 3 stats snapshot(s) for 1 of 1 post(s)"
    assert run.result == {"posts": 1, "snapshots": 3, "failed": 0}
    assert run.engine_id
    assert AssetStatsSnapshot.objects.count() == 3


def test_it_records_a_failing_item_and_goes_on(fake_site):
    import_civitai_post(post=str(POST_ID))
    fake_site.set_fault("500", times=100)
    run = run_now("sync_stats")
    assert run.status == TaskRun.Status.SUCCEEDED
    assert run.result["failed"] == 1
    assert run.item_errors and run.item_errors[0].startswith("post ")


def test_it_records_the_error_of_a_failed_run(fake_orchestration):
    fake_orchestration.fail("job", 404)
    with pytest.raises(NotFound):
        run_now("refresh_job", job_id="0000-missing")
    run = TaskRun.objects.get()
    assert run.status == TaskRun.Status.FAILED
    assert run.error.startswith("NotFound")
    assert run.finished_at is not None


def test_it_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="unknown task kind"):
        enqueue("format_disk")
