"""Full-text search of prompts: a generated tsvector + GIN index on PostgreSQL, FTS5 on SQLite.

PostgreSQL: ``search_vector`` is a stored generated column, so every write keeps it in
step without a trigger; ``simple`` configuration, with a zero-width space after each CJK
character (and ``<``, ``>``, ``-`` made separators,
as SQLite's tokenizer has them) so Chinese and Japanese are searchable character by character (see
``tracking/prompt_search.py``, which must compute the document the same way for its
headlines). It is not a model field; the queries read it by name.

SQLite: an FTS5 table and three triggers, created by
``tracking.prompt_search.ensure_sqlite_index``, which also runs after every ``migrate``
because SQLite drops triggers whenever Django rebuilds the prompt table.
"""

from django.db import migrations

CJK_CLASS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# tracking.prompt_search.pg_document("prompt_text") when this was written.
DOCUMENT = (
    "regexp_replace(translate(prompt_text, '<>-', '\ue002\ue003\ue004'),"
    f" '([{CJK_CLASS}])', '\\1\u200b', 'g')"
)


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE tracking_prompt ADD COLUMN IF NOT EXISTS search_vector tsvector"
            f" GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, {DOCUMENT})) STORED"
        )
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS tracking_prompt_search_gin"
            " ON tracking_prompt USING gin (search_vector)"
        )
    elif connection.vendor == "sqlite":
        from tracking.prompt_search import ensure_sqlite_index

        ensure_sqlite_index(connection)


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS tracking_prompt_search_gin")
        schema_editor.execute("ALTER TABLE tracking_prompt DROP COLUMN IF EXISTS search_vector")
    elif connection.vendor == "sqlite":
        from tracking.prompt_search import drop_sqlite_index

        drop_sqlite_index(connection)


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0008_near_duplicate_decisions"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
