"""The one way civitrack talks HTTP to the outside world.

Both Civitai clients (and URL hashing) build their ``requests.Session`` here, so
every outbound call gets the same fixed connect/read timeouts, the same bounded
urllib3 ``Retry`` on 429/5xx that honours ``Retry-After``, and the same typed
errors whose messages never carry a token.

Per-read timeouts alone do not bound a call: a server sending one byte a second never
trips them, and retries with ``Retry-After`` pauses add up. So every call also runs
under a ``Deadline`` (``HTTP_TOTAL_TIMEOUT``; URL hashing opens its own with
``HASH_TIMEOUT``) covering connects, retries, pauses and the body: each attempt's
timeouts are cut to the time left, a retry pause that would pass the deadline is not
taken, and when the deadline passes a watchdog shuts the sockets the call is reading
from, so even a dribbling body stops. Streaming downloads to disk have no total
deadline but must keep ``HTTP_MIN_DOWNLOAD_RATE`` (``iter_at_min_rate``).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)
from urllib3.util.retry import Retry

from civitrack.logging import redact

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "civitrack/0.1 (+https://github.com/civitrack)"


class UpstreamError(Exception):
    """A remote API failed or answered something we cannot trust.

    ``status`` is the HTTP status when there was one. The message is redacted at
    construction so it can be printed, logged or returned to a client as is.
    """

    def __init__(self, message: str, *, status: int | None = None, secrets: tuple[str, ...] = ()):
        self.status = status
        super().__init__(redact(message, secrets))


class Unauthorized(UpstreamError):
    """401: the token is missing, invalid or expired."""


class Forbidden(UpstreamError):
    """403: the token is valid but not allowed to see this."""


class NotFound(UpstreamError):
    """404 (or an empty answer where one record was asked for)."""


class InvalidRequest(UpstreamError):
    """400/422: the parameters were refused; retrying will not help."""


class RateLimited(UpstreamError):
    """429 still returned after the bounded retries."""


class BadResponse(UpstreamError):
    """The answer is not what the API promises: not JSON, truncated, wrong shape."""


class ResponseMismatch(BadResponse):
    """The answer is well formed but about something other than what was asked."""


class DeadlineExceeded(requests.exceptions.Timeout):
    """A call ran out of its total time (retries and pauses included).

    A ``requests`` ``Timeout``, so every ``except RequestException`` in the clients
    already catches it; ``network_problem`` reads its message, which says how long.
    """


class Deadline:
    """A total time budget for one outbound call, enforced on the sockets it reads.

    Use as a context manager around the call. Inside it, ``current_deadline()`` returns
    it, connections register their socket (``watch``) before reading an answer, and a
    timer shuts those sockets when the time is up; a blocked read then returns at once.
    Nested deadlines keep the outer one (the whole hash, not each redirect).
    """

    def __init__(self, seconds: float, setting: str):
        self.seconds = float(seconds)
        self.setting = setting
        self.expires = time.monotonic() + self.seconds
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer: threading.Timer | None = None
        self._outer: Deadline | None = None

    def remaining(self) -> float:
        return max(0.0, self.expires - time.monotonic())

    def error(self, waiting: float | None = None) -> DeadlineExceeded:
        if waiting is not None:
            return DeadlineExceeded(
                f"timed out: waiting {waiting:g}s to retry would pass the {self.seconds:g}s"
                f" limit ({self.setting})"
            )
        return DeadlineExceeded(
            f"timed out after {self.seconds:g}s ({self.setting}, retries included)"
        )

    def check(self) -> None:
        """Raise ``DeadlineExceeded`` if the time is up."""
        if self.expired or self.remaining() <= 0:
            self.expired = True
            raise self.error()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if self.expired:
                _shut(sock)
            else:
                self._sockets.append(sock)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def __enter__(self) -> Deadline:
        outer = current_deadline()
        if outer is not None:
            self._outer = outer
            return outer
        self._timer = threading.Timer(self.remaining(), self._fire)
        self._timer.daemon = True
        self._timer.start()
        _local.deadline = self
        return self

    def __exit__(self, *exc_info) -> None:
        if self._outer is not None:
            return
        _local.deadline = None
        if self._timer is not None:
            self._timer.cancel()
        with self._lock:
            self._sockets = []


_local = threading.local()


def current_deadline() -> Deadline | None:
    """The deadline of the call running in this thread, if any."""
    return getattr(_local, "deadline", None)


def _shut(sock: socket.socket) -> None:
    # socket.socket's own shutdown, also for an SSLSocket: wake the reader, leave the
    # TLS object to the thread using it.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class WatchedConnectionMixin:
    """Register the socket with the current deadline before reading each answer."""

    def getresponse(self, *args, **kwargs):
        deadline = current_deadline()
        if deadline is not None and getattr(self, "sock", None) is not None:
            deadline.watch(self.sock)
        return super().getresponse(*args, **kwargs)


class WatchedHTTPConnection(WatchedConnectionMixin, HTTPConnection):
    pass


class WatchedHTTPSConnection(WatchedConnectionMixin, HTTPSConnection):
    pass


class WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """``HTTPAdapter`` whose connections a ``Deadline`` can stop mid-read."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": WatchedHTTPConnectionPool,
            "https": WatchedHTTPSConnectionPool,
        }


