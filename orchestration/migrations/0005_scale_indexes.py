"""Indexes so the mirror's lists and searches stay index-served at 100k workflows (issue 17).

- ``job_created_idx``: the job list's order (``-created_at, -id``) from one index.
- ``blob_nsfw_level_idx``: the blob admin's NSFW filter lists its values from it.
- partial indexes on the scans that are blocked, prompt-flagged or unparsed (a few
  per cent each), so the dashboard counts each flag without reading every scan.
- GIN trigram indexes on ``UPPER(col::text)`` (the expression of ``icontains`` on
  PostgreSQL, as tracking's migration 0002 does) for every text column an admin or
  staff search reads: workflow id, tag index and prompt, step prompt, job id, blob id
  and sha256, decision note. PostgreSQL only; SQLite has no equivalent and needs none
  at its sizes. Reversing drops them and keeps the ``pg_trgm`` extension.
"""

from django.db import migrations, models

# (index name, table, column)
TRIGRAM_INDEXES = [
    ("orch_workflow_id_trgm", "orchestration_workflow", "civitai_id"),
    ("orch_workflow_tags_trgm", "orchestration_workflow", "tag_index"),
    ("orch_workflow_prompt_trgm", "orchestration_workflow", "prompt"),
    ("orch_step_prompt_trgm", "orchestration_step", "prompt"),
    ("orch_job_id_trgm", "orchestration_job", "civitai_id"),
    ("orch_blob_id_trgm", "orchestration_blob", "civitai_id"),
    ("orch_blob_sha256_trgm", "orchestration_blob", "sha256"),
    ("orch_decision_note_trgm", "orchestration_reviewdecision", "note"),
]


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in TRIGRAM_INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("orchestration", "0004_verbose_names"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="job",
            index=models.Index(fields=["-created_at", "-id"], name="job_created_idx"),
        ),
        migrations.AddIndex(
            model_name="blob",
            index=models.Index(fields=["nsfw_level"], name="blob_nsfw_level_idx"),
        ),
        migrations.AddIndex(
            model_name="scanresult",
            index=models.Index(
                condition=models.Q(("is_blocked", True)), fields=["job"], name="scan_blocked_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="scanresult",
            index=models.Index(
                condition=models.Q(("prompt_flagged", True)),
                fields=["job"],
                name="scan_prompt_flagged_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="scanresult",
            index=models.Index(
                condition=models.Q(("csam_score_unparsed", True)),
                fields=["job"],
                name="scan_unparsed_idx",
            ),
        ),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
