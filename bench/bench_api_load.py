#!/usr/bin/env python
"""The HTTP API under load: gunicorn with 2 workers, a loopback load generator.

gunicorn (``civitrack.wsgi``, the README's command with ``--workers 2``; the rest from
``gunicorn.conf.py``: gthread workers, 8 threads each, keep-alive) runs against the benchmark database with production settings: DEBUG off, a
generated SECRET_KEY, ALLOWED_HOSTS=127.0.0.1, SECURE_SSL_REDIRECT off (plain HTTP on
loopback), everything else as deployed (persistent DB connections, CONN_MAX_AGE 60;
``DATABASE_PREPARED_STATEMENTS`` on unless the environment says otherwise: gunicorn
talks to PostgreSQL directly, with no pooler in between; stated in the results).
A token is made with ``manage.py create_api_token``. Three endpoints are driven by
``CLIENTS`` Python threads, each with its own ``requests.Session``:

- ``GET /healthz`` (one ``SELECT 1``): the baseline, a trivial request through the
  same server, middleware and database connection;
- ``POST /api/v1/tools/create_asset`` with a new sha256 every time (no hashing: the
  hash is given, the URL is ``s3://``);
- ``POST /api/v1/tools/find_asset`` by the sha256 of an asset created above.

The phases are interleaved: after a short untimed warm-up of each endpoint, ``ROUNDS``
rounds each run the three endpoints for ``SECONDS / ROUNDS`` seconds (at most
``MAX_REQUESTS / ROUNDS`` requests), the order rotated from round to round, and a
share is the median over the rounds of (this endpoint's requests/s / /healthz's in
the same round). Why: the goals are shares of /healthz, and this machine's two cores
are shared with other work whose load changes over tens of seconds. With the three
phases one after the other (15 s each), /healthz and the API endpoints were measured
under different loads, and the same code gave 53 % / 83 % in one whole run and
35 % / 58 % in the next. A round compares endpoints a few seconds apart, under
nearly the same load; rotating the order keeps any one endpoint from always running
first or last in a round; the median drops a round a load spike hit. The total time
per endpoint stays ``SECONDS`` (15 s), as before. Requests/s counts the answers that
arrived within the phase's window; waiting for the last requests in flight and counting
them would add a tail with fewer requests in flight, longer for the slower endpoints,
which a short phase would feel.

Every answer is checked (status and body); any other answer or exception counts as an
error. gunicorn is stopped at the end whatever happens.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

NAME = "api_load"
WORKERS = 2
CLIENTS = int(os.environ.get("BENCH_API_CLIENTS", "4"))
SECONDS = float(os.environ.get("BENCH_API_SECONDS", "15"))
MAX_REQUESTS = int(os.environ.get("BENCH_API_MAX_REQUESTS", "20000"))
ROUNDS = max(1, int(os.environ.get("BENCH_API_ROUNDS", "10")))
WARMUP_SECONDS = 1.0  # per endpoint, untimed: first requests compile and prepare queries
USERNAME = "bench-api"
CREATE_GOAL = 0.50  # issue #17: create_asset at least half the requests/s of /healthz
FIND_GOAL = 0.60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, port: int) -> subprocess.Popen:
    env = common.django_env(url)
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="0",
        LOG_LEVEL="WARNING",
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    return subprocess.Popen(
        [
            str(gunicorn),
            "civitrack.wsgi",
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=common.ROOT,
        env=env,
        start_new_session=True,  # its own process group: stopped as one below
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop_gunicorn(proc: subprocess.Popen) -> str:
    """SIGTERM the master (it stops its workers), SIGKILL the group if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.stderr.read() if proc.stderr else ""


def wait_until_up(base: str, proc: subprocess.Popen) -> None:
    import requests

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {proc.stderr.read()[-2000:]}")
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # still booting
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz within 30 s")


