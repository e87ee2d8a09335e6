"""Django tasks (``django.tasks``) for civitrack's background work, and the two ways in.

- ``enqueue(kind, ...)``: record a ``TaskRun`` and hand its id to the configured
  engine (``settings.TASKS``) once the transaction commits; pages, ``--enqueue`` and
  the scheduler use it.
- ``run_now(kind, ...)``: record a ``TaskRun`` and do the work in this process (the
  commands' foreground mode, with their progress bars).

Every kind has one ``@task`` whose only argument is the run id, so what travels
through the queue is tiny and the arguments stay in our database.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.tasks import task
from django.utils.translation import gettext_lazy as _

from background import work
from background.models import ProgressReporter, TaskRun

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    func: Callable[..., work.Outcome]


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("sync_workflows", _("Sync Orchestration workflows"), work.sync_workflows),
        Kind("refresh_workflow", _("Refresh a workflow from the API"), work.refresh_workflow),
        Kind("refresh_job", _("Refresh a job from the API"), work.refresh_job),
        Kind("import_post", _("Import a Civitai post"), work.import_post),
        Kind("sync_stats", _("Sync Civitai engagement stats"), work.sync_stats),
        Kind("hash_assets", _("Hash assets without sha256"), work.hash_assets),
        Kind("hash_blobs", _("Hash mirrored blobs"), work.hash_blobs),
        Kind(
            "hash_perceptual",
            _("Perceptual hashes for assets without them"),
            work.hash_perceptual,
        ),
        Kind(
            "import_civitai_records",
            _("Import a civitai-records database"),
            work.import_civitai_records,
        ),
    )
}


def execute(run_id: int, *, echo=None) -> str:
    """Do the work of one run and record how it went; re-raises what the engine should retry."""
    run = TaskRun.objects.get(pk=run_id)
    if run.is_finished and run.status == TaskRun.Status.SUCCEEDED:
        return run.status  # a duplicate delivery of a run that already succeeded
    kind = KINDS[run.kind]
    run.mark_started()
    progress = ProgressReporter(run, echo=echo)
    try:
        outcome = kind.func(progress=progress, **run.arguments)
    except work.RunFailed as exc:
        o = exc.outcome
        run.finish(
            TaskRun.Status.FAILED,
            summary=o.summary,
            result=o.result,
            error=str(exc),
            item_errors=o.item_errors,
        )
        raise
    except Exception as exc:
        run.finish(
            TaskRun.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=8)}",
        )
        raise
    status = TaskRun.Status.SKIPPED if outcome.skipped else TaskRun.Status.SUCCEEDED
    run.finish(
        status, summary=outcome.summary, result=outcome.result, item_errors=outcome.item_errors
    )
    return status


# One task per kind, so the engine's own views and logs name the work.


@task
def sync_workflows(run_id: int) -> str:
    return execute(run_id)


@task
def refresh_workflow(run_id: int) -> str:
    return execute(run_id)


@task
def refresh_job(run_id: int) -> str:
    return execute(run_id)


@task
def import_post(run_id: int) -> str:
    return execute(run_id)


@task
def sync_stats(run_id: int) -> str:
    return execute(run_id)


@task
def hash_assets(run_id: int) -> str:
    return execute(run_id)


@task
def hash_blobs(run_id: int) -> str:
    return execute(run_id)


@task
def hash_perceptual(run_id: int) -> str:
    return execute(run_id)


@task
def import_civitai_records(run_id: int) -> str:
    return execute(run_id)


TASKS = {
    "sync_workflows": sync_workflows,
    "refresh_workflow": refresh_workflow,
    "refresh_job": refresh_job,
    "import_post": import_post,
    "sync_stats": sync_stats,
    "hash_assets": hash_assets,
    "hash_blobs": hash_blobs,
    "hash_perceptual": hash_perceptual,
    "import_civitai_records": import_civitai_records,
}


def _new_run(kind: str, *, user=None, origin: str = "", arguments: dict | None = None) -> TaskRun:
    if kind not in KINDS:
        raise ValueError(f"unknown task kind {kind!r}")
    return TaskRun.objects.create(
        kind=kind,
        enqueued_by=user if getattr(user, "is_authenticated", False) else None,
        origin=origin,
        arguments=arguments or {},
    )


def _send(run: TaskRun) -> None:
    result = TASKS[run.kind].enqueue(run.pk)
    TaskRun.objects.filter(pk=run.pk).update(engine_id=str(result.id)[:100])


def enqueue(kind: str, *, user=None, origin: str = "", **arguments) -> TaskRun:
    """Record a run of ``kind`` and enqueue it when the current transaction commits."""
    run = _new_run(kind, user=user, origin=origin, arguments=arguments)
    transaction.on_commit(lambda: _send(run))
    return run


def run_now(kind: str, *, user=None, origin: str = "command", echo=None, **arguments) -> TaskRun:
    """Record a run of ``kind`` and do it in this process; exceptions propagate."""
    run = _new_run(kind, user=user, origin=origin, arguments=arguments)
    execute(run.pk, echo=echo)
    run.refresh_from_db()
    return run


@task
def ping(sent_at: float) -> float:
    """An empty task for benchmarks and checks: seconds from ``sent_at`` (epoch) to its start."""
    import time

    return time.time() - sent_at
