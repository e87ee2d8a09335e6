"""What every benchmark script shares: Django set-up, a seeded throw-away database, timing.

Each ``bench/bench_<name>.py`` is a standalone script. It calls ``setup(name)`` first,
which picks the database and configures Django:

- ``BENCH_DATABASE_URL`` set (``run_all.py`` seeds one database and passes it to
  every script): use it as is;
- otherwise create ``civitrack_bench_<name>`` on the local PostgreSQL server
  (``BENCH_PG_URL``, default ``postgres://postgres@127.0.0.1:5432``), migrate it, fill
  it with ``seed_scale`` and drop it when the script ends.

It then prints one Markdown section on stdout and writes ``bench/results/<name>.json``
with ``write_result`` in the shape ``run_all.py`` renders into docs/benchmarks.md:

    {"name", "title", "status": "ok" | "skipped" | "failed", "reason", "how",
     "figures": [{"what", "value", "unit"}],
     "goals": [{"what", "goal", "value", "met", "why"}],
     "details": "Markdown (plans, tables)", "markdown": "the section as printed"}
"""

from __future__ import annotations

import atexit
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
# Throw-away databases are named <prefix><name>; a different prefix keeps two people
# benchmarking on one server apart.
DB_PREFIX = os.environ.get("BENCH_DB_PREFIX", "civitrack_bench_")
SCALE = {
    "posts": int(os.environ.get("BENCH_POSTS", "20000")),
    "assets": int(os.environ.get("BENCH_ASSETS", "100000")),
    "prompts": int(os.environ.get("BENCH_PROMPTS", "50000")),
}


def _admin_sql(sql: str) -> None:
    """Run CREATE/DROP DATABASE on the maintenance database (outside a transaction)."""
    import psycopg

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(sql)


SETTLE_MAX_S = 60


def settle(max_s: float = SETTLE_MAX_S) -> tuple[float, float]:
    """Let the server finish what earlier work left it doing, before a script starts.

    Waits (at most ``max_s``) until no autovacuum worker is running - after a script
    that wrote a million rows, vacuum and analyze of those tables would otherwise run
    during the next script's timings - then runs a ``CHECKPOINT``, so the next script
    does not pay for flushing the last one's pages. Returns (seconds waited for
    autovacuum, seconds of the checkpoint); the report shows both per script.
    """
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        while time.perf_counter() - started < max_s:
            (busy,) = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
            ).fetchone()
            if not busy:
                break
            time.sleep(0.5)
        waited = time.perf_counter() - started
        conn.execute("CHECKPOINT")
    return waited, time.perf_counter() - started - waited


def create_database(name: str) -> str:
    """A fresh, empty ``<BENCH_DB_PREFIX><name>`` database; returns its URL."""
    db = f"{DB_PREFIX}{name}"
    _admin_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    _admin_sql(f'CREATE DATABASE "{db}"')
    return f"{PG_URL}/{db}"


def copy_database(url: str, name: str) -> str:
    """A copy of ``url``'s database as ``<BENCH_DB_PREFIX><name>`` (``CREATE DATABASE ...
    TEMPLATE``: nothing may be connected to the original meanwhile); returns its URL."""
    db = f"{DB_PREFIX}{name}"
    _admin_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    _admin_sql(f'CREATE DATABASE "{db}" TEMPLATE "{url.rsplit("/", 1)[1]}"')
    return f"{PG_URL}/{db}"


def drop_database(url: str) -> None:
    _admin_sql(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def manage(url: str, *args: str) -> float:
    """Run ``manage.py`` against ``url`` in a child process; return the wall time in seconds."""
    env = django_env(url)
    started = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True)
    return time.perf_counter() - started


def django_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="civitrack.settings",
        DEBUG="true",
        DATABASE_URL=url,
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
    )
    return env


