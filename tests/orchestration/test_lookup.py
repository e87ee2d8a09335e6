"""The lookup box: paste a workflow, job or blob id and land on its page."""

import pytest
from django.urls import reverse

from orchestration.models import Blob, Job, Workflow
from orchestration.views import classify_id
from tests.fakes import orchestration_data as data

pytestmark = pytest.mark.django_db


def lookup(client, q, follow=False):
    return client.post(reverse("orchestration:lookup"), {"q": q}, follow=follow)


@pytest.mark.parametrize(
    "value,kind",
    [
        (data.JOB_OK, "job"),
        (data.JOB_OK.upper(), "job"),
        (data.WF_DONE, "workflow"),
        ("42-20261005123456789-abcd", "workflow"),
        (data.BLOB_JPEG, "blob"),
        ("customcomfy-7731-ComfyUI_00002_.png", "blob"),
        ("../../etc/passwd", None),
        ("<script>", None),
        ("", None),
    ],
)
def test_it_recognises_pasted_ids(value, kind):
    assert classify_id(value) == kind


def test_it_fetches_and_stores_an_unmirrored_workflow(client, staff, fake_orchestration):
    client.force_login(staff)

    response = lookup(client, f"  {data.WF_DONE} ")

    assert response["Location"] == reverse("orchestration:workflow_detail", args=[data.WF_DONE])
    assert Workflow.objects.filter(civitai_id=data.WF_DONE).exists()
    assert Job.objects.get(civitai_id=data.JOB_OK).scan_or_none is not None


def test_it_fetches_and_stores_an_unmirrored_job_with_its_workflow(
    client, staff, fake_orchestration
):
    client.force_login(staff)

    response = lookup(client, data.JOB_CSAM)

    assert response["Location"] == reverse("orchestration:job_detail", args=[data.JOB_CSAM])
    job = Job.objects.get(civitai_id=data.JOB_CSAM)
    assert job.workflow.civitai_id == data.WF_MATURE and job.scan.is_blocked


def test_it_uses_the_mirror_without_calling_the_api(client, staff, mirrored):
    client.force_login(staff)
    before = len(mirrored.requests)

    lookup(client, data.WF_DONE)
    lookup(client, data.JOB_OK)

    assert len(mirrored.requests) == before


def test_it_lands_on_the_workflow_of_a_mirrored_blob(client, staff, mirrored):
    client.force_login(staff)
    blob = Blob.objects.get(civitai_id=data.BLOB_JPEG)

    response = lookup(client, data.BLOB_JPEG)

    url = reverse("orchestration:workflow_detail", args=[data.WF_DONE])
    assert response["Location"] == f"{url}#blob-{blob.pk}"


@pytest.mark.parametrize(
    "value,message",
    [
        ("7731-20260101000000000", "No workflow 7731-20260101000000000 upstream"),
        ("0b0b0b0b-0000-4000-8000-000000000000", "No job 0b0b0b0b-0000-4000-8000-000000000000"),
        ("FFFF0000.png", "Blob FFFF0000.png is not in the mirror"),
        ("not an id!", "Paste a workflow id, a job id (GUID) or a blob id"),
    ],
)
def test_it_explains_what_it_could_not_find(client, staff, fake_orchestration, value, message):
    client.force_login(staff)

    response = lookup(client, value, follow=True)

    assert response.redirect_chain[-1][0] == reverse("orchestration:workflow_list")
    assert message in response.content.decode()
    assert Workflow.objects.count() == 0 and Job.objects.count() == 0


def test_it_reports_an_api_failure_without_the_token(client, staff, fake_orchestration):
    fake_orchestration.fail("workflow", 401, times=None)
    client.force_login(staff)

    response = lookup(client, data.WF_DONE, follow=True)

    page = response.content.decode()
    assert "Could not fetch workflow" in page and "401" in page
    assert fake_orchestration.token not in page


def test_refresh_from_api_updates_the_mirror(
    client, staff, mirrored, django_capture_on_commit_callbacks
):
    mirrored.workflows[data.WF_RUNNING] = data.workflow_running_finished()
    client.force_login(staff)

    # The button enqueues a task (run here by the immediate backend at commit) and the
    # page then shows that run's progress and result.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("orchestration:workflow_refresh", args=[data.WF_RUNNING]))
    assert "?run=" in response["Location"]
    response = client.get(response["Location"])

    assert "refreshed from the API" in response.content.decode()
    assert Workflow.objects.get(civitai_id=data.WF_RUNNING).status == "succeeded"
    assert Blob.objects.get(civitai_id=data.BLOB_VIDEO).kind == "video"
