"""Client for the Civitai Orchestration API (civitai-api.md §1).

Built on the shared session factory (``civitrack.http``): fixed timeouts, bounded
retries on 429/5xx honouring ``Retry-After``, typed errors. The bearer token is passed
as a secret to every error so no message, log line or traceback can carry it, and it
is only ever sent to the API host: blob bytes are fetched with a second session that
has no token (the content endpoint needs none, and it may live on another host).

Every answer is checked before it is returned: a list must be a list, a workflow an
object, and all of it is parsed into ``orchestration.types``; anything else is
``BadResponse``. A workflow, step or job whose id (name) is not the one asked for is
``ResponseMismatch`` naming both. IDs are opaque strings, percent-encoded into paths.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urljoin, urlparse

import requests
from django.conf import settings

from civitrack.http import (
    BadResponse,
    ErrorMeanings,
    ResponseMismatch,
    UpstreamError,
    build_session,
    network_problem,
    raise_for_status,
    request_json,
)
from orchestration.errors import InvalidArgument, UnexpectedShape
from orchestration.types import Job, Step, Workflow, WorkflowPage

logger = logging.getLogger(__name__)

# The seed's meanings of HTTP errors (orchestration-skill.md, "Error Handling").
ORCHESTRATION_MEANINGS = ErrorMeanings(
    unauthorized="Invalid or expired token - check CIVITAI_API_TOKEN",
    forbidden="forbidden - this token is not allowed to see it",
    not_found="not found",
    invalid="invalid parameters",
    rate_limited="rate limited - wait before retrying",
)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_SERVER_WAIT = 100  # the API's own request timeout bounds any ``wait`` (§1.1)
DEFAULT_MAX_PAGES = 1000
# GetBlob's ``nsfwLevel`` is the highest level to serve (the published schema's
# NSFWLevel, lowest first); ``na`` (not rated) is not a level one can ask up to.
NSFW_LEVELS = ("pg", "pg13", "r", "x", "xxx")
HIGHEST_NSFW_LEVEL = NSFW_LEVELS[-1]
# Poll cadence suggested by the docs (§1.3): 2 s, 5 s, 10 s, 15 s, then every 30 s.
DEFAULT_POLL_CADENCE: tuple[float, ...] = (2, 5, 10, 15, 30)


class MissingToken(UpstreamError):
    """``CIVITAI_API_TOKEN`` is not configured; nothing was sent."""


@dataclass(frozen=True)
class BlobLocation:
    """Where ``GET /v2/consumer/blobs/{id}`` redirected to.

    ``blocked`` is True when the redirect points at ``/blobs/blocked/``: the API
    serves a placeholder image there, which must not be mistaken for the media.
    """

    blob_id: str
    url: str
    blocked: bool
    status: int


def iso_utc(value: datetime) -> str:
    """An aware or naive (taken as UTC) datetime as ISO 8601 with ``Z``."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _params(**values: Any) -> dict[str, Any]:
    """Query parameters without the unset ones (``None``, ``False`` flags, empty lists)."""
    return {k: v for k, v in values.items() if v is not None and v != [] and v is not False}