def seeded_database(name: str) -> tuple[str, dict[str, float]]:
    """Create, migrate and seed ``civitrack_bench_<name>``; return its URL and timings."""
    url = create_database(name)
    timings = {"migrate_s": manage(url, "migrate", "--noinput", "-v0")}
    timings["seed_s"] = manage(
        url,
        "seed_scale",
        f"--posts={SCALE['posts']}",
        f"--assets={SCALE['assets']}",
        f"--prompts={SCALE['prompts']}",
        "-v0",
    )
    return url, timings


def setup(name: str) -> str:
    """Point Django at the benchmark database (see module docstring); return its URL."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        print(f"(no BENCH_DATABASE_URL: seeding {DB_PREFIX}{name}, about a minute)")
        url, _ = seeded_database(name)
        atexit.register(drop_database, url)
    os.environ.update(django_env(url))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return url


def bench_superuser():
    """A superuser for the test Client (no password: it logs in with force_login)."""
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.update_or_create(
        username="bench-root", defaults={"is_superuser": True, "is_staff": True, "is_active": True}
    )
    return user


def sample_ms(fn: Callable[[], object], *, runs: int, warmup: int = 3) -> list[float]:
    """Wall times of ``runs`` calls of ``fn`` in milliseconds, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def alternating_ms(
    fns: dict[str, Callable[[], object]],
    *,
    runs: int,
    warmup: int = 2,
    before: Callable[[], object] = lambda: None,
) -> dict[str, list[float]]:
    """Wall times in ms of ``runs`` calls of each of ``fns``, the calls taking turns;
    ``before`` runs untimed ahead of every call (to empty what the last one filled).

    A ratio of two things measured one after the other, seconds or minutes apart,
    compares two loads as much as two pieces of code on this shared machine; taking
    turns (and reversing the turn order every other round, so neither is always first)
    gives both the same load.
    """
    for fn in fns.values():
        for _ in range(warmup):
            before()
            fn()
    samples: dict[str, list[float]] = {key: [] for key in fns}
    order = list(fns)
    for run in range(runs):
        for key in order[::-1] if run % 2 else order:
            before()
            started = time.perf_counter()
            fns[key]()
            samples[key].append((time.perf_counter() - started) * 1000)
    return samples


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} ms"


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def goal(what: str, goal_text: str, value: str, met: bool, why: str = "") -> dict:
    return {"what": what, "goal": goal_text, "value": value, "met": met, "why": why}


def write_result(name: str, result: dict) -> dict:
    """Print the section and save ``bench/results/<name>.json`` for run_all's report."""
    result = {"name": name, "date": now_iso(), "status": "ok", **result}
    result["markdown"] = render_section(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(result["markdown"])
    return result


def render_section(result: dict) -> str:
    """One result as a Markdown section: status, how measured, figures, goals, details."""
    lines = [f"## {result.get('title') or result['name']}", ""]
    if result.get("status") != "ok":
        lines += [f"**{result.get('status', 'skipped')}**: {result.get('reason', '')}", ""]
    if result.get("how"):
        lines += [f"*How measured:* {result['how']}", ""]
    if result.get("table"):
        lines += [result["table"].rstrip(), ""]
    if result.get("figures"):
        lines += ["| figure | value |", "|---|---|"]
        lines += [f"| {f['what']} | {f['value']} {f.get('unit', '')} |" for f in result["figures"]]
        lines.append("")
    if result.get("goals"):
        lines += ["| goal | target | measured | met |", "|---|---|---|---|"]
        for g in result["goals"]:
            lines.append(
                f"| {g['what']} | {g['goal']} | {g['value']} | {'yes' if g['met'] else '**no**'} |"
            )
        lines.append("")
        for g in result["goals"]:
            if not g["met"] and g.get("why"):
                lines += [f"- *{g['what']}* missed: {g['why']}"]
        lines.append("")
    if result.get("details"):
        lines += [result["details"].rstrip(), ""]
    return "\n".join(lines)
