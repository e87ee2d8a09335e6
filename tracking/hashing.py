"""Streaming sha256 of an allowed local file or an http(s) URL.

Placeholder on the ``tools`` branch: a small implementation of the agreed interface
(``hash_path``/``can_hash``/``HashResult``) so the recording tools can be built and
tested. The hashing helper's fuller version replaces this file at merge.

Guards: local files only under ``HASH_ALLOWED_ROOTS`` (symlinks resolved first),
URLs only over http(s), private and loopback addresses refused unless
``HASH_ALLOW_PRIVATE_URLS`` (link-local such as 169.254.169.254 always refused), and
nothing larger than ``HASH_MAX_BYTES`` is read.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings

from civitrack.http import build_session
from tracking.errors import InvalidInput, UpstreamFailure

CHUNK = 1024 * 1024
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class HashResult:
    sha256sum: str
    size_bytes: int


def _is_url(path: str) -> bool:
    return urlsplit(path).scheme.lower() in {"http", "https"}


def _allowed_file(path: str) -> Path | None:
    """The resolved file if ``path`` is a regular file under an allowed root, else None."""
    if not path or "\x00" in path:
        return None
    try:
        target = Path(path).expanduser().resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not target.is_file():
        return None
    for root in settings.HASH_ALLOWED_ROOTS:
        try:
            root_path = Path(root).expanduser().resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        if target.is_relative_to(root_path):
            return target
    return None


def can_hash(path: str) -> bool:
    """True for http(s) URLs and for regular files under ``HASH_ALLOWED_ROOTS``."""
    if not isinstance(path, str):
        return False
    return _is_url(path) or _allowed_file(path) is not None


def _check_host(url: str) -> None:
    host = urlsplit(url).hostname
    if not host:
        raise InvalidInput("path must be an http(s) URL with a host name")
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        raise UpstreamFailure(f"Could not resolve host {host}") from None
    for info in infos:
        addr = ipaddress.ip_address(info[4][0].split("%")[0])
        if addr.is_link_local or addr.is_multicast or addr.is_unspecified:
            raise InvalidInput(f"Refusing to fetch {host}: link-local or reserved address")
        if (addr.is_private or addr.is_loopback) and not settings.HASH_ALLOW_PRIVATE_URLS:
            raise InvalidInput(f"Refusing to fetch {host}: private or loopback address")


def _hash_url(url: str) -> HashResult:
    session = build_session()
    limit = settings.HASH_MAX_BYTES
    try:
        for _ in range(MAX_REDIRECTS + 1):
            _check_host(url)
            response = session.get(url, stream=True, allow_redirects=False)
            if response.is_redirect:
                location = response.headers.get("Location", "")
                response.close()
                url = urljoin(url, location)
                if not _is_url(url):
                    raise InvalidInput("Refusing a redirect to a non-http(s) URL")
                continue
            break
        else:
            raise UpstreamFailure("Too many redirects while fetching the URL")
        with response:
            if response.status_code != 200:
                raise UpstreamFailure(f"Fetching the URL failed: HTTP {response.status_code}")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limit:
                raise InvalidInput(f"The file is larger than HASH_MAX_BYTES ({limit} bytes)")
            digest = hashlib.sha256()
            size = 0
            for chunk in response.iter_content(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise InvalidInput(f"The file is larger than HASH_MAX_BYTES ({limit} bytes)")
                digest.update(chunk)
    except requests.exceptions.RequestException as exc:
        raise UpstreamFailure(f"Fetching the URL failed ({type(exc).__name__})") from None
    return HashResult(sha256sum=digest.hexdigest(), size_bytes=size)


def _hash_file(target: Path) -> HashResult:
    limit = settings.HASH_MAX_BYTES
    if target.stat().st_size > limit:
        raise InvalidInput(f"The file is larger than HASH_MAX_BYTES ({limit} bytes)")
    digest = hashlib.sha256()
    size = 0
    with target.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise InvalidInput(f"The file is larger than HASH_MAX_BYTES ({limit} bytes)")
            digest.update(chunk)
    return HashResult(sha256sum=digest.hexdigest(), size_bytes=size)


def hash_path(path: str) -> HashResult:
    """sha256 and size of an http(s) URL or of a file under ``HASH_ALLOWED_ROOTS``.

    Raises ``InvalidInput`` for refused paths and ``UpstreamFailure`` when a fetch fails.
    """
    if not isinstance(path, str) or not path.strip():
        raise InvalidInput("path is required")
    if _is_url(path):
        return _hash_url(path)
    target = _allowed_file(path)
    if target is None:
        raise InvalidInput(
            "path must be an http(s) URL or an existing file under HASH_ALLOWED_ROOTS"
        )
    return _hash_file(target)
