#!/usr/bin/env python
"""Background work on the production engine (RQ on Redis, PostgreSQL), against its floor.

Measured, with real ``rqworker`` processes (docs/background-work.md):

1. **latency**: enqueue-to-start of an empty task (``background.tasks.ping``) with one
   idle worker, 40 samples one after another (p50/p95);
2. **throughput**: empty tasks per second drained by 1 and by 3 workers (``--burst``,
   from their start, Django's start-up included, to the empty queue), as a ratio to the
   engine's floor: a bare ``LPUSH``/``BRPOP`` loop on the same Redis;
3. **sync**: ``sync_workflows`` of ``BENCH_TASKS_WORKFLOWS`` (2,000) workflows from the
   loopback fake into an empty mirror, through a worker (enqueue to finished) versus in
   this process, ``BENCH_TASKS_SYNC_ROUNDS`` (3) of each taking turns, p50s (goal
   ≤ 1.2x).

Uses its own throw-away database (``civitrack_bench_tasks``, migrated, not seeded)
unless ``BENCH_DATABASE_URL`` is set, and Redis db ``BENCH_REDIS_URL``
(default ``redis://127.0.0.1:6379/6``, emptied).
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import common

NAME = "tasks"
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/6")
WORKFLOWS = int(os.environ.get("BENCH_TASKS_WORKFLOWS", "2000"))
EMPTY_TASKS = int(os.environ.get("BENCH_TASKS_EMPTY", "300"))
SYNC_ROUNDS = int(os.environ.get("BENCH_TASKS_SYNC_ROUNDS", "3"))
GOAL_SYNC_RATIO = 1.2


def start_workers(n: int, env: dict, *, burst: bool = False) -> list[subprocess.Popen]:
    args = ["rqworker", "default", "--with-scheduler"] + (["--burst"] if burst else [])
    return [
        subprocess.Popen(
            [sys.executable, str(common.ROOT / "manage.py"), *args, "--name", f"bench-{i}"],
            env=env,
            cwd=common.ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(n)
    ]


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for w in workers:
        if w.poll() is None:
            w.terminate()
    for w in workers:
        try:
            w.wait(timeout=30)
        except subprocess.TimeoutExpired:
            w.kill()


def wait_workers(redis, n: int) -> None:
    deadline = time.monotonic() + 120
    while len(redis.keys("rq:worker:bench-*")) < n:
        if time.monotonic() > deadline:
            raise SystemExit("workers did not start")
        time.sleep(0.2)


def floor_ops(redis, n: int = 5000) -> float:
    """Round trips per second of a bare LPUSH then BRPOP on the same Redis."""
    started = time.perf_counter()
    for i in range(n):
        redis.lpush("bench:floor", i)
        redis.brpop("bench:floor", timeout=1)
    return n / (time.perf_counter() - started)


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        url = common.create_database(NAME)
        atexit.register(common.drop_database, url)
        common.manage(url, "migrate", "--noinput", "-v0")
    from tests.fakes import orchestration_process

    with orchestration_process.running(WORKFLOWS) as fake:
        env = common.django_env(url)
        env.update(
            TASKS_ENGINE="rq",
            REDIS_URL=REDIS_URL,
            CIVITAI_API_URL=fake["url"],
            CIVITAI_API_TOKEN=fake["token"],
            ORCHESTRATION_SYNC_MAX_SCANS="0",
        )
        os.environ.update(env)
        import django

        django.setup()
        run(env)


def compare_sync() -> tuple[list[float], list[float]]:
    """Seconds of ``SYNC_ROUNDS`` full syncs through the idle worker and as many in this
    process, taking turns, each into an empty mirror.

    Measured once each, worker first, the worker's sync also paid for the first writes
    to fresh tables and the direct one came later under another load: 1.24x one run,
    1.0x another, for the same code.
    """
    from django.db import transaction

    from background.models import TaskRun
    from background.tasks import enqueue, run_now
    from orchestration.models import Workflow

    def via_worker() -> None:
        with transaction.atomic():
            run = enqueue("sync_workflows", origin="bench", incremental=False)
        while not TaskRun.objects.filter(pk=run.pk, status__in=TaskRun.FINISHED).exists():
            time.sleep(0.01)
        run.refresh_from_db()
        assert run.status == "succeeded", run.error
        assert run.result["workflows"] == WORKFLOWS, run.result

    def direct() -> None:
        run = run_now("sync_workflows", incremental=False)
        assert run.result["workflows"] == WORKFLOWS, run.result

    ms = common.alternating_ms(
        {"worker": via_worker, "direct": direct},
        runs=SYNC_ROUNDS,
        warmup=0,
        before=lambda: Workflow.objects.all().delete(),
    )
    return [t / 1000 for t in ms["worker"]], [t / 1000 for t in ms["direct"]]


def run(env: dict) -> None:
    import django_rq

    from background.tasks import ping

    redis = django_rq.get_connection("default")
    redis.flushdb()

    floor = floor_ops(redis)

    # 1. latency, one idle worker
    workers = start_workers(1, env)
    try:
        wait_workers(redis, 1)
        time.sleep(1)
        latencies = []
        for _ in range(40):
            result = ping.enqueue(time.time())
            deadline = time.monotonic() + 30
            while True:
                result.refresh()
                if result.status == "SUCCESSFUL":
                    latencies.append(result.return_value * 1000)
                    break
                if time.monotonic() > deadline:
                    raise SystemExit("ping did not finish")
                time.sleep(0.005)
            time.sleep(0.1)

        # 3. sync through the idle worker and directly, in turn
        via_worker, direct = compare_sync()
    finally:
        stop_workers(workers)

    # 2. throughput of empty tasks, 1 and 3 workers draining a full queue
    rates = {}
    for n in (1, 3):
        redis.flushdb()
        ping_results = [ping.enqueue(0.0) for _ in range(EMPTY_TASKS)]
        started = time.perf_counter()
        burst = start_workers(n, env, burst=True)
        for w in burst:  # --burst: each exits when the queue is empty
            w.wait(timeout=600)
        elapsed = time.perf_counter() - started
        done = sum(1 for r in ping_results if r.refresh() or r.status == "SUCCESSFUL")
        rates[n] = done / elapsed
    redis.flushdb()

    ratio = common.p50(via_worker) / common.p50(direct)
    common.write_result(
        NAME,
        {
            "title": "Background work on RQ (production engine)",
            "how": __doc__.split("\n\n", 1)[1].split("\n\nUses", 1)[0],
            "figures": [
                {
                    "what": "enqueue-to-start p50, idle worker",
                    "value": round(common.p50(latencies), 1),
                    "unit": "ms",
                },
                {
                    "what": "enqueue-to-start p95, idle worker",
                    "value": round(common.p95(latencies), 1),
                    "unit": "ms",
                },
                {
                    "what": "Redis floor: LPUSH+BRPOP round trips",
                    "value": round(floor),
                    "unit": "/s",
                },
                {"what": "empty tasks, 1 worker", "value": round(rates[1], 1), "unit": "/s"},
                {"what": "empty tasks, 3 workers", "value": round(rates[3], 1), "unit": "/s"},
                {"what": "1 worker / floor", "value": round(rates[1] / floor, 4), "unit": "x"},
                {"what": "3 workers / floor", "value": round(rates[3] / floor, 4), "unit": "x"},
                {
                    "what": f"sync {WORKFLOWS} workflows via worker (p50 of {SYNC_ROUNDS})",
                    "value": round(common.p50(via_worker), 2),
                    "unit": "s",
                },
                {
                    "what": f"sync {WORKFLOWS} workflows direct (p50 of {SYNC_ROUNDS})",
                    "value": round(common.p50(direct), 2),
                    "unit": "s",
                },
            ],
            "goals": [
                common.goal(
                    "sync via a worker versus direct",
                    f"≤ {GOAL_SYNC_RATIO}x",
                    f"{ratio:.2f}x",
                    ratio <= GOAL_SYNC_RATIO,
                    ""
                    if ratio <= GOAL_SYNC_RATIO
                    else "start-up of the work horse and its first queries",
                )
            ],
            "details": (
                "RQ forks a work horse per job (so a crash or kill cannot take the worker "
                "with it); that fork, not Redis, bounds empty tasks per second."
            ),
        },
    )


if __name__ == "__main__":
    main()
