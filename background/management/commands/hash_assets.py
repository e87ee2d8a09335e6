"""``python manage.py hash_assets [--limit N] [--enqueue]``."""

from background.commands import TaskCommand


class Command(TaskCommand):
    kind = "hash_assets"
    help = "Fill the sha256sum of tracked assets that have none, where the URL can be hashed."
