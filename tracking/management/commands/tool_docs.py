"""``python manage.py tool_docs [--check]``: regenerate the parameter table of docs/recording-tools.md."""

from django.core.management.base import BaseCommand, CommandError

from tracking.tools.reference import doc_path, rewrite


class Command(BaseCommand):
    help = (
        "Rewrite the generated parameter table of docs/recording-tools.md from the tool"
        " declarations. --check only reports whether it is current (exit 1 if not)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Change nothing; fail if stale.")

    def handle(self, *args, check: bool, **options):
        path = doc_path()
        current = path.read_text(encoding="utf-8")
        wanted = rewrite(current)
        if check:
            if wanted != current:
                raise CommandError(f"{path} is stale: run python manage.py tool_docs")
            self.stdout.write(f"{path} is current.")
            return
        path.write_text(wanted, encoding="utf-8")
        self.stdout.write(f"Wrote the parameter table of {path}.")
