"""``python manage.py sync_stats [--post ID ...] [--enqueue]``."""

from background.commands import TaskCommand


class Command(TaskCommand):
    kind = "sync_stats"
    help = (
        "Store an engagement snapshot (likes, hearts, comments, ...) for the assets of every "
        "tracked post, or of the given posts. A post that fails is reported; the run goes on."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--enqueue", action="store_true", help="hand the work to a background worker"
        )
        parser.add_argument(
            "--post", type=int, action="append", dest="post_ids", help="civitrack post id"
        )

    def arguments(self, options) -> dict:
        return {"post_ids": options.get("post_ids")}
