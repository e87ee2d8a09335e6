"""``scan_risk_order_idx`` also holds the scan's job id, so the dashboard's CSAM band is
read from the index alone (issue 17).

The band counts the waiting jobs whose scan has a CSAM score at the threshold (or an
unreadable one). The scores at the threshold were found in this index, but the job id
is the table's key, not one of the index's columns: every one of them was then read
from the table (878 heap pages for 1,004 scans at 1M assets) before its job was looked
up. With ``job_id`` as the last column, the range is an index-only scan (2,894 to
1,950 buffers, 3.0 to 2.2 ms). As the last key it changes nothing in the order the
review queue reads (the ties after ``nsfw_rank`` are sorted on the job's own columns).
Kept out of the models' Meta, like 0006: SQLite refuses ``NULLS LAST`` in an index.
"""

from django.db import migrations

TABLE = "orchestration_scanresult"
NAME = "scan_risk_order_idx"
OLD = '"csam_score_max" DESC NULLS LAST, "is_blocked" DESC, "nsfw_rank" DESC'
NEW = OLD + ', "job_id"'


def _recreate(columns):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            columns_here = columns.replace(" NULLS LAST", "")
        else:
            columns_here = columns
        schema_editor.execute(f'DROP INDEX IF EXISTS "{NAME}"')
        schema_editor.execute(f'CREATE INDEX "{NAME}" ON "{TABLE}" ({columns_here})')

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("orchestration", "0008_blocked_risk_index"),
    ]

    operations = [
        migrations.RunPython(_recreate(NEW), _recreate(OLD), elidable=False),
    ]
