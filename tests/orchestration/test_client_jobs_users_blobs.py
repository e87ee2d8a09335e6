"""OrchestrationClient against the fake: v1 jobs, manager user lists, blob redirects."""

import pytest

from civitrack.http import BadResponse, NotFound, Unauthorized
from orchestration.client import OrchestrationClient
from orchestration.errors import InvalidArgument
from tests.fakes import orchestration_data as data


@pytest.fixture
def client(fake_orchestration):
    return OrchestrationClient()


@pytest.mark.parametrize("envelope", ["bare", "jobs"])
def test_it_reads_a_job_in_either_envelope(client, fake_orchestration, envelope):
    fake_orchestration.job_envelope = envelope
    job = client.get_job(data.JOB_OK)
    assert job.job_id == data.JOB_OK
    assert job.scan.csam_scores == [pytest.approx(0.0003)]
    [request] = fake_orchestration.requests_to("job")
    assert request.param("detailed") == "true"


def test_it_reads_the_blocked_csam_job_variant(client):
    job = client.get_job(data.JOB_CSAM)
    assert job.last_event.type == "Failed"
    assert job.scan.blocked_reason == "csam_scan"
    assert job.scan.is_csam_flagged()


def test_it_maps_a_missing_job_to_not_found(client):
    with pytest.raises(NotFound, match="Job nope: HTTP 404 not found"):
        client.get_job("nope")


@pytest.mark.parametrize("envelope", ["items", "bare"])
def test_it_lists_a_users_workflows_in_either_envelope(client, fake_orchestration, envelope):
    fake_orchestration.manager_envelope = envelope
    page = client.list_user_workflows(
        7731, take=5, tags=["gen"], query="fox", exclude_failed=True, oldest=True
    )
    assert [w.id for w in page.items] == [data.WF_MANAGER]
    assert page.items[0].status == "succeeded"
    assert page.items[0].prompt == "red fox"
    assert page.next is None
    [request] = fake_orchestration.requests_to("manager")
    assert request.params == {
        "UserId": ["7731"],
        "Take": ["5"],
        "Tags": ["gen"],
        "Query": ["fox"],
        "ExcludeFailed": ["true"],
        "Inverse": ["true"],
    }


def test_it_pages_a_users_workflows_with_the_cursor(client, fake_orchestration):
    fake_orchestration.manager_workflows[42] = data.generate_workflows(7, user_id=42)
    pages = list(client.iter_user_workflow_pages(42, take=3))
    assert [len(p.items) for p in pages] == [3, 3, 1]
    cursors = [r.param("Cursor") for r in fake_orchestration.requests_to("manager")]
    assert cursors[0] is None and all(cursors[1:])


@pytest.mark.parametrize("mode", ["relative", "absolute"])
def test_it_resolves_a_blob_redirect_without_following_it(client, fake_orchestration, mode):
    fake_orchestration.redirect_mode = mode
    location = client.resolve_blob(data.BLOB_JPEG)
    assert location.status == 308
    assert not location.blocked
    assert location.url.startswith(fake_orchestration.url + "/v2/consumer/blobs/content/")
    assert fake_orchestration.requests_to("content") == []


def test_it_detects_a_blocked_blob_redirect(client, fake_orchestration):
    location = client.resolve_blob(data.BLOB_BLOCKED)
    assert location.blocked
    assert fake_orchestration.requests_to("blocked") == []


def test_it_asks_for_mature_content_only_with_nsfw(client, fake_orchestration):
    assert client.resolve_blob(data.BLOB_MATURE).blocked
    assert not client.resolve_blob(data.BLOB_MATURE, nsfw_level="xxx").blocked
    first, second = fake_orchestration.requests_to("blob")
    assert first.params == {}
    assert second.params == {"nsfwLevel": ["xxx"]}


def test_it_streams_content_without_the_token(client, fake_orchestration):
    location = client.resolve_blob(data.BLOB_JPEG)
    with client.open_content(location.url) as response:
        body = response.content
    assert body == fake_orchestration.blobs[data.BLOB_JPEG].content
    [content_request] = fake_orchestration.requests_to("content")
    assert "Authorization" not in content_request.headers
    assert fake_orchestration.token not in fake_orchestration.all_text().replace(
        f"Bearer {fake_orchestration.token}", ""
    )


def test_it_maps_an_unknown_blob_to_not_found(client):
    with pytest.raises(NotFound):
        client.resolve_blob("missing.png")


def test_it_refuses_a_blob_answer_that_is_not_a_redirect(client, fake_orchestration):
    fake_orchestration.fail("blob", 200, body={"id": "x"})
    with pytest.raises(BadResponse, match="expected a redirect"):
        client.resolve_blob(data.BLOB_JPEG)


def test_the_fake_refuses_consumer_routes_without_the_bearer(fake_orchestration):
    import requests

    for path in (
        "/v2/consumer/workflows",
        f"/v1/consumer/jobs/{data.JOB_OK}",
        f"/v2/consumer/blobs/{data.BLOB_JPEG}",
        "/v1/manager/workflows?UserId=1",
    ):
        assert requests.get(fake_orchestration.url + path, timeout=5).status_code == 401
        response = requests.get(
            fake_orchestration.url + path, headers={"Authorization": "Bearer nope"}, timeout=5
        )
        assert response.status_code == 401
    token = fake_orchestration.blobs[data.BLOB_JPEG].token
    response = requests.get(
        f"{fake_orchestration.url}/v2/consumer/blobs/content/{token}", timeout=5
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"


def test_the_fake_answers_400_to_a_boolean_wait(fake_orchestration):
    import requests

    response = requests.get(
        f"{fake_orchestration.url}/v2/consumer/workflows/{data.WF_DONE}?wait=true",
        headers={"Authorization": f"Bearer {fake_orchestration.token}"},
        timeout=5,
    )
    assert response.status_code == 400
    assert "wait" in response.json()["errors"]


def test_it_never_puts_the_token_in_an_error(fake_orchestration):
    client = OrchestrationClient(token=fake_orchestration.token)
    fake_orchestration.fail(
        "workflows", 401, body={"detail": f"bad Bearer {fake_orchestration.token}"}
    )
    with pytest.raises(Unauthorized) as caught:
        client.list_workflows()
    assert fake_orchestration.token not in str(caught.value)
    assert fake_orchestration.token not in repr(caught.value.args)


def test_it_sends_only_getblobs_published_parameters(client, fake_orchestration):
    client.resolve_blob(
        data.BLOB_JPEG, workflow_id=data.WF_DONE, filename="lantern.jpg", download=True
    )
    [request] = fake_orchestration.requests_to("blob")
    assert request.params == {
        "workflowId": [data.WF_DONE],
        "filename": ["lantern.jpg"],
        "download": ["true"],
    }
    with pytest.raises(InvalidArgument, match="NSFW level must be one of"):
        client.resolve_blob(data.BLOB_JPEG, nsfw_level="extreme")


def test_a_blob_above_the_asked_level_is_refused_with_403(client, fake_orchestration):
    from civitrack.http import Forbidden

    with pytest.raises(Forbidden):
        client.resolve_blob(data.BLOB_MATURE, nsfw_level="pg13")
    assert not client.resolve_blob(data.BLOB_MATURE, nsfw_level="x").blocked
