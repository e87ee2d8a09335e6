"""``python manage.py hash_blobs [--limit N] [--enqueue]``."""

from background.commands import TaskCommand


class Command(TaskCommand):
    kind = "hash_blobs"
    help = (
        "Fill the sha256 of mirrored Orchestration blobs whose media the media policy allows "
        "(never blocked, CSAM-flagged, unscanned or scan-unknown ones), so tracked assets "
        "trace back to the workflow, step and job that made them."
    )
