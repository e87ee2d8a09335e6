"""Streaming sha256 of a URL or a local file, with the guards that make it safe to expose.

``calculate_sha256`` is reachable by agents and scripts holding an API token, so a
path or URL is untrusted input. What could go wrong, and what stops it here:

- Reading server files: only files whose *real* path (symlinks and ``..`` resolved)
  lies inside ``HASH_ALLOWED_ROOTS`` are read, and the opened descriptor is checked
  again so a symlink swapped in between cannot escape. No roots means no files.
- Server-side request forgery: only http/https; the address every connection
  *actually* goes to (resolved once, connected by IP, peer re-checked) must be
  public unless ``HASH_ALLOW_PRIVATE_URLS``. Link-local addresses (the cloud
  metadata service 169.254.169.254) are refused even then. Redirects are followed
  here, at most ``MAX_REDIRECTS``, each hop checked like the first URL.
- Exhaustion: connect/read timeouts from the shared session, one ``HASH_TIMEOUT``
  deadline for the whole hash (redirects, retries, pauses and the body: a server
  dribbling one byte a second is cut off), at most ``HASH_MAX_CONCURRENT`` URL hashes
  at once per process (one more is ``Busy``, 503 with ``Retry-After``) so slow
  upstreams cannot take every web thread, a ``HASH_MAX_BYTES`` cap (refused early
  from ``Content-Length``, enforced while streaming), and 1 MiB chunks so memory
  stays flat whatever the size.
- Hashing the wrong thing: a non-2xx answer or an HTML page (a login wall, a
  Civitai image *page* instead of the image) is an error, never a digest.

Messages name the path or URL with credentials and token-like query values removed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import socket
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.timeout import _DEFAULT_TIMEOUT

from civitrack.http import (
    Deadline,
    DeadlineExceeded,
    WatchedConnectionMixin,
    build_session,
    current_deadline,
)
from civitrack.logging import redact
from tracking.errors import Busy, InvalidInput, UpstreamFailure
from tracking.media_types import HEAD_BYTES

if TYPE_CHECKING:
    from tracking.file_facts import Spool

# A response's bytes come in pieces of this size (iter_content): few Python iterations
# per byte, and the socket reads are the bottleneck anyway.
CHUNK_SIZE = 1024 * 1024
# A local file is read into one reused buffer of this size. It must stay in the core's
# cache between the kernel's copy into it and the hash's read of it: with 1 MiB reads
# (more than this machine's 512 KiB of L2 per core) hash_file took 0.70 s for 512 MiB
# against openssl's 0.52 s; with 64 KiB reads, 0.46 s (docs/scale.md, hashing).
FILE_READ_SIZE = 64 * 1024
MAX_REDIRECTS = 5
URL_SCHEMES = ("http", "https")
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})

# "scheme://…" (two or more letters, so a Windows drive letter is not a scheme) or a
# scheme that never has "//" (file:/etc/passwd, data:…).
_URL_LIKE = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]+)://|^(?P<bare>file|data):", re.I)

# Refused whatever HASH_ALLOW_PRIVATE_URLS says: link-local ranges, where cloud
# metadata services answer with credentials, plus metadata addresses outside them.
_ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(n)
    for n in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


@dataclass(frozen=True)
class HashResult:
    """The digest of a file or download and how many bytes went into it."""

    sha256sum: str
    size_bytes: int
    # The first bytes, for tracking.media_types (create_asset's type check); not part of
    # the result's identity.
    head: bytes = field(default=b"", compare=False, repr=False)


# --- display -------------------------------------------------------------------


def display(path: str) -> str:
    """``path`` made safe for a message (``civitrack.logging.redact``), at most 300 characters."""
    text = redact(str(path))
    return text if len(text) <= 300 else text[:297] + "..."


def _is_url_like(path: str) -> re.Match | None:
    return _URL_LIKE.match(path)


# --- addresses -----------------------------------------------------------------


class AddressRefused(Exception):
    """A connection would go to an address the guards refuse.

    Deliberately not an ``OSError``: urllib3 must not retry it or wrap it, so it
    reaches ``hash_url`` which turns it into ``InvalidInput`` naming the URL.
    """

    def __init__(self, host: str, address: str, reason: str):
        self.host = host
        self.address = address
        self.reason = reason
        if host == address:
            super().__init__(f"address {address} is {reason}")
        else:
            super().__init__(f"host {host} resolves to {address}, {reason}")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 form carries, so each is judged like the address it embeds.

    IPv4-mapped ``::ffff:a.b.c.d``, SIIT ``::ffff:0:a.b.c.d``, IPv4-compatible
    ``::a.b.c.d``, NAT64 ``64:ff9b::/96`` and the local-use ``64:ff9b:1::/48`` (RFC 6052
    layout: the address sits around the reserved "u" octet), 6to4 and Teredo.
    """
    value = int(ip)
    found = []
    if ip.ipv4_mapped:
        found.append(ip.ipv4_mapped)
    if value >> 32 == 0xFFFF0000:
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if value >> 32 == 0 and value > 1:
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))
    if ip in _NAT64_LOCAL:
        high = (value >> 64) & 0xFFFF  # bits 48-63
        low = (value >> 40) & 0xFFFF  # bits 72-87
        found.append(ipaddress.IPv4Address((high << 16) | low))
        found.append(ipaddress.IPv4Address(value & 0xFFFFFFFF))  # a /96 layout inside it
    if ip.sixtofour:
        found.append(ip.sixtofour)
    if ip.teredo:
        found.append(ip.teredo[1])
    return found


