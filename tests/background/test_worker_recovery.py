"""The kill test: RQ workers on PostgreSQL recover a sync whose worker was SIGKILLed.

Two gunicorn web processes and three RQ worker processes run against the test
database. A staff user's "Sync now" POST (through gunicorn) enqueues an incremental
``sync_workflows`` of ``KILL_TEST_WORKFLOWS`` workflows (2,000 here; CI sets 10,000)
from the loopback fake; once a few pages are stored, the worker running it is killed
with SIGKILL together with its work horse. Another worker takes the task after its
heartbeat goes stale (RQ's abandoned-job cleanup, with retries left) and runs it to
the end: every workflow, step, job and blob is stored exactly once, the run finishes,
and nothing is left in RQ's started registry.
"""

from __future__ import annotations

import http.client
import os
import time
from pathlib import Path

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.db.models import Count

from background.models import TaskRun
from orchestration.models import Blob, Job, Step, Workflow
from tests.background import processes as procs
from tests.fakes import orchestration_process

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(1200)]

WORKFLOWS = int(os.environ.get("KILL_TEST_WORKFLOWS", "2000"))
CSRF = "k" * 32


def staff_session(django_user_model) -> str:
    user = django_user_model.objects.create_user("ops", password="pw-ops-1", is_staff=True)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def post_sync_now(port: int, session_key: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        "/background/sync-workflows/",
        body="",
        headers={
            "Cookie": f"sessionid={session_key}; csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    response = conn.getresponse()
    location = response.getheader("Location") or ""
    assert response.status == 302 and "?run=" in location, (response.status, location)
    return int(location.rsplit("?run=", 1)[1])


def test_a_killed_worker_s_sync_is_finished_by_another(tmp_path: Path, django_user_model):
    if connection.vendor != "postgresql":
        pytest.skip("the production engine runs on PostgreSQL")
    redis = procs.redis_or_skip()
    from rq import Queue
    from rq.job import Job as RQJob
    from rq.registry import StartedJobRegistry

    session_key = staff_session(django_user_model)
    page_size = 100
    running = []
    with orchestration_process.running(WORKFLOWS, slow=0.1) as fake:
        env = procs.child_env(
            TASKS_ENGINE="rq",
            CIVITAI_API_URL=fake["url"],
            CIVITAI_API_TOKEN=fake["token"],
            ORCHESTRATION_SYNC_MAX_SCANS="0",
            TASK_RETRY_DELAYS="1",
            RQ_MAINTENANCE_INTERVAL="3",
            RQ_JOB_MONITORING_INTERVAL="2",
        )
        try:
            port = procs.free_port()
            web = procs.start(
                [
                    *procs.manage()[:1],
                    "-m",
                    "gunicorn",
                    "civitrack.wsgi:application",
                    "--workers",
                    "2",
                    "--bind",
                    f"127.0.0.1:{port}",
                ],
                env,
                tmp_path / "web.log",
            )
            running.append(web)
            workers = {}
            for i in range(3):
                name = f"killtest-{os.getpid()}-{i}"
                workers[name] = procs.start(
                    procs.manage("rqworker", "default", "--with-scheduler", "--name", name),
                    env,
                    tmp_path / f"worker-{i}.log",
                )
                running.append(workers[name])
            procs.wait_for(
                lambda: len(redis.keys("rq:worker:killtest-*")) >= 3,
                timeout=90,
                what="three RQ workers",
            )

            def web_up():
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    c.request("GET", "/healthz")
                    return c.getresponse().status == 200
                except OSError:
                    return False

            procs.wait_for(web_up, timeout=90, what="gunicorn")

            run_id = post_sync_now(port, session_key)
            run = TaskRun.objects.get(pk=run_id)
            assert run.kind == "sync_workflows" and run.origin == "workflow list"

            # Kill the worker running it once a few pages are stored.
            procs.wait_for(
                lambda: TaskRun.objects.filter(
                    pk=run_id, status="running", progress_done__gte=3 * page_size
                ).exists(),
                timeout=120,
                what="the sync to store three pages",
            )
            run.refresh_from_db()
            killed_at = run.progress_done
            assert killed_at < WORKFLOWS, "the sync finished before the kill"
            rq_job = RQJob.fetch(run.engine_id, connection=redis)
            victim = rq_job.worker_name
            assert victim in workers
            procs.kill_hard(workers[victim])

            started = time.monotonic()
            procs.wait_for(
                lambda: TaskRun.objects.filter(pk=run_id, status__in=TaskRun.FINISHED).exists(),
                timeout=120 + WORKFLOWS * 0.04,
                every=1,
                what="another worker to finish the killed run",
            )
            recovered_in = time.monotonic() - started
        except AssertionError:
            procs.print_logs(tmp_path)
            raise
        finally:
            for proc in running:
                procs.stop(proc)

    run.refresh_from_db()
    print(  # the figures for docs/background-work.md (pytest -s shows them)
        f"\nkill test: {WORKFLOWS} workflows, killed at {killed_at}, "
        f"finished {recovered_in:.0f} s after the kill, attempts {run.attempts}"
    )
    assert run.status == TaskRun.Status.SUCCEEDED, run.error
    assert run.attempts == 2
    assert run.result["workflows"] == WORKFLOWS
    # every record stored exactly once
    wf = Workflow.objects.filter(civitai_id__startswith="9901-")
    assert wf.count() == WORKFLOWS
    assert Step.objects.filter(workflow__in=wf).count() == WORKFLOWS
    assert Job.objects.filter(workflow__in=wf).count() == WORKFLOWS
    assert Blob.objects.filter(workflow__in=wf).count() == WORKFLOWS
    for model in (Workflow, Job, Blob):
        assert not model.objects.values("civitai_id").annotate(n=Count("id")).filter(n__gt=1)
    # nothing left running forever
    assert not TaskRun.objects.unfinished().exists()
    assert StartedJobRegistry(queue=Queue("default", connection=redis)).get_job_ids() == []
    redis.flushdb()
