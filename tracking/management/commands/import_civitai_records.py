"""``manage.py import_civitai_records --from postgres://…``: move a civitai-records database in.

The work is ``tracking.legacy_import.import_civitai_records``; this command parses the
options, draws the progress bar and prints the report (docs/moving-from-civitai-records.md).
"""

from __future__ import annotations

import json
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from tracking.errors import InvalidInput
from tracking.legacy_import import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_SCHEMA,
    ImportReport,
    SourceError,
    import_civitai_records,
    parse_user_map,
)

TABLE_LABELS = {
    "prompts": "prompts",
    "civitai_posts": "posts",
    "assets": "assets",
    "asset_stats": "stats snapshots",
}

LABELS = {"prompts": "prompt", "civitai_posts": "post", "assets": "asset", "asset_stats": "stats"}


def timestamp(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            "--since must be an ISO 8601 timestamp (e.g. 2025-01-15T10:00:00Z)"
        ) from None


def positive(value: str) -> int:
    number = int(value)
    if number < 1 or number > 10_000:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Import a civitai-records database (prompts, posts, assets with their lineage, stats"
        " and the audit events as history) read on one read-only snapshot. Re-running imports"
        " only what is new; an interrupted run continues. Conflicts are reported row by row."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from",
            dest="source",
            required=True,
            metavar="URL",
            help="the civitai-records database, e.g. postgres://user:pass@host:5432/name",
        )
        parser.add_argument(
            "--schema", default=DEFAULT_SCHEMA, help=f"its schema (default {DEFAULT_SCHEMA})"
        )
        parser.add_argument(
            "--since",
            metavar="TIMESTAMP",
            help="only source rows created at or after this ISO 8601 time (zone-less = UTC)",
        )
        parser.add_argument(
            "--map-user",
            action="append",
            default=[],
            metavar="ROLE=USERNAME",
            help="record the PostgreSQL role ROLE as the existing user USERNAME (repeatable)",
        )
        parser.add_argument(
            "--merge-duplicates",
            action="store_true",
            help="link a source asset/post whose sha256 or Civitai id is already tracked to"
            " that record instead of skipping it",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print what would be imported and what conflicts; write nothing",
        )
        parser.add_argument(
            "--batch-size",
            type=positive,
            default=DEFAULT_BATCH_SIZE,
            help=f"source rows per transaction (1 to 10000, default {DEFAULT_BATCH_SIZE})",
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="print JSON")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        try:
            since = timestamp(options["since"]) if options["since"] else None
            user_map = parse_user_map(options["map_user"])

            def progress(total: int):
                return tqdm(
                    total=total,
                    desc="Importing",
                    unit="row",
                    file=self.stderr._out,  # the raw stream: OutputWrapper adds newlines
                    disable=options["no_progress"] or None,  # None: only on a terminal
                )

            report = import_civitai_records(
                source_url=options["source"],
                schema=options["schema"],
                since=since,
                dry_run=options["dry_run"],
                merge_duplicates=options["merge_duplicates"],
                user_map=user_map,
                batch_size=options["batch_size"],
                progress=progress,
            )
        except (SourceError, InvalidInput) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from None
        if options["as_json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.render(report, listing=report.dry_run or options["verbosity"] >= 2)
        errors = [p for p in report.problems if p.kind == "error"]
        if errors:
            raise CommandError(f"{len(errors)} source rows could not be written (listed above)")

    def render(self, report: ImportReport, *, listing: bool = False) -> None:
        if listing:  # a dry run lists what it would import; a real run with -v 2
            for table, legacy_id, pk in report.imported:
                label = LABELS[table]
                target = "" if report.dry_run else f" -> {label} {pk}"
                self.stdout.write(
                    f"{'would import' if report.dry_run else 'imported':<20} "
                    f"{label} {legacy_id}{target}"
                )
        for problem in report.problems:
            label = LABELS[problem.table]
            self.stdout.write(f"{problem.kind:<20} {label} {problem.legacy_id}: {problem.message}")
        if report.users_created:
            head = "Users that would be created" if report.dry_run else "Users created"
            self.stdout.write(f"{head} (inactive, no password): " + ", ".join(report.users_created))
        for role, username in sorted(report.users.items()):
            if role != username:
                self.stdout.write(f"role {role} recorded as user {username}")
        verb = "would be" if report.dry_run else "were"
        for table, label in TABLE_LABELS.items():
            c = report.counts[table]
            self.stdout.write(
                f"{label}: {c['read']} read, {c['created']} {verb} imported,"
                f" {c['already_imported']} already imported, {c['linked']} linked,"
                f" {c['skipped']} skipped"
            )
        summary = (
            f"{report.history_entries} history entries; {len(report.problems)} rows reported;"
            f" {report.elapsed_seconds:.1f} s."
        )
        if report.dry_run:
            summary += " Dry run: nothing was written."
        self.stdout.write(self.style.SUCCESS(summary))
