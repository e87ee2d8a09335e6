"""The snapshots' reaction total as a stored, generated column, in their time index (issue 17).

The dashboard's "top engagement growth" groups every snapshot of the week by asset
over ``like + heart + laugh + cry``. It must read all of them (the top growth over a
sliding week is the largest MAX - MIN per asset, which no summary kept by the writers
follows as the window slides), so what is left to save is the work per row: with the
four counts in ``stats_captured_reactions_idx`` each of the 10,000 index tuples at 1M
assets was unpacked to its seventh column and summed twice. The database now keeps
the sum (``reaction_total``, bigint so that no sum of four integers overflows) and the
index holds it instead of the four counts: the same index-only scan, a third less
time (5.8 to 3.8 ms, server-side, interleaved). The index keeps its name, its first
columns and so its other uses (``MAX(captured_at)``, the snapshot list's order).
"""

import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0014_asset_created_by_shared_declaration"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="assetstatssnapshot",
            name="stats_captured_reactions_idx",
        ),
        migrations.AddField(
            model_name="assetstatssnapshot",
            name="reaction_total",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.comparison.Cast(
                    "like_count", models.BigIntegerField()
                )
                + django.db.models.functions.comparison.Cast(
                    "heart_count", models.BigIntegerField()
                )
                + django.db.models.functions.comparison.Cast(
                    "laugh_count", models.BigIntegerField()
                )
                + django.db.models.functions.comparison.Cast("cry_count", models.BigIntegerField()),
                output_field=models.BigIntegerField(),
                verbose_name="Reactions",
            ),
        ),
        migrations.AddIndex(
            model_name="assetstatssnapshot",
            index=models.Index(
                fields=["-captured_at", "-id", "asset", "reaction_total"],
                name="stats_captured_reactions_idx",
            ),
        ),
    ]
