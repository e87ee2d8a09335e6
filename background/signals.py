"""Keep a TaskRun honest when the engine gives up on it without our code running.

RQ reports a job whose worker died (``AbandonedJobError``) through the job's failure
callback, which django-tasks-rq turns into ``task_finished``; our ``execute`` never saw
that attempt end. A run still marked running is marked failed here; if RQ retries it,
the next attempt marks it running again (``TaskRun.mark_started``).
"""

from __future__ import annotations

from django.utils import timezone

from background.models import TaskRun


def on_task_finished(sender, task_result, **kwargs) -> None:
    if str(getattr(task_result, "status", "")).upper().endswith("FAILED"):
        TaskRun.objects.filter(engine_id=str(task_result.id), status=TaskRun.Status.RUNNING).update(
            status=TaskRun.Status.FAILED,
            finished_at=timezone.now(),
            error="The worker running this task stopped before it finished "
            "(killed, lost or timed out); the engine retries it while retries are left.",
        )


def connect() -> None:
    from django.tasks.signals import task_finished

    task_finished.connect(on_task_finished, dispatch_uid="background-task-finished")
    try:  # the backport's signal, which django-tasks-rq sends
        from django_tasks.signals import task_finished as backport_finished
    except ImportError:
        return
    backport_finished.connect(on_task_finished, dispatch_uid="background-task-finished-rq")
