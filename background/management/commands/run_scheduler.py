"""``python manage.py run_scheduler``: enqueue scheduled work, one run per slot."""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from background import schedules


class Command(BaseCommand):
    help = (
        "Enqueue the scheduled background work of settings.SCHEDULES (SYNC_WORKFLOWS_EVERY, "
        "SYNC_STATS_EVERY, HASH_BLOBS_EVERY, HASH_ASSETS_EVERY, HASH_PERCEPTUAL_EVERY) when each slot starts. "
        "Any number may run, on any hosts: each slot is enqueued once (a unique row per "
        "task and slot). Stops cleanly on SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="claim the current slots once and exit"
        )
        parser.add_argument(
            "--max-seconds",
            type=float,
            default=None,
            help="stop after this many seconds (tests, benchmarks)",
        )

    def handle(self, *args, once=False, max_seconds=None, **options):
        enabled = schedules.enabled()
        if not enabled:
            self.stdout.write("No schedules enabled (all *_EVERY settings are empty).")
            if not once:
                return
        for kind, every in enabled.items():
            self.stdout.write(f"{kind}: every {every} s")
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        timer = threading.Timer(max_seconds, stop.set) if max_seconds else None
        if timer:
            timer.daemon = True
            timer.start()
        while not stop.is_set():
            close_old_connections()
            for run in schedules.enqueue_due():
                self.stdout.write(f"enqueued {run.kind} (run {run.pk})")
            if once:
                break
            stop.wait(schedules.seconds_to_next_slot())
        self.stdout.write("Scheduler stopped.")
