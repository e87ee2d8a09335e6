"""``orchestration test|workflows|user``: parameters sent, output, exit statuses."""

import json

import pytest

from tests.fakes import orchestration_data as data
from tests.orchestration.cli_helpers import run


def test_it_tests_the_connection(fake_orchestration):
    result = run("test")
    assert result.code == 0
    assert "token accepted" in result.out
    [request] = fake_orchestration.requests_to("workflows")
    assert request.param("take") == "1"
    assert request.headers["Authorization"] == f"Bearer {fake_orchestration.token}"


def test_it_lists_workflows_with_every_filter(fake_orchestration):
    result = run(
        "workflows",
        "--tag",
        "civitrack",
        "--tag",
        "type:image",
        "--query",
        "demo",
        "--exclude-failed",
        "--oldest",
        "--take",
        "5",
        "--cursor",
        "",
        "--from",
        "2026-09-01",
        "--to",
        "2026-09-12",
    )
    assert result.code == 0, result.text
    [request] = fake_orchestration.requests_to("workflows")
    assert request.params == {
        "tags": ["civitrack", "type:image"],
        "query": ["demo"],
        "excludeFailed": ["true"],
        "ascending": ["true"],
        "take": ["5"],
        "fromDate": ["2026-09-01T00:00:00Z"],
        "toDate": ["2026-09-12T23:59:59.999999Z"],
    }


def test_it_accepts_the_seed_spellings(fake_orchestration):
    result = run(
        "workflows",
        "--take=5",
        "--excludeFailed",
        "--tag=a",
        "--tag=b",
        "--from=2024-01-20T06:00:00Z",
        "--to=2024-01-20T12:00:00+02:00",
        "--query=portrait",
    )
    assert result.code == 0, result.text
    [request] = fake_orchestration.requests_to("workflows")
    assert request.params["take"] == ["5"]
    assert request.params["excludeFailed"] == ["true"]
    assert request.params["tags"] == ["a", "b"]
    assert request.params["fromDate"] == ["2024-01-20T06:00:00Z"]
    assert request.params["toDate"] == ["2024-01-20T10:00:00Z"]
    assert request.params["query"] == ["portrait"]


def test_it_reads_a_date_time_without_zone_as_utc(fake_orchestration):
    assert run("workflows", "--from", "2026-09-12T08:00", "--to", "2026-09-12T09:00:00").code == 0
    [request] = fake_orchestration.requests_to("workflows")
    assert request.param("fromDate") == "2026-09-12T08:00:00Z"
    assert request.param("toDate") == "2026-09-12T09:00:00Z"


def test_it_prints_summaries_and_the_next_cursor(fake_orchestration):
    result = run("workflows", "--tag", "civitrack", "--take", "2")
    assert result.code == 0
    assert data.WF_MATURE in result.out and data.WF_DONE in result.out
    assert "succeeded" in result.out
    assert "created 2026-09-12 08:15:30Z" in result.out
    assert "steps: imageGen(succeeded)" in result.out
    assert "prompt (imageGen): a paper lantern on a pond" in result.out
    assert "blobs: 1 (1 available)" in result.out
    page = json.loads(run("workflows", "--tag", "civitrack", "--take", "2", "--json").out)
    assert f"Next cursor: {page['next']}" in result.out
    second = run("workflows", "--tag", "civitrack", "--take", "2", "--cursor", page["next"])
    assert data.WF_RUNNING in second.out
    assert "No more pages." in second.out
    assert "Next cursor" not in second.out


def test_it_prints_machine_json(fake_orchestration):
    result = run("workflows", "--take", "1", "--json")
    body = json.loads(result.out)
    assert set(body) == {"items", "next"}
    assert body["items"][0]["id"] == data.WF_MATURE
    assert body["next"]


@pytest.mark.parametrize(
    "args",
    [
        ("workflows", "--from", "yesterday"),
        ("workflows", "--to", "2026-13-01"),
        ("workflows", "--from", "2026-09-12", "--to", "2026-09-01"),
        ("workflows", "--take", "0"),
        ("workflows", "--take", "many"),
        ("workflows", "--nope"),
        ("user", "abc"),
        ("user", "-5"),
        ("user",),
        ("frobnicate",),
        (),
    ],
)
def test_it_exits_2_on_bad_usage_without_calling_the_api(fake_orchestration, args):
    result = run(*args)
    assert result.code == 2, result.text
    assert fake_orchestration.requests == []


@pytest.mark.parametrize("envelope", ["items", "bare"])
def test_it_lists_a_users_workflows(fake_orchestration, envelope):
    fake_orchestration.manager_envelope = envelope
    result = run(
        "user", "7731", "--take=5", "--excludeFailed", "--tag=gen", "--query", "fox", "--oldest"
    )
    assert result.code == 0, result.text
    [request] = fake_orchestration.requests_to("manager")
    assert request.params == {
        "UserId": ["7731"],
        "Take": ["5"],
        "Tags": ["gen"],
        "Query": ["fox"],
        "ExcludeFailed": ["true"],
        "Inverse": ["true"],
    }
    assert data.WF_MANAGER in result.out
    assert "succeeded" in result.out  # PascalCase normalised
    assert "red fox" in result.out


def test_it_pages_a_users_workflows_and_prints_the_cursor(fake_orchestration):
    fake_orchestration.manager_workflows[42] = data.generate_workflows(5, user_id=42)
    first = run("user", "42", "--take", "2")
    cursor = first.out.split("Next cursor: ")[1].split()[0]
    second = run("user", "42", "--take", "2", "--cursor", cursor)
    assert fake_orchestration.requests_to("manager")[1].param("Cursor") == cursor
    assert second.code == 0
    assert "2 workflow(s)." in second.out


def test_it_maps_errors_to_the_seeds_meanings_and_exit_1(fake_orchestration):
    for status, words in [
        (401, "Invalid or expired token - check CIVITAI_API_TOKEN"),
        (404, "not found"),
        (422, "invalid parameters"),
    ]:
        fake_orchestration.fail("workflows", status)
        result = run("workflows")
        assert result.code == 1
        assert words in result.error


def test_it_reports_rate_limiting_after_retries(fake_orchestration, settings):
    settings.HTTP_MAX_RETRIES = 1
    fake_orchestration.fail("workflows", 429, times=None, retry_after=1)
    result = run("workflows")
    assert result.code == 1
    assert "rate limited" in result.error
    assert len(fake_orchestration.requests_to("workflows")) == 2


def test_it_retries_then_succeeds_with_exit_0(fake_orchestration):
    fake_orchestration.fail("workflows", 500, times=2)
    result = run("workflows", "--take", "1")
    assert result.code == 0
    assert len(fake_orchestration.requests_to("workflows")) == 3


def test_it_exits_1_when_the_api_is_unreachable(settings):
    settings.CIVITAI_API_URL = "http://127.0.0.1:9"
    settings.CIVITAI_API_TOKEN = "orch-unreachable-token-1234"
    result = run("workflows")
    assert result.code == 1
    assert "connection refused" in result.error
    assert "orch-unreachable-token-1234" not in result.text


def test_it_exits_2_without_a_token(fake_orchestration, settings):
    settings.CIVITAI_API_TOKEN = None
    result = run("workflows")
    assert result.code == 2
    assert "CIVITAI_API_TOKEN is not set" in result.error
    assert fake_orchestration.requests == []


def test_it_refuses_malformed_json_with_exit_1(fake_orchestration):
    fake_orchestration.serve_malformed("workflows")
    result = run("workflows")
    assert result.code == 1
    assert "not valid JSON" in result.error
