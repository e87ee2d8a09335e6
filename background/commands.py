"""What the management commands share: ``--enqueue`` and the foreground progress bar."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from background.tasks import enqueue, run_now


def enqueue_command_task(command: BaseCommand, kind: str, *, user=None, **arguments):
    """Enqueue ``kind`` from a command and print the run id (exit 0)."""
    with transaction.atomic():
        run = enqueue(kind, user=user, origin="command", **arguments)
    command.stdout.write(
        f"Enqueued {kind} as run {run.pk}; follow it in the admin (Background work → Task runs)."
    )
    return run


class TaskCommand(BaseCommand):
    """A command that does one kind of background work in the foreground, or ``--enqueue``s it."""

    kind = ""

    def add_arguments(self, parser):
        parser.add_argument(
            "--enqueue", action="store_true", help="hand the work to a background worker"
        )
        parser.add_argument("--limit", type=int, default=None, help="at most N items")

    def arguments(self, options) -> dict:
        if options.get("limit") is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        return {"limit": options.get("limit")}

    def handle(self, *args, **options):
        arguments = self.arguments(options)
        if options.get("enqueue"):
            enqueue_command_task(self, self.kind, **arguments)
            return
        bar = tqdm(unit="item", disable=options.get("verbosity", 1) == 0, file=self.stderr)

        def echo(done, total):
            if total is not None and bar.total != total:
                bar.reset(total=total)
            bar.n = done
            bar.refresh()

        try:
            run = run_now(self.kind, echo=echo, **arguments)
        except Exception as exc:
            raise CommandError(f"{self.kind} failed: {exc}") from None
        finally:
            bar.close()
        for error in run.item_errors:
            self.stderr.write(f"warning: {error}")
        self.stdout.write(self.style.SUCCESS(run.summary))