class CappedRetry(Retry):
    """urllib3 ``Retry`` whose honoured ``Retry-After`` is capped, and that respects deadlines.

    A server asking for a 10-minute pause would otherwise hold a web request or a
    command hostage; past the cap we give up and report rate limiting instead. Under
    a ``Deadline`` no retry starts after it and no pause is taken that would pass it.
    """

    retry_after_max: float = 30.0

    def get_retry_after(self, response):  # type: ignore[override]
        value = super().get_retry_after(response)
        if value is None:
            return None
        return min(value, self.retry_after_max)

    def new(self, **kw):  # keep the cap on the copies urllib3 makes per attempt
        new = super().new(**kw)
        new.retry_after_max = self.retry_after_max
        return new

    def increment(self, *args, **kwargs):  # type: ignore[override]
        deadline = current_deadline()
        if deadline is not None:
            deadline.check()
        return super().increment(*args, **kwargs)

    def sleep(self, response=None) -> None:  # type: ignore[override]
        deadline = current_deadline()
        if deadline is not None:
            wait = None
            if response is not None and self.respect_retry_after_header:
                wait = self.get_retry_after(response)
            if wait is None:
                wait = self.get_backoff_time()
            if wait >= deadline.remaining():
                raise deadline.error(waiting=wait)
        super().sleep(response)


class TimeoutSession(requests.Session):
    """A ``requests.Session`` that always applies the configured timeouts and a deadline.

    A call not already under a ``Deadline`` gets one of ``total_timeout`` seconds,
    except a streamed one (its body is read after ``request`` returns: the caller
    bounds it, by its own deadline or ``iter_at_min_rate``).
    """

    def __init__(self, timeout: tuple[float, float], total_timeout: float | None = None):
        super().__init__()
        self.default_timeout = timeout
        self.total_timeout = total_timeout

    def request(self, method, url, **kwargs):  # type: ignore[override]
        timeout = kwargs.get("timeout") or self.default_timeout
        outer = current_deadline()
        if outer is None and (kwargs.get("stream") or not self.total_timeout):
            kwargs["timeout"] = timeout
            return super().request(method, url, **kwargs)
        scope = (
            contextlib.nullcontext(outer)
            if outer is not None
            else Deadline(self.total_timeout, "HTTP_TOTAL_TIMEOUT")
        )
        with scope as deadline:
            deadline.check()
            left = max(deadline.remaining(), 0.001)
            if isinstance(timeout, tuple):
                kwargs["timeout"] = tuple(min(t, left) if t else left for t in timeout)
            else:
                kwargs["timeout"] = min(timeout, left) if timeout else left
            try:
                return super().request(method, url, **kwargs)
            except requests.exceptions.RequestException as exc:
                if isinstance(exc, DeadlineExceeded):
                    raise
                inner = _deadline_cause(exc)
                if inner is not None:
                    raise inner from None
                if deadline.expired:
                    raise deadline.error() from None
                raise


