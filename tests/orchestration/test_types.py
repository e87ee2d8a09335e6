"""Parsing Orchestration JSON into the typed dataclasses of orchestration.types."""

import re
from datetime import UTC, datetime

import pytest

from orchestration.errors import UnexpectedShape
from orchestration.types import (
    Blob,
    Job,
    Step,
    Workflow,
    blob_kind,
    extract_output_blobs,
    parse_timestamp,
)
from tests.fakes import orchestration_data as data


def test_it_parses_a_consumer_workflow_with_aware_timestamps_and_cost_total():
    wf = Workflow.from_api(data.workflow_done())
    assert wf.id == data.WF_DONE
    assert wf.status == "succeeded"
    assert wf.created_at == datetime(2026, 9, 12, 8, 15, 30, 412000, tzinfo=UTC)
    assert wf.completed_at.tzinfo is not None
    assert wf.tags == ["civitrack"]
    assert wf.metadata == {"note": "demo"}
    assert wf.cost_total == 4
    assert wf.nsfw_level == "pg"
    assert wf.is_terminal
    assert wf.prompt == "a paper lantern on a pond"
    [step] = wf.steps
    assert step.step_type == "imageGen"
    assert step.name == "0"
    assert step.prompts == ["a paper lantern on a pond"]
    assert [j.id for j in step.jobs] == [data.JOB_OK]
    [blob] = wf.blobs
    assert blob.id == data.BLOB_JPEG
    assert blob.type == "image"
    assert blob.available is True
    assert blob.job_id == data.JOB_OK
    assert (blob.width, blob.height) == (1024, 1024)
    assert blob.url_expires_at == datetime(2026, 9, 12, 9, 15, 44, tzinfo=UTC)


def test_it_normalises_manager_pascal_case_status_to_lowercase():
    wf = Workflow.from_api(data.workflow_manager())
    assert wf.status == "succeeded"
    assert wf.steps[0].status == "succeeded"
    assert wf.is_terminal


def test_it_keeps_unknown_fields_in_raw():
    payload = data.workflow_done()
    payload["brandNewField"] = {"x": 1}
    payload["steps"][0]["output"]["images"][0]["tier"] = "gold"
    wf = Workflow.from_api(payload)
    assert wf.raw["brandNewField"] == {"x": 1}
    assert wf.blobs[0].raw["tier"] == "gold"
    assert wf.raw["steps"][0]["priority"] == "normal"


def test_it_treats_step_jobs_as_optional():
    payload = data.workflow_done()
    del payload["steps"][0]["jobs"]
    assert Workflow.from_api(payload).steps[0].jobs is None


def test_it_reads_a_running_workflow_without_output():
    wf = Workflow.from_api(data.workflow_running())
    assert wf.status == "processing"
    assert not wf.is_terminal
    assert wf.steps[0].blobs == []
    assert wf.steps[0].estimated_progress_rate == pytest.approx(0.42)
    assert wf.completed_at is None


@pytest.mark.parametrize(
    ("output", "ids"),
    [
        ({"images": [{"id": "a.png", "type": "image", "available": True}]}, ["a.png"]),
        ({"blobs": [{"id": "b.png", "available": True}]}, ["b.png"]),
        (
            {
                "video": {"id": "v.mp4", "type": "video", "available": True},
                "additionalVideos": [{"id": "w.mp4", "available": True}],
            },
            ["v.mp4", "w.mp4"],
        ),
        (
            {
                "frames": [
                    {"id": "f1.png", "available": True},
                    {"id": "f2.png", "available": True},
                ],
                "totalFramesExtracted": 2,
            },
            ["f1.png", "f2.png"],
        ),
        ({"blob": {"id": "c.png", "available": True}}, ["c.png"]),
        ({"image": {"id": "d.png", "available": True}}, ["d.png"]),
        ({"svg": {"id": "e.svg", "available": True}}, ["e.svg"]),
        (
            {"videoBlob": {"id": "g.mp4", "type": "video", "available": True}, "elements": []},
            ["g.mp4"],
        ),
        ({"audioBlob": {"id": "h.mp3", "type": "audio", "available": True}}, ["h.mp3"]),
        (
            {
                "blobs": [{"id": "x.png", "available": True}],
                "tempBlobs": [{"id": "tmp.png", "available": True}],
            },
            ["x.png"],
        ),
        ({"url": "https://x/archive.zip", "entryCount": 3}, []),
    ],
)
def test_it_extracts_output_blobs_per_step_type(output, ids):
    assert [b.id for b in extract_output_blobs(output)] == ids