def address_problem(address: str, *, allow_private: bool) -> str | None:
    """Why ``address`` may not be connected to, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates = [ip]
    if ip.version == 6:
        # An IPv6 form can smuggle an IPv4 target (::ffff:169.254.169.254, NAT64, 6to4).
        candidates.extend(embedded_ipv4(ip))
    for candidate in candidates:
        if candidate.is_link_local or any(
            candidate.version == net.version and candidate in net for net in _ALWAYS_REFUSED
        ):
            return (
                "a link-local address (like the cloud metadata service 169.254.169.254),"
                " which is never fetched"
            )
    if allow_private:
        return None
    hint = " (set HASH_ALLOW_PRIVATE_URLS=true to allow)"
    for candidate in candidates:
        if candidate.is_loopback:
            return "a loopback address" + hint
        if candidate.is_unspecified:
            return "an unspecified address" + hint
        if candidate.is_multicast:
            return "a multicast address" + hint
        if candidate.is_private or (candidate.version == 6 and candidate.is_site_local):
            return "a private address" + hint
        if candidate.is_reserved or not candidate.is_global:
            return "a reserved, non-public address" + hint
    return None


def resolve(host: str, port: int) -> list[tuple]:
    """All addresses ``host`` resolves to, as ``getaddrinfo`` tuples (tests replace this)."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def open_socket(family: int, sockaddr: tuple, timeout: float | None, options) -> socket.socket:
    """Connect a TCP socket to an already checked address (tests watch this)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        for opt in options or ():
            sock.setsockopt(*opt)
        sock.settimeout(timeout)
        sock.connect(sockaddr)
    except BaseException:
        sock.close()
        raise
    return sock


class _GuardedConnectionMixin:
    """Resolve once, refuse bad addresses, connect to the checked IP, re-check the peer.

    The hostname stays the connection's ``host``, so the ``Host`` header, SNI and
    certificate checks are unchanged; only the socket is opened here. Connecting to
    the address that was checked (rather than letting the OS resolve again) closes
    the DNS-rebinding gap; checking ``getpeername()`` covers anything else in between.
    """

    def _new_conn(self) -> socket.socket:
        allow_private = settings.HASH_ALLOW_PRIVATE_URLS
        host = self._dns_host.strip("[]")
        try:
            infos = resolve(host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except UnicodeError as exc:  # the IDNA codec refusing the name (a label > 63)
            raise NameResolutionError(self.host, self, socket.gaierror(str(exc))) from exc
        if not infos:
            raise NameResolutionError(self.host, self, socket.gaierror("no addresses"))
        for info in infos:
            reason = address_problem(info[4][0], allow_private=allow_private)
            if reason:
                raise AddressRefused(host, info[4][0], reason)

        timeout = self.timeout
        if timeout is _DEFAULT_TIMEOUT:
            timeout = socket.getdefaulttimeout()
        last_error: OSError | None = None
        for family, _type, _proto, _name, sockaddr in infos:
            try:
                sock = open_socket(family, sockaddr, timeout, self.socket_options)
            except TimeoutError as exc:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={timeout})"
                ) from exc
            except OSError as exc:
                last_error = exc
                continue
            peer = sock.getpeername()[0]
            reason = address_problem(peer, allow_private=allow_private)
            if reason:
                sock.close()
                raise AddressRefused(host, peer, reason)
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {last_error}")


class GuardedHTTPConnection(_GuardedConnectionMixin, WatchedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, WatchedConnectionMixin, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """``HTTPAdapter`` whose pools open only guarded connections (no proxy support)."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool,
            "https": GuardedHTTPSConnectionPool,
        }

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        # A proxy would be the address actually connected to; the guards could not
        # see the target. The session ignores environment proxies, so this is a bug.
        raise RuntimeError("URL hashing never goes through a proxy")