class OrchestrationClient:
    """Read-only access to workflows, steps, v1 jobs, per-user workflows and blobs.

    ``base_url`` and ``token`` default to ``settings.CIVITAI_API_URL`` and
    ``settings.CIVITAI_API_TOKEN``, read when the client is built.
    """

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        session: requests.Session | None = None,
        content_session: requests.Session | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
        read_timeout: float | None = None,
    ):
        self.base_url = (base_url or settings.CIVITAI_API_URL).rstrip("/")
        self.token = token if token is not None else settings.CIVITAI_API_TOKEN
        self.secrets: tuple[str, ...] = (self.token,) if self.token else ()
        self.session = session or build_session(token=self.token, read_timeout=read_timeout)
        # No token here, ever: blob content is public by signed path and may be off-host.
        self.content_session = content_session or build_session(read_timeout=read_timeout)
        self.max_pages = max_pages

    # -- plumbing ---------------------------------------------------------------------

    def url(self, *segments: str) -> str:
        """``base_url`` + the path, each dynamic segment percent-encoded (``/`` too)."""
        return self.base_url + "".join("/" + quote(str(s), safe="") for s in segments)

    def _require_token(self) -> None:
        if not self.token:
            raise MissingToken("CIVITAI_API_TOKEN is not set - add it to the environment or .env")

    def _get_json(
        self, what: str, segments: Sequence[str], params: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[int, Any]:
        self._require_token()
        return request_json(
            self.session,
            "GET",
            self.url(*segments),
            what=what,
            meanings=ORCHESTRATION_MEANINGS,
            secrets=self.secrets,
            params=params,
            **kw,
        )

    def _send(self, session: requests.Session, url: str, *, what: str, **kw: Any):
        """GET returning the raw response (for redirects and streams), errors typed."""
        try:
            response = session.get(url, **kw)
        except requests.exceptions.RequestException as exc:
            raise UpstreamError(f"{what}: {network_problem(exc)}", secrets=self.secrets) from None
        if response.status_code >= 400:
            try:
                raise_for_status(
                    response, what=what, meanings=ORCHESTRATION_MEANINGS, secrets=self.secrets
                )
            finally:
                response.close()
        return response

    def _bad(self, what: str, problem: str) -> BadResponse:
        return BadResponse(f"{what}: {problem}", secrets=self.secrets)

    def _check_same(self, kind: str, requested: str, returned: str) -> None:
        """Refuse an answer about another record than the one asked for, naming both ids.

        Ids are compared without regard to case (job ids are UUIDs, which the API may
        spell in either case); anything else means the answer is not about our request.
        """
        if returned.casefold() != str(requested).casefold():
            shown = returned or "(no id)"
            raise ResponseMismatch(
                f"Orchestration API returned {kind} {shown} for requested {kind} {requested}",
                secrets=self.secrets,
            )

    def _workflow(self, what: str, body: Any) -> Workflow:
        try:
            return Workflow.from_api(body)
        except UnexpectedShape as exc:
            raise self._bad(what, f"unexpected workflow shape ({exc})") from None

    def _page(self, what: str, body: Any, *, allow_bare: bool) -> WorkflowPage:
        if isinstance(body, list) and allow_bare:
            items, next_cursor = body, None
        elif isinstance(body, dict) and isinstance(body.get("items"), list):
            items, next_cursor = body["items"], body.get("next")
        else:
            raise self._bad(what, "expected {items, next} with a list of workflows")
        if next_cursor is not None and not isinstance(next_cursor, str):
            raise self._bad(what, "the next cursor is not a string")
        return WorkflowPage(
            items=[self._workflow(what, item) for item in items],
            next=next_cursor or None,
            raw=body,
        )

    def _iter_pages(
        self, fetch: Callable[[str | None], WorkflowPage], cursor: str | None, max_pages: int | None
    ) -> Iterator[WorkflowPage]:
        """Follow ``next`` until it is null/empty, repeats, or the page bound is hit."""
        bound = self.max_pages if max_pages is None else max_pages
        seen: set[str] = set()
        for _ in range(bound):
            page = fetch(cursor)
            yield page
            if not page.next or page.next in seen or page.next == cursor:
                return
            seen.add(page.next)
            cursor = page.next
        logger.warning("Stopped paging after %s pages (page bound)", bound)

    # -- workflows --------------------------------------------------------------------

    def list_workflows(
        self,
        *,
        tags: Sequence[str] = (),
        query: str | None = None,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
        cursor: str | None = None,
        take: int | None = None,
        exclude_failed: bool = False,
        ascending: bool = False,
        hide_mature_content: bool | None = None,
    ) -> WorkflowPage:
        """One page of ``GET /v2/consumer/workflows`` (tags repeated, dates ISO UTC)."""
        params = _params(
            tags=list(tags),
            query=query or None,
            fromDate=iso_utc(from_date) if from_date else None,
            toDate=iso_utc(to_date) if to_date else None,
            cursor=cursor or None,
            take=take,
            excludeFailed=_flag(exclude_failed) if exclude_failed else None,
            ascending=_flag(ascending) if ascending else None,
            hideMatureContent=_flag(hide_mature_content),
        )
        what = "Workflow list"
        _, body = self._get_json(what, ["v2", "consumer", "workflows"], params)
        return self._page(what, body, allow_bare=False)

    def iter_workflow_pages(
        self, *, cursor: str | None = None, max_pages: int | None = None, **filters: Any
    ) -> Iterator[WorkflowPage]:
        """Every page of ``list_workflows(**filters)``, following ``next``."""
        return self._iter_pages(
            lambda c: self.list_workflows(cursor=c, **filters), cursor, max_pages
        )

    def iter_workflows(self, **kwargs: Any) -> Iterator[Workflow]:
        for page in self.iter_workflow_pages(**kwargs):
            yield from page.items

    def get_workflow(
        self, workflow_id: str, *, wait: int = 0, hide_mature_content: bool | None = None
    ) -> Workflow:
        """``GET /v2/consumer/workflows/{id}``; ``wait`` (whole seconds) lets the API block.

        A 202 answer means the wait elapsed first; the body is the still-running workflow.
        """
        if isinstance(wait, bool) or not isinstance(wait, int) or not 0 <= wait <= MAX_SERVER_WAIT:
            raise InvalidArgument(f"wait must be whole seconds between 0 and {MAX_SERVER_WAIT}")
        what = f"Workflow {workflow_id}"
        params = _params(wait=wait or None, hideMatureContent=_flag(hide_mature_content))
        kw: dict[str, Any] = {}
        if wait:  # the read timeout must outlast the server-side wait
            connect, read = getattr(self.session, "default_timeout", (5.0, 30.0))
            kw["timeout"] = (connect, read + wait)
        _, body = self._get_json(what, ["v2", "consumer", "workflows", workflow_id], params, **kw)
        workflow = self._workflow(what, body)
        self._check_same("workflow", workflow_id, workflow.id)
        return workflow

    def wait_for_workflow(
        self,
        workflow_id: str,
        *,
        timeout: float = 300,
        server_wait: int = 20,
        cadence: Sequence[float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_poll: Callable[[Workflow], None] | None = None,
    ) -> Workflow:
        """Poll until the workflow reaches a terminal status or ``timeout`` seconds pass.

        Each poll asks the API to wait up to ``server_wait`` seconds; when it answers
        sooner (202 or a non-terminal 200) we pause per ``cadence`` before asking again.
        Returns the last workflow seen; check ``is_terminal`` to tell a timeout.
        """
        steps = tuple(DEFAULT_POLL_CADENCE if cadence is None else cadence) or (0,)
        deadline = clock() + timeout
        attempt = 0
        while True:
            remaining = deadline - clock()
            started = clock()
            workflow = self.get_workflow(
                workflow_id, wait=int(max(0, min(server_wait, remaining, MAX_SERVER_WAIT)))
            )
            if on_poll:
                on_poll(workflow)
            if workflow.is_terminal or clock() >= deadline:
                return workflow
            pause = steps[min(attempt, len(steps) - 1)] - (clock() - started)
            pause = min(pause, deadline - clock())
            if pause > 0:
                sleep(pause)
            attempt += 1

    def get_step(self, workflow_id: str, step_name: str) -> Step:
        """``GET /v2/consumer/workflows/{id}/steps/{name}``."""
        what = f"Step {step_name} of workflow {workflow_id}"
        _, body = self._get_json(
            what, ["v2", "consumer", "workflows", workflow_id, "steps", step_name]
        )
        try:
            step = Step.from_api(body)
        except UnexpectedShape as exc:
            raise self._bad(what, f"unexpected step shape ({exc})") from None
        self._check_same("step", step_name, step.name)
        return step

    # -- v1 jobs ----------------------------------------------------------------------

    def get_job(self, job_id: str, *, detailed: bool = True) -> Job:
        """``GET /v1/consumer/jobs/{id}?detailed=true``: ``{token, jobs: [...]}`` or a bare JobStatus.

        Both generated clients (civitai-python, civitai-javascript) declare the envelope;
        older readers took a bare JobStatus, so both are read. ``Job.body`` keeps the
        answer as received. A 404 is ``NotFound``: for a job id taken from a v2 blob it
        means the v1 API has no record of it, which callers report as such.
        """
        what = f"Job {job_id}"
        _, body = self._get_json(
            what, ["v1", "consumer", "jobs", job_id], _params(detailed=_flag(detailed))
        )
        try:
            job = Job.from_api(body)
        except UnexpectedShape as exc:
            raise self._bad(what, f"unexpected job shape ({exc})") from None
        self._check_same("job", job_id, job.job_id)
        return job

    # -- manager ----------------------------------------------------------------------

    def list_user_workflows(
        self,
        user_id: int,
        *,
        take: int | None = None,
        cursor: str | None = None,
        tags: Sequence[str] = (),
        query: str | None = None,
        exclude_failed: bool = False,
        oldest: bool = False,
    ) -> WorkflowPage:
        """``GET /v1/manager/workflows`` (manager token; PascalCase parameters).

        Accepts both envelopes seen in the wild: ``{items, next}`` and a bare array.
        """
        params = _params(
            UserId=int(user_id),
            Take=take,
            Cursor=cursor or None,
            Tags=list(tags),
            Query=query or None,
            ExcludeFailed=_flag(exclude_failed) if exclude_failed else None,
            Inverse=_flag(oldest) if oldest else None,
        )
        what = f"Workflows of user {user_id}"
        _, body = self._get_json(what, ["v1", "manager", "workflows"], params)
        return self._page(what, body, allow_bare=True)

    def iter_user_workflow_pages(
        self, user_id: int, *, cursor: str | None = None, max_pages: int | None = None, **filters
    ) -> Iterator[WorkflowPage]:
        return self._iter_pages(
            lambda c: self.list_user_workflows(user_id, cursor=c, **filters), cursor, max_pages
        )

    # -- blobs ------------------------------------------------------------------------

    def resolve_blob(
        self,
        blob_id: str,
        *,
        nsfw_level: str | None = None,
        workflow_id: str | None = None,
        filename: str | None = None,
        download: bool | None = None,
    ) -> BlobLocation:
        """Read the 308 of ``GET /v2/consumer/blobs/{id}`` without following it.

        Sends only GetBlob's published parameters: ``nsfwLevel`` (the highest level to
        serve; one of ``NSFW_LEVELS``), ``workflowId``, ``filename``, ``download``.
        A ``Location`` under ``/blobs/blocked/`` marks the blob blocked.
        """
        if nsfw_level is not None and nsfw_level not in NSFW_LEVELS:
            raise InvalidArgument(f"NSFW level must be one of {', '.join(NSFW_LEVELS)}")
        self._require_token()
        what = f"Blob {blob_id}"
        request_url = self.url("v2", "consumer", "blobs", blob_id)
        params = _params(
            workflowId=workflow_id,
            nsfwLevel=nsfw_level,
            filename=filename or None,
            download=_flag(download),
        )
        response = self._send(
            self.session, request_url, what=what, params=params, allow_redirects=False
        )
        response.close()
        if response.status_code not in REDIRECT_STATUSES:
            raise self._bad(what, f"expected a redirect, got HTTP {response.status_code}")
        location = response.headers.get("Location")
        if not location:
            raise self._bad(what, "redirect without a Location header")
        target = urljoin(response.url, location)
        parsed = urlparse(target)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            raise self._bad(what, "redirect to an unsupported location")
        return BlobLocation(
            blob_id=blob_id,
            url=target,
            blocked="/blobs/blocked/" in parsed.path,
            status=response.status_code,
        )

    def open_content(self, url: str, *, what: str = "Blob content") -> requests.Response:
        """Start a streamed GET of blob bytes, **without** the token; caller closes it."""
        return self._send(self.content_session, url, what=what, stream=True)

    def test_connection(self) -> WorkflowPage:
        """One-item workflow list: proves the URL answers and the token is accepted."""
        return self.list_workflows(take=1)