def test_it_dedupes_a_blob_listed_under_two_output_keys():
    blob = {"id": "same.png", "available": True}
    assert [b.id for b in extract_output_blobs({"images": [blob], "blobs": [blob]})] == ["same.png"]


@pytest.mark.parametrize(
    ("type_value", "blob_id", "kind"),
    [
        ("image", "x.bin", "image"),
        ("Video", "x", "video"),
        ("audio", None, "audio"),
        (None, "customcomfy-1-ComfyUI_00002_.png", "image"),
        (None, "clip.MP4", "video"),
        ("model3d", "thing.glb", "model3d"),
        (None, "thing.glb", "model3d"),
        ("somethingNew", "thing.bin", "other"),
        (None, "no-extension", "other"),
    ],
)
def test_it_derives_the_blob_kind_from_type_or_extension(type_value, blob_id, kind):
    assert blob_kind(type_value, blob_id) == kind


def test_it_treats_a_blob_without_an_available_flag_as_unavailable():
    assert Blob.from_api({"id": "a.png"}).available is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-09-12T08:15:30.412Z", datetime(2026, 9, 12, 8, 15, 30, 412000, tzinfo=UTC)),
        ("2026-09-12T08:15:30.4123456Z", datetime(2026, 9, 12, 8, 15, 30, 412345, tzinfo=UTC)),
        ("2026-09-12T08:15:30", datetime(2026, 9, 12, 8, 15, 30, tzinfo=UTC)),
        ("not a date", None),
        (None, None),
        (12, None),
    ],
)
def test_it_parses_timestamps_as_aware_utc(text, expected):
    assert parse_timestamp(text) == expected


def test_it_parses_a_v1_job_with_scan_context_and_classification():
    job = Job.from_api(data.job_ok())
    assert job.job_id == data.JOB_OK
    assert job.type == "TextToImageV2"
    assert job.workflow_id == data.WF_DONE
    assert job.cost == 4
    assert job.created_at == datetime(2026, 9, 12, 8, 15, 31, 100000, tzinfo=UTC)
    assert job.prompt == "a paper lantern on a pond"
    assert job.negative_prompt == "blurry"
    [result] = job.results
    assert (result.blob_key, result.available) == (data.BLOB_JPEG, True)
    assert result.url.startswith("https://blobs.fake.test/")
    assert job.last_event.type == "Succeeded"
    assert job.last_event.provider == "civitai"
    assert job.last_event.date_time == datetime(2026, 9, 12, 8, 15, 44, 880000, tzinfo=UTC)
    assert job.scan.csam_scores == [pytest.approx(0.0003)]
    assert job.scan.vlm_summary == "a lantern floating on water"
    assert job.scan.blocked_reason is None
    assert job.scan.nsfw_level == "pg"
    assert job.scan.other == {"gpu_ms": 11870}
    assert job.prompt_classification.flags == []
    assert job.prompt_classification.sexual is False


def test_it_accepts_the_jobs_envelope_and_a_single_result_object():
    payload = data.job_ok()
    payload["result"] = payload["result"][0]
    job = Job.from_api({"token": "tok-fake-1", "jobs": [payload]})
    assert job.job_id == data.JOB_OK
    assert [r.blob_key for r in job.results] == [data.BLOB_JPEG]


def test_it_refuses_an_empty_jobs_envelope_and_non_objects():
    with pytest.raises(UnexpectedShape, match="no jobs"):
        Job.from_api({"token": "t", "jobs": []})
    with pytest.raises(UnexpectedShape, match="JSON object"):
        Workflow.from_api([1, 2])
    with pytest.raises(UnexpectedShape, match="JSON object"):
        Step.from_api("step")


