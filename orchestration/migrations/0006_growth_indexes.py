"""Indexes in the exact order of the review queue and the staff workflows list (issue 17).

Both pages sort ``DESC NULLS LAST``; PostgreSQL's ``DESC`` index is ``NULLS FIRST``, so
``scan_risk_idx`` and ``wf_created_idx`` could not serve them and each page view sorted
every scan (review queue, 70 ms of DB at 100k jobs) or every workflow. With the order
matched, a page is the first rows of one index (plus an incremental sort of the ties on
the job's own columns): 0.8 ms. ``scan_risk_idx`` served nothing else (the dashboard's
``csam_score_max >=`` range reads the new index the same way) and is replaced;
``wf_created_idx`` stays for the admin's ``Meta.ordering`` (NULLS FIRST).
"""

from django.db import migrations

# (name, table, columns on PostgreSQL). On SQLite NULLs sort first ascending and so last
# descending: plain DESC is already the NULLS LAST order, and SQLite refuses NULLS LAST
# in an index. Kept out of the models' Meta (like 0005's trigram indexes) so that the
# model state never asks SQLite for an index it cannot build.
ORDER_INDEXES = [
    (
        "scan_risk_order_idx",
        "orchestration_scanresult",
        '"csam_score_max" DESC NULLS LAST, "is_blocked" DESC, "nsfw_rank" DESC',
    ),
    ("wf_created_nulls_last_idx", "orchestration_workflow", '"created_at" DESC NULLS LAST, "id" DESC'),
]


def create_order_indexes(apps, schema_editor):
    postgres = schema_editor.connection.vendor == "postgresql"
    for name, table, columns in ORDER_INDEXES:
        if not postgres:
            columns = columns.replace(" NULLS LAST", "")
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ({columns})')


def drop_order_indexes(apps, schema_editor):
    for name, _table, _columns in ORDER_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("orchestration", "0005_scale_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="scanresult",
            name="scan_risk_idx",
        ),
        migrations.RunPython(create_order_indexes, drop_order_indexes, elidable=False),
    ]
