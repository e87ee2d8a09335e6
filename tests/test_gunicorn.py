"""The web tier stays up while slow URL hashes run (a real gunicorn on loopback).

The README's command with 2 workers and the committed ``gunicorn.conf.py``; 10
simultaneous ``calculate_sha256`` calls against a server sending 1 byte per second
must leave ``/healthz`` answering in under a second, and every caller gets the
contract's JSON (502 timed out, or 503 busy with ``Retry-After``), never HTML.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.fakes.drip_server import DripServer

ROOT = Path(__file__).resolve().parent.parent
HASH_TIMEOUT = 4
CALLS = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def site(tmp_path):
    """A migrated SQLite site with an API token; yields (base URL, token)."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(
        DJANGO_SETTINGS_MODULE="civitrack.settings",
        DEBUG="false",
        SECRET_KEY="g7Tq-2mWx8_zR4pLk1HsY0aNcV5jB9fD3eU6oS7iQ2nE8tK4yZ1w",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL=f"sqlite:///{tmp_path / 'web.sqlite3'}",
        HASH_ALLOW_PRIVATE_URLS="true",
        HASH_TIMEOUT=str(HASH_TIMEOUT),
        LOG_LEVEL="WARNING",
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
    made = subprocess.run(
        [
            *manage,
            "shell",
            "-c",
            "from django.contrib.auth.models import User; from tracking.models import ApiToken;"
            "u = User.objects.create_user('agent');"
            "print(ApiToken.issue(u, name='web')[1])",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    token = made.stdout.strip().splitlines()[-1]
    port = free_port()
    gunicorn = [sys.executable, "-m", "gunicorn", "civitrack.wsgi", "--workers", "2"]
    server = subprocess.Popen(
        [*gunicorn, "--bind", f"127.0.0.1:{port}", "--access-logfile", "/dev/null"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        up_by = time.monotonic() + 60
        while True:
            try:
                if requests.get(url + "/healthz", timeout=10).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            assert server.poll() is None, server.stderr.read().decode()
            assert time.monotonic() < up_by, "gunicorn did not start"
            time.sleep(0.2)
        for _ in range(6):  # warm both workers (first database connection, imports)
            requests.get(url + "/healthz", timeout=10)
        yield url, token
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_healthz_answers_fast_while_ten_slow_hashes_run(site):
    url, token = site
    results: list[requests.Response] = []
    with DripServer(interval=1.0) as drip:

        def hash_slowly():
            results.append(
                requests.post(
                    url + "/api/v1/tools/calculate_sha256",
                    json={"path": drip.url + "/drip"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=HASH_TIMEOUT + 20,
                )
            )

        callers = [threading.Thread(target=hash_slowly) for _ in range(CALLS)]
        for caller in callers:
            caller.start()
        time.sleep(1.0)  # the hashes are under way
        latencies = []
        for _ in range(5):
            started = time.monotonic()
            assert requests.get(url + "/healthz", timeout=5).status_code == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.3)
        for caller in callers:
            caller.join()

    print(f"/healthz latencies under load: {[round(x, 3) for x in latencies]}")
    assert max(latencies) < 1.0
    assert len(results) == CALLS
    for response in results:
        assert response.headers["Content-Type"] == "application/json", response.text[:200]
        error = response.json()["error"]
        if response.status_code == 503:
            assert error["code"] == "busy" and response.headers["Retry-After"]
        else:
            assert response.status_code == 502, response.text
            assert error["code"] == "upstream_error"
            assert f"timed out after {HASH_TIMEOUT}s (HASH_TIMEOUT" in error["message"]
    assert any(r.status_code == 502 for r in results)
