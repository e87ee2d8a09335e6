"""The snapshots' time index also holds the asset and the reaction counts (issue 17).

The dashboard's "top engagement growth" groups the week's snapshots by asset over
their reaction counts. ``stats_captured_idx`` (``-captured_at``) found the week's rows
and each was then read from the table: 10,000 heap visits at 1M assets. With every
column the query reads in the index, the week is an index-only scan. The index keeps
``-captured_at`` first, so it still serves ``MAX(captured_at)`` ("last stats sync") and
the snapshot list's order, and replaces the narrower one. ``-id`` follows it, so the
index is the list's exact order (``-captured_at, -id``): the snapshots of one sync
share their ``captured_at``, and with the time alone the changelist sorted the whole
newest group (5,583 rows at 1M assets, 11.6 ms) to show 100 (0.16 ms with it). Key columns rather than
PostgreSQL's ``INCLUDE``, which SQLite lacks.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0010_scale_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="assetstatssnapshot",
            index=models.Index(
                fields=[
                    "-captured_at",
                    "-id",
                    "asset",
                    "like_count",
                    "heart_count",
                    "laugh_count",
                    "cry_count",
                ],
                name="stats_captured_reactions_idx",
            ),
        ),
        migrations.RemoveIndex(
            model_name="assetstatssnapshot",
            name="stats_captured_idx",
        ),
    ]
