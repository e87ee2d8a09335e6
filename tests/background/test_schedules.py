"""Schedules: each slot is enqueued exactly once, however many schedulers run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.db.models import Count
from django_tasks_db.models import DBTaskResult

from background import schedules
from background.models import ScheduleSlot, TaskRun
from tests.background import processes as procs

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def test_it_aligns_slots_on_the_epoch():
    assert ScheduleSlot.slot_for(T0 + dt.timedelta(seconds=899), 900) == T0
    assert ScheduleSlot.slot_for(T0 + dt.timedelta(seconds=900), 900) == T0 + dt.timedelta(
        seconds=900
    )


@pytest.mark.django_db
def test_it_claims_each_slot_once(settings, django_capture_on_commit_callbacks):
    settings.SCHEDULES = {"hash_blobs": 60, "sync_stats": None}
    with django_capture_on_commit_callbacks(execute=True):
        first = schedules.enqueue_due(T0 + dt.timedelta(seconds=5))
        again = schedules.enqueue_due(T0 + dt.timedelta(seconds=30))
        later = schedules.enqueue_due(T0 + dt.timedelta(seconds=61))
    assert [r.kind for r in first] == ["hash_blobs"] and again == []
    assert len(later) == 1
    assert list(
        ScheduleSlot.objects.order_by("slot_start").values_list("slot_start", flat=True)
    ) == [
        T0,
        T0 + dt.timedelta(seconds=60),
    ]
    assert TaskRun.objects.filter(origin="schedule", status="succeeded").count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(180)
def test_two_schedulers_enqueue_each_slot_once(tmp_path: Path):
    env = procs.child_env(
        TASKS_ENGINE="database",
        SYNC_WORKFLOWS_EVERY="2",
        SYNC_STATS_EVERY="3",
        HASH_BLOBS_EVERY="",
        HASH_ASSETS_EVERY="",
        HASH_PERCEPTUAL_EVERY="",
    )
    seconds = "12"
    schedulers = [
        procs.start(
            procs.manage("run_scheduler", "--max-seconds", seconds), env, tmp_path / f"s{i}.log"
        )
        for i in range(2)
    ]
    try:
        for proc in schedulers:
            proc.wait(timeout=150)
    except BaseException:
        procs.print_logs(tmp_path)
        raise
    finally:
        for proc in schedulers:
            procs.stop(proc)
    assert [p.returncode for p in schedulers] == [0, 0], procs.print_logs(tmp_path)

    slots = ScheduleSlot.objects.all()
    per_kind = dict(slots.values_list("kind").annotate(n=Count("id")))
    assert per_kind.get("sync_workflows", 0) >= 3 and per_kind.get("sync_stats", 0) >= 2
    assert set(per_kind) == {"sync_workflows", "sync_stats"}
    # one run per slot, and the engine got each run once
    assert not slots.filter(run__isnull=True).exists()
    assert TaskRun.objects.count() == slots.count()
    assert DBTaskResult.objects.count() == slots.count()
    for kind, every in (("sync_workflows", 2), ("sync_stats", 3)):
        starts = sorted(slots.filter(kind=kind).values_list("slot_start", flat=True))
        assert all(int(s.timestamp()) % every == 0 for s in starts)
        assert len(set(starts)) == len(starts)
