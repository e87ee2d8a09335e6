"""``scan_blocked_risk_idx``: the blocked scans in the review queue's order (issue 17).

The queue filtered to blocked jobs (``?blocked=true``) read ``scan_risk_order_idx``
from its top and skipped every scan that is not blocked, among them every scan over the
CSAM threshold, which the order puts first: about 1,000 index entries at 100k jobs to
find a page of 25, growing with the data. This partial index holds the blocked scans
alone, in the same order (``is_blocked`` is constant inside it, so PostgreSQL drops it
from the order): the page reads its first rows and no others. Created here rather than
in the model's Meta for the reason 0006 gives (``NULLS LAST``, which SQLite refuses).
"""

from django.db import migrations

NAME = "scan_blocked_risk_idx"
COLUMNS = '"csam_score_max" DESC NULLS LAST, "nsfw_rank" DESC'


def create_index(apps, schema_editor):
    columns = COLUMNS
    if schema_editor.connection.vendor != "postgresql":
        # SQLite: DESC already sorts NULLs last, and NULLS LAST is refused in an index.
        columns = columns.replace(" NULLS LAST", "")
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{NAME}" ON "orchestration_scanresult" ({columns}) '
        'WHERE "is_blocked"'
    )


def drop_index(apps, schema_editor):
    schema_editor.execute(f'DROP INDEX IF EXISTS "{NAME}"')


class Migration(migrations.Migration):
    dependencies = [
        ("orchestration", "0007_waiting_index"),
    ]

    operations = [
        migrations.RunPython(create_index, drop_index, elidable=False),
    ]