def _deadline_cause(exc: BaseException) -> DeadlineExceeded | None:
    """A ``DeadlineExceeded`` that requests wrapped (e.g. in a ``ConnectionError``)."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, DeadlineExceeded):
            return current
        args = getattr(current, "args", ())
        inner = args[0] if args and isinstance(args[0], BaseException) else None
        if isinstance(inner, MaxRetryError):
            inner = inner.reason
        current = inner or current.__cause__ or current.__context__
        seen += 1
    return None


def iter_at_min_rate(
    response: requests.Response, chunk_size: int, *, min_rate: int | None = None
) -> Iterator[bytes]:
    """Yield a streamed body as it arrives, stopping one that falls below ``min_rate``.

    For downloads to disk, which may legitimately take long: no total deadline, but
    over every window of ``HTTP_READ_TIMEOUT`` seconds at least ``min_rate`` bytes per
    second (``HTTP_MIN_DOWNLOAD_RATE``) must arrive, or ``UpstreamError`` says so.
    ``read1`` returns what has arrived, so a dribbling server cannot hide behind a
    chunk that never fills.
    """
    rate = settings.HTTP_MIN_DOWNLOAD_RATE if min_rate is None else min_rate
    window = float(settings.HTTP_READ_TIMEOUT)
    raw = response.raw
    started, got = time.monotonic(), 0
    while True:
        try:
            chunk = raw.read1(chunk_size, decode_content=True)
        except (ProtocolError, ReadTimeoutError) as exc:
            raise requests.exceptions.ChunkedEncodingError(exc) from None
        if not chunk:
            return
        got += len(chunk)
        elapsed = time.monotonic() - started
        if elapsed >= window:
            if rate and got < rate * elapsed:
                raise UpstreamError(
                    f"download too slow: {got} bytes in {elapsed:.0f}s, below"
                    f" HTTP_MIN_DOWNLOAD_RATE ({rate} bytes/s)"
                )
            started, got = time.monotonic(), 0
        yield chunk


def build_session(
    *,
    token: str | None = None,
    retries: int | None = None,
    backoff_factor: float | None = None,
    retry_after_max: float | None = None,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    total_timeout: float | None = None,
    allowed_methods: frozenset[str] = frozenset({"GET", "HEAD"}),
) -> TimeoutSession:
    """Return a session with timeouts, bounded retries on 429/5xx and optional bearer auth.

    Defaults come from settings (``HTTP_*``). Retries are for idempotent methods only
    unless ``allowed_methods`` says otherwise; ``raise_on_status=False`` lets the caller
    see the final response and map it to a typed error.
    """
    retry = CappedRetry(
        total=settings.HTTP_MAX_RETRIES if retries is None else retries,
        connect=2,
        read=2,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=allowed_methods,
        backoff_factor=settings.HTTP_BACKOFF_FACTOR if backoff_factor is None else backoff_factor,
        backoff_max=30,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )
    retry.retry_after_max = (
        settings.HTTP_RETRY_AFTER_MAX if retry_after_max is None else retry_after_max
    )
    session = TimeoutSession(
        (
            settings.HTTP_CONNECT_TIMEOUT if connect_timeout is None else connect_timeout,
            settings.HTTP_READ_TIMEOUT if read_timeout is None else read_timeout,
        ),
        total_timeout=settings.HTTP_TOTAL_TIMEOUT if total_timeout is None else total_timeout,
    )
    adapter = DeadlineAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    session.headers["Accept"] = "application/json"
    if token:
        session.headers["Authorization"] = f"Bearer {token}"
    return session


@dataclass(frozen=True)
class ErrorMeanings:
    """Human meanings of HTTP statuses for one API, used in error messages."""

    unauthorized: str = "invalid or expired token"
    forbidden: str = "not allowed with this token"
    not_found: str = "not found"
    invalid: str = "invalid parameters"
    rate_limited: str = "rate limited, wait before retrying"


def _problem_detail(response: requests.Response) -> str:
    """Best-effort short text from an error body (ProblemDetails, {error}, {message})."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        for key in ("detail", "error", "message", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value[:300]
            if isinstance(value, dict | list) and value:
                return json.dumps(value)[:300]
    return ""


