"""``python manage.py sync_workflows``: mirror Orchestration workflows into the database."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from background.commands import enqueue_command_task
from civitrack.http import UpstreamError
from orchestration.sync import PAGE_SIZE, sync_workflows


def parse_when(value: str, *, end_of_day: bool = False) -> dt.datetime:
    """ISO date or date-time; no zone means UTC; a bare ``--to`` date means the whole day."""
    text = value.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime.combine(day, dt.time.max if end_of_day else dt.time.min, dt.UTC)
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"{value!r} is not a date: use 2026-09-12 or 2026-09-12T08:00:00Z"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


class Command(BaseCommand):
    help = (
        "Mirror Orchestration workflows (with steps, jobs, blobs and the scans of finished "
        "jobs) into the database, newest first, one committed transaction per page. "
        "Idempotent and resumable: re-running updates the same rows."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="from_date", help="created at or after (UTC date)")
        parser.add_argument("--to", dest="to_date", help="created at or before (UTC date)")
        parser.add_argument(
            "--tag", action="append", default=[], help="only workflows with this tag (repeat)"
        )
        parser.add_argument("--max", type=int, default=None, help="stop after N workflows")
        parser.add_argument(
            "--max-scans",
            type=int,
            default=None,
            help="fetch at most N job scans (default ORCHESTRATION_SYNC_MAX_SCANS)",
        )
        parser.add_argument(
            "--page-size", type=int, default=PAGE_SIZE, help="workflows per request (1-100)"
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="hand the sync to a background worker (incremental unless --from/--to)",
        )

    def handle(self, *args, from_date=None, to_date=None, tag=(), max=None, **opts):
        start = parse_when(from_date) if from_date else None
        end = parse_when(to_date, end_of_day=True) if to_date else None
        if start and end and start > end:
            raise CommandError("--from must not be after --to")
        if max is not None and max < 1:
            raise CommandError("--max must be at least 1")
        if not 1 <= opts["page_size"] <= 100:
            raise CommandError("--page-size must be between 1 and 100")
        if opts.get("enqueue"):
            enqueue_command_task(
                self,
                "sync_workflows",
                from_date=start.isoformat() if start else None,
                to_date=end.isoformat() if end else None,
                tags=list(tag),
                max_workflows=max,
                max_scans=opts["max_scans"],
                page_size=opts["page_size"],
            )
            return
        bar = tqdm(total=max, unit="wf", disable=opts.get("verbosity", 1) == 0, file=self.stderr)
        try:
            stats = sync_workflows(
                from_date=start,
                to_date=end,
                tags=tag,
                max_workflows=max,
                max_scans=opts["max_scans"],
                page_size=opts["page_size"],
                on_page=lambda _stats, n: bar.update(n),
            )
        except UpstreamError as exc:
            raise CommandError(f"Sync stopped: {exc} (pages already stored are kept)") from None
        finally:
            bar.close()
        for error in stats.errors:
            self.stderr.write(f"warning: {error}")
        self.stdout.write(self.style.SUCCESS(f"Synced {stats}"))
