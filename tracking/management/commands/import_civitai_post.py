"""``manage.py import_civitai_post <post URL or id> [--dry-run] [--user U]``."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from background.commands import enqueue_command_task
from tracking.civitai_import import import_civitai_post
from tracking.errors import ToolError
from tracking.permissions import OPERATOR
from tracking.users import active_user_named


def excerpt(text: str | None, width: int = 48) -> str:
    if not text:
        return "-"
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def render_table(result: dict) -> list[str]:
    """The import result as lines of a fixed-width table (one row per asset)."""
    rows = [("action", "civitai id", "type", "url", "prompt")]
    for asset in result["assets"]:
        prompt = asset["input_prompt"]["prompt_text"] if asset["input_prompt"] else None
        rows.append(
            (
                asset["action"],
                asset["civitai_id"] or "-",
                asset["asset_type"],
                asset["asset_url"],
                excerpt(prompt),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(4)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
    return lines


class Command(BaseCommand):
    help = (
        "Record a Civitai post and its images/videos (with their prompts) from the public API. "
        "Every answer is checked against the request first; all records are written in one "
        "transaction, and re-importing updates them in place."
    )

    def add_arguments(self, parser):
        parser.add_argument("post", help="Post URL (https://civitai.com/posts/123) or post id")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Fetch and validate, print what would be recorded, write nothing",
        )
        parser.add_argument(
            "--user",
            help="Act as this user: recorded as created_by on new records, and an existing"
            " post must be theirs (or they staff allowed to change posts)",
        )
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Hand the import to a background worker and print its run id",
        )

    def handle(self, *args, post: str, dry_run: bool, user: str | None, **options):
        # Without --user the shell operator acts (tracking.permissions.OPERATOR).
        acting = active_user_named(user) if user else OPERATOR
        if options.get("enqueue"):
            if dry_run:
                raise CommandError("--dry-run and --enqueue do not go together")
            enqueue_command_task(
                self,
                "import_post",
                user=None if acting is OPERATOR else acting,
                post=post,
                user_id=None if acting is OPERATOR else acting.pk,
            )
            return
        try:
            result = import_civitai_post(post=post, dry_run=dry_run, user=acting)
        except ToolError as exc:
            raise CommandError(exc.message) from None
        self.report(result)

    def report(self, result: dict) -> None:
        post = result["post"]
        head = "Would record" if result["dry_run"] else "Recorded"
        title = f" “{post['title']}”" if post["title"] else ""
        self.stdout.write(
            f"{head} post {post['civitai_id']}{title} ({post['action']}): {post['civitai_url']}"
        )
        for line in render_table(result):
            self.stdout.write(line)
        for item in result["skipped"]:
            self.stdout.write(f"skipped {item['civitai_id']}: {item['reason']}")
        verb = "would be" if result["dry_run"] else "were"
        summary = f"{result['created']} assets {verb} created, {result['updated']} updated."
        if result["dry_run"]:
            summary += " Dry run: nothing was written."
        self.stdout.write(self.style.SUCCESS(summary))
