"""Both Civitai clients against the same table of upstream faults.

Rows are faults (429 with and without ``Retry-After``, 500/502 once, 503 for good, a
read timeout, connection resets, malformed JSON, an HTML page, an answer about another
record); columns are the ways in: the public site client on its own and through the
``import_civitai_post`` and ``fetch_civitai_post_assets`` services, the Orchestration
client's methods and the ``manage.py orchestration`` CLI. Every cell ends either in a
retry followed by success, with the number of attempts read from the fake's request
log, or in a typed error with a clear message, and an error writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from civitrack.http import BadResponse, RateLimited, ResponseMismatch, UpstreamError
from orchestration.client import OrchestrationClient
from tests.conftest import table_counts
from tests.fakes import civitai_site as site
from tests.fakes import orchestration_data as orch_data
from tests.hardening.helpers import REPORT
from tests.orchestration.cli_helpers import run
from tracking.civitai_import import fetch_civitai_post_assets, import_civitai_post
from tracking.civitai_site import CivitaiSiteClient
from tracking.errors import ToolError, UpstreamFailure
from tracking.models import Post

pytestmark = pytest.mark.django_db

READ_TIMEOUT = 0.3
STALL = 1.0  # longer than READ_TIMEOUT: each attempt times out
MAX_RETRIES = 2  # so a fault that never clears costs 3 attempts
READ_RETRIES = 2  # civitrack.http.build_session: Retry(read=2)
HTML = b"<!DOCTYPE html><html><body><h1>502 Bad gateway</h1>cloudflare</body></html>"


@dataclass(frozen=True)
class Fault:
    """One row: how to make each fake misbehave, and what the caller must see."""

    name: str
    site: tuple[str, int | None]  # site fake mode and how many requests it hits
    orch: Callable[[Any, str], None]  # (fake, route) -> None
    ok: bool
    attempts: int  # to the faulted endpoint: 1 + retries (success) or every try (error)
    message: str | dict[str, str] = ""  # in the error message; per client if a dict
    error: type[Exception] = UpstreamError  # the client's typed error
    min_seconds: float = 0.0  # e.g. Retry-After honoured
    max_seconds: float | None = None


def _wrong_record(fake, route: str) -> None:
    other = {"workflow": orch_data.workflow_failed(), "job": orch_data.job_csam()}[route]
    fake.fail(route, 200, times=None, body=other)


FAULTS = [
    Fault(
        "429 with Retry-After, then success",
        ("429", 1),
        lambda f, r: f.fail(r, 429, times=1, retry_after=1),
        ok=True,
        attempts=2,
        min_seconds=0.9,
    ),
    Fault(
        "429 without Retry-After, then success",
        ("429_bare", 1),
        lambda f, r: f.fail(r, 429, times=1, omit_retry_after=True),
        ok=True,
        attempts=2,
        max_seconds=0.9,
    ),
    Fault("500 then success", ("500", 1), lambda f, r: f.fail(r, 500, times=1), True, 2),
    Fault("502 then success", ("502", 1), lambda f, r: f.fail(r, 502, times=1), True, 2),
    Fault(
        "503 every time",
        ("503", None),
        lambda f, r: f.fail(r, 503, times=None),
        ok=False,
        attempts=MAX_RETRIES + 1,
        message="HTTP 503 from upstream",
    ),
    Fault(
        "read timeout every time",
        ("stall", None),
        lambda f, r: f.slow(r, STALL),
        ok=False,
        attempts=READ_RETRIES + 1,
        message="timed out waiting for an answer",
    ),
    Fault(
        "connection reset once, then success",
        ("reset", 1),
        lambda f, r: f.reset(r, times=1),
        ok=True,
        attempts=2,
    ),
    Fault(
        "connection reset every time",
        ("reset", None),
        lambda f, r: f.reset(r, times=None),
        ok=False,
        attempts=READ_RETRIES + 1,
        message="connection reset by the server",
    ),
    Fault(
        "malformed JSON",
        ("truncated", None),
        lambda f, r: f.serve_malformed(r),
        ok=False,
        attempts=1,
        message="response is not valid JSON",
        error=BadResponse,
    ),
    Fault(
        "HTML page instead of JSON",
        ("html", None),
        lambda f, r: f.fail(r, 200, times=None, raw=HTML, content_type="text/html"),
        ok=False,
        attempts=1,
        message="expected JSON but got an HTML page",
        error=BadResponse,
    ),
    Fault(
        "an answer about another record",
        ("wrong_post_id", None),  # the entries below pick the mode that fits their request
        _wrong_record,
        ok=False,
        attempts=1,
        message={
            "site": f"Civitai returned post {site.OTHER_POST_ID} for requested post {site.POST_ID}",
            "site-images": (
                f"Civitai returned image {site.OTHER_IMAGE_ID} of post {site.OTHER_POST_ID}"
                f" for requested post {site.POST_ID}"
            ),
            "workflow": (
                f"Orchestration API returned workflow {orch_data.WF_FAILED}"
                f" for requested workflow {orch_data.WF_DONE}"
            ),
            "job": (
                f"Orchestration API returned job {orch_data.JOB_CSAM}"
                f" for requested job {orch_data.JOB_OK}"
            ),
        },
        error=ResponseMismatch,
    ),
]


# --- the ways in ---------------------------------------------------------------------


@dataclass
class Outcome:
    value: Any = None
    error: Exception | None = None
    message: str = ""


@dataclass
class Entry:
    """One column: which fake, which endpoint is faulted, and the call that goes through it."""

    name: str
    client: str  # "site" or "orch"
    route: str  # site: "posts"/"images"; orchestration: route name
    normal: int  # requests to that endpoint when nothing goes wrong
    message_key: str
    wrong_mode: str = "wrong_post_id"  # the site fake's mode for "another record"
    typed: bool = True  # the client's own error (False: a service or command error)
    expected: dict[str, Any] = field(default_factory=dict)


ENTRIES = [
    Entry("site client: post images", "site", "images", 3, "site-images", "foreign_image"),
    Entry("site: import_civitai_post", "site", "posts", 1, "site", typed=False),
    Entry(
        "site: fetch_civitai_post_assets",
        "site",
        "images",
        3,
        "site-images",
        "foreign_image",
        typed=False,
    ),
    Entry("orchestration client: get_workflow", "orch", "workflow", 1, "workflow"),
    Entry("orchestration CLI: job", "orch", "job", 1, "job", typed=False),
]


def _call(entry: Entry, user) -> Outcome:
    try:
        if entry.name == "site client: post images":
            return Outcome(CivitaiSiteClient().get_post_images(site.POST_ID))
        if entry.name == "site: import_civitai_post":
            return Outcome(import_civitai_post(post=str(site.POST_ID), user=user))
        if entry.name == "site: fetch_civitai_post_assets":
            return Outcome(fetch_civitai_post_assets(post_id=str(site.POST_ID)))
        if entry.name == "orchestration client: get_workflow":
            return Outcome(OrchestrationClient().get_workflow(orch_data.WF_DONE))
        result = run("job", orch_data.JOB_OK)
        if result.code:
            return Outcome(result, RuntimeError(f"exit {result.code}"), result.error)
        return Outcome(result)
    except (UpstreamError, ToolError) as exc:
        return Outcome(error=exc, message=getattr(exc, "message", None) or str(exc))


def _attempts(entry: Entry, fake_site, fake_orchestration) -> int:
    if entry.client == "site":
        path = f"/api/v1/posts/{site.POST_ID}" if entry.route == "posts" else "/api/v1/images"
        return len(fake_site.requests_to(path))
    return len(fake_orchestration.requests_to(entry.route))


def _check_success(entry: Entry, outcome: Outcome) -> None:
    assert outcome.error is None, outcome.message
    if entry.name == "site client: post images":
        assert [i.id for i in outcome.value] == [site.IMAGE_ID, site.SECOND_IMAGE_ID, site.VIDEO_ID]
    elif entry.name == "site: import_civitai_post":
        assert outcome.value["created"] == 3
        assert Post.objects.filter(civitai_id=site.POST_ID).exists()
    elif entry.name == "site: fetch_civitai_post_assets":
        assert outcome.value["total"] == 3
    elif entry.name == "orchestration client: get_workflow":
        assert outcome.value.id == orch_data.WF_DONE
    else:
        assert f"ID: {orch_data.JOB_OK}" in outcome.value.out


@pytest.fixture
def faults_settings(settings):
    settings.HTTP_READ_TIMEOUT = READ_TIMEOUT
    settings.HTTP_MAX_RETRIES = MAX_RETRIES
    settings.HTTP_BACKOFF_FACTOR = 0.01
    settings.HTTP_RETRY_AFTER_MAX = 2
    return settings


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_it_retries_or_fails_clearly(
    fault, entry, faults_settings, fake_site, fake_orchestration, alice
):
    if entry.client == "site":
        mode, times = fault.site
        if fault.error is ResponseMismatch:
            mode = entry.wrong_mode
        fake_site.stall_seconds = STALL
        fake_site.set_fault(mode, times=times, only=entry.route)
    else:
        fault.orch(fake_orchestration, entry.route)
    before = table_counts()

    started = time.monotonic()
    outcome = _call(entry, alice)
    elapsed = time.monotonic() - started
    attempts = _attempts(entry, fake_site, fake_orchestration)
    REPORT["upstream faults"]["ok" if outcome.error is None else "typed error"] += 1

    if fault.ok:
        _check_success(entry, outcome)
        assert attempts == entry.normal + fault.attempts - 1
    else:
        assert outcome.error is not None, f"{fault.name}: expected an error"
        expected = fault.message
        if isinstance(expected, dict):
            expected = expected[entry.message_key]
        assert expected in outcome.message
        if entry.typed:
            assert isinstance(outcome.error, fault.error), repr(outcome.error)
        elif entry.client == "site":
            assert isinstance(outcome.error, UpstreamFailure) and outcome.error.status == 502
        else:  # the CLI: exit status 1 for an API or network failure
            assert outcome.value.code == 1
        expected_attempts = fault.attempts
        if fault.error is ResponseMismatch and entry.route == "images":
            # The foreign image sits on the last page: every page was read, none retried.
            expected_attempts = entry.normal
        assert attempts == expected_attempts
        assert table_counts() == before
    assert elapsed >= fault.min_seconds
    if fault.max_seconds is not None:
        assert elapsed < fault.max_seconds


# --- beyond the table ------------------------------------------------------------------


def test_it_refuses_a_wrong_image_for_an_image_lookup(fake_site, faults_settings):
    fake_site.set_fault("wrong_image_id")
    with pytest.raises(ResponseMismatch) as caught:
        CivitaiSiteClient().get_image(site.IMAGE_ID)
    assert str(caught.value) == (
        f"Civitai returned image {site.OTHER_IMAGE_ID} for requested image {site.IMAGE_ID}"
    )


def test_it_refuses_a_step_with_another_name(fake_orchestration, faults_settings):
    other = orch_data.workflow_done()["steps"][0] | {"name": "upscale"}
    fake_orchestration.fail("step", 200, times=None, body=other)
    with pytest.raises(ResponseMismatch, match="returned step upscale for requested step 0"):
        OrchestrationClient().get_step(orch_data.WF_DONE, "0")


def test_it_compares_job_ids_without_regard_to_case(fake_orchestration, faults_settings):
    job = orch_data.job_ok() | {"jobId": orch_data.JOB_OK.upper()}
    fake_orchestration.fail("job", 200, times=None, body=job)
    assert OrchestrationClient().get_job(orch_data.JOB_OK).job_id == orch_data.JOB_OK.upper()


def test_it_refuses_a_workflow_answer_without_an_id(fake_orchestration, faults_settings):
    body = orch_data.workflow_done()
    del body["id"]
    fake_orchestration.fail("workflow", 200, times=None, body=body)
    with pytest.raises(ResponseMismatch, match=r"returned workflow \(no id\) for requested"):
        OrchestrationClient().get_workflow(orch_data.WF_DONE)


def test_it_gives_up_on_429_after_the_retries_with_rate_limited(fake_orchestration, settings):
    settings.HTTP_MAX_RETRIES = 1
    fake_orchestration.fail("workflows", 429, times=None, omit_retry_after=True)
    with pytest.raises(RateLimited, match="rate limited"):
        OrchestrationClient().list_workflows(take=1)
    assert len(fake_orchestration.requests_to("workflows")) == 2


def test_it_says_connection_refused_when_nothing_listens(settings):
    settings.CIVITAI_SITE_URL = "http://127.0.0.1:9"
    settings.HTTP_MAX_RETRIES = 0
    with pytest.raises(UpstreamError, match="connection refused"):
        CivitaiSiteClient().get_post(site.POST_ID)
