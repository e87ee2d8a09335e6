"""Fewer index entries for every synced row (docs/scale.md, sync_workflows).

Each page of the sync writes about 400 rows into the workflow, step, job and blob
tables, and every index of those tables takes an entry for each of them: 43 indexes
were the larger part of the database's CPU per page. Removed, because no query needs
them beside another index:

- the ``varchar_pattern_ops`` (``_like``) indexes PostgreSQL gets for ``unique=True`` and
  ``db_index=True`` character fields (workflow, job and blob ids, workflow status, step
  type, blob sha256): they serve ``LIKE 'x%'`` only, which nothing sends (the searches
  use the trigram indexes, exact lookups the B-trees). The ids are unique through a
  ``UniqueConstraint`` now (added before the field's own is dropped, so they never
  stop being unique), the step type and sha256 keep a plain B-tree as a Meta index;
- indexes that are the first column of another: the workflow status
  (``wf_status_created_idx``), the step's workflow (``step_workflow_name_unique``), the
  job's workflow (``job_workflow_step_idx``);
- ``synced_at`` on steps, jobs and blobs, which nothing filters or sorts by (the
  workflows' is kept: the dashboard and the sync task read the newest).

Made partial, so that rows synced without a value take no entry: the jobs' claimant
(``job_claimed_by_idx``, claimed jobs only) and the blobs' sha256 trigram index (hashed
blobs only: a search term implies a value). The blobs' sha256 B-tree stays whole: the
hashing task looks for ``sha256 IS NULL``.
"""

import django.db.models.deletion
import django.utils.timezone
import importlib

from django.conf import settings
from django.db import migrations, models


def partial_sha256_trigram(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute('DROP INDEX IF EXISTS "orch_blob_sha256_trgm"')
    schema_editor.execute(
        'CREATE INDEX "orch_blob_sha256_trgm" ON "orchestration_blob" '
        'USING gin (UPPER("sha256"::text) gin_trgm_ops) WHERE "sha256" IS NOT NULL'
    )


def whole_sha256_trigram(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute('DROP INDEX IF EXISTS "orch_blob_sha256_trgm"')
    schema_editor.execute(
        'CREATE INDEX "orch_blob_sha256_trgm" ON "orchestration_blob" '
        'USING gin (UPPER("sha256"::text) gin_trgm_ops)'
    )


def restore_order_indexes(apps, schema_editor):
    # SQLite alters a field by rebuilding its table with the indexes the model state
    # knows; 0006's order indexes are kept out of the state, so build them again
    # (CREATE INDEX IF NOT EXISTS: nothing to do on PostgreSQL, which alters in place).
    growth = importlib.import_module("orchestration.migrations.0006_growth_indexes")
    growth.create_order_indexes(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("orchestration", "0009_scan_risk_order_job"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="blob",
            constraint=models.UniqueConstraint(
                fields=("civitai_id",), name="blob_civitai_id_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="job",
            constraint=models.UniqueConstraint(
                fields=("civitai_id",), name="job_civitai_id_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="workflow",
            constraint=models.UniqueConstraint(fields=("civitai_id",), name="wf_civitai_id_unique"),
        ),
        migrations.AddIndex(
            model_name="blob",
            index=models.Index(fields=["sha256"], name="blob_sha256_idx"),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("claimed_by__isnull", False)),
                fields=["claimed_by"],
                name="job_claimed_by_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="step",
            index=models.Index(fields=["step_type"], name="step_type_idx"),
        ),
        migrations.AlterField(
            model_name="blob",
            name="civitai_id",
            field=models.CharField(max_length=300, verbose_name="blob id"),
        ),
        migrations.AlterField(
            model_name="blob",
            name="sha256",
            field=models.CharField(
                blank=True,
                help_text="Content hash, when known",
                max_length=64,
                null=True,
                verbose_name="sha256",
            ),
        ),
        migrations.AlterField(
            model_name="blob",
            name="synced_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="synced at"),
        ),
        migrations.AlterField(
            model_name="job",
            name="civitai_id",
            field=models.CharField(max_length=200, verbose_name="job id"),
        ),
        migrations.AlterField(
            model_name="job",
            name="claimed_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="claimed_jobs",
                to=settings.AUTH_USER_MODEL,
                verbose_name="claimed by",
            ),
        ),
        migrations.AlterField(
            model_name="job",
            name="synced_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="synced at"),
        ),
        migrations.AlterField(
            model_name="job",
            name="workflow",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="jobs",
                to="orchestration.workflow",
                verbose_name="workflow",
            ),
        ),
        migrations.AlterField(
            model_name="step",
            name="step_type",
            field=models.CharField(help_text="$type", max_length=64, verbose_name="type"),
        ),
        migrations.AlterField(
            model_name="step",
            name="synced_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="synced at"),
        ),
        migrations.AlterField(
            model_name="step",
            name="workflow",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="steps",
                to="orchestration.workflow",
                verbose_name="workflow",
            ),
        ),
        migrations.AlterField(
            model_name="workflow",
            name="civitai_id",
            field=models.CharField(max_length=200, verbose_name="workflow id"),
        ),
        migrations.AlterField(
            model_name="workflow",
            name="status",
            field=models.CharField(
                choices=[
                    ("unassigned", "Unassigned"),
                    ("preparing", "Preparing"),
                    ("scheduled", "Scheduled"),
                    ("processing", "Processing"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                    ("expired", "Expired"),
                    ("canceled", "Canceled"),
                ],
                max_length=32,
                verbose_name="status",
            ),
        ),
        migrations.RunPython(partial_sha256_trigram, whole_sha256_trigram),
        migrations.RunPython(restore_order_indexes, migrations.RunPython.noop),
    ]
