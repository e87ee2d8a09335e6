"""Streaming sha256 of files and URLs, and every guard around it (tracking.hashing)."""

import hashlib
import os
import socket
import subprocess
import time
import tracemalloc

import pytest

from tests.fakes.media_server import MediaServer, Route
from tracking import hashing
from tracking.errors import InvalidInput, UpstreamFailure
from tracking.hashing import HashResult, can_hash, hash_file, hash_path, hash_url

MiB = 1024 * 1024


@pytest.fixture
def server():
    with MediaServer() as srv:
        yield srv


@pytest.fixture
def root(tmp_path, settings):
    """An allowed root holding media, beside a folder that is not allowed."""
    allowed = tmp_path / "media"
    allowed.mkdir()
    (tmp_path / "private").mkdir()
    (tmp_path / "private" / "secret.txt").write_bytes(b"server secret")
    settings.HASH_ALLOWED_ROOTS = [str(allowed)]
    return allowed


@pytest.fixture
def no_connections(monkeypatch):
    """Record (and refuse) any socket the hashing code would open to a non-loopback address."""
    attempts = []
    real_open = hashing.open_socket

    def watched(family, sockaddr, timeout, options):
        if not sockaddr[0].startswith("127."):
            attempts.append(sockaddr)
            raise AssertionError(f"tried to connect to {sockaddr}")
        return real_open(family, sockaddr, timeout, options)

    monkeypatch.setattr(hashing, "open_socket", watched)
    return attempts


def fake_dns(monkeypatch, table):
    """Resolve the names in ``table`` to the given IPs; everything else as usual."""
    real_resolve = hashing.resolve
    calls = []

    def resolve(host, port):
        calls.append(host)
        if host in table:
            ip = table[host]
            family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            sockaddr = (ip, port, 0, 0) if family == socket.AF_INET6 else (ip, port)
            return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]
        return real_resolve(host, port)

    monkeypatch.setattr(hashing, "resolve", resolve)
    return calls


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- files -----------------------------------------------------------------------


def test_it_hashes_a_file_under_an_allowed_root(root):
    data = os.urandom(3 * MiB + 17)
    (root / "clip.mp4").write_bytes(data)

    result = hash_path(str(root / "clip.mp4"))

    assert result == HashResult(sha256sum=sha(data), size_bytes=len(data))
    assert hash_file(str(root / "clip.mp4")) == result


def test_it_hashes_an_empty_file(root):
    (root / "empty.png").write_bytes(b"")
    assert hash_path(str(root / "empty.png")) == HashResult(sha(b""), 0)


def test_it_follows_a_symlink_that_stays_inside_the_roots(root):
    (root / "real.png").write_bytes(b"pixels")
    (root / "link.png").symlink_to(root / "real.png")
    assert hash_path(str(root / "link.png")).sha256sum == sha(b"pixels")


