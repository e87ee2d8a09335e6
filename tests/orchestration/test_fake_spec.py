"""The fake Orchestration API is held to Civitai's published schema (tests/fakes/spec).

Every answer the fake gives on a v2 route is validated by the fake itself and a test
fails when one does not fit (``FakeOrchestration.running``); these tests prove that the
check bites, and that both step shapes the API serves are valid.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

from tests.fakes import orchestration_data as data
from tests.fakes.orchestration import FakeOrchestration
from tests.fakes.spec import check_answer, check_request, schema_errors


@pytest.mark.parametrize(
    "workflow",
    [
        data.workflow_done(),
        data.workflow_running(),
        data.workflow_running_finished(),
        data.workflow_failed(),
        data.workflow_mature(),
        data.workflow_new_shape(),
    ],
    ids=["done", "running", "finished", "failed", "mature", "new-shape"],
)
def test_it_finds_every_fixture_workflow_valid(workflow):
    assert schema_errors("Workflow", workflow) == []


def test_it_accepts_both_step_shapes():
    old = data.workflow_done()["steps"][0]
    new, preparing = data.workflow_new_shape()["steps"]
    assert "jobs" in old and "jobs" not in new and "jobs" not in preparing
    assert "warnings" in new and {"queuePosition", "preparation"} <= set(preparing)
    for step in (old, new, preparing):
        assert schema_errors("WorkflowStep", step) == []


def test_it_refuses_a_field_the_schema_lacks():
    workflow = data.workflow_done()
    workflow["nextCursor"] = "x"
    workflow["steps"][0]["output"]["images"][0]["blobUrl"] = "https://x.test/a"
    errors = schema_errors("Workflow", workflow)
    assert any("nextCursor" in e for e in errors)
    assert any("blobUrl" in e for e in errors)


def test_it_refuses_a_wrong_type_and_a_missing_required_field():
    workflow = data.workflow_done()
    del workflow["steps"][0]["output"]["images"][0]["available"]
    workflow["cost"]["total"] = "4"
    errors = schema_errors("Workflow", workflow)
    assert any("'available' is a required property" in e for e in errors)
    assert any("cost/total" in e for e in errors)


def test_it_tolerates_a_step_type_it_does_not_know():
    step = {
        "$type": "model3DPreview",
        "name": "0",
        "priority": "normal",
        "status": "succeeded",
        "metadata": {},
        "input": {"anything": 1},
        "output": {"model": {"type": "model3d", "id": "m.glb", "available": True}},
    }
    assert schema_errors("WorkflowStep", step) == []


def test_it_refuses_a_parameter_getblob_does_not_take():
    unknown, _ = check_request("blob", {"hideMatureContent": ["false"]})
    assert unknown == ["hideMatureContent"]
    assert check_request("blob", {"nsfwLevel": ["xxx"], "download": ["true"]}) == ([], {})
    assert check_request("blob", {"nsfwLevel": ["nope"]})[1]


def test_it_refuses_an_undocumented_status_and_a_body_that_does_not_fit():
    assert check_answer("workflow", 203, {}, has_body=True)
    assert check_answer("workflows", 200, {"items": [], "nextCursor": None}, has_body=True)
    assert check_answer("workflows", 200, {"items": [], "next": ""}, has_body=True) == []


def test_the_fake_fails_the_test_when_a_client_sends_what_the_schema_lacks():
    expect = pytest.raises(AssertionError, match="hideMatureContent")
    with expect, FakeOrchestration.running() as fake:
        requests.get(
            f"{fake.url}/v2/consumer/blobs/{data.BLOB_JPEG}",
            params={"hideMatureContent": "false"},
            headers={"Authorization": f"Bearer {fake.token}"},
            allow_redirects=False,
            timeout=5,
        )


def test_the_fake_fails_the_test_when_it_serves_an_invented_field():
    expect = pytest.raises(AssertionError, match="invented")
    with expect, FakeOrchestration.running() as fake:
        workflow = data.workflow_done()
        workflow["invented"] = True
        fake.add_workflow(workflow)
        requests.get(
            f"{fake.url}/v2/consumer/workflows/{data.WF_DONE}",
            headers={"Authorization": f"Bearer {fake.token}"},
            timeout=5,
        )


def test_the_fake_answers_400_for_a_value_that_does_not_bind(fake_orchestration):
    answer = requests.get(
        f"{fake_orchestration.url}/v2/consumer/workflows/{data.WF_DONE}",
        params={"wait": "true"},
        headers={"Authorization": f"Bearer {fake_orchestration.token}"},
        timeout=5,
    )
    assert answer.status_code == 400
    assert "wait" in answer.json()["errors"]


def _get(fake, path, **params):
    return requests.get(
        f"{fake.url}{path}",
        params=params,
        headers={"Authorization": f"Bearer {fake.token}"},
        timeout=10,
    )


def test_the_fakes_wait_holds_the_request_up_to_the_asked_seconds(fake_orchestration):
    started = time.monotonic()
    answer = _get(fake_orchestration, f"/v2/consumer/workflows/{data.WF_RUNNING}", wait=1)
    assert answer.status_code == 202
    assert answer.json()["status"] == "processing"
    assert time.monotonic() - started >= 0.9
    done = _get(fake_orchestration, f"/v2/consumer/workflows/{data.WF_DONE}", wait=5)
    assert done.status_code == 200  # a finished workflow is answered at once


def test_the_fakes_wait_returns_when_the_workflow_finishes(fake_orchestration):
    finished = data.workflow_running_finished()
    timer = threading.Timer(0.3, fake_orchestration.add_workflow, [finished])
    timer.start()
    started = time.monotonic()
    answer = _get(fake_orchestration, f"/v2/consumer/workflows/{data.WF_RUNNING}", wait=10)
    timer.join()
    assert answer.status_code == 200 and answer.json()["status"] == "succeeded"
    assert time.monotonic() - started < 5


def test_the_fakes_until_change_returns_on_any_change(fake_orchestration):
    changed = data.workflow_running()
    changed["steps"][0]["estimatedProgressRate"] = 0.9
    timer = threading.Timer(0.3, fake_orchestration.add_workflow, [changed])
    timer.start()
    answer = _get(
        fake_orchestration, f"/v2/consumer/workflows/{data.WF_RUNNING}", wait=10, until="change"
    )
    timer.join()
    assert answer.status_code == 200
    assert answer.json()["steps"][0]["estimatedProgressRate"] == 0.9


def test_the_fakes_tag_filters_all_must_match_and_exclude_tags_drop(fake_orchestration):
    fake_orchestration.workflows.clear()
    for wf_id, tags in [("a-1", ["x", "y"]), ("b-1", ["x"]), ("c-1", ["x", "y", "z"])]:
        fake_orchestration.add_workflow({**data.workflow_done(), "id": wf_id, "tags": tags})

    def ids(**params):
        body = _get(fake_orchestration, "/v2/consumer/workflows", **params).json()
        return sorted(w["id"] for w in body["items"])

    assert ids(tags=["x", "y"]) == ["a-1", "c-1"]
    assert ids(tags=["x"], excludeTags=["z"]) == ["a-1", "b-1"]
    assert ids(excludeTags=["y", "q"]) == ["b-1"]