class Load:
    """``CLIENTS`` threads sending ``send`` for ``seconds`` or until ``cap`` requests."""

    def __init__(self, label: str, send, seconds: float, cap: int):
        self.label, self.send = label, send
        self.seconds, self.cap = seconds, cap
        self.latencies: list[float] = []
        self.finished: list[float] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.sent = 0

    def _take(self) -> int | None:
        with self.lock:
            if self.sent >= self.cap:
                return None
            self.sent += 1
            return self.sent

    def _client(self, deadline: float) -> None:
        import requests

        session = requests.Session()
        while time.perf_counter() < deadline:
            n = self._take()
            if n is None:
                break
            started = time.perf_counter()
            try:
                problem = self.send(session, n)
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}: {exc}"
            finished = time.perf_counter()
            with self.lock:
                if problem:
                    self.errors.append(problem)
                else:
                    self.latencies.append((finished - started) * 1000)
                    self.finished.append(finished)
        session.close()

    def run(self) -> dict:
        started = time.perf_counter()
        deadline = started + self.seconds
        threads = [threading.Thread(target=self._client, args=(deadline,)) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Throughput over a fixed window: the answers that arrived before the deadline
        # (or all of them, when the cap ended the phase first). Counting the stragglers
        # too and waiting for them would add a tail with fewer than CLIENTS requests in
        # flight, longer for the slower endpoints, and so bias the shares against them.
        end = min(time.perf_counter(), deadline)
        window = end - started
        return {
            "label": self.label,
            "latencies": self.latencies,
            "errors": self.errors,
            "wall_s": window,
            "rps": sum(1 for f in self.finished if f <= end) / window,
        }


def summary(label: str, phases: list[dict]) -> dict:
    """One endpoint's phases (one per round) as one row: totals, latency percentiles."""
    ok = [ms for p in phases for ms in p["latencies"]]
    errors = [e for p in phases for e in p["errors"]]
    wall = sum(p["wall_s"] for p in phases)
    in_window = sum(p["rps"] * p["wall_s"] for p in phases)
    return {
        "label": label,
        "requests": len(ok) + len(errors),
        "ok": len(ok),
        "errors": len(errors),
        "first_errors": sorted(set(errors))[:3],
        "wall_s": wall,
        "rps": in_window / wall,
        "p50": common.p50(ok) if ok else None,
        "p99": sorted(ok)[min(len(ok) - 1, round(0.99 * (len(ok) - 1)))] if ok else None,
    }


def main() -> None:
    # gunicorn connects to PostgreSQL directly, the case the README says to switch
    # prepared statements on for; DATABASE_PREPARED_STATEMENTS=false measures without.
    os.environ.setdefault("DATABASE_PREPARED_STATEMENTS", "true")
    url = common.setup(NAME)
    from django.conf import settings

    prepared = "on" if settings.DATABASE_PREPARED_STATEMENTS else "off"
    from django.contrib.auth import get_user_model

    from tracking.models import Asset

    get_user_model().objects.get_or_create(username=USERNAME, defaults={"is_active": True})
    token = subprocess.run(
        [sys.executable, str(common.ROOT / "manage.py"), "create_api_token", USERNAME],
        env=common.django_env(url),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    run_id = secrets.token_hex(4)
    created: list[str] = []
    created_lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    before = Asset.objects.count()

    def healthz(session, n):
        r = session.get(f"{base}/healthz", timeout=10)
        if r.status_code != 200 or r.json() != {"status": "ok"}:
            return f"healthz {r.status_code}"
        return None

    numbers = itertools.count(1)  # Load numbers its requests per phase; creates need unique ones

    def create(session, _):
        n = next(numbers)  # atomic under the GIL
        sha = hashlib.sha256(f"bench-api-{run_id}-{n}".encode()).hexdigest()
        body = {
            "asset_url": f"s3://bench/{run_id}/{n}.png",
            "asset_type": "image",
            "asset_source": "generated",
            "sha256sum": sha,
            "metadata": {"bench": run_id, "n": n},
        }
        r = session.post(
            f"{base}/api/v1/tools/create_asset", json=body, headers=headers, timeout=10
        )
        if r.status_code not in (200, 201) or r.json().get("sha256sum") != sha:
            return f"create_asset {r.status_code} {r.text[:120]}"
        with created_lock:
            created.append(sha)
        return None

    def find(session, n):
        sha = created[n % len(created)]
        r = session.post(
            f"{base}/api/v1/tools/find_asset",
            json={"sha256sum": sha},
            headers=headers,
            timeout=10,
        )
        data = r.json() if r.status_code == 200 else {}
        if not data.get("found") or data["asset"]["sha256sum"] != sha:
            return f"find_asset {r.status_code} {r.text[:120]}"
        return None

    per_phase_cap = max(1, MAX_REQUESTS // ROUNDS)
    proc = start_gunicorn(url, port)
    server_log = ""
    try:
        wait_until_up(base, proc)
        endpoints = [("GET /healthz", healthz), ("create_asset", create), ("find_asset", find)]
        warmup = {}
        for label, send in endpoints:
            warmup[label] = Load(label, send, WARMUP_SECONDS, MAX_REQUESTS).run()
            if label == "create_asset" and not created:
                raise RuntimeError(f"no asset was created: {sorted(set(warmup[label]['errors']))}")
        phases: dict[str, list[dict]] = {label: [] for label, _ in endpoints}
        for n in range(ROUNDS):
            for label, send in endpoints[n % 3 :] + endpoints[: n % 3]:
                phases[label].append(Load(label, send, SECONDS / ROUNDS, per_phase_cap).run())
    finally:
        server_log = stop_gunicorn(proc)
    stored = Asset.objects.count() - before
    results = [summary(label, phases[label]) for label, _ in endpoints]
    base_rps = results[0]["rps"]
    warmup_errors = [e for w in warmup.values() for e in w["errors"]]
    # Per round: this endpoint's requests/s over /healthz's in the same round.
    shares = {
        label: [
            p["rps"] / h["rps"] if h["rps"] else 0.0
            for p, h in zip(phases[label], phases["GET /healthz"], strict=True)
        ]
        for label in ("create_asset", "find_asset")
    }

    rows = [
        "| endpoint | requests | errors | requests/s | p50 ms | p99 ms | healthz / this |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows.append(
            f"| {r['label']} | {r['requests']} | {r['errors']} | {r['rps']:.0f} | "
            f"{common.fmt_ms(r['p50'])} | {common.fmt_ms(r['p99'])} | "
            f"{base_rps / r['rps']:.2f}x |"
        )
    total_errors = sum(r["errors"] for r in results) + len(warmup_errors)
    # The warm-up's creates are acknowledged too, and must be stored like the others.
    create_ok = results[1]["ok"] + len(warmup["create_asset"]["latencies"])
    goals = [
        common.goal(
            "no errors under load",
            "0 errors",
            f"{total_errors} errors",
            total_errors == 0,
            why="; ".join(
                [e for r in results for e in r["first_errors"]] + sorted(set(warmup_errors))[:3]
            )
            or "see the table",
        ),
        common.goal(
            "every acknowledged create_asset is stored, once",
            f"{create_ok} rows",
            f"{stored} rows",
            stored == create_ok,
            why="the database does not hold exactly the assets the API acknowledged",
        ),
    ]
    create_share = statistics.median(shares["create_asset"])
    find_share = statistics.median(shares["find_asset"])
    goals += [
        common.goal(
            "create_asset requests/s as a share of /healthz",
            f"≥ {CREATE_GOAL:.0%}",
            f"{create_share:.0%}",
            create_share >= CREATE_GOAL,
            why=(
                f"{CREATE_GOAL - create_share:.0%} short: beyond what /healthz pays (the "
                "middleware, the connection's health check and one query), a create validates "
                "its input, looks up the token (one compiled query) and writes the asset (16 "
                "indexes) and its history row (4) in one statement, a data-modifying CTE that "
                "is its own transaction (Asset.insert_new: no BEGIN/COMMIT, no ORM INSERTs), "
                "then waits for the commit to reach the WAL (it was BEGIN, two ORM INSERTs "
                "and COMMIT, with 17 indexes). The rest is Python: pydantic validation, the "
                "Asset instance and the answer's JSON. Client, gunicorn and "
                "PostgreSQL share the two cores with whatever else runs; the per-round "
                "shares (figures) show how much the load moved within the run"
            ),
        ),
        common.goal(
            "find_asset requests/s as a share of /healthz",
            f"≥ {FIND_GOAL:.0%}",
            f"{find_share:.0%}",
            find_share >= FIND_GOAL,
            why=(
                f"{FIND_GOAL - find_share:.0%} short: besides what /healthz pays, the "
                "token query and the asset query (both compiled once and prepared with "
                "DATABASE_PREPARED_STATEMENTS; the asset's joined to both prompts, the post "
                "and three creators, lineage aggregated) and a 40-field JSON answer; client, "
                "gunicorn and PostgreSQL share the two cores"
            ),
        ),
    ]
    figures = [
        {"what": "gunicorn workers (gthread, gunicorn.conf.py)", "value": WORKERS, "unit": ""},
        {"what": "DATABASE_PREPARED_STATEMENTS", "value": prepared, "unit": ""},
        {"what": "client threads (one requests.Session each)", "value": CLIENTS, "unit": ""},
        {
            "what": "time per endpoint (or request cap), in rounds",
            "value": f"{SECONDS:g} s / {MAX_REQUESTS}, {ROUNDS} rounds of {SECONDS / ROUNDS:g} s",
            "unit": "",
        },
        *(
            {
                "what": f"{r['label']}: requests/s, p50 / p99",
                "value": f"{r['rps']:.0f}, {common.fmt_ms(r['p50'])} / {common.fmt_ms(r['p99'])}",
                "unit": "",
            }
            for r in results
        ),
        {
            "what": "create_asset / find_asset share of /healthz per round",
            "value": " · ".join(
                f"{c:.2f} / {f:.2f}"
                for c, f in zip(shares["create_asset"], shares["find_asset"], strict=True)
            ),
            "unit": "",
        },
        {
            "what": "create_asset / find_asset share of /healthz: median of rounds (totals)",
            "value": (
                f"{create_share:.2f} / {find_share:.2f} "
                f"({results[1]['rps'] / base_rps:.2f} / {results[2]['rps'] / base_rps:.2f})"
            ),
            "unit": "",
        },
    ]
    # WhiteNoise warns that staticfiles/ is missing (no collectstatic; the API serves no
    # static files); anything else gunicorn printed is reported.
    problems = [
        line
        for line in server_log.splitlines()
        if line.strip() and "No directory at" not in line and "mw_instance" not in line
    ]
    if problems:
        figures.append(
            {"what": "gunicorn stderr (last line)", "value": problems[-1][:200], "unit": ""}
        )
    common.write_result(
        NAME,
        {
            "title": "HTTP API under load (gunicorn, 2 workers)",
            "how": (
                f"`gunicorn civitrack.wsgi --workers {WORKERS}` on 127.0.0.1, the rest from "
                "gunicorn.conf.py (gthread workers, 8 threads each, keep-alive 5 s, the "
                "access log on), against the benchmark PostgreSQL database, DEBUG off with a "
                "generated SECRET_KEY, ALLOWED_HOSTS=127.0.0.1, SECURE_SSL_REDIRECT off, "
                "persistent DB connections (CONN_MAX_AGE 60, the default), "
                f"DATABASE_PREPARED_STATEMENTS {prepared}. Token from `manage.py "
                f"create_api_token`. Load: {CLIENTS} Python threads in one process, each with "
                f"its own requests.Session (kept-alive connections), for {SECONDS:g} s per "
                f"endpoint (at most {MAX_REQUESTS} requests) after a {WARMUP_SECONDS:g} s "
                f"untimed warm-up of each, interleaved: {ROUNDS} rounds of "
                f"{SECONDS / ROUNDS:g} s per endpoint, the order rotated each round. "
                "Latency is the client's wall time per request; "
                "requests/s counts the successful answers that arrived within each phase's "
                "window (its seconds, or until the request cap); a share "
                "is the median over the rounds of the endpoint's requests/s over /healthz's "
                "in the same round (the table's ratio column is over the totals). Every "
                "answer's status and body are checked. The client, gunicorn and PostgreSQL "
                "share the machine's 2 cores."
            ),
            "table": "\n".join(rows),
            "figures": figures,
            "goals": goals,
        },
    )


if __name__ == "__main__":
    main()
