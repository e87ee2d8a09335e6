"""Throw-away civitai-records databases (civitai_records.sql) on the local PostgreSQL server.

Each database is named ``civrec_src_<random>`` and dropped afterwards. When no server
answers on 127.0.0.1:5432 the tests that need one skip.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

SERVER = "postgresql://postgres@127.0.0.1:5432"
SCHEMA_FILE = Path(__file__).with_name("civitai_records.sql")


def server_available() -> bool:
    try:
        with psycopg.connect(f"{SERVER}/postgres", connect_timeout=3):
            return True
    except psycopg.Error:
        return False


class SourceDB:
    """One source database: ``url`` for the importer, helpers that write like the original."""

    def __init__(self, name: str):
        self.name = name
        self.url = f"{SERVER}/{name}"
        self.conn = psycopg.connect(self.url, autocommit=True)
        self.conn.execute(SCHEMA_FILE.read_text())

    def as_(self, actor: str, at: str | datetime) -> None:
        """Following writes are by PostgreSQL role ``actor`` at time ``at``."""
        self.conn.execute("SELECT set_config('civrec.actor', %s, false)", [actor])
        self.conn.execute("SELECT set_config('civrec.now', %s, false)", [str(at)])

    def insert(self, table: str, actor: str, at: str, **values) -> int:
        self.as_(actor, at)
        values = {k: _adapt(v) for k, v in values.items()}
        columns = ", ".join(values)
        marks = ", ".join(["%s"] * len(values))
        row = self.conn.execute(
            f"INSERT INTO civitai.{table} ({columns}) VALUES ({marks}) RETURNING id",
            list(values.values()),
        ).fetchone()
        return row[0]

    def update(self, table: str, row_id: int, actor: str, at: str, **values) -> None:
        self.as_(actor, at)
        values = {k: _adapt(v) for k, v in values.items()}
        sets = ", ".join(f"{k} = %s" for k in values)
        self.conn.execute(
            f"UPDATE civitai.{table} SET {sets} WHERE id = %s",
            [*values.values(), row_id],
        )

    def without_triggers(self, sql: str, params=()) -> None:
        """Write as rows recorded before the audit triggers existed (no events, as given)."""
        with self.conn.transaction():
            self.conn.execute("SET LOCAL session_replication_role = replica")
            self.conn.execute(sql, params)

    def row(self, table: str, row_id: int) -> dict:
        with self.conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            cur.execute(f"SELECT * FROM civitai.{table} WHERE id = %s", [row_id])
            return cur.fetchone()

    def rows(self, table: str) -> list[dict]:
        with self.conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            cur.execute(f"SELECT * FROM civitai.{table} ORDER BY id")
            return cur.fetchall()

    def events(self, table: str, row_id: int) -> list[dict]:
        with self.conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
            cur.execute(
                "SELECT * FROM civitai.events WHERE table_name = %s AND row_id = %s ORDER BY id",
                [table, row_id],
            )
            return cur.fetchall()

    def close(self) -> None:
        self.conn.close()


def _adapt(value):
    if isinstance(value, dict):
        return psycopg.types.json.Jsonb(value)
    return value


@contextlib.contextmanager
def source_database() -> Iterator[SourceDB]:
    if not server_available():
        pytest.skip("needs the PostgreSQL server on 127.0.0.1:5432 for the source database")
    name = f"civrec_src_{secrets.token_hex(4)}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db = None
    try:
        db = SourceDB(name)
        yield db
    finally:
        if db is not None:
            db.close()
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fill_bulk(db: SourceDB, assets: int, *, start: str = "2025-01-01T00:00:00Z") -> None:
    """``assets`` assets (a tenth with lineage), one prompt each, a post per 20, stats for
    half, through the triggers: every row has its INSERT event and a fifth an UPDATE."""
    db.as_("richard", start)
    posts = max(1, assets // 20)
    db.conn.execute(
        """
        INSERT INTO civitai.prompts (content, llm_model_provider, llm_model, purpose, metadata)
        SELECT 'prompt number ' || g, 'openai', 'gpt-4o', 'image_generation',
               jsonb_build_object('n', g)
        FROM generate_series(1, %(n)s) g;
        INSERT INTO civitai.civitai_posts (civitai_id, civitai_url, status, title)
        SELECT (5000000 + g)::text, 'https://civitai.com/posts/' || (5000000 + g),
               'published', 'Post ' || g
        FROM generate_series(1, %(posts)s) g;
        INSERT INTO civitai.assets (input_prompt_id, asset_type, asset_source, uri, sha256sum,
                                    civitai_id, civitai_url, post_id, input_asset_ids, metadata)
        SELECT g, CASE WHEN g % 7 = 0 THEN 'video' ELSE 'image' END::civitai.asset_type,
               'generated', 'https://cdn.example.com/a/' || g || '.png',
               encode(sha256(('asset ' || g)::bytea), 'hex'),
               (90000000 + g)::text, 'https://civitai.com/images/' || (90000000 + g),
               1 + (g - 1) / 20,
               CASE WHEN g % 10 = 0 THEN ARRAY[g - 1, g - 2]::bigint[] ELSE '{}' END,
               jsonb_build_object('seed', g)
        FROM generate_series(1, %(n)s) g;
        """.replace("%(n)s", str(int(assets))).replace("%(posts)s", str(int(posts))),
    )
    db.as_("alice", "2025-06-01T00:00:00Z")
    db.conn.execute(
        "UPDATE civitai.assets SET metadata = metadata || '{\"checked\": true}' WHERE id % 5 = 0"
    )
    db.conn.execute(
        "INSERT INTO civitai.asset_stats (asset_id, like_count, heart_count, comment_count)"
        " SELECT id, id % 50, id % 7, id % 3 FROM civitai.assets WHERE id % 2 = 0"
    )


def as_json(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)
