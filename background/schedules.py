"""Scheduled work: each due slot of each schedule is enqueued exactly once.

Schedules come from settings (``SCHEDULES``: kind → interval in seconds, ``None`` =
off; the intervals are ``SYNC_WORKFLOWS_EVERY``, ``SYNC_STATS_EVERY``,
``HASH_BLOBS_EVERY``, ``HASH_ASSETS_EVERY`` and ``HASH_PERCEPTUAL_EVERY``). Slots are aligned on the Unix epoch,
so every scheduler computes the same slot for the same moment. Claiming a slot is an
INSERT into ``ScheduleSlot`` under its unique constraint ``(kind, slot_start)``: of any
number of schedulers on any hosts, exactly one INSERT succeeds and only that one
enqueues, in the same transaction (so a slot is never claimed without its run).
docs/background-work.md says why this and not a leader lock.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from background.models import ScheduleSlot, TaskRun
from background.tasks import enqueue

logger = logging.getLogger(__name__)


def enabled() -> dict[str, int]:
    """Kinds with a schedule and their interval in seconds."""
    return {kind: every for kind, every in settings.SCHEDULES.items() if every}


def claim(kind: str, slot_start: dt.datetime) -> TaskRun | None:
    """Enqueue ``kind`` for this slot unless a scheduler already did; the run or ``None``."""
    try:
        with transaction.atomic():
            slot = ScheduleSlot.objects.create(kind=kind, slot_start=slot_start)
            run = enqueue(kind, origin="schedule")
            slot.run = run
            slot.save(update_fields=["run"])
    except IntegrityError:
        return None
    logger.info("scheduled %s for slot %s (run %s)", kind, slot_start.isoformat(), run.pk)
    return run


def enqueue_due(now: dt.datetime | None = None) -> list[TaskRun]:
    """Claim the current slot of every enabled schedule; returns the runs this call enqueued."""
    now = now or timezone.now()
    runs = []
    for kind, every in enabled().items():
        run = claim(kind, ScheduleSlot.slot_for(now, every))
        if run is not None:
            runs.append(run)
    return runs


def seconds_to_next_slot(now: dt.datetime | None = None) -> float:
    """How long until the next slot of any enabled schedule starts (at most 60 s)."""
    now = now or timezone.now()
    stamp = now.timestamp()
    waits = [every - (stamp % every) for every in enabled().values()]
    return max(0.05, min([60.0, *waits]))
