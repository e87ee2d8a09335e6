"""OrchestrationClient against the fake: workflow lists, single workflows, steps, paging."""

from datetime import UTC, datetime

import pytest

from civitrack.http import (
    BadResponse,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unauthorized,
    UpstreamError,
)
from orchestration.client import MissingToken, OrchestrationClient
from orchestration.errors import InvalidArgument
from tests.fakes import orchestration_data as data


@pytest.fixture
def client(fake_orchestration):
    return OrchestrationClient()


def test_it_sends_every_list_filter_as_the_api_names_it(client, fake_orchestration):
    page = client.list_workflows(
        tags=["civitrack", "type:image"],
        query="demo",
        from_date=datetime(2026, 9, 1, tzinfo=UTC),
        to_date=datetime(2026, 9, 12, 23, 59, 59, 999999, tzinfo=UTC),
        take=5,
        exclude_failed=True,
        ascending=True,
    )
    [request] = fake_orchestration.requests_to("workflows")
    assert request.params == {
        "tags": ["civitrack", "type:image"],
        "query": ["demo"],
        "fromDate": ["2026-09-01T00:00:00Z"],
        "toDate": ["2026-09-12T23:59:59.999999Z"],
        "take": ["5"],
        "excludeFailed": ["true"],
        "ascending": ["true"],
    }
    assert request.headers["Authorization"] == f"Bearer {fake_orchestration.token}"
    assert page.items == []  # nothing has both tags


def test_it_returns_typed_workflows_and_the_next_cursor(client, fake_orchestration):
    page = client.list_workflows(tags=["civitrack"], take=2)
    assert [w.id for w in page.items] == [data.WF_MATURE, data.WF_DONE]
    assert page.next
    second = client.list_workflows(tags=["civitrack"], take=2, cursor=page.next)
    assert [w.id for w in second.items] == [data.WF_RUNNING, data.WF_FAILED]
    assert second.next is None
    assert fake_orchestration.requests_to("workflows")[1].param("cursor") == page.next


def test_it_omits_unset_filters(client, fake_orchestration):
    client.list_workflows()
    assert fake_orchestration.requests_to("workflows")[0].params == {}


def test_it_follows_next_until_the_end(client, fake_orchestration):
    fake_orchestration.workflows.clear()
    fake_orchestration.add_workflows(data.generate_workflows(25))
    ids = [w.id for w in client.iter_workflows(take=10)]
    assert len(ids) == 25 == len(set(ids))
    assert len(fake_orchestration.requests_to("workflows")) == 3


def test_it_stops_on_an_empty_string_cursor(client, fake_orchestration):
    # The schema's default end of list: ``next`` is a string, "" on the last page.
    pages = list(client.iter_workflow_pages(take=3))
    assert [len(p.items) for p in pages] == [3, 1]
    assert pages[-1].next is None


def test_it_stops_when_the_api_repeats_a_cursor(client, fake_orchestration):
    fake_orchestration.repeat_cursor = True
    pages = list(client.iter_workflow_pages(take=1, cursor="bzox"))
    assert len(pages) == 1
    assert len(fake_orchestration.requests_to("workflows")) == 1


def test_it_stops_at_the_page_bound(fake_orchestration):
    fake_orchestration.workflows.clear()
    fake_orchestration.add_workflows(data.generate_workflows(50))
    client = OrchestrationClient(max_pages=3)
    assert len(list(client.iter_workflows(take=5))) == 15
    assert len(fake_orchestration.requests_to("workflows")) == 3


def test_it_normalises_pascal_case_enums_and_missing_jobs(client, fake_orchestration):
    fake_orchestration.strict_spec = False  # v2 writes lowercase; PascalCase is v1's habit
    fake_orchestration.enum_case = "pascal"
    fake_orchestration.include_jobs = False
    wf = client.get_workflow(data.WF_DONE)
    assert wf.status == "succeeded"
    assert wf.steps[0].status == "succeeded"
    assert wf.steps[0].jobs is None
    assert wf.raw["status"] == "Succeeded"


def test_it_gets_one_workflow_with_an_encoded_id(client, fake_orchestration):
    fake_orchestration.add_workflow({**data.workflow_done(), "id": "odd id/with?chars"})
    wf = client.get_workflow("odd id/with?chars")
    assert wf.id == "odd id/with?chars"
    request = fake_orchestration.requests_to("workflow")[-1]
    assert request.path == "/v2/consumer/workflows/odd id/with?chars"


def test_it_sends_wait_as_whole_seconds(client, fake_orchestration):
    client.get_workflow(data.WF_DONE, wait=5)
    assert fake_orchestration.requests_to("workflow")[0].param("wait") == "5"
    for bad in (True, 1.5, -1, 101):
        with pytest.raises(InvalidArgument, match="whole seconds"):
            client.get_workflow(data.WF_DONE, wait=bad)


def test_it_polls_until_the_workflow_finishes(client, fake_orchestration):
    fake_orchestration.finish_after(data.WF_RUNNING, 2, data.workflow_running_finished())
    seen = []
    wf = client.wait_for_workflow(
        data.WF_RUNNING, timeout=30, server_wait=3, cadence=(0,), on_poll=seen.append
    )
    assert wf.status == "succeeded"
    assert [w.status for w in seen] == ["processing", "processing", "succeeded"]
    assert [r.param("wait") for r in fake_orchestration.requests_to("workflow")] == ["3"] * 3
    assert wf.blobs[0].id == data.BLOB_VIDEO


