"""``manage.py sync_post_asset_stats <post_id ...> | --all``: snapshot engagement counts."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from tracking.civitai_import import sync_post_asset_stats
from tracking.errors import ToolError
from tracking.models import Post
from tracking.permissions import OPERATOR
from tracking.users import active_user_named


class Command(BaseCommand):
    help = (
        "Fetch the live engagement counts of the assets of one or more posts (civitrack post "
        "ids) and store a time-stamped snapshot per asset. A failing post is reported and the "
        "run continues; the exit status is non-zero when any post failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("post_ids", nargs="*", help="civitrack Post ids")
        parser.add_argument(
            "--all", action="store_true", help="Every published post with a Civitai id"
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar")
        parser.add_argument(
            "--user",
            help="Act as this user (their posts only, unless staff allowed to change posts);"
            " without it the shell operator acts on any post",
        )

    def handle(
        self, *args, post_ids: list[str], all: bool, no_progress: bool, user=None, **options
    ):
        self.acting = active_user_named(user) if user else OPERATOR
        if all == bool(post_ids):
            raise CommandError("Give post ids or --all (not both)")
        if all:
            post_ids = [
                str(pk)
                for pk in Post.objects.filter(status=Post.Status.PUBLISHED)
                .order_by("id")
                .values_list("id", flat=True)
            ]
        failures = self.sync_all(post_ids, progress=not no_progress)
        done = len(post_ids) - len(failures)
        self.stdout.write(f"{done} of {len(post_ids)} posts synced.")
        if failures:
            raise CommandError(f"{len(failures)} post(s) failed: {', '.join(failures)}")

    acting = OPERATOR

    def sync_all(self, post_ids: list[str], *, progress: bool = True) -> list[str]:
        """Sync each post, reporting failures without stopping; return the failed ids."""
        failures = []
        bar = tqdm(post_ids, unit="post", file=self.stderr._out, disable=not progress or None)
        for post_id in bar:
            try:
                result = sync_post_asset_stats(post_id=post_id, user=self.acting)
            except ToolError as exc:
                failures.append(post_id)
                bar.write(f"post {post_id}: FAILED: {exc.message}", file=self.stderr._out)
                continue
            self.stdout.write(
                f"post {result['post_id']} (Civitai {result['civitai_id']}): "
                f"{result['snapshots_created']} snapshots at {result['captured_at']}"
            )
        return failures