def test_it_reads_percent_scores_and_fired_classifiers():
    job = Job.from_api(data.job_zero_percent())
    assert job.scan.csam_scores == [0.0, 0.0]
    assert job.scan.max_csam_score == 0.0
    assert job.scan.vlm_summary == "X, No_Child"
    assert job.prompt_classification.flags == ["sexual", "young", "scan"]


def test_it_reads_a_job_without_last_event_or_definition():
    job = Job.from_api({"jobId": "j-1"})
    assert job.last_event is None
    assert job.scan.csam_scores == []
    assert not job.scan.has_scan
    assert job.prompt_classification is None
    assert job.results == []


def test_it_finds_blobs_by_shape_in_any_output():
    def blob(blob_id, kind="model3d"):
        return {"type": kind, "id": blob_id, "available": True, "jobId": "j-1"}

    output = {
        "model": blob("m.glb"),
        "fbxModel": blob("m.fbx"),
        "thumbnail": blob("t.png", "image"),
        "riggedModel": blob("r.glb"),
        "animatedModels": {"walking": blob("w.glb"), "running": blob("run.glb")},
        "epochs": [{"epochNumber": 1, "model": blob("e1.safetensors", "other")}],
        "samples": [blob("s1.png", "image"), blob("s2.png", "image")],
        "tempBlobs": [blob("scratch.png", "image")],
        "futureThing": {"deep": [{"deeper": blob("new.bin", "other")}]},
        "text": "not a blob",
        "notBlob": {"id": "x", "name": "has no available flag"},
    }
    step = Step.from_api({"$type": "model3DPreview", "name": "0", "output": output})
    ids = [b.id for b in step.blobs]
    assert ids == [
        "m.glb",
        "m.fbx",
        "t.png",
        "r.glb",
        "w.glb",
        "run.glb",
        "e1.safetensors",
        "s1.png",
        "s2.png",
        "new.bin",
    ]
    assert {b.type for b in step.blobs if b.id.endswith((".glb", ".fbx"))} == {"model3d"}


def test_it_keeps_the_job_envelope_as_received():
    envelope = {"token": "tok-1", "jobs": [data.job_ok()]}
    job = Job.from_api(envelope)
    assert job.job_id == data.JOB_OK
    assert job.body == envelope and job.raw == data.job_ok()
    bare = Job.from_api(data.job_ok())
    assert bare.body == bare.raw == data.job_ok()
    assert bare.last_event.worker_id == "wrk-eu-17"
    assert bare.last_event.job_duration == "00:00:12.8150000"
    assert bare.last_event.job_type == "TextToImageV2"


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda wf: wf.update(steps="not a list"), "steps"),
        (lambda wf: wf["steps"][0].update(status={"x": 1}), "steps.0.status"),
        (lambda wf: wf["steps"][0]["output"].update(images=None) or wf.update(tags="x"), "tags"),
        (lambda wf: wf["steps"][0].update(input=["a"]), "steps.0.input"),
        (
            lambda wf: wf["steps"][0].update(jobs=[{"id": "j", "cost": {"n": 1}}]),
            "steps.0.jobs.0.cost",
        ),
        (lambda wf: wf.update(createdAt={"at": 1}), "createdAt"),
    ],
)
def test_it_refuses_an_answer_that_does_not_fit_naming_the_field(mutate, where):
    payload = data.workflow_done()
    mutate(payload)
    with pytest.raises(UnexpectedShape, match=rf"workflow: {re.escape(where)}: "):
        Workflow.from_api(payload)


def test_it_refuses_a_blob_whose_id_is_not_text():
    with pytest.raises(UnexpectedShape, match="blob: id"):
        Blob.from_api({"id": {"nested": 1}, "available": True})


def test_it_reads_pascal_case_names_and_lenient_scalars():
    wf = Workflow.from_api(
        {"Id": "w-1", "Status": "Succeeded", "Cost": {"Total": "7"}, "Tags": ["a"], "Steps": []}
    )
    assert (wf.id, wf.status, wf.cost_total, wf.tags) == ("w-1", "succeeded", 7.0, ["a"])
    job = Job.from_api({"JobId": "J-1", "Cost": "2.5", "Result": {"BlobKey": "k.png"}})
    assert (job.job_id, job.cost, [r.blob_key for r in job.results]) == ("J-1", 2.5, ["k.png"])
