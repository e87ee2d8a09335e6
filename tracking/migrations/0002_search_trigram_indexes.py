"""Trigram indexes for the admin's text search, on PostgreSQL only.

Django renders ``icontains`` on PostgreSQL as ``UPPER("col"::text) LIKE UPPER('%term%')``.
A B-tree cannot serve a leading wildcard, so without these every search reads the whole
table. A GIN index with ``gin_trgm_ops`` on exactly that expression, ``UPPER(col::text)``,
lets the planner answer the LIKE with a bitmap index scan, and an OR of several such
columns with a BitmapOr. SQLite has no equivalent; there the migration does nothing.

``pg_trgm`` is a trusted extension (PostgreSQL 13+), so the database owner can create it.
Reversing drops the indexes but keeps the extension: something else may use it, and it
may have been there before this migration.
"""

from django.db import migrations

# (index name, table, column)
TRIGRAM_INDEXES = [
    ("tracking_prompt_text_trgm", "tracking_prompt", "prompt_text"),
    ("tracking_prompt_model_trgm", "tracking_prompt", "llm_model"),
    ("tracking_asset_url_trgm", "tracking_asset", "asset_url"),
    ("tracking_asset_civurl_trgm", "tracking_asset", "civitai_url"),
    ("tracking_post_civurl_trgm", "tracking_post", "civitai_url"),
    ("tracking_post_title_trgm", "tracking_post", "title"),
    ("tracking_post_descr_trgm", "tracking_post", "description"),
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
        ("tracking", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