def raise_for_status(
    response: requests.Response,
    *,
    what: str,
    meanings: ErrorMeanings = ErrorMeanings(),
    secrets: tuple[str, ...] = (),
) -> None:
    """Map a non-2xx response to the matching typed error, naming ``what`` was asked."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = _problem_detail(response)
    suffix = f": {detail}" if detail else ""
    kw = {"status": status, "secrets": secrets}
    if status == 401:
        raise Unauthorized(f"{what}: HTTP 401 {meanings.unauthorized}{suffix}", **kw)
    if status == 403:
        raise Forbidden(f"{what}: HTTP 403 {meanings.forbidden}{suffix}", **kw)
    if status in (404, 410):
        raise NotFound(f"{what}: HTTP {status} {meanings.not_found}{suffix}", **kw)
    if status in (400, 422):
        raise InvalidRequest(f"{what}: HTTP {status} {meanings.invalid}{suffix}", **kw)
    if status == 429:
        raise RateLimited(f"{what}: HTTP 429 {meanings.rate_limited}{suffix}", **kw)
    raise UpstreamError(f"{what}: HTTP {status} from upstream{suffix}", **kw)


def parse_json(response: requests.Response, *, what: str, secrets: tuple[str, ...] = ()) -> Any:
    """Decode a JSON body, refusing HTML pages and truncated or malformed JSON clearly."""
    ctype = response.headers.get("Content-Type", "")
    text = response.text
    if "html" in ctype.lower() or text.lstrip()[:1] == "<":
        raise BadResponse(
            f"{what}: expected JSON but got an HTML page (HTTP {response.status_code})",
            status=response.status_code,
            secrets=secrets,
        )
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadResponse(
            f"{what}: response is not valid JSON ({exc.msg} at position {exc.pos};"
            f" {len(text)} bytes received)",
            status=response.status_code,
            secrets=secrets,
        ) from None


def network_problem(exc: requests.exceptions.RequestException) -> str:
    """A short, token-free reason for a failed connection, read through requests' wrapping.

    After urllib3's retries are used up, requests raises a bare ``ConnectionError``
    around ``MaxRetryError`` even when every attempt timed out or was reset; the real
    cause is the retry error's ``reason``.
    """
    deadline = _deadline_cause(exc)
    if deadline is not None:
        return str(deadline)
    reason: BaseException | None = exc
    inner = exc.args[0] if exc.args else None
    if isinstance(inner, MaxRetryError):
        reason = inner.reason
    elif isinstance(inner, BaseException):
        reason = inner
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2: test it first.
    if isinstance(reason, NameResolutionError):
        return "the host name could not be resolved"
    if isinstance(reason, NewConnectionError):
        return "connection refused" if "refused" in str(reason).lower() else "could not connect"
    if isinstance(exc, requests.exceptions.Timeout) or isinstance(
        reason, ReadTimeoutError | ConnectTimeoutError | TimeoutError
    ):
        return "timed out waiting for an answer"
    if isinstance(reason, ProtocolError):
        cause = reason.args[1] if len(reason.args) > 1 else None
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the server"
        return "the connection broke before the answer arrived"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error (certificate or handshake)"
    return f"network error ({type(exc).__name__})"


def request_json(
    session: requests.Session,
    method: str,
    url: str,
    *,
    what: str,
    meanings: ErrorMeanings = ErrorMeanings(),
    secrets: tuple[str, ...] = (),
    **kwargs: Any,
) -> tuple[int, Any]:
    """Send a request and return ``(status, decoded JSON)`` or raise a typed error.

    Network failures (refused, reset, timeouts after retries) become ``UpstreamError``
    saying which (``network_problem``), with the token redacted.
    """
    try:
        response = session.request(method, url, **kwargs)
    except requests.exceptions.RetryError as exc:
        raise RateLimited(f"{what}: gave up after retries ({exc})", secrets=secrets) from None
    except requests.exceptions.RequestException as exc:
        raise UpstreamError(f"{what}: {network_problem(exc)}", secrets=secrets) from None
    raise_for_status(response, what=what, meanings=meanings, secrets=secrets)
    if response.status_code == 204 or not response.content:
        return response.status_code, None
    return response.status_code, parse_json(response, what=what, secrets=secrets)
