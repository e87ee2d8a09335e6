"""``orchestration workflow|step|job``: summaries, --wait polling, raw JSON, errors."""

import json

import pytest

from orchestration import client as client_module
from tests.fakes import orchestration_data as data
from tests.orchestration.cli_helpers import run


def test_it_shows_a_workflow_summary(fake_orchestration):
    result = run("workflow", data.WF_DONE)
    assert result.code == 0
    for text in [
        f"Workflow {data.WF_DONE}",
        "Status: succeeded",
        "Created: 2026-09-12 08:15:30Z",
        "Completed: 2026-09-12 08:15:44Z",
        "Step '0': imageGen - succeeded",
        "Prompt: a paper lantern on a pond",
        f"{data.BLOB_JPEG} [image 1024x1024], available: true",
        "Jobs (1):",
    ]:
        assert text in result.out
    [request] = fake_orchestration.requests_to("workflow")
    assert "wait" not in request.params


def test_it_prints_the_raw_workflow(fake_orchestration):
    result = run("workflow", data.WF_DONE, "--raw")
    assert json.loads(result.out) == data.workflow_done()


def test_it_shows_a_failed_workflow_with_exit_0(fake_orchestration):
    result = run("workflow", data.WF_FAILED)
    assert result.code == 0
    assert "Status: failed" in result.out
    assert "videoGen - failed" in result.out


def test_it_waits_for_a_workflow_with_202_then_200(fake_orchestration, monkeypatch):
    monkeypatch.setattr(client_module, "DEFAULT_POLL_CADENCE", (0,))
    fake_orchestration.finish_after(data.WF_RUNNING, 2, data.workflow_running_finished())
    result = run("workflow", data.WF_RUNNING, "--wait")
    assert result.code == 0, result.text
    assert result.out.count("status: processing") == 2
    assert "Status: succeeded" in result.out
    assert data.BLOB_VIDEO in result.out
    waits = [r.param("wait") for r in fake_orchestration.requests_to("workflow")]
    assert len(waits) == 3
    assert all(w is not None and w.isdigit() for w in waits)  # never wait=true


def test_it_stops_waiting_at_the_timeout(fake_orchestration, monkeypatch):
    monkeypatch.setattr(client_module, "DEFAULT_POLL_CADENCE", (0.2,))
    fake_orchestration.finish_after(data.WF_RUNNING, 10_000, data.workflow_running_finished())
    result = run("workflow", data.WF_RUNNING, "--wait", "--timeout", "1")
    assert result.code == 0
    assert "Still processing after 1s; stopped waiting." in result.out
    assert 2 <= len(fake_orchestration.requests_to("workflow")) <= 8


def test_it_maps_a_missing_workflow_to_exit_1(fake_orchestration):
    result = run("workflow", "7731-20260101000000000")
    assert result.code == 1
    assert "Workflow 7731-20260101000000000: HTTP 404 not found" in result.error


def test_it_shows_a_step(fake_orchestration):
    result = run("step", data.WF_RUNNING, "clip")
    assert result.code == 0
    assert "Step 'clip': videoGen - processing, progress 42%" in result.out
    assert "Prompt: waves at dusk" in result.out
    [request] = fake_orchestration.requests_to("step")
    assert request.path == f"/v2/consumer/workflows/{data.WF_RUNNING}/steps/clip"
    assert json.loads(run("step", data.WF_RUNNING, "clip", "--json").out)["name"] == "clip"
    assert run("step", data.WF_RUNNING, "nope").code == 1


@pytest.mark.parametrize("envelope", ["bare", "jobs"])
def test_it_shows_a_job_with_scan_results(fake_orchestration, envelope):
    fake_orchestration.job_envelope = envelope
    result = run("job", data.JOB_OK)
    assert result.code == 0
    for text in [
        f"ID: {data.JOB_OK}",
        "Type: TextToImageV2",
        f"Workflow ID: {data.WF_DONE}",
        "Prompt Classification: none",
        f"Results (1 blob(s)):\n  - {data.BLOB_JPEG} (available: true)",
        "Type: Succeeded",
        "Provider: civitai",
        "** hive_csam_score: 0.0003",
        "** hive_vlm_summary: a lantern floating on water",
        "** blocked_reason: null",
        "gpu_ms: 11870",
        "** CSAM score: 0.03 %",
    ]:
        assert text in result.out
    assert "POSSIBLE CSAM" not in result.out
    [request] = fake_orchestration.requests_to("job")
    assert request.param("detailed") == "true"


