"""Import a civitai-records database into civitrack (issue 18, docs/moving-from-civitai-records.md).

The original server keeps its records in a PostgreSQL schema (``civitai`` by
default): ``prompts``, ``civitai_posts``, ``assets`` (with a ``bigint[]`` lineage
column ``input_asset_ids``), ``asset_stats`` and ``events``, an audit table its
triggers fill with the old and new row of every insert and update.
``created_by``/``updated_by`` are PostgreSQL role names.

How the import behaves, and why:

- **One snapshot.** The source is read on one read-only REPEATABLE READ
  transaction, so prompts, posts, assets and their events agree with each other even
  while the original keeps writing.
- **Idempotent and resumable.** Every imported record keeps its source id in
  ``legacy_id`` (unique). Rows are written in batches, each batch in its own
  transaction with the history of its records, so an interrupted run leaves whole
  batches behind and the next run skips every row whose ``legacy_id`` is already
  here. A re-run therefore writes nothing; ``since`` only narrows what is read.
- **Conflicts are decisions** (contract §3: duplicates are refused, never silently
  merged). A source asset or post whose sha256 or Civitai id is already tracked is
  reported with both ids and skipped, or, with ``merge_duplicates``, linked: the
  existing record gets the ``legacy_id`` and nothing else of it changes. Values
  civitrack's rules refuse (a Civitai id that is not digits, a ``civitai_url`` naming
  another id, a malformed sha256, text longer than the column) are reported row by
  row and imported with the field left empty, the original kept in
  ``metadata["legacy"]``.
- **History.** Each audit event becomes a django-simple-history entry (who, when,
  the row as it was), written with the record, so the admin's history shows its past.
- **Dry run** runs the same code inside one transaction that is rolled back, so what
  it reports is exactly what a real run would do.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from psycopg import sql
from psycopg.rows import dict_row

from tracking.civitai_urls import MAX_CIVITAI_ID, check_page_url
from tracking.errors import InvalidInput
from tracking.models import (
    ON_BEHALF_OF_MAX_LENGTH,
    SHA256_RE,
    Asset,
    AssetStatsSnapshot,
    Post,
    Prompt,
)

DEFAULT_SCHEMA = "civitai"
DEFAULT_BATCH_SIZE = 500
# Prefixes of history_change_reason on the entries the import writes; a test (and a
# curious admin) can tell imported history from history made in civitrack.
EVENT_REASON = "civitai-records event {}"
ROW_REASON = "civitai-records row {} ({})"
LINK_REASON = "Linked to civitai-records {} {} (--merge-duplicates)"

_SHA256 = re.compile(SHA256_RE)
_DIGITS = re.compile(r"^\d{1,19}$")
_MAX_COUNT = 2_147_483_647  # PositiveIntegerField on PostgreSQL

# Source columns per table, in the names the original publishes. Columns added by
# its later migrations (on_behalf_of, input_asset_ids, asset_stats' extras) may be
# missing in an old database: they are read as NULL / empty then.
SOURCE_COLUMNS = {
    "prompts": [
        "id",
        "content",
        "llm_model_provider",
        "llm_model",
        "purpose",
        "metadata",
        "created_by",
        "updated_by",
        "on_behalf_of",
        "created_at",
        "updated_at",
    ],
    "civitai_posts": [
        "id",
        "title",
        "description",
        "civitai_id",
        "civitai_url",
        "civitai_account",
        "status",
        "metadata",
        "created_by",
        "updated_by",
        "on_behalf_of",
        "created_at",
        "updated_at",
    ],
    "assets": [
        "id",
        "input_prompt_id",
        "output_prompt_id",
        "asset_type",
        "asset_source",
        "uri",
        "sha256sum",
        "civitai_id",
        "civitai_url",
        "post_id",
        "input_asset_ids",
        "metadata",
        "created_by",
        "updated_by",
        "on_behalf_of",
        "created_at",
        "updated_at",
    ],
    "asset_stats": [
        "id",
        "asset_id",
        "cry_count",
        "laugh_count",
        "like_count",
        "dislike_count",
        "heart_count",
        "comment_count",
        "created_at",
        "updated_at",
    ],
}
_FALLBACKS = {"input_asset_ids": "'{}'::bigint[]"}
REQUIRED_TABLES = ("prompts", "civitai_posts", "assets")
STAT_COLUMNS = [
    "like_count",
    "heart_count",
    "laugh_count",
    "cry_count",
    "dislike_count",
    "comment_count",
]


class SourceError(Exception):
    """The source database cannot be read as a civitai-records database."""


# -- report -------------------------------------------------------------------------


@dataclass
class Problem:
    """One row of the report: a source row and what was decided about it."""

    table: str
    legacy_id: int
    kind: str  # duplicate | linked | invalid_civitai_id | civitai_url_mismatch | ...
    message: str
    existing_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "legacy_id": str(self.legacy_id),
            "kind": self.kind,
            "message": self.message,
            "existing_id": None if self.existing_id is None else str(self.existing_id),
        }


def _zero_counts() -> dict[str, int]:
    return {"read": 0, "created": 0, "already_imported": 0, "linked": 0, "skipped": 0}


@dataclass
class ImportReport:
    dry_run: bool = False
    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {t: _zero_counts() for t in SOURCE_COLUMNS}
    )
    problems: list[Problem] = field(default_factory=list)
    users_created: list[str] = field(default_factory=list)
    users: dict[str, str] = field(default_factory=dict)  # role -> username
    imported: list[tuple[str, int, int]] = field(default_factory=list)  # table, source, ours
    history_entries: int = 0
    elapsed_seconds: float = 0.0
    phase_seconds: dict[str, float] = field(default_factory=dict)

    def add(self, table: str, legacy_id: int, kind: str, message: str, existing_id=None) -> None:
        self.problems.append(Problem(table, legacy_id, kind, message, existing_id))

    @property
    def written(self) -> int:
        return sum(c["created"] + c["linked"] for c in self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "counts": self.counts,
            "problems": [p.as_dict() for p in self.problems],
            "users_created": self.users_created,
            "users": self.users,
            "imported": [
                {"table": t, "legacy_id": str(legacy), "id": None if self.dry_run else str(pk)}
                for t, legacy, pk in self.imported
            ],
            "history_entries": self.history_entries,
            "elapsed_seconds": round(self.elapsed_seconds, 2),
            "phase_seconds": {k: round(v, 2) for k, v in self.phase_seconds.items()},
        }


# -- source -------------------------------------------------------------------------


class Source:
    """A read-only snapshot of a civitai-records database."""

    def __init__(self, url: str, schema: str = DEFAULT_SCHEMA):
        self.url = url
        self.schema = schema
        self.conn: psycopg.Connection | None = None
        self.columns: dict[str, set[str]] = {}

    def __enter__(self) -> Source:
        try:
            conn = psycopg.connect(self.url, connect_timeout=10, row_factory=dict_row)
        except psycopg.Error as exc:
            raise SourceError(
                f"Cannot connect to the source database: {_first_line(exc)}"
            ) from None
        # Settings for the transaction the first query opens: nothing here can write,
        # and every read sees the same snapshot.
        conn.read_only = True
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        self.conn = conn
        try:
            self._inspect()
        except BaseException:
            conn.close()
            raise
        return self

    def _inspect(self) -> None:
        rows = self._fetch(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = %s",
            [self.schema],
        )
        for row in rows:
            self.columns.setdefault(row["table_name"], set()).add(row["column_name"])
        missing = [t for t in REQUIRED_TABLES if t not in self.columns]
        if missing:
            raise SourceError(
                f"The source has no table {self.schema}.{missing[0]}: is this a"
                f" civitai-records database (schema {self.schema!r})?"
            )

    def __exit__(self, *exc) -> None:
        if self.conn is not None:
            self.conn.rollback()
            self.conn.close()

    def _fetch(self, query, params=()) -> list[dict]:
        assert self.conn is not None
        try:
            with self.conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall()
        except psycopg.Error as exc:
            raise SourceError(f"Reading the source failed: {_first_line(exc)}") from None

    def has(self, table: str) -> bool:
        return table in self.columns

    def _table(self, table: str) -> sql.Composable:
        return sql.Identifier(self.schema, table)

    def _select_list(self, table: str) -> sql.Composable:
        present = self.columns.get(table, set())
        parts = []
        for column in SOURCE_COLUMNS[table]:
            if column in present:
                parts.append(sql.Identifier(column))
            else:
                fallback = sql.SQL(_FALLBACKS.get(column, "NULL"))
                parts.append(sql.SQL("{} AS {}").format(fallback, sql.Identifier(column)))
        return sql.SQL(", ").join(parts)

    def _since(self, since: datetime | None) -> tuple[sql.Composable, list]:
        if since is None:
            return sql.SQL(""), []
        return sql.SQL(" AND created_at >= %s"), [since]

    def count(self, table: str, since: datetime | None) -> int:
        if not self.has(table):
            return 0
        cond, params = self._since(since)
        query = sql.SQL("SELECT count(*) AS n FROM {} WHERE true{}").format(
            self._table(table), cond
        )
        return self._fetch(query, params)[0]["n"]

    def batches(self, table: str, since: datetime | None, size: int) -> Iterator[list[dict]]:
        """Rows of ``table`` in id order, ``size`` at a time (keyset pages of one snapshot)."""
        if not self.has(table):
            return
        cond, params = self._since(since)
        query = sql.SQL("SELECT {} FROM {} WHERE id > %s{} ORDER BY id LIMIT %s").format(
            self._select_list(table), self._table(table), cond
        )
        last = 0
        while True:
            rows = self._fetch(query, [last, *params, size])
            if not rows:
                return
            yield rows
            last = rows[-1]["id"]

    def events(self, table: str, row_ids: list[int]) -> dict[int, list[dict]]:
        """Audit events of these rows, oldest first."""
        if not row_ids or not self.has("events"):
            return {}
        query = sql.SQL(
            "SELECT id, occurred_at, actor, op, row_id, old_data, new_data FROM {}"
            " WHERE table_name = %s AND row_id BETWEEN %s AND %s ORDER BY id"
        ).format(self._table("events"))
        # A range, filtered here: the original has no index on events, and testing each
        # of its rows against a long id list costs far more than reading a few extra.
        wanted = set(row_ids)
        found: dict[int, list[dict]] = defaultdict(list)
        for row in self._fetch(query, [table, min(wanted), max(wanted)]):
            if row["row_id"] in wanted:
                found[row["row_id"]].append(row)
        return found

    def roles(self) -> set[str]:
        """Every PostgreSQL role named as creator, updater or event actor."""
        parts = []
        for table in ("prompts", "civitai_posts", "assets"):
            for column in ("created_by", "updated_by"):
                if column in self.columns.get(table, set()):
                    parts.append(
                        sql.SQL("SELECT {} AS role FROM {}").format(
                            sql.Identifier(column), self._table(table)
                        )
                    )
        if self.has("events"):
            parts.append(
                sql.SQL("SELECT actor AS role FROM {} WHERE table_name = ANY(%s)").format(
                    self._table("events")
                )
            )
        query = sql.SQL(" UNION ").join(parts)
        params = [list(REQUIRED_TABLES)] if self.has("events") else []
        return {r["role"] for r in self._fetch(query, params) if r["role"]}


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


# -- value rules --------------------------------------------------------------------


def _timestamp(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def _civitai_id(value: Any) -> int | None:
    """A Civitai id as the original stored it (text) -> int, or None when it is not one."""
    text = str(value).strip()
    if not _DIGITS.match(text):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_CIVITAI_ID else None


class _Converted:
    """One source row turned into civitrack field values (by attname), with its findings."""

    def __init__(self):
        self.fields: dict[str, Any] = {}
        self.legacy: dict[str, Any] = {}
        self.problems: list[tuple[str, str]] = []  # (kind, message)
        self.skip: tuple[str, str] | None = None

    def refuse(self, name: str, value: Any, kind: str, message: str, empty: Any = None) -> None:
        self.fields[name] = empty
        self.legacy[name] = value
        self.problems.append((kind, message))

    def text(self, name: str, value: Any, max_length: int, *, required: bool = False) -> None:
        if value is not None and len(value) > max_length:
            self.refuse(
                name,
                value,
                "too_long",
                f"{name} is {len(value)} characters, more than civitrack's {max_length};"
                " left empty",
                "" if required else None,
            )
        else:
            self.fields[name] = value

    def finish_metadata(self, value: Any) -> None:
        if value is None:
            metadata: dict = {}
        elif isinstance(value, dict):
            metadata = dict(value)
        else:
            metadata = {}
            self.legacy["metadata"] = value
            self.problems.append(("invalid_metadata", "metadata is not a JSON object; kept"))
        if self.legacy:
            previous = metadata.get("legacy")
            merged = dict(previous) if isinstance(previous, dict) else {}
            merged.update(self.legacy)
            metadata["legacy"] = merged
        self.fields["metadata"] = metadata


@dataclass
class _Context:
    users: dict[str, int]  # role -> user id
    usernames: dict[str, str]  # role -> username
    prompts: dict[int, int]  # legacy id -> civitrack id
    posts: dict[int, int]
    assets: dict[int, int]

    def user(self, role: str | None) -> int | None:
        return self.users.get(role) if role else None


def _common(conv: _Converted, row: dict, ctx: _Context) -> None:
    conv.fields["legacy_id"] = row["id"]
    conv.fields["created_by_id"] = ctx.user(row.get("created_by"))
    conv.fields["created_at"] = _timestamp(row.get("created_at"))
    conv.fields["updated_at"] = _timestamp(row.get("updated_at"))
    # Rows older than the original's on_behalf_of column were backfilled with their
    # creator there; one that escaped the backfill is made for its creator here too,
    # named as civitrack knows them (Recorded.attribute_to's default).
    creator = row.get("created_by")
    on_behalf_of = row.get("on_behalf_of") or ctx.usernames.get(creator, creator)
    conv.text("on_behalf_of", on_behalf_of, ON_BEHALF_OF_MAX_LENGTH)


def _reference(conv: _Converted, name: str, value: Any, mapping: dict[int, int], what: str):
    if value is None:
        conv.fields[name] = None
        return
    target = mapping.get(int(value))
    if target is None:
        conv.legacy[name] = int(value)
        conv.problems.append(
            ("missing_reference", f"{what} {value} is not imported; link left empty")
        )
    conv.fields[name] = target


def convert_prompt(row: dict, ctx: _Context) -> _Converted:
    conv = _Converted()
    content = row.get("content")
    if not content:
        conv.skip = ("invalid_row", "the prompt has no content (civitrack refuses empty prompts)")
    conv.fields["prompt_text"] = content or ""
    conv.text("llm_model_provider", row.get("llm_model_provider"), 100)
    conv.text("llm_model", row.get("llm_model"), 200)
    conv.text("purpose", row.get("purpose"), 100)
    _common(conv, row, ctx)
    conv.finish_metadata(row.get("metadata"))
    return conv


def convert_post(row: dict, ctx: _Context) -> _Converted:
    conv = _Converted()
    raw_id = row.get("civitai_id")
    civitai_id = _civitai_id(raw_id) if raw_id is not None else None
    conv.fields["civitai_id"] = civitai_id
    if civitai_id is None:
        conv.skip = (
            "invalid_civitai_id",
            f"civitai_id {raw_id!r} is not a Civitai post id (digits, 1 to {MAX_CIVITAI_ID});"
            " a post cannot be recorded without one",
        )
    url = row.get("civitai_url")
    conv.fields["civitai_url"] = url or ""
    if civitai_id is not None:
        try:
            check_page_url(url or None, civitai_id, "post")
        except InvalidInput as exc:
            conv.refuse(
                "civitai_url", url, "civitai_url_mismatch", f"{exc.message}; left empty", ""
            )
    if conv.fields["civitai_url"] and len(conv.fields["civitai_url"]) > 500:
        conv.refuse("civitai_url", url, "too_long", "civitai_url is too long; left empty", "")
    conv.text("civitai_account", row.get("civitai_account") or "", 100, required=True)
    conv.fields["status"] = row.get("status") or Post.Status.PUBLISHED
    conv.text("title", row.get("title"), 300)
    conv.fields["description"] = row.get("description")
    _common(conv, row, ctx)
    conv.finish_metadata(row.get("metadata"))
    return conv


def convert_asset(row: dict, ctx: _Context, pending: set[int] = frozenset()) -> _Converted:
    """``pending``: source asset ids created in the same batch (lineage may point at them)."""
    conv = _Converted()
    uri = row.get("uri") or ""
    conv.fields["asset_url"] = uri
    if not uri or len(uri) > 2000:
        conv.skip = ("invalid_row", "uri is empty or longer than 2000 characters")
    conv.fields["asset_type"] = row.get("asset_type")
    conv.fields["asset_source"] = row.get("asset_source")
    sha = row.get("sha256sum")
    if sha is None:
        conv.fields["sha256sum"] = None
    elif _SHA256.match(sha.strip().lower()):
        conv.fields["sha256sum"] = sha.strip().lower()
    else:
        conv.refuse(
            "sha256sum",
            sha,
            "invalid_sha256",
            "sha256sum is not 64 hexadecimal characters; left empty",
        )
    raw_id = row.get("civitai_id")
    civitai_id = None
    if raw_id is not None and str(raw_id).strip():
        civitai_id = _civitai_id(raw_id)
        if civitai_id is None:
            conv.refuse(
                "civitai_id",
                raw_id,
                "invalid_civitai_id",
                f"civitai_id {raw_id!r} is not a Civitai image id (digits, 1 to"
                f" {MAX_CIVITAI_ID}); left empty",
            )
    conv.fields["civitai_id"] = civitai_id
    url = row.get("civitai_url") or None
    conv.fields["civitai_url"] = url
    if url is not None:
        try:
            check_page_url(url, civitai_id, "image")
        except InvalidInput as exc:
            message = exc.message if civitai_id else "a civitai_url without a valid civitai_id"
            conv.refuse("civitai_url", url, "civitai_url_mismatch", f"{message}; left empty")
    _reference(conv, "post_id", row.get("post_id"), ctx.posts, "post")
    _reference(conv, "input_prompt_id", row.get("input_prompt_id"), ctx.prompts, "prompt")
    _reference(conv, "output_prompt_id", row.get("output_prompt_id"), ctx.prompts, "prompt")
    inputs = [int(i) for i in (row.get("input_asset_ids") or [])]
    if row["id"] in inputs:
        # The original accepts it; civitrack refuses an asset made from itself.
        conv.legacy["input_asset_ids"] = inputs
        conv.problems.append(("self_input", "lists itself as an input; left out of the lineage"))
    missing = [i for i in inputs if i not in ctx.assets and i not in pending and i != row["id"]]
    if missing:
        conv.legacy["input_asset_ids"] = inputs
        conv.problems.append(
            (
                "missing_reference",
                f"input asset(s) {', '.join(map(str, missing))} not imported; left out of the"
                " lineage",
            )
        )
    _common(conv, row, ctx)
    conv.finish_metadata(row.get("metadata"))
    return conv


# -- users --------------------------------------------------------------------------


def parse_user_map(pairs: Iterable[str]) -> dict[str, str]:
    """``["role=username", ...]`` -> ``{role: username}``; ``InvalidInput`` on a bad pair."""
    mapping = {}
    for pair in pairs:
        role, sep, username = pair.partition("=")
        if not sep or not role.strip() or not username.strip():
            raise InvalidInput(f"--map-user takes role=username, got {pair!r}")
        mapping[role.strip()] = username.strip()
    return mapping


def check_user_map(user_map: dict[str, str]) -> None:
    """Every target of ``--map-user`` must be an existing user: checked before any write."""
    user_model = get_user_model()
    field_name = user_model.USERNAME_FIELD
    known = set(
        user_model._default_manager.filter(
            **{f"{field_name}__in": list(user_map.values())}
        ).values_list(field_name, flat=True)
    )
    for role, username in user_map.items():
        if username not in known:
            raise InvalidInput(f"--map-user {role}={username}: no user named {username!r}")


def resolve_users(roles: set[str], user_map: dict[str, str], report: ImportReport) -> dict:
    """role -> user id; roles with no user of that name become inactive users, listed."""
    user_model = get_user_model()
    field_name = user_model.USERNAME_FIELD
    wanted = {role: user_map.get(role, role) for role in roles}
    users = {
        getattr(u, field_name): u.pk
        for u in user_model._default_manager.filter(**{f"{field_name}__in": set(wanted.values())})
    }
    resolved = {}
    for role in sorted(roles):
        username = wanted[role]
        if username not in users:
            user = user_model(**{field_name: username}, is_active=False)
            user.set_unusable_password()
            user.save()
            users[username] = user.pk
            report.users_created.append(username)
        resolved[role] = users[username]
        report.users[role] = username
    return resolved


# -- writing ------------------------------------------------------------------------


def _concrete(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.attname != "id"]


def _create(model, table: str, objs: list, report: ImportReport) -> list:
    """Insert ``objs``; if the batch fails, row by row so one bad row is reported alone."""
    if not objs:
        return []
    updated = [obj.updated_at for obj in objs]
    try:
        with transaction.atomic():
            created = model.objects.bulk_create(objs)
    except DatabaseError:
        created = []
        for obj in objs:
            obj.skip_history_when_saving = True  # its history is the source's, written next
            try:
                with transaction.atomic():
                    obj.save(force_insert=True)
                created.append(obj)
            except DatabaseError as exc:
                obj.pk = None
                report.add(table, obj.legacy_id, "error", f"not imported: {_first_line(exc)}")
                report.counts[table]["skipped"] += 1
    # Inserting applies auto_now; the source's updated_at is what the record says.
    for obj, value in zip(objs, updated, strict=True):
        obj.updated_at = value
    _set_updated_at(model, created)
    return created


def _set_updated_at(model, objs: list) -> None:
    """One ``UPDATE … FROM (VALUES …)`` per chunk: ``bulk_update`` builds a CASE per row."""
    table = connection.ops.quote_name(model._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    for start in range(0, len(objs), 400):
        chunk = objs[start : start + 400]
        values = ", ".join(["(%s, %s)"] * len(chunk))
        cast = "::bigint" if connection.vendor == "postgresql" else ""
        stamp = "::timestamptz" if connection.vendor == "postgresql" else ""
        params = [p for obj in chunk for p in (obj.pk, adapt(obj.updated_at))]
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH v (i, u) AS (VALUES {values}) UPDATE {table}"  # noqa: S608 - names from the model, values bound
                f" SET updated_at = (SELECT v.u{stamp} FROM v WHERE v.i{cast} = {table}.id)"
                f" WHERE id IN (SELECT v.i{cast} FROM v)",
                params,
            )


def _versions(row: dict, events: list[dict]) -> list[tuple[str, datetime, str, dict, str]]:
    """(history_type, date, role, row data, reason) for each known state of ``row``."""
    out = []
    events = [e for e in events if e.get("new_data")]
    if not events or events[0]["op"] != "INSERT":
        first = (events[0].get("old_data") if events else None) or row
        out.append(
            (
                "+",
                row["created_at"],
                row.get("created_by"),
                first,
                ROW_REASON.format(row["id"], "created"),
            )
        )
        if not events and row.get("updated_at") != row["created_at"]:
            # Changed since, by whom and when the row says (the change itself is unknown).
            out.append(
                (
                    "~",
                    row["updated_at"],
                    row.get("updated_by"),
                    row,
                    ROW_REASON.format(row["id"], "last change"),
                )
            )
    for event in events:
        kind = "+" if event["op"] == "INSERT" else "~"
        out.append(
            (
                kind,
                event["occurred_at"],
                event["actor"],
                event["new_data"],
                EVENT_REASON.format(event["id"]),
            )
        )
    return out


def _history(
    model,
    created: list,
    rows: dict[int, dict],
    events: dict[int, list[dict]],
    convert: Callable[[dict], _Converted],
    ctx: _Context,
    report: ImportReport,
) -> list[tuple[Any, Any, dict]]:
    """Write the history entries of freshly created records; returns (record, entry, data)."""
    history_model = model.history.model
    names = _concrete(model)
    entries, meta = [], []
    for obj in created:
        row = rows[obj.legacy_id]
        versions = _versions(row, events.get(obj.legacy_id, []))
        current = {n: getattr(obj, n) for n in names}
        last = None
        for kind, date, role, data, reason in versions:
            last = {n: v for n, v in convert(data).fields.items() if n in names}
            entries.append(
                history_model(
                    id=obj.pk,
                    **last,
                    history_date=_timestamp(date),
                    history_type=kind,
                    history_user_id=ctx.user(role),
                    history_change_reason=reason,
                )
            )
            meta.append((obj, data))
        if last is None or any(current[n] != v for n, v in last.items()):
            # The row as it stands differs from its last audited state (events were
            # missing or switched off): one more entry, dated by its updated_at. Only
            # the fields the source knows are compared: civitrack's own (perceptual
            # hashes) are empty on every imported row.
            entries.append(
                history_model(
                    id=obj.pk,
                    **current,
                    history_date=obj.updated_at,
                    history_type="~",
                    history_user_id=ctx.user(row.get("updated_by")),
                    history_change_reason=ROW_REASON.format(row["id"], "current"),
                )
            )
            meta.append((obj, row))
    history_model.objects.bulk_create(entries)
    report.history_entries += len(entries)
    return [(obj, entry, data) for (obj, data), entry in zip(meta, entries, strict=True)]


def _link_duplicate(model, table: str, existing_pk: int, legacy_id: int) -> bool:
    """Give an existing record the source id (``--merge-duplicates``), with a history entry."""
    record = model.objects.filter(pk=existing_pk, legacy_id__isnull=True).first()
    if record is None:
        return False
    record.legacy_id = legacy_id
    record._change_reason = LINK_REASON.format(table, legacy_id)
    record.save(update_fields=["legacy_id"])
    return True


def _map(model) -> dict[int, int]:
    return dict(model.objects.filter(legacy_id__isnull=False).values_list("legacy_id", "id"))


@dataclass
class _Run:
    src: Source
    since: datetime | None
    batch_size: int
    merge_duplicates: bool
    report: ImportReport
    ctx: _Context
    tick: Callable[[int], None]

    def note(self, table: str, legacy_id: int, conv: _Converted) -> None:
        for kind, message in conv.problems:
            self.report.add(table, legacy_id, kind, message)

    # Each phase: read a batch, leave out rows already imported, decide, write the
    # batch and its history in one transaction.

    def prompts(self) -> None:
        table = "prompts"
        counts = self.report.counts[table]
        for batch in self.src.batches(table, self.since, self.batch_size):
            counts["read"] += len(batch)
            new = [r for r in batch if r["id"] not in self.ctx.prompts]
            counts["already_imported"] += len(batch) - len(new)
            with transaction.atomic():
                objs, rows = [], {}
                for row in new:
                    conv = convert_prompt(row, self.ctx)
                    if conv.skip:
                        self.report.add(table, row["id"], *conv.skip)
                        counts["skipped"] += 1
                        continue
                    self.note(table, row["id"], conv)
                    objs.append(Prompt(**conv.fields))
                    rows[row["id"]] = row
                created = _create(Prompt, table, objs, self.report)
                events = self.src.events(table, [o.legacy_id for o in created])
                _history(
                    Prompt, created, rows, events, lambda d: convert_prompt(d, self.ctx),
                    self.ctx, self.report,
                )  # fmt: skip
                self.ctx.prompts.update((o.legacy_id, o.pk) for o in created)
                self.report.imported += [(table, o.legacy_id, o.pk) for o in created]
                counts["created"] += len(created)
            self.tick(len(batch))

    def posts(self) -> None:
        table = "civitai_posts"
        counts = self.report.counts[table]
        for batch in self.src.batches(table, self.since, self.batch_size):
            counts["read"] += len(batch)
            new = [r for r in batch if r["id"] not in self.ctx.posts]
            counts["already_imported"] += len(batch) - len(new)
            with transaction.atomic():
                convs = {}
                for row in new:
                    conv = convert_post(row, self.ctx)
                    if conv.skip:
                        self.report.add(table, row["id"], *conv.skip)
                        counts["skipped"] += 1
                        continue
                    convs[row["id"]] = (row, conv)
                taken = dict(
                    Post.objects.filter(
                        civitai_id__in=[c.fields["civitai_id"] for _, c in convs.values()]
                    ).values_list("civitai_id", "id")
                )
                objs, rows, seen = [], {}, {}
                for legacy_id, (row, conv) in convs.items():
                    civitai_id = conv.fields["civitai_id"]
                    if civitai_id in taken:
                        self.duplicate(
                            Post, table, legacy_id, taken[civitai_id], f"Civitai id {civitai_id}"
                        )
                        continue
                    if civitai_id in seen:
                        self.report.add(
                            table, legacy_id, "duplicate",
                            f"Civitai id {civitai_id} is also source post {seen[civitai_id]}'s;"
                            " skipped",
                        )  # fmt: skip
                        counts["skipped"] += 1
                        continue
                    seen[civitai_id] = legacy_id
                    self.note(table, legacy_id, conv)
                    objs.append(Post(**conv.fields))
                    rows[legacy_id] = row
                created = _create(Post, table, objs, self.report)
                events = self.src.events(table, [o.legacy_id for o in created])
                _history(
                    Post, created, rows, events, lambda d: convert_post(d, self.ctx),
                    self.ctx, self.report,
                )  # fmt: skip
                self.ctx.posts.update((o.legacy_id, o.pk) for o in created)
                self.report.imported += [(table, o.legacy_id, o.pk) for o in created]
                counts["created"] += len(created)
            self.tick(len(batch))

    def duplicate(self, model, table: str, legacy_id: int, existing: int, what: str) -> None:
        counts = self.report.counts[table]
        noun = "post" if model is Post else "asset"
        if self.merge_duplicates and _link_duplicate(model, table, existing, legacy_id):
            getattr(self.ctx, f"{noun}s")[legacy_id] = existing
            self.report.add(
                table, legacy_id, "linked",
                f"{what} is already tracked as {noun} {existing}; linked to it", existing,
            )  # fmt: skip
            counts["linked"] += 1
            return
        extra = (
            " and that record is already linked to another source row"
            if self.merge_duplicates
            else " (--merge-duplicates links them)"
        )
        self.report.add(
            table, legacy_id, "duplicate",
            f"{what} is already tracked as {noun} {existing}; skipped{extra}", existing,
        )  # fmt: skip
        counts["skipped"] += 1

    def assets(self) -> None:
        table = "assets"
        counts = self.report.counts[table]
        for batch in self.src.batches(table, self.since, self.batch_size):
            counts["read"] += len(batch)
            new = [r for r in batch if r["id"] not in self.ctx.assets]
            counts["already_imported"] += len(batch) - len(new)
            with transaction.atomic():
                self.asset_batch(table, new)
            self.tick(len(batch))

    def asset_batch(self, table: str, new: list[dict]) -> None:
        counts = self.report.counts[table]
        convs = {}
        for row in new:
            conv = convert_asset(row, self.ctx)
            if conv.skip:
                self.report.add(table, row["id"], *conv.skip)
                counts["skipped"] += 1
                continue
            convs[row["id"]] = (row, conv)
        shas = [c.fields["sha256sum"] for _, c in convs.values() if c.fields["sha256sum"]]
        ids = [c.fields["civitai_id"] for _, c in convs.values() if c.fields["civitai_id"]]
        by_sha = dict(Asset.objects.filter(sha256sum__in=shas).values_list("sha256sum", "id"))
        by_civitai = dict(Asset.objects.filter(civitai_id__in=ids).values_list("civitai_id", "id"))
        keep, seen_sha, seen_civitai = {}, {}, {}
        for legacy_id, (row, conv) in convs.items():
            sha, civitai_id = conv.fields["sha256sum"], conv.fields["civitai_id"]
            hits = {by_sha.get(sha) if sha else None, by_civitai.get(civitai_id)} - {None}
            if hits:
                what = f"sha256 {sha}" if sha in by_sha else f"Civitai id {civitai_id}"
                if len(hits) > 1:
                    self.report.add(
                        table, legacy_id, "duplicate",
                        f"{what}: sha256 and Civitai id are tracked on two different assets"
                        f" ({', '.join(map(str, sorted(hits)))}); skipped",
                        min(hits),
                    )  # fmt: skip
                    counts["skipped"] += 1
                else:
                    self.duplicate(Asset, table, legacy_id, hits.pop(), what)
                continue
            twin = (seen_sha.get(sha) if sha else None) or seen_civitai.get(civitai_id)
            if twin:
                self.report.add(
                    table, legacy_id, "duplicate",
                    f"same sha256 or Civitai id as source asset {twin}, imported first; skipped",
                )  # fmt: skip
                counts["skipped"] += 1
                continue
            if sha:
                seen_sha[sha] = legacy_id
            if civitai_id:
                seen_civitai[civitai_id] = legacy_id
            keep[legacy_id] = row
        # Lineage may point at assets created in this very batch: convert again knowing them.
        pending = set(keep)
        objs, rows = [], {}
        for legacy_id, row in keep.items():
            conv = convert_asset(row, self.ctx, pending)
            self.note(table, legacy_id, conv)
            objs.append(Asset(**conv.fields))
            rows[legacy_id] = row
        created = _create(Asset, table, objs, self.report)
        self.ctx.assets.update((o.legacy_id, o.pk) for o in created)
        self.report.imported += [(table, o.legacy_id, o.pk) for o in created]
        events = self.src.events(table, [o.legacy_id for o in created])
        written = _history(
            Asset, created, rows, events, lambda d: convert_asset(d, self.ctx, pending),
            self.ctx, self.report,
        )  # fmt: skip
        self.lineage(created, rows, written)
        counts["created"] += len(created)

    def lineage(self, created: list, rows: dict, written: list) -> None:
        """``input_asset_ids`` as links, and in each history entry as it was then."""
        through = Asset.input_assets.through
        links = []
        for obj in created:
            for source_id in rows[obj.legacy_id].get("input_asset_ids") or []:
                target = self.ctx.assets.get(int(source_id))
                if target is not None and target != obj.pk:
                    links.append(through(from_asset_id=obj.pk, to_asset_id=target))
        through.objects.bulk_create(links, ignore_conflicts=True)
        link_ids = {
            (f, t): pk
            for f, t, pk in through.objects.filter(
                from_asset_id__in=[o.pk for o in created]
            ).values_list("from_asset_id", "to_asset_id", "id")
        }
        history_m2m = Asset.history.model.input_assets.model
        entries = []
        for obj, entry, data in written:
            for source_id in data.get("input_asset_ids") or []:
                target = self.ctx.assets.get(int(source_id))
                if target is not None and target != obj.pk:
                    # ``id`` is the link row's; 0 for a link the asset no longer has.
                    entries.append(
                        history_m2m(
                            id=link_ids.get((obj.pk, target), 0),
                            history=entry,
                            from_asset_id=obj.pk,
                            to_asset_id=target,
                        )
                    )
        history_m2m.objects.bulk_create(entries)

    def stats(self) -> None:
        table = "asset_stats"
        counts = self.report.counts[table]
        done = set(
            AssetStatsSnapshot.objects.filter(legacy_id__isnull=False).values_list(
                "legacy_id", flat=True
            )
        )
        for batch in self.src.batches(table, self.since, self.batch_size):
            counts["read"] += len(batch)
            objs = []
            for row in batch:
                if row["id"] in done:
                    counts["already_imported"] += 1
                    continue
                asset = self.ctx.assets.get(row["asset_id"])
                if asset is None:
                    self.report.add(
                        table, row["id"], "missing_reference",
                        f"asset {row['asset_id']} is not imported; stats skipped",
                    )  # fmt: skip
                    counts["skipped"] += 1
                    continue
                values = {c: row[c] or 0 for c in STAT_COLUMNS}
                if any(not 0 <= v <= _MAX_COUNT for v in values.values()):
                    self.report.add(
                        table, row["id"], "invalid_row",
                        f"a count is outside 0 to {_MAX_COUNT}; stats skipped",
                    )  # fmt: skip
                    counts["skipped"] += 1
                    continue
                objs.append(
                    AssetStatsSnapshot(
                        asset_id=asset,
                        captured_at=row["updated_at"] or row["created_at"],
                        legacy_id=row["id"],
                        **values,
                    )
                )
            with transaction.atomic():
                AssetStatsSnapshot.objects.bulk_create(objs)
            self.report.imported += [(table, o.legacy_id, o.pk) for o in objs]
            counts["created"] += len(objs)
            self.tick(len(batch))


class _NoProgress:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def import_civitai_records(
    *,
    source_url: str,
    since: datetime | None = None,
    dry_run: bool = False,
    merge_duplicates: bool = False,
    user_map: dict[str, str] | None = None,
    schema: str = DEFAULT_SCHEMA,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], Any] | None = None,
) -> ImportReport:
    """Import everything in the civitai-records database at ``source_url``; see the module doc.

    ``progress(total)`` returns a tqdm-like object (``update(n)``, ``close()``) fed the
    number of source rows handled. Raises ``SourceError`` when the source cannot be
    read and ``InvalidInput`` for a bad ``user_map``; both before anything is written.
    """
    started = time.monotonic()
    user_map = user_map or {}
    check_user_map(user_map)
    if since is not None and timezone.is_naive(since):
        since = timezone.make_aware(since, UTC)
    report = ImportReport(dry_run=dry_run)
    with Source(source_url, schema) as src:
        total = sum(src.count(t, since) for t in SOURCE_COLUMNS)
        bar = progress(total) if progress else _NoProgress()
        try:
            with transaction.atomic() if dry_run else contextlib.nullcontext():
                ctx = _Context(
                    users=resolve_users(src.roles(), user_map, report),
                    usernames=report.users,
                    prompts=_map(Prompt),
                    posts=_map(Post),
                    assets=_map(Asset),
                )
                run = _Run(src, since, batch_size, merge_duplicates, report, ctx, bar.update)
                for phase in (run.prompts, run.posts, run.assets, run.stats):
                    began = time.monotonic()
                    phase()
                    report.phase_seconds[phase.__name__] = time.monotonic() - began
                if dry_run:
                    transaction.set_rollback(True)
        finally:
            bar.close()
    report.elapsed_seconds = time.monotonic() - started
    return report
