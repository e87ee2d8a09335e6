"""Indexes in the order the asset and post lists show rows (issue 17).

Both lists sort by ``-created_at, -id``. With an index on ``created_at`` alone the
planner walks it and sorts each run of equal times by id; with both columns a page
is the first 50 entries of one index at any table size.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0009_prompt_search"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="asset",
            index=models.Index(fields=["-created_at", "-id"], name="asset_created_idx"),
        ),
        migrations.AddIndex(
            model_name="post",
            index=models.Index(fields=["-created_at", "-id"], name="post_created_idx"),
        ),
    ]