def test_it_returns_the_running_workflow_when_the_wait_times_out(client, fake_orchestration):
    fake_orchestration.finish_after(data.WF_RUNNING, 1000, data.workflow_running_finished())
    clock = iter(range(0, 1000, 4)).__next__
    sleeps = []
    wf = client.wait_for_workflow(
        data.WF_RUNNING, timeout=20, cadence=(2, 5), sleep=sleeps.append, clock=clock
    )
    assert wf.status == "processing"
    assert not wf.is_terminal
    assert len(fake_orchestration.requests_to("workflow")) < 10


def test_it_gets_a_step_by_name(client, fake_orchestration):
    step = client.get_step(data.WF_RUNNING, "clip")
    assert step.step_type == "videoGen"
    assert step.prompt == "waves at dusk"
    with pytest.raises(NotFound, match="not found"):
        client.get_step(data.WF_RUNNING, "nope")


def test_it_maps_404_to_not_found(client):
    with pytest.raises(NotFound) as caught:
        client.get_workflow("7731-20260101000000000")
    assert "not found" in str(caught.value)
    assert caught.value.status == 404


def test_it_maps_401_to_the_token_message(fake_orchestration):
    client = OrchestrationClient(token="wrong-token-1234")
    with pytest.raises(Unauthorized) as caught:
        client.list_workflows()
    assert "Invalid or expired token - check CIVITAI_API_TOKEN" in str(caught.value)
    assert "wrong-token-1234" not in str(caught.value)


def test_it_maps_422_and_400_to_invalid_parameters(client, fake_orchestration):
    fake_orchestration.fail("workflows", 422)
    with pytest.raises(InvalidRequest, match="invalid parameters"):
        client.list_workflows()
    with pytest.raises(InvalidRequest, match="invalid parameters"):
        client.list_workflows(cursor="not-a-cursor")


def test_it_retries_429_honouring_retry_after(client, fake_orchestration):
    fake_orchestration.fail("workflows", 429, times=1, retry_after=1)
    page = client.list_workflows(take=1)
    assert len(page.items) == 1
    assert len(fake_orchestration.requests_to("workflows")) == 2


def test_it_retries_500s_then_succeeds(client, fake_orchestration):
    fake_orchestration.fail("workflow", 500, times=2)
    assert client.get_workflow(data.WF_DONE).id == data.WF_DONE
    assert len(fake_orchestration.requests_to("workflow")) == 3


def test_it_gives_up_after_bounded_retries(client, fake_orchestration, settings):
    fake_orchestration.fail("workflow", 500, times=None)
    with pytest.raises(UpstreamError, match="HTTP 500"):
        client.get_workflow(data.WF_DONE)
    assert len(fake_orchestration.requests_to("workflow")) == settings.HTTP_MAX_RETRIES + 1


def test_it_reports_rate_limiting_when_429_persists(fake_orchestration):
    fake_orchestration.fail("workflows", 429, times=None, retry_after=0)
    client = OrchestrationClient()
    with pytest.raises(RateLimited, match="rate limited"):
        client.list_workflows()


def test_it_refuses_malformed_json(client, fake_orchestration):
    fake_orchestration.serve_malformed("workflows")
    with pytest.raises(BadResponse, match="not valid JSON"):
        client.list_workflows()


def test_it_refuses_a_list_of_the_wrong_shape(client, fake_orchestration):
    fake_orchestration.fail("workflows", 200, body=[{"id": "x"}])
    with pytest.raises(BadResponse, match="expected"):
        client.list_workflows()


def test_it_times_out_on_a_slow_api(fake_orchestration):
    fake_orchestration.slow("workflow", 1.0)
    client = OrchestrationClient(read_timeout=0.2)
    with pytest.raises(UpstreamError, match=r"timed out|network error"):
        client.get_workflow(data.WF_DONE)


def test_it_refuses_to_call_without_a_token(fake_orchestration, settings):
    settings.CIVITAI_API_TOKEN = None
    with pytest.raises(MissingToken, match="CIVITAI_API_TOKEN is not set"):
        OrchestrationClient().list_workflows()
    assert fake_orchestration.requests == []


def test_it_hides_mature_blobs_on_lists_by_default(client):
    page = client.list_workflows(tags=["civitrack"], take=1)
    assert page.items[0].id == data.WF_MATURE
    assert page.items[0].blobs[0].available is False
    shown = client.list_workflows(tags=["civitrack"], take=1, hide_mature_content=False)
    assert shown.items[0].blobs[0].available is False  # the fixture itself is unavailable


def test_it_pages_through_a_large_dataset(client, fake_orchestration):
    import time

    started = time.perf_counter()
    generated = data.generate_workflows(10_000)
    assert time.perf_counter() - started < 5
    assert len({w["id"] for w in generated}) == 10_000
    fake_orchestration.workflows.clear()
    fake_orchestration.add_workflows(generated[:3000])
    seen = [w.id for w in client.iter_workflows(take=500, exclude_failed=True)]
    assert len(seen) == 2700 == len(set(seen))
    assert len(fake_orchestration.requests_to("workflows")) == 6