def test_it_hashes_a_50_mb_file_with_bounded_memory(root):
    path = root / "big.bin"
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        block = os.urandom(MiB)
        for i in range(50):
            chunk = block[i:] + block[:i]
            digest.update(chunk)
            f.write(chunk)

    tracemalloc.start()
    try:
        result = hash_file(str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result == HashResult(digest.hexdigest(), 50 * MiB)
    assert peak < 4 * MiB, f"peak {peak} bytes while hashing a 50 MiB file"


@pytest.mark.parametrize(
    "bad",
    ["file:///etc/passwd", "file:/etc/passwd", "ftp://example.com/a.png", "s3://bucket/a.png"],
)
def test_it_refuses_schemes_other_than_http(bad, root):
    with pytest.raises(InvalidInput) as err:
        hash_path(bad)
    assert bad.split(":")[0] + "://" in err.value.message
    assert "only http and https" in err.value.message
    assert bad in err.value.message or bad.startswith("file:/etc")


def test_it_refuses_a_path_outside_the_roots(root):
    secret = root.parent / "private" / "secret.txt"
    with pytest.raises(InvalidInput) as err:
        hash_path(str(secret))
    assert err.value.message == (
        f"Cannot hash {secret}: it is outside the allowed folders (HASH_ALLOWED_ROOTS)"
    )


def test_it_refuses_a_dotdot_escape(root):
    escape = f"{root}/../private/secret.txt"
    with pytest.raises(InvalidInput, match="outside the allowed folders") as err:
        hash_path(escape)
    assert escape in err.value.message


def test_it_refuses_a_root_prefix_that_is_not_the_root(root):
    sibling = root.parent / (root.name + "-other")
    sibling.mkdir()
    (sibling / "a.png").write_bytes(b"x")
    with pytest.raises(InvalidInput, match="outside the allowed folders"):
        hash_path(str(sibling / "a.png"))


def test_it_refuses_a_symlink_escape(root):
    (root / "innocent.png").symlink_to(root.parent / "private" / "secret.txt")
    (root / "dir-link").symlink_to(root.parent / "private")
    for path in (root / "innocent.png", root / "dir-link" / "secret.txt"):
        with pytest.raises(InvalidInput, match="outside the allowed folders"):
            hash_path(str(path))


def test_it_does_not_reveal_whether_a_file_outside_the_roots_exists(root):
    outside = root.parent / "private"
    with pytest.raises(InvalidInput) as exists:
        hash_path(str(outside / "secret.txt"))
    with pytest.raises(InvalidInput) as missing:
        hash_path(str(outside / "nothing.txt"))
    assert exists.value.message.split(": ", 1)[1] == missing.value.message.split(": ", 1)[1]


def test_it_refuses_local_files_when_no_root_is_configured(tmp_path, settings):
    settings.HASH_ALLOWED_ROOTS = []
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(InvalidInput, match=r"HASH_ALLOWED_ROOTS is\s+empty"):
        hash_path(str(tmp_path / "a.png"))


def test_it_refuses_a_directory(root):
    (root / "folder").mkdir()
    with pytest.raises(InvalidInput) as err:
        hash_path(str(root / "folder"))
    assert err.value.message == f"Cannot hash {root / 'folder'}: it is a directory, not a file"


def test_it_refuses_a_missing_file(root):
    with pytest.raises(InvalidInput) as err:
        hash_path(str(root / "gone.png"))
    assert err.value.message == f"Cannot hash {root / 'gone.png'}: no such file"


def test_it_refuses_a_fifo_without_blocking(root):
    os.mkfifo(root / "pipe")
    started = time.monotonic()
    with pytest.raises(InvalidInput, match="not a regular file"):
        hash_path(str(root / "pipe"))
    assert time.monotonic() - started < 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_it_refuses_an_unreadable_file(root):
    path = root / "locked.png"
    path.write_bytes(b"x")
    path.chmod(0)
    with pytest.raises(InvalidInput, match="permission denied"):
        hash_path(str(path))


def test_it_refuses_a_file_larger_than_the_cap(root, settings):
    settings.HASH_MAX_BYTES = 1000
    (root / "big.png").write_bytes(b"x" * 1001)
    (root / "ok.png").write_bytes(b"x" * 1000)
    with pytest.raises(InvalidInput, match=r"1001 bytes is larger than HASH_MAX_BYTES \(1000"):
        hash_path(str(root / "big.png"))
    assert hash_path(str(root / "ok.png")).size_bytes == 1000


def test_it_refuses_an_empty_path():
    for bad in ("", "   "):
        with pytest.raises(InvalidInput, match="path is required"):
            hash_path(bad)


# --- URLs ------------------------------------------------------------------------


def test_it_hashes_a_url_served_over_loopback(server):
    data = os.urandom(5 * MiB + 3)
    url = server.route("/image.png", Route(body=data, content_type="image/png"))

    result = hash_path(url)

    assert result == HashResult(sha(data), len(data))
    assert hash_url(url) == result
    sent = server.requests[0].headers
    assert sent["Accept-Encoding"] == "identity"
    assert sent["User-Agent"].startswith("civitrack/")


def test_it_hashes_a_chunked_response(server):
    block = os.urandom(64 * 1024)
    url = server.route("/video.mp4", Route(body=block, chunked=True, repeat=20))
    assert hash_url(url) == HashResult(sha(block * 20), 20 * len(block))


def test_it_streams_a_url_with_bounded_memory(server, tmp_path):
    path = tmp_path / "big.bin"
    with open(path, "wb") as f:
        for _ in range(50):
            f.write(os.urandom(MiB))
    url = server.route("/big.bin", Route(file=str(path)))

    tracemalloc.start()
    try:
        result = hash_url(url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result == HashResult(sha(path.read_bytes()), 50 * MiB)
    assert peak < 8 * MiB, f"peak {peak} bytes while streaming 50 MiB"


def test_it_follows_up_to_five_redirects(server):
    server.route("/final.png", Route(body=b"pixels"))
    for i in range(5):
        target = "/final.png" if i == 4 else f"/r{i + 1}"
        server.route(f"/r{i}", Route(status=301 if i % 2 else 302, location=target))
    assert hash_url(server.url("/r0")).sha256sum == sha(b"pixels")


def test_it_refuses_too_many_redirects(server):
    server.route("/final.png", Route(body=b"pixels"))
    for i in range(6):
        target = "/final.png" if i == 5 else f"/r{i + 1}"
        server.route(f"/r{i}", Route(status=307, location=target))
    with pytest.raises(UpstreamFailure) as err:
        hash_url(server.url("/r0"))
    assert err.value.message == f"Could not fetch {server.url('/r0')}: more than 5 redirects"
    assert [r.path for r in server.requests] == [f"/r{i}" for i in range(6)]


def test_it_refuses_a_redirect_to_another_scheme(server):
    url = server.route("/go", Route(location="file:///etc/passwd"))
    with pytest.raises(InvalidInput) as err:
        hash_url(url)
    assert err.value.message == (
        f"Cannot hash {url} (redirected to file:///etc/passwd): only http and https URLs"
        " (or files under HASH_ALLOWED_ROOTS) can be hashed, not file://"
    )


def test_it_refuses_a_redirect_to_the_metadata_service(server, no_connections, settings):
    settings.HASH_ALLOW_PRIVATE_URLS = True
    url = server.route("/go", Route(location="http://169.254.169.254/latest/meta-data/"))
    with pytest.raises(InvalidInput) as err:
        hash_url(url)
    assert "redirected to http://169.254.169.254/latest/meta-data/" in err.value.message
    assert "link-local" in err.value.message
    assert no_connections == []


def test_it_refuses_loopback_when_private_urls_are_not_allowed(server, settings):
    settings.HASH_ALLOW_PRIVATE_URLS = False
    url = server.route("/a.png", Route(body=b"pixels"))
    with pytest.raises(InvalidInput) as err:
        hash_url(url)
    assert err.value.message == (
        f"Cannot hash {url}: address 127.0.0.1 is a loopback address"
        " (set HASH_ALLOW_PRIVATE_URLS=true to allow)"
    )
    assert server.requests == []


def test_it_refuses_localhost_by_name_when_private_urls_are_not_allowed(server, settings):
    settings.HASH_ALLOW_PRIVATE_URLS = False
    server.route("/a.png", Route(body=b"pixels"))
    with pytest.raises(InvalidInput, match=r"resolves to 127\.0\.0\.1, a loopback address"):
        hash_url(server.url("/a.png", host="localhost"))
    assert server.requests == []


@pytest.mark.parametrize("allow_private", [True, False])
@pytest.mark.parametrize("ip", ["169.254.169.254", "::ffff:169.254.169.254", "fe80::1"])
def test_it_always_refuses_link_local_addresses(
    ip, allow_private, settings, monkeypatch, no_connections
):
    settings.HASH_ALLOW_PRIVATE_URLS = allow_private
    fake_dns(monkeypatch, {"metadata.test": ip})
    with pytest.raises(InvalidInput) as err:
        hash_url("http://metadata.test/latest/meta-data/")
    assert f"host metadata.test resolves to {ip}, a link-local address" in err.value.message
    assert no_connections == []


@pytest.mark.parametrize(
    ("ip", "kind"),
    [
        ("10.0.0.1", "a private address"),
        ("192.168.1.20", "a private address"),
        ("0.0.0.0", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("100.64.0.1", "a reserved, non-public address"),
        ("::1", "a loopback address"),
    ],
)
def test_it_refuses_private_addresses_without_connecting(
    ip, kind, settings, monkeypatch, no_connections
):
    settings.HASH_ALLOW_PRIVATE_URLS = False
    fake_dns(monkeypatch, {"internal.test": ip})
    with pytest.raises(InvalidInput) as err:
        hash_url("https://internal.test/a.png")
    assert f"resolves to {ip}, {kind}" in err.value.message
    assert no_connections == []


def test_it_connects_to_the_address_it_checked(server, monkeypatch, settings):
    """The name is resolved once by the guard and the socket goes to that IP: the OS
    resolver does not know media.test, so a second lookup would fail the fetch."""
    settings.HASH_ALLOW_PRIVATE_URLS = True
    calls = fake_dns(monkeypatch, {"media.test": "127.0.0.1"})
    server.route("/a.png", Route(body=b"pixels"))

    assert hash_url(server.url("/a.png", host="media.test")).sha256sum == sha(b"pixels")
    assert calls == ["media.test"]
    assert server.requests[0].headers["Host"] == f"media.test:{server.port}"


def test_it_checks_the_peer_address_after_connecting(server, monkeypatch, settings):
    """Even if something between the check and the connect lands the socket elsewhere
    (here: a connector that ignores the checked address), the peer is refused."""
    settings.HASH_ALLOW_PRIVATE_URLS = False
    fake_dns(monkeypatch, {"cdn.test": "93.184.215.14"})
    real_open = hashing.open_socket

    def misdirected(family, sockaddr, timeout, options):
        return real_open(socket.AF_INET, ("127.0.0.1", server.port), timeout, options)

    monkeypatch.setattr(hashing, "open_socket", misdirected)
    with pytest.raises(InvalidInput, match=r"resolves to 127\.0\.0\.1, a loopback address"):
        hash_url(f"http://cdn.test:{server.port}/a.png")
    assert server.requests == []


def test_it_refuses_an_announced_length_over_the_cap_before_reading(server, settings):
    settings.HASH_MAX_BYTES = MiB
    url = server.route(
        "/huge.mp4",
        Route(body=b"", content_length=MiB + 1, stall_after_bytes=0, stall_seconds=10),
    )
    started = time.monotonic()
    with pytest.raises(InvalidInput) as err:
        hash_url(url)
    assert time.monotonic() - started < 5
    assert err.value.message == (
        f"Cannot hash {url}: the server announced {MiB + 1} bytes, more than"
        f" HASH_MAX_BYTES ({MiB} bytes)"
    )


def test_it_stops_a_chunked_stream_that_passes_the_cap(server, settings):
    settings.HASH_MAX_BYTES = MiB
    url = server.route("/endless", Route(body=b"x" * 65536, chunked=True, repeat=100_000))
    started = time.monotonic()
    with pytest.raises(InvalidInput) as err:
        hash_url(url)
    assert time.monotonic() - started < 5
    assert err.value.message == (
        f"Cannot hash {url}: the download passed HASH_MAX_BYTES ({MiB} bytes); stopped"
    )


@pytest.mark.parametrize(("status", "reason"), [(404, "Not Found"), (500, "Internal Server Error")])
def test_it_reports_an_error_status_as_an_upstream_failure(server, status, reason):
    url = server.route("/a.png", Route(status=status, body=b"nope"))
    with pytest.raises(UpstreamFailure) as err:
        hash_url(url)
    assert err.value.message == f"Could not fetch {url}: HTTP {status} {reason}"


def test_it_retries_a_server_error_before_giving_up(server, settings):
    url = server.route("/a.png", Route(status=503, body=b"busy"))
    with pytest.raises(UpstreamFailure, match="HTTP 503"):
        hash_url(url)
    assert len(server.requests) == settings.HTTP_MAX_RETRIES + 1


@pytest.mark.parametrize("ctype", ["text/html; charset=utf-8", "application/xhtml+xml"])
def test_it_refuses_an_html_page_where_media_was_expected(server, ctype):
    url = server.route("/images/106433016", Route(body=b"<html></html>", content_type=ctype))
    with pytest.raises(UpstreamFailure) as err:
        hash_url(url)
    assert err.value.message.startswith(f"Could not fetch {url}: got an HTML page")


def test_it_times_out_on_a_server_that_never_answers(server, settings):
    settings.HTTP_READ_TIMEOUT = 0.2
    url = server.route("/slow.png", Route(body=b"x", stall_before_headers=10))
    started = time.monotonic()
    with pytest.raises(UpstreamFailure) as err:
        hash_url(url)
    assert time.monotonic() - started < 5
    assert err.value.message.startswith(f"Could not fetch {url}: timed out")


def test_it_times_out_on_a_body_that_stalls(server, settings):
    settings.HTTP_READ_TIMEOUT = 0.2
    url = server.route(
        "/stuck.mp4", Route(body=b"x" * 100_000, stall_after_bytes=1000, stall_seconds=10)
    )
    with pytest.raises(UpstreamFailure) as err:
        hash_url(url)
    assert err.value.message == (
        f"Could not fetch {url}: timed out while reading the body (read timeout 0.2s)"
    )


def test_it_reports_a_truncated_body(server):
    url = server.route("/cut.mp4", Route(body=b"x" * 1000, content_length=5000))
    with pytest.raises(UpstreamFailure, match="broke before the whole body arrived"):
        hash_url(url)


def test_it_reports_a_refused_connection(settings):
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(UpstreamFailure) as err:
        hash_url(f"http://127.0.0.1:{port}/a.png")
    assert err.value.message == f"Could not fetch http://127.0.0.1:{port}/a.png: connection refused"


def test_it_keeps_secrets_out_of_messages(server):
    url = server.url("/a.png?token=tok-SECRET-1&X-Amz-Signature=sig-SECRET-2&size=big")
    url = url.replace("http://", "http://user:pw-SECRET-3@")
    with pytest.raises(UpstreamFailure) as err:
        hash_url(url)
    assert "SECRET" not in err.value.message
    assert "size=big" in err.value.message
    assert "HTTP 404" in err.value.message


# --- can_hash --------------------------------------------------------------------


def test_it_says_what_can_be_hashed_without_touching_the_network(root, monkeypatch):
    def no_dns(host, port):
        raise AssertionError("can_hash must not resolve names")

    monkeypatch.setattr(hashing, "resolve", no_dns)
    (root / "a.png").write_bytes(b"x")
    (root / "folder").mkdir()

    assert can_hash("https://image.civitai.com/x/a.png")
    assert can_hash("http://169.254.169.254/")  # decided when fetched, not here
    assert can_hash(str(root / "a.png"))
    assert not can_hash(str(root / "missing.png"))
    assert not can_hash(str(root / "folder"))
    assert not can_hash(str(root.parent / "private" / "secret.txt"))
    assert not can_hash(f"{root}/../private/secret.txt")
    for bad in (
        "",
        "ftp://host/a.png",
        "s3://b/k",
        "file:///etc/passwd",
        "https://",
        "http://h:x/",
    ):
        assert not can_hash(bad), bad


def test_it_says_no_local_file_can_be_hashed_without_roots(tmp_path, settings):
    settings.HASH_ALLOWED_ROOTS = []
    (tmp_path / "a.png").write_bytes(b"x")
    assert not can_hash(str(tmp_path / "a.png"))


# --- https -----------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path):
    """An HTTPS fake whose self-signed certificate names media.test (not 127.0.0.1)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=media.test", "-addext", "subjectAltName=DNS:media.test",
         "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.skip("openssl cannot make a test certificate here")
    with MediaServer(tls=(str(cert), str(key))) as srv:
        srv.cert = str(cert)
        yield srv


def trust(monkeypatch, cafile):
    real_build = hashing.build_hash_session

    def build():
        session = real_build()
        session.verify = cafile
        return session

    monkeypatch.setattr(hashing, "build_hash_session", build)


def test_it_hashes_https_by_checked_ip_with_the_hostname_for_tls(tls_server, monkeypatch):
    """Connecting to the checked IP keeps SNI and certificate checks on the hostname."""
    fake_dns(monkeypatch, {"media.test": "127.0.0.1", "other.test": "127.0.0.1"})
    trust(monkeypatch, tls_server.cert)
    tls_server.route("/a.png", Route(body=b"secure pixels"))

    result = hash_url(tls_server.url("/a.png", host="media.test"))

    assert result.sha256sum == sha(b"secure pixels")
    with pytest.raises(UpstreamFailure, match="TLS error"):  # name not in the certificate
        hash_url(tls_server.url("/a.png", host="other.test"))


def test_it_refuses_an_untrusted_certificate(tls_server, monkeypatch):
    fake_dns(monkeypatch, {"media.test": "127.0.0.1"})
    url = tls_server.route("/a.png", Route(body=b"x")).replace("127.0.0.1", "media.test")
    with pytest.raises(UpstreamFailure) as err:
        hash_url(url)
    assert err.value.message == f"Could not fetch {url}: TLS error (certificate or handshake)"
    assert tls_server.requests == []


def test_it_refuses_a_path_with_a_nul_character(root):
    with pytest.raises(InvalidInput, match="contains a NUL character"):
        hash_path(f"{root}/a.png\x00.txt")
