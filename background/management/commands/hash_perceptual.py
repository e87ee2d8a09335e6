"""``python manage.py hash_perceptual [--limit N] [--enqueue]``."""

from background.commands import TaskCommand


class Command(TaskCommand):
    kind = "hash_perceptual"
    help = (
        "Backfill perceptual hashes (pHash, dHash, video signature) of tracked images and"
        " videos whose files were never read for them, where the URL can be hashed."
    )
