"""The history of background work: one ``TaskRun`` per enqueued task, one ``ScheduleSlot``
per scheduled slot.

A run is ours, not the engine's: the engine (django-tasks-db or RQ) keeps its own
queue records and may forget them; a ``TaskRun`` says who asked for what, how far it
got, what it stored and what failed, whichever engine ran it. ``ScheduleSlot`` makes
"each due slot is enqueued once" a database constraint rather than a hope.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TaskRunQuerySet(models.QuerySet):
    def of_kind(self, kind: str) -> TaskRunQuerySet:
        return self.filter(kind=kind)

    def unfinished(self) -> TaskRunQuerySet:
        return self.filter(status__in=[TaskRun.Status.QUEUED, TaskRun.Status.RUNNING])


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class TaskRun(models.Model):
    """One piece of background work from enqueue to its last attempt."""

    Status = RunStatus
    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.SKIPPED)

    kind = models.CharField(_("task"), max_length=50, db_index=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    enqueued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="task_runs",
        verbose_name=_("enqueued by"),
    )
    origin = models.CharField(
        _("origin"), max_length=50, default="", blank=True, help_text=_("page, command or schedule")
    )
    arguments = models.JSONField(_("arguments"), default=dict, blank=True)
    engine_id = models.CharField(_("engine task id"), max_length=100, default="", blank=True)
    queued_at = models.DateTimeField(_("queued"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    progress_done = models.PositiveIntegerField(_("done"), default=0)
    progress_total = models.PositiveIntegerField(_("of"), null=True, blank=True)
    summary = models.TextField(_("result"), default="", blank=True)
    result = models.JSONField(_("result data"), default=dict, blank=True)
    error = models.TextField(_("error"), default="", blank=True)
    item_errors = models.JSONField(
        _("failed items"),
        default=list,
        blank=True,
        help_text=_("items that failed; the run went on"),
    )

    objects = TaskRunQuerySet.as_manager()

    class Meta:
        ordering = ["-queued_at", "-id"]
        verbose_name = _("task run")
        verbose_name_plural = _("task runs")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values),
                name="taskrun_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["kind", "status", "-finished_at"], name="taskrun_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def label(self) -> str:
        from background.tasks import KINDS

        kind = KINDS.get(self.kind)
        return str(kind.label) if kind else self.kind

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return None
        return min(100, round(100 * self.progress_done / self.progress_total))

    # state changes: conditional UPDATEs, so a late write of a dead attempt cannot undo
    # what a later one recorded

    def mark_started(self, worker: str = "") -> None:
        now = timezone.now()
        TaskRun.objects.filter(pk=self.pk).update(
            status=self.Status.RUNNING,
            started_at=now,
            finished_at=None,
            attempts=F("attempts") + 1,
            error="",
            progress_done=0,
        )
        self.refresh_from_db()

    def set_progress(self, done: int, total: int | None = None) -> None:
        changes: dict[str, Any] = {"progress_done": max(done, 0)}
        if total is not None:
            changes["progress_total"] = max(total, 0)
        TaskRun.objects.filter(pk=self.pk, attempts=self.attempts).update(**changes)
        for name, value in changes.items():
            setattr(self, name, value)

    def finish(
        self,
        status: str,
        *,
        summary: str = "",
        result: dict | None = None,
        error: str = "",
        item_errors: list[str] | None = None,
    ) -> None:
        changes = {
            "status": status,
            "finished_at": timezone.now(),
            "summary": summary[:10000],
            "result": result or {},
            "error": error[:10000],
            "item_errors": (item_errors or [])[:500],
        }
        TaskRun.objects.filter(pk=self.pk, attempts=self.attempts).update(**changes)
        for name, value in changes.items():
            setattr(self, name, value)

    def as_status(self) -> dict[str, Any]:
        """The JSON that pages poll (background.views.run_status)."""
        return {
            "id": self.pk,
            "kind": self.kind,
            "status": self.status,
            "status_label": str(self.get_status_display()),
            "finished": self.is_finished,
            "queued_at": self.queued_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "attempts": self.attempts,
            "done": self.progress_done,
            "total": self.progress_total,
            "percent": self.percent,
            "summary": self.summary,
            "error": self.error,
            "item_errors": self.item_errors[:20],
        }


class ProgressReporter:
    """Writes a run's progress at most every ``every`` seconds (and always the last step)."""

    def __init__(self, run: TaskRun, *, every: float = 0.5, echo=None):
        self.run = run
        self.every = every
        self.echo = echo
        self._last = 0.0

    def __call__(self, done: int, total: int | None = None) -> None:
        if self.echo:
            self.echo(done, total)
        now = time.monotonic()
        last_step = total is not None and done >= total
        if now - self._last >= self.every or last_step:
            self._last = now
            self.run.set_progress(done, total)


class ScheduleSlot(models.Model):
    """A slot of a schedule that was enqueued; the unique constraint makes it once only."""

    kind = models.CharField(_("task"), max_length=50)
    slot_start = models.DateTimeField(_("slot"))
    run = models.OneToOneField(
        TaskRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="schedule_slot"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-slot_start"]
        verbose_name = _("schedule slot")
        verbose_name_plural = _("schedule slots")
        constraints = [
            models.UniqueConstraint(fields=["kind", "slot_start"], name="schedule_slot_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} @ {self.slot_start:%Y-%m-%d %H:%M:%S}"

    @staticmethod
    def slot_for(when: dt.datetime, every: int) -> dt.datetime:
        """The start of the slot of length ``every`` seconds that ``when`` falls in (UTC epoch)."""
        seconds = int(when.timestamp()) // every * every
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