def test_it_shows_zero_scores_instead_of_hiding_them(fake_orchestration):
    fake_orchestration.add_job({**data.job_zero_percent(), "jobId": "job-zero"})
    result = run("job", "job-zero")
    assert "** hive_csam_score: 0.00 %, 0.00 %" in result.out
    assert "** CSAM score: 0.00 %, 0.00 % (max 0.00 %, threshold 50.00 %)" in result.out
    assert "** hive_vlm_summary: X, No_Child" in result.out
    assert "Prompt Classification: sexual, young, scan" in result.out


def test_it_highlights_a_csam_flagged_job(fake_orchestration):
    result = run("job", data.JOB_CSAM)
    assert result.code == 0
    assert "** blocked_reason: csam_scan" in result.out
    assert "** CSAM score: 91.00 %" in result.out
    assert "!! POSSIBLE CSAM" in result.out
    assert "Type: Failed" in result.out


def test_it_prints_the_raw_job_exactly_as_received(fake_orchestration):
    # The default answer is the {token, jobs} envelope of both generated clients.
    assert json.loads(run("job", data.JOB_OK, "--raw").out) == {
        "token": "tok-fake-1",
        "jobs": [data.job_ok()],
    }
    fake_orchestration.job_envelope = "bare"
    assert json.loads(run("job", data.JOB_OK, "--raw").out) == data.job_ok()


@pytest.mark.parametrize("envelope", ["jobs", "bare"])
def test_its_json_is_the_job_itself_in_either_envelope(fake_orchestration, envelope):
    fake_orchestration.job_envelope = envelope
    assert json.loads(run("job", data.JOB_OK, "--json").out) == data.job_ok()


@pytest.mark.parametrize("envelope", ["jobs", "bare"])
def test_it_shows_the_worker_duration_and_type_of_a_job(fake_orchestration, envelope):
    fake_orchestration.job_envelope = envelope
    result = run("job", data.JOB_OK)
    assert result.code == 0, result.text
    assert "Worker: wrk-eu-17" in result.out
    assert "Job duration: 00:00:12.8150000" in result.out
    assert "Type: TextToImageV2" in result.out


def test_it_reads_the_job_type_from_the_last_event(fake_orchestration):
    job = data.job_ok()
    del job["job"]["type"]
    job["lastEvent"]["jobType"] = "VideoGen"
    fake_orchestration.add_job(job)
    assert "Type: VideoGen" in run("job", data.JOB_OK).out


def test_it_maps_a_missing_job_to_exit_1(fake_orchestration):
    result = run("job", "0000")
    assert result.code == 1
    assert "Job 0000: HTTP 404 not found" in result.error


def test_it_shows_a_step_without_jobs_and_the_newer_step_fields(fake_orchestration):
    fake_orchestration.add_workflow(data.workflow_new_shape())
    result = run("workflow", data.WF_NEW)
    assert result.code == 0, result.text
    assert (
        f"Jobs (from the blobs, 2):\n      - {data.JOB_NEW}\n      - {data.JOB_GONE}" in result.out
    )
    assert "Queue: available, 3 job(s) ahead, start about 2026-10-05T12:36:00Z" in result.out
    assert "Preparing: urn:air:flux1:checkpoint:civitai:111@222 25%, about 90 s left" in result.out
    assert "Warning: flux2 dev is scheduled for retirement (retires 2027-01-01T00:00:00Z)" in (
        result.out
    )
    old = run("workflow", data.WF_DONE)
    assert f"Jobs (1):\n      - {data.JOB_OK} (succeeded, cost 4)" in old.out
    assert "from the blobs" not in old.out
