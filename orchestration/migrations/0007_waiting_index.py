"""``job_waiting_idx``: the ids of the jobs waiting for a decision (issue 17).

A partial index on ``id`` under the review queue's own status condition
(``review_status`` pending or escalated, ``JobQuerySet.needing_review``). The
dashboard's queue counts and the queue's filtered counts join the jobs with a few
flagged scans (or merge them with every scan, up to the count's cap): with the job
rows needed for their status, PostgreSQL hash-joined every pending job, 10-14 ms a
count at 100k jobs; from this index each flagged scan's job is an index-only probe
(about 2 ms). Small while the queue is: decided jobs leave it.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orchestration", "0006_growth_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("review_status", "pending"), ("review_status", "escalated"), _connector="OR"),
                fields=["id"],
                name="job_waiting_idx",
            ),
        ),
    ]
