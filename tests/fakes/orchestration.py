"""A fake Civitai Orchestration API: real HTTP on 127.0.0.1, in a thread.

Serves the routes of civitai-api.md §1 with the fixtures of §4.1
(``tests.fakes.orchestration_data``), records every request (method, path, query as a
multi-dict, headers) so tests can assert parameters, retries and what was *not*
requested, and has knobs for the behaviours the docs leave open or that clients get
wrong: error statuses with or without ``Retry-After``, raw (HTML) error pages,
connection resets, slow and malformed answers, list
envelopes, enum casing, ``jobs`` on/off, relative/absolute blob redirects, blocked
blobs, 202 while a workflow runs, 400 on a non-integer ``wait``.

Consumer and manager routes refuse a missing or wrong bearer token (401); the blob
content and blocked-placeholder routes need none, like the real API.

The v2 routes follow Civitai's published schema, pinned in ``tests/fakes/spec``: every
request's parameters and every answer are checked against it, and a test fails when
the fake or the client goes off it (``spec_violations``; ``strict_spec = False`` for a
test that leaves the schema on purpose). A parameter value that does not bind is
answered 400 ValidationProblemDetails, as ASP.NET does. Behaviour the schema does not
describe, and what the fake follows there:

- ``GET /v1/consumer/jobs/{id}``: not in the v2 schema. Both generated clients
  (``civitai/civitai-python``'s ``JobStatusCollection``, ``civitai/civitai-javascript``)
  declare ``{token, jobs: [JobStatus]}``, so that is the default answer;
  ``job_envelope = "bare"`` serves the bare JobStatus older readers expect. 404 for
  an id it does not hold (the v1 API's answer for a job it has no record of).
- ``GET /v1/manager/workflows``: not in the v2 schema; ``{items, next}`` with ``next``
  null at the end and PascalCase statuses, per docs/orchestration-cli.md's table
  (the moderation app's fixtures); ``manager_envelope = "bare"`` for a bare array.
- ``wait`` on GetWorkflow: the schema gives only its type. Like the real API the
  request is held until the workflow finishes (``until=change``: until it changes)
  or ``wait`` seconds pass, then answered 202 with the running workflow.
  ``finish_after`` scripts 202 answers without holding, for fast polling tests.
- GetBlob with ``nsfwLevel``: a blob above that level (or without one) is refused
  with 403, as the parameter's description says; without ``nsfwLevel`` a mature
  blob redirects to the blocked placeholder.
- Tag filters: every ``tags`` value must be on the workflow (all must match, as the
  documentation says); any ``excludeTags`` value drops it.

Usage (tests use the ``fake_orchestration`` fixture of tests/conftest.py)::

    with FakeOrchestration.running() as fake:
        fake.fail("workflows", 429, times=2)
        ...
        assert len(fake.requests_to("workflows")) == 3
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

from tests.fakes import orchestration_data as data
from tests.fakes import spec as published

DEFAULT_TOKEN = "orch-fake-token-7f3a9c1e55d04b2a"
CONSUMER_ROUTES = {"workflows", "workflow", "step", "job", "manager", "blob"}
FAILED = {"failed", "expired", "canceled"}
TERMINAL = FAILED | {"succeeded"}
MATURE_LEVELS = {"r", "x", "xxx"}
NSFW_ORDER = ["pg", "pg13", "r", "x", "xxx"]  # the schema's NSFWLevel, lowest first
MAX_HOLD = 100  # the API's own request timeout bounds any wait
# A 1x1 transparent PNG, served as the "blocked" placeholder like the real API.
PLACEHOLDER_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@dataclass
class RecordedRequest:
    method: str
    route: str
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None


@dataclass
class Override:
    status: int
    times: int | None  # None: every time
    retry_after: int | None = None
    body: Any = None
    raw: bytes | None = None  # sent as is, with ``content_type`` (e.g. an HTML error page)
    content_type: str | None = None
    reset: bool = False  # close the socket with a TCP reset instead of answering


@dataclass
class FakeBlob:
    content: bytes
    content_type: str
    blocked: bool = False
    mature: bool = False  # redirected to the placeholder unless nsfwLevel reaches its level
    token: str = ""
    nsfw_level: str | None = None  # "x" for a mature blob, "pg" otherwise, unless given


@dataclass
class FakeOrchestration:
    token: str = DEFAULT_TOKEN
    requests: list[RecordedRequest] = field(default_factory=list)
    workflows: dict[str, dict] = field(default_factory=dict)
    manager_workflows: dict[int, list[dict]] = field(default_factory=dict)
    jobs: dict[str, dict] = field(default_factory=dict)
    blobs: dict[str, FakeBlob] = field(default_factory=dict)
    # workflow id -> (answers of 202 still to give, the workflow once finished)
    pending: dict[str, list] = field(default_factory=dict)
    overrides: dict[str, list[Override]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    malformed: set[str] = field(default_factory=set)
    manager_envelope: str = "items"  # or "bare"
    job_envelope: str = "jobs"  # {token, jobs: [...]} as both generated clients; or "bare"
    enum_case: str = "lower"  # consumer routes; or "pascal"
    include_jobs: bool = True
    redirect_mode: str = "relative"  # or "absolute"
    # What `next` is on the last page: the schema types it as a string, so "" for v2;
    # None (null, off the schema) only when a test asks. The manager list (not in the
    # schema) ends with null as in the moderation app's fixtures (civitai-api.md §1.7).
    end_cursor: str | None = ""
    repeat_cursor: bool = False  # every page answers the cursor it was given (loop bug)
    # What the fake got or said that the published schema does not describe (see
    # tests/fakes/spec). ``running()`` fails the test when any is left, unless a test
    # that goes off the schema on purpose sets ``strict_spec = False``.
    spec_violations: list[str] = field(default_factory=list)
    strict_spec: bool = True
    url: str = ""

    def __post_init__(self):
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ----------------------------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def running(cls, *, load_fixtures: bool = True, **kwargs) -> Iterator[FakeOrchestration]:
        fake = cls(**kwargs)
        if load_fixtures:
            fake.load_fixtures()
        fake.start()
        try:
            yield fake
        finally:
            fake.stop()
        if fake.strict_spec and fake.spec_violations:
            raise AssertionError(
                "the fake went off the published schema:\n" + "\n".join(fake.spec_violations)
            )

    def start(self) -> None:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- data ---------------------------------------------------------------------------

    def load_fixtures(self) -> None:
        """The §4.1 fixtures: O1-O3/O5 workflows, O9 jobs, O10 manager rows, O7 blobs."""
        for wf in (
            data.workflow_done(),
            data.workflow_running(),
            data.workflow_failed(),
            data.workflow_mature(),
        ):
            self.add_workflow(wf)
        self.add_job(data.job_ok())
        self.add_job(data.job_csam())
        self.manager_workflows[7731] = [data.workflow_manager()]
        self.add_blob(data.BLOB_JPEG, b"\xff\xd8\xff\xe0fake-jpeg-bytes" * 64, "image/jpeg")
        self.add_blob(data.BLOB_VIDEO, b"\x00\x00\x00\x18ftypmp42" * 128, "video/mp4")
        self.add_blob(data.BLOB_BLOCKED, b"never served", "image/png", blocked=True)
        self.add_blob(data.BLOB_MATURE, b"\x89PNG mature bytes" * 32, "image/png", mature=True)
        self.add_blob("C5A1C5A1C5A1C5A1C5A1C5A1C5A1C5A1.png", b"must never be fetched", "image/png")

    def add_workflow(self, workflow: dict) -> None:
        self.workflows[workflow["id"]] = workflow

    def add_workflows(self, workflows: list[dict]) -> None:
        for wf in workflows:
            self.workflows[wf["id"]] = wf

    def add_job(self, job: dict) -> None:
        self.jobs[job["jobId"]] = job

    def add_blob(
        self,
        blob_id: str,
        content: bytes,
        content_type: str,
        *,
        blocked: bool = False,
        mature: bool = False,
        nsfw_level: str | None = "",
    ) -> FakeBlob:
        token = base64.urlsafe_b64encode(f"fake-token-{len(self.blobs):03d}".encode()).decode()
        if nsfw_level == "":
            nsfw_level = "x" if mature else "pg"
        blob = FakeBlob(content, content_type, blocked, mature, token.rstrip("="), nsfw_level)
        self.blobs[blob_id] = blob
        return blob

    def finish_after(self, workflow_id: str, times: int, finished: dict) -> None:
        """Answer 202 with the current (running) workflow ``times`` times, then 200 ``finished``."""
        self.pending[workflow_id] = [times, finished]

    # -- knobs --------------------------------------------------------------------------

    def fail(
        self,
        route: str,
        status: int,
        *,
        times: int | None = 1,
        retry_after: int | None = None,
        body: Any = None,
        omit_retry_after: bool = False,
        raw: bytes | None = None,
        content_type: str | None = None,
    ) -> None:
        """Answer ``status`` on ``route`` ``times`` times (None: always), then normally.

        A 429 carries ``Retry-After: 1`` unless ``retry_after`` says otherwise or
        ``omit_retry_after``. ``raw`` bytes (with ``content_type``) replace the JSON body.
        """
        if status == 429 and retry_after is None and not omit_retry_after:
            retry_after = 1
        self.overrides.setdefault(route, []).append(
            Override(status, times, retry_after, body, raw, content_type)
        )

    def reset(self, route: str, *, times: int | None = 1) -> None:
        """Close the connection with a TCP reset on ``route`` ``times`` times (None: always)."""
        self.overrides.setdefault(route, []).append(Override(0, times, reset=True))

    def slow(self, route: str, seconds: float) -> None:
        self.delays[route] = seconds

    def serve_malformed(self, route: str) -> None:
        self.malformed.add(route)

    # -- inspection ---------------------------------------------------------------------

    def requests_to(self, route: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.route == route]

    def all_text(self) -> str:
        """Everything the fake received, flattened, for "never sent X" assertions."""
        with self._lock:
            return json.dumps([r.__dict__ for r in self.requests])

    # -- handling (called from the server threads) --------------------------------------

    def _take_override(self, route: str) -> Override | None:
        with self._lock:
            queue = self.overrides.get(route) or []
            while queue:
                current = queue[0]
                if current.times is None:
                    return current
                if current.times > 0:
                    current.times -= 1
                    if current.times == 0:
                        queue.pop(0)
                    return current
                queue.pop(0)
            return None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _violation(self, text: str) -> None:
        with self._lock:
            self.spec_violations.append(text)


def _route(segments: list[str]) -> tuple[str, list[str]]:
    """Route name and its path arguments for the decoded path segments."""
    match segments:
        case ["v2", "consumer", "workflows"]:
            return "workflows", []
        case ["v2", "consumer", "workflows", wf]:
            return "workflow", [wf]
        case ["v2", "consumer", "workflows", wf, "steps", name]:
            return "step", [wf, name]
        case ["v1", "consumer", "jobs", job]:
            return "job", [job]
        case ["v1", "manager", "workflows"]:
            return "manager", []
        case ["v2", "consumer", "blobs", "content", token]:
            return "content", [token]
        case ["v2", "consumer", "blobs", "blocked", token]:
            return "blocked", [token]
        case ["v2", "consumer", "blobs", blob]:
            return "blob", [blob]
    return "unknown", []


class _Respond(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict | None = None, raw=None):
        self.status, self.body, self.headers, self.raw = status, body, headers or {}, raw
        # Answers a test injected on purpose (``fail``, ``serve_malformed``) are not
        # checked against the schema; everything the fake says of itself is.
        self.deliberate = False


def _problem(status: int, title: str, detail: str | None = None, **extra) -> _Respond:
    body = {"title": title, "status": status, **extra}
    if detail:
        body["detail"] = detail
    return _Respond(status, body, {"Content-Type": "application/problem+json"})


def _pascal(value: Any) -> Any:
    return value[:1].upper() + value[1:] if isinstance(value, str) else value


def _cased(workflow: dict, case: str, include_jobs: bool) -> dict:
    """The workflow as served: enum casing and ``jobs`` per the knobs (a shallow copy)."""
    wf = dict(workflow)
    fix = (lambda v: _pascal(v)) if case == "pascal" else (lambda v: v.lower() if v else v)
    wf["status"] = fix(wf.get("status"))
    steps = []
    for step in wf.get("steps", []):
        step = dict(step)
        step["status"] = fix(step.get("status"))
        if not include_jobs:
            step.pop("jobs", None)
        steps.append(step)
    wf["steps"] = steps
    return wf


def _hide_mature(workflow: dict) -> dict:
    """``hideMatureContent=true``: mature blobs come back unavailable without a url.

    Blobs are found by shape wherever they sit in a step's output, as the client does.
    """
    wf = dict(workflow)
    wf["steps"] = [
        {**step, "output": _hide_blobs(step["output"])} if "output" in step else step
        for step in wf.get("steps", [])
    ]
    return wf


def _hide_blobs(value: Any) -> Any:
    if isinstance(value, dict):
        if "id" in value and isinstance(value.get("available"), bool):
            if str(value.get("nsfwLevel", "")).lower() in MATURE_LEVELS:
                return {**value, "available": False, "url": None}
            return value
        return {key: _hide_blobs(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_hide_blobs(item) for item in value]
    return value


def _truthy(value: str | None) -> bool:
    return (value or "").lower() == "true"


def _parse_date(value: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise _problem(
            400,
            "One or more validation errors occurred.",
            errors={name: [f"The value '{value}' is not valid."]},
        ) from None


def _int_param(params: dict, name: str, default: int | None) -> int | None:
    values = params.get(name)
    if not values:
        return default
    try:
        return int(values[0])
    except ValueError:
        raise _problem(
            400,
            "One or more validation errors occurred.",
            errors={name: [f"The value '{values[0]}' is not valid."]},
        ) from None


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        prefix, offset = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        assert prefix == "o"
        return int(offset)
    except Exception:
        raise _problem(400, "Bad Request", "The cursor is not valid") from None


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOrchestration
    server_version = "FakeOrchestration/1.0"

    def log_message(self, format, *args):  # keep test output clean
        pass

    def do_GET(self):
        self._handle("GET")

    def do_HEAD(self):
        self._handle("HEAD")

    def _handle(self, method: str) -> None:
        fake = self.owner
        raw_path, _, query = self.path.partition("?")
        segments = [unquote(s) for s in raw_path.split("/") if s]
        route, args = _route(segments)
        params = parse_qs(query, keep_blank_values=True)
        fake._record(
            RecordedRequest(method, route, unquote(raw_path), params, dict(self.headers.items()))
        )
        try:
            if delay := fake.delays.get(route):
                time.sleep(delay)
            unknown, invalid = published.check_request(route, params)
            for name in unknown:
                fake._violation(f"{route}: the client sent {name}, which the schema lacks")
            override = fake._take_override(route)
            if override and override.reset:
                # SO_LINGER 0 makes close() send RST: the client sees "connection reset".
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                self.close_connection = True
                return
            if override:
                headers = {}
                if override.retry_after is not None:
                    headers["Retry-After"] = str(override.retry_after)
                if override.raw is not None:
                    headers["Content-Type"] = override.content_type or "text/html"
                    answer = _Respond(override.status, headers=headers, raw=override.raw)
                else:
                    body = override.body
                    if body is None:
                        body = {"title": f"HTTP {override.status}", "status": override.status}
                    answer = _Respond(override.status, body, headers)
                answer.deliberate = True
                raise answer
            authorised = self.headers.get("Authorization") == f"Bearer {fake.token}"
            if route in CONSUMER_ROUTES and not authorised:
                raise _problem(
                    401,
                    "Unauthorized",
                    type="https://tools.ietf.org/html/rfc9110#section-15.5.2",
                    traceId="00-5f2c0000-01",
                )
            if route in fake.malformed:
                malformed = _Respond(200, raw=b'{"items": [{"id": "7731-2026', headers={})
                malformed.deliberate = True
                raise malformed
            if invalid:  # ASP.NET's model binding: 400 ValidationProblemDetails
                raise _problem(
                    400,
                    "One or more validation errors occurred.",
                    errors={name: [why] for name, why in invalid.items()},
                )
            handler = getattr(self, f"_route_{route}", None)
            if handler is None:
                raise _problem(404, "Not Found", f"No route for {raw_path}")
            handler(params, *args)
        except _Respond as answer:
            if not answer.deliberate and answer.raw is None:
                for problem in published.check_answer(
                    route, answer.status, answer.body, has_body=answer.body is not None
                ):
                    fake._violation(problem)
            self._send(answer, method)

    def _send(self, answer: _Respond, method: str) -> None:
        headers = dict(answer.headers)
        if answer.raw is not None:
            payload = answer.raw
            headers.setdefault("Content-Type", "application/json")
        elif answer.body is not None:
            payload = json.dumps(answer.body).encode()
            headers.setdefault("Content-Type", "application/json; charset=utf-8")
        else:
            payload = b""
        self.send_response(answer.status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if method != "HEAD" and payload:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(payload)

    # -- routes -------------------------------------------------------------------------

    def _serve_list(
        self, items: list[dict], params: dict, *, take: int, cursor: str | None, end: str | None
    ):
        fake = self.owner
        offset = _decode_cursor(cursor)
        page = items[offset : offset + take]
        more = offset + take < len(items)
        if fake.repeat_cursor and cursor:
            next_cursor: str | None = cursor
        elif more:
            next_cursor = _encode_cursor(offset + take)
        else:
            next_cursor = end
        return page, next_cursor

    def _filtered(
        self,
        workflows: list[dict],
        *,
        tags: list[str],
        query: str | None,
        exclude_tags: list[str] = (),
        exclude_failed: bool,
        ascending: bool,
        from_date: datetime | None = None,
        to_date: datetime | None = None,
    ) -> list[dict]:
        out = []
        for wf in workflows:
            if tags and not set(tags) <= set(wf.get("tags", [])):
                continue  # all must match
            if exclude_tags and set(exclude_tags) & set(wf.get("tags", [])):
                continue
            if query and query.lower() not in json.dumps(wf.get("metadata", {})).lower():
                continue
            if exclude_failed and str(wf.get("status", "")).lower() in FAILED:
                continue
            if from_date or to_date:
                created = datetime.fromisoformat(wf["createdAt"])
                if from_date and created < from_date:
                    continue
                if to_date and created > to_date:
                    continue
            out.append(wf)
        out.sort(key=lambda w: w.get("createdAt", ""), reverse=not ascending)
        return out

    def _route_workflows(self, params):
        fake = self.owner
        take = _int_param(params, "take", 100)
        from_date = _parse_date(params["fromDate"][0], "fromDate") if "fromDate" in params else None
        to_date = _parse_date(params["toDate"][0], "toDate") if "toDate" in params else None
        items = self._filtered(
            list(fake.workflows.values()),
            tags=params.get("tags", []),
            exclude_tags=params.get("excludeTags", []),
            query=(params.get("query") or [None])[0],
            exclude_failed=_truthy((params.get("excludeFailed") or [None])[0]),
            ascending=_truthy((params.get("ascending") or [None])[0]),
            from_date=from_date,
            to_date=to_date,
        )
        page, next_cursor = self._serve_list(
            items,
            params,
            take=take,
            cursor=(params.get("cursor") or [None])[0],
            end=fake.end_cursor,
        )
        hide = (params.get("hideMatureContent") or ["true"])[0].lower() != "false"
        served = [_cased(wf, fake.enum_case, fake.include_jobs) for wf in page]
        if hide:
            served = [_hide_mature(wf) for wf in served]
        raise _Respond(200, {"next": next_cursor, "items": served})

    def _current_workflow(self, workflow_id: str) -> tuple[dict, int]:
        fake = self.owner
        with fake._lock:
            pending = fake.pending.get(workflow_id)
            if pending:
                if pending[0] > 0:
                    pending[0] -= 1
                    return fake.workflows[workflow_id], 202
                fake.workflows[workflow_id] = pending[1]
                del fake.pending[workflow_id]
        workflow = fake.workflows.get(workflow_id)
        if workflow is None:
            raise _problem(404, "Not Found", f"Workflow {workflow_id} was not found")
        return workflow, 200

    def _hold(self, workflow_id: str, workflow: dict, wait: int, until: str) -> tuple[dict, int]:
        """Hold the request like the API: until terminal (or changed), or ``wait`` seconds."""
        fake = self.owner
        before = json.dumps(workflow, sort_keys=True)
        deadline = time.monotonic() + min(wait, MAX_HOLD)
        while time.monotonic() < deadline:
            time.sleep(0.02)
            with fake._lock:
                current = fake.workflows.get(workflow_id, workflow)
            if str(current.get("status", "")).lower() in TERMINAL:
                return current, 200
            if until == "change" and json.dumps(current, sort_keys=True) != before:
                return current, 200
        with fake._lock:
            return fake.workflows.get(workflow_id, workflow), 202

    def _route_workflow(self, params, workflow_id):
        fake = self.owner
        wait = _int_param(params, "wait", 0) or 0
        until = (params.get("until") or ["completion"])[0].lower()
        workflow, status = self._current_workflow(workflow_id)
        scripted = status == 202
        running = str(workflow.get("status", "")).lower() not in TERMINAL
        if wait > 0 and running and not scripted:
            workflow, status = self._hold(workflow_id, workflow, wait, until)
        served = _cased(workflow, fake.enum_case, fake.include_jobs)
        if (params.get("hideMatureContent") or ["false"])[0].lower() == "true":
            served = _hide_mature(served)
        raise _Respond(status, served)

    def _route_step(self, params, workflow_id, step_name):
        fake = self.owner
        workflow = fake.workflows.get(workflow_id)
        if workflow is None:
            raise _problem(404, "Not Found", f"Workflow {workflow_id} was not found")
        served = _cased(workflow, fake.enum_case, fake.include_jobs)
        for step in served["steps"]:
            if step.get("name") == step_name:
                raise _Respond(200, step)
        raise _problem(404, "Not Found", f"Step {step_name} was not found")

    def _route_job(self, params, job_id):
        fake = self.owner
        job = fake.jobs.get(job_id)
        if job is None:
            raise _problem(404, "Not Found", f"Job {job_id} was not found")
        if fake.job_envelope == "jobs":
            raise _Respond(200, {"token": "tok-fake-1", "jobs": [job]})
        raise _Respond(200, job)

    def _route_manager(self, params):
        fake = self.owner
        user_id = _int_param(params, "UserId", None)
        if user_id is None:
            raise _problem(
                400, "One or more validation errors occurred.", errors={"UserId": ["required"]}
            )
        take = _int_param(params, "Take", 20)
        items = self._filtered(
            fake.manager_workflows.get(user_id, []),
            tags=params.get("Tags", []),
            query=(params.get("Query") or [None])[0],
            exclude_failed=_truthy((params.get("ExcludeFailed") or [None])[0]),
            ascending=_truthy((params.get("Inverse") or [None])[0]),
        )
        served = [_cased(wf, "pascal", fake.include_jobs) for wf in items]
        if fake.manager_envelope == "bare":
            raise _Respond(200, served[:take])
        page, next_cursor = self._serve_list(
            served, params, take=take, cursor=(params.get("Cursor") or [None])[0], end=None
        )
        raise _Respond(200, {"items": page, "next": next_cursor})

    def _route_blob(self, params, blob_id):
        fake = self.owner
        blob = fake.blobs.get(blob_id)
        if blob is None:
            raise _problem(404, "Not Found", f"Blob {blob_id} was not found")
        ceiling = (params.get("nsfwLevel") or [None])[0]
        if ceiling is not None:
            ceiling = ceiling.lower()
            level = blob.nsfw_level
            if level not in NSFW_ORDER or (
                ceiling in NSFW_ORDER and NSFW_ORDER.index(level) > NSFW_ORDER.index(ceiling)
            ):
                raise _problem(403, "Forbidden", f"Blob {blob_id} is above nsfwLevel {ceiling}")
        allow_mature = ceiling is not None
        kind = "blocked" if blob.blocked or (blob.mature and not allow_mature) else "content"
        location = f"/v2/consumer/blobs/{kind}/{blob.token}"
        if fake.redirect_mode == "absolute":
            location = fake.url + location
        raise _Respond(308, None, {"Location": location})

    def _blob_by_token(self, token: str) -> FakeBlob | None:
        return next((b for b in self.owner.blobs.values() if b.token == token), None)

    def _route_content(self, params, token):
        blob = self._blob_by_token(token)
        if blob is None or blob.blocked:
            raise _problem(404, "Not Found")
        raise _Respond(200, raw=blob.content, headers={"Content-Type": blob.content_type})

    def _route_blocked(self, params, token):
        raise _Respond(200, raw=PLACEHOLDER_PNG, headers={"Content-Type": "image/png"})
