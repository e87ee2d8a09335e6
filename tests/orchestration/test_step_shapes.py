"""Both step shapes (with and without ``jobs[]``) through the client, the mirror and the pages.

The newer published schema dropped ``jobs[]`` from steps and added ``queuePosition``,
``preparation`` and ``warnings``; job ids then come only from the blobs' ``jobId``.
A job id the v1 jobs API answers 404 for is mirrored with its scan "unknown", and its
media stays withheld.
"""

import pytest
from django.urls import reverse

from orchestration.client import OrchestrationClient
from orchestration.models import Blob, Job, ScanResult, Step
from orchestration.sync import sync_workflow
from tests.fakes import orchestration_data as data

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_shape(fake_orchestration):
    fake_orchestration.add_workflow(data.workflow_new_shape())
    fake_orchestration.add_job(data.job_new())
    return fake_orchestration


def test_the_client_reads_a_step_without_jobs(new_shape):
    wf = OrchestrationClient().get_workflow(data.WF_NEW)
    done, preparing = wf.steps
    assert done.jobs is None and not done.has_jobs_list
    assert done.job_ids == [data.JOB_NEW, data.JOB_GONE]
    assert done.warnings[0]["code"] == "modelDeprecated"
    assert preparing.status == "preparing"
    assert preparing.queue_position["precedingJobs"] == 3
    assert preparing.preparation[0]["etaSeconds"] == 90


def test_the_client_reads_a_step_with_jobs(fake_orchestration):
    step = OrchestrationClient().get_workflow(data.WF_DONE).steps[0]
    assert step.has_jobs_list and step.job_ids == [data.JOB_OK]
    assert step.queue_position is None and step.warnings == []


def test_the_mirror_keeps_steps_jobs_and_blobs_of_the_new_shape(new_shape):
    sync_workflow(data.WF_NEW)
    done = Step.objects.get(workflow__civitai_id=data.WF_NEW, name="0")
    preparing = Step.objects.get(workflow__civitai_id=data.WF_NEW, name="upscale")
    assert (done.status, preparing.status) == ("succeeded", "preparing")
    assert not done.has_jobs_list
    assert preparing.queue_position["support"] == "available"
    assert done.warnings[0]["message"].startswith("flux2 dev")
    jobs = {j.civitai_id: j for j in Job.objects.filter(step=done)}
    assert set(jobs) == {data.JOB_NEW, data.JOB_GONE}
    assert Blob.objects.get(civitai_id=data.BLOB_NEW).job.civitai_id == data.JOB_NEW


def test_the_mirror_keeps_the_jobs_and_costs_of_the_old_shape(fake_orchestration):
    sync_workflow(data.WF_DONE)
    step = Step.objects.get(workflow__civitai_id=data.WF_DONE, name="0")
    assert step.has_jobs_list
    job = Job.objects.get(civitai_id=data.JOB_OK)
    assert (job.step_id, job.status, job.cost) == (step.pk, "succeeded", 4.0)


def test_a_job_the_v1_api_does_not_know_is_a_scan_unknown_and_withheld(new_shape):
    finished = data.workflow_new_shape()
    finished["status"] = "succeeded"
    new_shape.add_workflow(finished)
    sync_workflow(data.WF_NEW)  # scans the jobs of a finished workflow
    gone = Job.objects.get(civitai_id=data.JOB_GONE)
    assert gone.scan.state == ScanResult.State.UNKNOWN
    assert Job.objects.get(civitai_id=data.JOB_NEW).scan.state == ScanResult.State.READ
    policy = Blob.objects.get(civitai_id=data.BLOB_GONE_JOB).media_policy()
    assert policy.withheld and "scan unknown" in policy.reason


def test_the_workflow_page_shows_both_shapes_and_the_new_fields(client, reviewer, new_shape):
    sync_workflow(data.WF_NEW)
    sync_workflow(data.WF_DONE)
    client.force_login(reviewer)
    new = client.get(reverse("orchestration:workflow_detail", args=[data.WF_NEW])).content.decode()
    assert "3 jobs ahead" in new
    assert "Preparing urn:air:flux1:checkpoint:civitai:111@222" in new
    assert "about 90 s left" in new
    assert "flux2 dev is scheduled for retirement" in new
    assert "these are the jobs its outputs name" in new
    assert data.JOB_GONE in new
    old = client.get(reverse("orchestration:workflow_detail", args=[data.WF_DONE])).content.decode()
    assert data.JOB_OK in old
    assert "these are the jobs its outputs name" not in old


@pytest.mark.parametrize("envelope", ["jobs", "bare"])
def test_the_job_page_shows_worker_and_duration(client, reviewer, fake_orchestration, envelope):
    fake_orchestration.job_envelope = envelope
    sync_workflow(data.WF_DONE)
    client.force_login(reviewer)
    page = client.get(reverse("orchestration:job_detail", args=[data.JOB_OK])).content.decode()
    assert "wrk-eu-17" in page
    assert "00:00:12.8150000" in page
    assert "TextToImageV2" in page


def test_the_job_page_says_when_the_scan_is_unknown(client, reviewer, new_shape):
    finished = data.workflow_new_shape()
    finished["status"] = "succeeded"
    new_shape.add_workflow(finished)
    sync_workflow(data.WF_NEW)
    client.force_login(reviewer)
    page = client.get(reverse("orchestration:job_detail", args=[data.JOB_GONE])).content.decode()
    assert "Scan unknown: the v1 jobs API has no record of this job" in page
    assert "blobs.fake.test/D0D0" not in page


def test_refreshing_a_job_the_v1_api_does_not_know_records_the_scan_unknown(
    client, reviewer, new_shape, django_capture_on_commit_callbacks
):
    sync_workflow(data.WF_NEW)  # still processing: no scans fetched yet
    assert Job.objects.get(civitai_id=data.JOB_GONE).scan_or_none is None
    client.force_login(reviewer)
    # the refresh is a background task, run here by the immediate backend at commit
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("orchestration:job_refresh", args=[data.JOB_GONE]))
    assert response.status_code == 302
    assert Job.objects.get(civitai_id=data.JOB_GONE).scan.state == ScanResult.State.UNKNOWN
