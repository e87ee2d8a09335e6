"""Fixtures of the hardening suites and the summary line of what they ran."""

from __future__ import annotations

import pytest

from tests.hardening.helpers import REPORT


@pytest.fixture(scope="module")
def site_server():
    """One fake Civitai site for a whole module (the fuzz suite calls it thousands of times)."""
    from tests.fakes.civitai_site import FakeServer

    with FakeServer() as controller:
        yield controller


@pytest.fixture(scope="module")
def media_server():
    """A loopback media server with a few files to hash."""
    from tests.fakes.media_server import MediaServer, Route

    with MediaServer() as server:
        server.route("/a.png", Route(body=b"\x89PNG fuzz a" * 50, content_type="image/png"))
        server.route("/b.jpg", Route(body=b"\xff\xd8 fuzz b" * 80, content_type="image/jpeg"))
        server.route("/page", Route(body=b"<html></html>", content_type="text/html"))
        server.route("/gone", Route(status=404, body=b"gone", content_type="text/plain"))
        server.route("/loop", Route(location="/loop"))
        yield server


def pytest_terminal_summary(terminalreporter):
    if not REPORT:
        return
    terminalreporter.section("hardening")
    for name in sorted(REPORT):
        counts = REPORT[name]
        statuses = [n for key, n in counts.items() if isinstance(key, int)]
        total = sum(statuses) if statuses else sum(counts.values())
        detail = ", ".join(f"{key}: {n}" for key, n in sorted(counts.items(), key=str))
        terminalreporter.write_line(f"{name}: {total} calls ({detail})")