def build_hash_session() -> requests.Session:
    """The shared session (timeouts, bounded retries) with the guarded adapter mounted."""
    session = build_session()
    retries = session.get_adapter("https://").max_retries
    adapter = GuardedAdapter(max_retries=retries)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.trust_env = False  # no proxies or .netrc from the environment
    session.headers["Accept"] = "*/*"
    # Ask for the bytes as stored; what is hashed is always the decoded body.
    session.headers["Accept-Encoding"] = "identity"
    return session


# --- URLs ----------------------------------------------------------------------


def _check_url(url: str, where: str) -> None:
    """Refuse anything but an http(s) URL with a host; ``where`` names it in the message."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidInput(f"Cannot hash {where}: not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES:
        shown_scheme = f"{scheme}://" if scheme else "a URL without a scheme"
        raise InvalidInput(
            f"Cannot hash {where}: only http and https URLs (or files under"
            f" HASH_ALLOWED_ROOTS) can be hashed, not {shown_scheme}"
        )
    if not parts.hostname:
        raise InvalidInput(f"Cannot hash {where}: the URL has no host")
    problem = host_problem(parts.hostname)
    if problem:
        raise InvalidInput(f"Cannot hash {where}: {problem}")


def host_problem(host: str) -> str | None:
    """Why ``host`` can never be resolved (so it is refused before any lookup), or None.

    Name resolution encodes the name with the IDNA codec, which raises on a label
    longer than 63 characters or an empty one; that must be bad input, not a crash.
    """
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
        return None
    except ValueError:
        pass
    try:
        host.encode("idna")
    except UnicodeError:
        return "the host name is not valid (each dot-separated label must be 1 to 63 characters)"
    return None


def _max_bytes() -> int:
    return int(settings.HASH_MAX_BYTES)


def hash_url(url: str, *, spool: Spool | None = None) -> HashResult:
    """Stream ``url`` through sha256 with every guard of this module applied.

    Redirects are followed here (not by requests) so that each hop's scheme is
    checked and its connection goes through the guarded adapter. Raises
    ``InvalidInput`` for a refused URL, address or size and ``UpstreamFailure``
    when the fetch itself fails. With ``spool`` the body is also copied there
    (``tracking.file_facts``), so the file readers see the bytes that were hashed.
    """
    shown = display(url)
    max_bytes = _max_bytes()
    with _hash_slot(), Deadline(settings.HASH_TIMEOUT, "HASH_TIMEOUT") as deadline:
        try:
            result = _hash_url(url, shown, max_bytes, deadline, spool)
        except DeadlineExceeded as exc:
            raise UpstreamFailure(f"Could not fetch {shown}: {exc}") from None
        if deadline.expired:  # a body cut short by the watchdog may look complete
            raise UpstreamFailure(f"Could not fetch {shown}: {deadline.error()}")
        return result


_running = 0
_running_lock = threading.Lock()


@contextmanager
def _hash_slot() -> Iterator[None]:
    """Hold one of the process's ``HASH_MAX_CONCURRENT`` URL-hash slots, or raise ``Busy``.

    Per process, so with threaded web workers a burst of slow hashes leaves threads
    for every other request (``/healthz`` included); the caller is told when to retry.
    """
    global _running
    limit = settings.HASH_MAX_CONCURRENT
    with _running_lock:
        if _running >= limit:
            wait = max(1, min(30, int(settings.HASH_TIMEOUT)))
            raise Busy(
                f"Too many URL hashes running ({limit}, HASH_MAX_CONCURRENT); retry in {wait}s",
                retry_after=wait,
            )
        _running += 1
    try:
        yield
    finally:
        with _running_lock:
            _running -= 1


def _hash_url(
    url: str, shown: str, max_bytes: int, deadline: Deadline, spool: Spool | None
) -> HashResult:
    session = build_hash_session()
    timeouts = session.default_timeout
    current = url
    redirects = 0
    try:
        while True:
            where = shown if current == url else f"{shown} (redirected to {display(current)})"
            _check_url(current, where)
            try:
                response = session.get(current, stream=True, allow_redirects=False)
            except AddressRefused as exc:
                raise InvalidInput(f"Cannot hash {where}: {exc}") from None
            except DeadlineExceeded:
                raise
            except requests.exceptions.Timeout:
                raise UpstreamFailure(
                    f"Could not fetch {where}: timed out (connect {timeouts[0]:g}s,"
                    f" read {timeouts[1]:g}s)"
                ) from None
            except requests.exceptions.RequestException as exc:
                raise UpstreamFailure(f"Could not fetch {where}: {_network_reason(exc)}") from None
            target = session.get_redirect_target(response)
            if target is None:
                with response:
                    return _hash_response(response, where, max_bytes, timeouts, spool)
            response.close()
            redirects += 1
            if redirects > MAX_REDIRECTS:
                raise UpstreamFailure(
                    f"Could not fetch {shown}: more than {MAX_REDIRECTS} redirects"
                )
            current = urljoin(current, target).split("#", 1)[0]
    finally:
        session.close()


def _network_reason(exc: Exception) -> str:
    text = str(exc)
    if "NameResolutionError" in text or "Name or service not known" in text:
        return "the host name could not be resolved"
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error (certificate or handshake)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection broke before the whole body arrived"
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return "the body could not be decoded"
    if "Read timed out" in text or "ReadTimeout" in text:
        return "timed out while reading the body"
    return f"network error ({type(exc).__name__})"


def _hash_response(
    response: requests.Response,
    where: str,
    max_bytes: int,
    timeouts: tuple[float, float],
    spool: Spool | None = None,
) -> HashResult:
    status = response.status_code
    if not 200 <= status < 300:
        reason = f" {response.reason}" if response.reason else ""
        raise UpstreamFailure(f"Could not fetch {where}: HTTP {status}{reason}")
    ctype = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if ctype in HTML_TYPES:
        raise UpstreamFailure(
            f"Could not fetch {where}: got an HTML page ({ctype}), not a media file;"
            " use the file's direct URL"
        )
    length = response.headers.get("Content-Length")
    if length and length.strip().isdigit() and int(length) > max_bytes:
        raise InvalidInput(
            f"Cannot hash {where}: the server announced {int(length)} bytes, more than"
            f" HASH_MAX_BYTES ({max_bytes} bytes)"
        )
    digest = hashlib.sha256()
    size = 0
    head = b""
    if spool is not None:
        spool.reset()
    try:
        for chunk in response.iter_content(CHUNK_SIZE):
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            size += len(chunk)
            if size > max_bytes:
                raise InvalidInput(
                    f"Cannot hash {where}: the download passed HASH_MAX_BYTES"
                    f" ({max_bytes} bytes); stopped"
                )
            digest.update(chunk)
            if spool is not None:
                spool.write(chunk)
    except requests.exceptions.RequestException as exc:
        deadline = current_deadline()
        if deadline is not None and deadline.expired:
            raise deadline.error() from None
        reason = _network_reason(exc)
        if "timed out" in reason:
            reason = f"timed out while reading the body (read timeout {timeouts[1]:g}s)"
        raise UpstreamFailure(f"Could not fetch {where}: {reason}") from None
    return HashResult(digest.hexdigest(), size, head)


# --- local files ---------------------------------------------------------------


def _allowed_roots() -> list[str]:
    return [os.path.realpath(root) for root in settings.HASH_ALLOWED_ROOTS if root]


def _inside(real: str, roots: list[str]) -> bool:
    return any(real == root or real.startswith(root.rstrip(os.sep) + os.sep) for root in roots)


def hash_open_file(
    fd: int, shown: str, *, max_bytes: int | None, spool: Spool | None = None
) -> HashResult:
    """Hash an open descriptor that ``fstat`` says is a regular file, in 64 KiB reads.

    ``max_bytes`` None means no cap (the operator's own ``match_assets``); with
    ``spool`` the bytes are also copied there for the file readers.
    """
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        raise InvalidInput(f"Cannot hash {shown}: it is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(
            f"Cannot hash {shown}: not a regular file (a device, pipe or socket is never read)"
        )
    if max_bytes is not None and info.st_size > max_bytes:
        raise InvalidInput(
            f"Cannot hash {shown}: {info.st_size} bytes is larger than HASH_MAX_BYTES"
            f" ({max_bytes} bytes)"
        )
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
    digest = hashlib.sha256()
    buffer = bytearray(FILE_READ_SIZE)
    view = memoryview(buffer)
    size = 0
    head = b""
    try:
        while True:
            n = os.readv(fd, [buffer])
            if not n:
                break
            if len(head) < HEAD_BYTES:
                head += bytes(view[: min(n, HEAD_BYTES - len(head))])
            size += n
            if max_bytes is not None and size > max_bytes:  # the file grew while read
                raise InvalidInput(
                    f"Cannot hash {shown}: it passed HASH_MAX_BYTES ({max_bytes} bytes)"
                    " while being read; stopped"
                )
            digest.update(view[:n])
            if spool is not None:
                spool.write(view[:n])
    except OSError as exc:
        raise InvalidInput(f"Cannot hash {shown}: read failed ({exc.strerror})") from None
    return HashResult(digest.hexdigest(), size, head)


def open_for_hashing(path: str, shown: str, *, follow_symlinks: bool) -> int:
    """Open ``path`` read-only without blocking on a FIFO; clear errors for the usual failures."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        return os.open(path, flags)
    except FileNotFoundError:
        raise InvalidInput(f"Cannot hash {shown}: no such file") from None
    except PermissionError:
        raise InvalidInput(f"Cannot hash {shown}: permission denied") from None
    except IsADirectoryError:
        raise InvalidInput(f"Cannot hash {shown}: it is a directory, not a file") from None
    except OSError as exc:
        raise InvalidInput(f"Cannot hash {shown}: cannot be opened ({exc.strerror})") from None


def hash_file(path: str, *, spool: Spool | None = None) -> HashResult:
    """Hash a local file whose real path lies inside ``HASH_ALLOWED_ROOTS``.

    The roots check comes before any existence check, so the answer for a path
    outside the roots does not reveal whether it exists.
    """
    shown = display(path)
    if not path:
        raise InvalidInput("Cannot hash: path is required (an http(s) URL or a file path)")
    if "\x00" in path:
        raise InvalidInput(f"Cannot hash {shown!r}: the path contains a NUL character")
    roots = _allowed_roots()
    if not roots:
        raise InvalidInput(
            f"Cannot hash {shown}: local files cannot be hashed here (HASH_ALLOWED_ROOTS is"
            " empty); use an http(s) URL"
        )
    try:
        real = os.path.realpath(path)
    except OSError:
        # realpath reads each symlink it meets; one swapped for a folder (or removed)
        # between its lstat and readlink raises here.
        raise InvalidInput(
            f"Cannot hash {shown}: the path changed while it was being resolved; try again"
        ) from None
    if not _inside(real, roots):
        raise InvalidInput(
            f"Cannot hash {shown}: it is outside the allowed folders (HASH_ALLOWED_ROOTS)"
        )
    # Open the resolved path without following a final symlink, then confirm what was
    # opened is still inside a root (a component swapped for a symlink after realpath).
    fd = open_for_hashing(real, shown, follow_symlinks=False)
    try:
        proc_link = f"/proc/self/fd/{fd}"
        if os.path.islink(proc_link):
            opened = os.path.realpath(os.readlink(proc_link))
            if not _inside(opened, roots):
                raise InvalidInput(
                    f"Cannot hash {shown}: it is outside the allowed folders (HASH_ALLOWED_ROOTS)"
                )
        return hash_open_file(fd, shown, max_bytes=_max_bytes(), spool=spool)
    finally:
        os.close(fd)


# --- dispatch ------------------------------------------------------------------


def hash_path(path: str, *, spool: Spool | None = None) -> HashResult:
    """sha256 of an http(s) URL or of a local file under ``HASH_ALLOWED_ROOTS``.

    ``InvalidInput`` for refused input (scheme, place, address, size),
    ``UpstreamFailure`` when a download fails. ``spool`` (``tracking.file_facts``)
    receives a bounded copy of the bytes hashed.
    """
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput("Cannot hash: path is required (an http(s) URL or a file path)")
    path = path.strip()
    match = _is_url_like(path)
    if match:
        scheme = (match.group("scheme") or match.group("bare")).lower()
        if scheme not in URL_SCHEMES:
            raise InvalidInput(
                f"Cannot hash {display(path)}: only http and https URLs (or files under"
                f" HASH_ALLOWED_ROOTS) can be hashed, not {scheme}://"
            )
        return hash_url(path, spool=spool)
    return hash_file(path, spool=spool)


def can_hash(path: str) -> bool:
    """Whether ``hash_path`` would try: an http(s) URL, or an existing readable file under
    an allowed root. Cheap and offline (no DNS); a True may still fail when fetched."""
    if not isinstance(path, str) or not path.strip() or "\x00" in path:
        return False
    path = path.strip()
    if _is_url_like(path):
        try:
            parts = urlsplit(path)
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            return False
        return (
            parts.scheme.lower() in URL_SCHEMES
            and bool(parts.hostname)
            and host_problem(parts.hostname) is None
        )
    roots = _allowed_roots()
    if not roots:
        return False
    try:
        real = os.path.realpath(path)
    except OSError:  # the path changed while it was resolved
        return False
    return _inside(real, roots) and os.path.isfile(real) and os.access(real, os.R_OK)
