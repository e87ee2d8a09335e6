"""Indexes in the exact order of the review queue and the staff workflows list (issue 17).

Both pages sort ``DESC NULLS LAST``; PostgreSQL's ``DESC`` index is ``NULLS FIRST``, so
``scan_risk_idx`` and ``wf_created_idx`` could not serve them and each page view sorted
every scan (review queue, 70 ms of DB at 100k jobs) or every workflow. With the order
matched, a page is the first rows of one index (plus an incremental sort of the ties on
the job's own columns): 0.8 ms. ``scan_risk_idx`` served nothing else (the dashboard's
``csam_score_max >=`` range reads the new index the same way) and is replaced;
``wf_created_idx`` stays for the admin's ``Meta.ordering`` (NULLS FIRST).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orchestration', '0005_scale_indexes'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='scanresult',
            name='scan_risk_idx',
        ),
        migrations.AddIndex(
            model_name='scanresult',
            index=models.Index(models.OrderBy(models.F('csam_score_max'), descending=True, nulls_last=True), models.OrderBy(models.F('is_blocked'), descending=True), models.OrderBy(models.F('nsfw_rank'), descending=True), name='scan_risk_order_idx'),
        ),
        migrations.AddIndex(
            model_name='workflow',
            index=models.Index(models.OrderBy(models.F('created_at'), descending=True, nulls_last=True), models.OrderBy(models.F('id'), descending=True), name='wf_created_nulls_last_idx'),
        ),
    ]
