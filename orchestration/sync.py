"""Orchestration API → local mirror: idempotent bulk upserts keyed by Civitai's ids.

``sync_workflows`` walks the workflow list page by page and commits each page in its
own transaction, so an interrupted run keeps every page it finished and a re-run
simply upserts the same rows again (same primary keys, same values; only
``synced_at`` moves). Rows we own (review decisions, claims, reveal logs, ``sha256``
on blobs) are never touched by a sync.

Scan results live on the legacy v1 job endpoint, one request per job, so they are
fetched only where a reviewer needs them and bounded per run: a job is scanned when
it is terminal (or its workflow is, for jobs known only through a blob) and has no
scan stored yet. Terminal jobs never change upstream, so a stored scan is not fetched
again by a list sync; ``sync_job`` (the "refresh from API" button, a lookup) always
refetches. At most ``ORCHESTRATION_SYNC_MAX_SCANS`` jobs are fetched per list run
(``--max-scans``); the rest are picked up by the next run.

Media bytes are never fetched here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Q, Value, When
from django.utils import timezone

from civitrack.http import NotFound, UpstreamError
from orchestration import types as api
from orchestration.errors import OrchestrationRefusal, UnexpectedShape
from orchestration.models import (
    TERMINAL_STATUSES,
    Blob,
    Job,
    ScanResult,
    Step,
    Workflow,
    nsfw_rank,
)

logger = logging.getLogger(__name__)

PAGE_SIZE = 100  # the API's own default take; half the round trips of 50

_EVENT_STATUS = {
    "succeeded": "succeeded",
    "failed": "failed",
    "rejected": "failed",
    "laterejected": "failed",
    "expired": "expired",
    "canceled": "canceled",
    "deleted": "canceled",
    "claimed": "processing",
    "updated": "processing",
    "initialized": "scheduled",
}


@dataclass
class SyncStats:
    """What a sync run stored; ``errors`` names each item that failed without stopping it."""

    pages: int = 0
    workflows: int = 0
    steps: int = 0
    jobs: int = 0
    blobs: int = 0
    scans: int = 0
    unknown_scans: int = 0  # v1 answered 404 for the job id a blob named
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"{self.workflows} workflows, {self.steps} steps, {self.jobs} jobs, "
            f"{self.blobs} blobs, {self.scans} scans in {self.pages} pages"
        )
        if self.unknown_scans:
            text += f"; {self.unknown_scans} jobs unknown to the v1 API (scan unknown)"
        return text + (f"; {len(self.errors)} errors" if self.errors else "")


def get_client():
    """The Orchestration API client configured from settings."""
    from orchestration.client import OrchestrationClient

    return OrchestrationClient()


# --- upserts ---------------------------------------------------------------------------
#
# A page of 100 workflows is about 400 rows in four tables. Building model instances for
# them and letting ``bulk_create`` prepare every value field by field, then selecting
# the primary keys back, cost five times the fetching itself (docs/benchmarks.md,
# sync). On PostgreSQL one statement upserts a page's rows, sent as one array per column
# (the page store below).
# Elsewhere (SQLite) rows are plain dicts of column values, and ``bulk_create`` with
# ``update_conflicts`` upserts them and sets the primary keys it got back from
# ``RETURNING`` (SQLite 3.35+); keys it could not learn are selected.


@functools.cache
def _columns(model) -> list:
    """The concrete fields written by an upsert: every column but the primary key."""
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _full_row(model, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (by attname) completed with each other field's Python default.

    The database holds no defaults of its own (Django applies them), so an INSERT that
    leaves a NOT NULL column out fails; this fills them in as ``Model(...)`` would.
    """
    row = {}
    for f in _columns(model):
        row[f.attname] = values[f.attname] if f.attname in values else f.get_default()
    return row


def _use_page_statement() -> bool:
    """Whether a page goes through ``_page_statement`` (PostgreSQL) or ``_upsert``."""
    return connection.vendor == "postgresql"


def _upsert(
    model, rows: list[dict[str, Any]], unique_fields: Sequence[str], update_fields: Sequence[str]
) -> dict[tuple, int]:
    """Insert or update ``rows`` (dicts by attname); return their pks by unique values."""
    if not rows:
        return {}
    keys = [model._meta.get_field(n).attname for n in unique_fields]
    objs = [model(**row) for row in rows]
    model.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=list(unique_fields),
        update_fields=list(update_fields),
        batch_size=500,
    )
    pks = {tuple(getattr(o, k) for k in keys): o.pk for o in objs if o.pk is not None}
    if len(pks) < len(objs):  # a backend that does not return rows from the upsert
        lookup = Q()
        for row in rows:
            lookup |= Q(**{k: row[k] for k in keys})
        pks = {tuple(r[:-1]): r[-1] for r in model.objects.filter(lookup).values_list(*keys, "pk")}
    return pks


def _workflow_raw(raw: dict[str, Any]) -> dict[str, Any]:
    # Steps are stored (with their raw JSON) as Step rows; not twice.
    return {k: v for k, v in raw.items() if k != "steps"}


def _tag_index(tags: Iterable[str]) -> str:
    tags = [t for t in tags if t]
    return "|" + "|".join(tags) + "|" if tags else ""


WORKFLOW_UPDATES = (
    "status",
    "tags",
    "tag_index",
    "prompt",
    "nsfw_level",
    "cost_total",
    "created_at",
    "started_at",
    "completed_at",
    "raw",
    "synced_at",
)
STEP_UPDATES = (
    "position",
    "step_type",
    "status",
    "priority",
    "prompt",
    "negative_prompt",
    "started_at",
    "completed_at",
    "raw",
    "synced_at",
)
JOB_UPDATES = ("status", "cost", "started_at", "completed_at", "raw", "synced_at")
BLOB_UPDATES = (
    "workflow",
    "step",
    "job",
    "position",
    "kind",
    "available",
    "url",
    "url_expires_at",
    "preview_url",
    "nsfw_level",
    "blocked_reason",
    "width",
    "height",
    "raw",
    "synced_at",
)


# --- the PostgreSQL page store --------------------------------------------------------
#
# ``sync_workflows`` on PostgreSQL stores each page in two halves. ``_page_rows`` (no
# database) turns the page's workflows into one Python list per column of each table,
# naming each row's workflow, step and job by their Civitai ids (and step name) instead
# of by primary keys; ``_store_page_rows`` sends those lists as array parameters of one
# statement, whose data-modifying CTEs ``unnest`` each table's arrays and upsert them,
# joining the rows the CTE before returned to find the keys. Nothing the first half does
# waits for the database, so the prefetch thread runs it for the next page while the
# database stores this one (docs/scale.md, sync).
#
# Until December the rows went through COPY into five ``ON COMMIT DELETE ROWS`` temp
# tables and six ``INSERT ... SELECT`` from them: the commit truncated the temp tables
# and the next page's COPY grew their files again (about 10% of the backend's CPU per
# page), and the six statements were planned on every page (about 7%). One statement
# of arrays writes no temp table and is planned once per page; the arrays go in
# psycopg's binary format, so no value is escaped on either side.


def _json_text(value: Any) -> str:
    # What psycopg's Jsonb dumper sends (json.dumps with its defaults), computed in the
    # prefetch thread; the statement casts the text[] parameter to jsonb[].
    return json.dumps(value)


def _same(value: Any) -> Any:
    return value


def _array_type(field) -> str:
    """The SQL array type of ``field``'s parameter: its column type without a length."""
    return re.sub(r"\(.*?\)", "", field.db_type(connection)) + "[]"


@dataclass(frozen=True)
class _PageTable:
    """One table's rows of a page, as one list per column (``_page_rows``).

    ``keys`` are the extra text columns (``_wf``: the workflow's Civitai id, ``_step``:
    the step's name, ``_job``: the job's Civitai id) that stand for the foreign keys
    ``resolved`` (attnames) until the upsert joins them; the ``unnest`` numbers the rows
    (``_n``) to keep the page's order, so primary keys are given as the old path gave them.
    """

    model: Any
    name: str  # the statement's CTE for these rows, and its parameters' prefix
    keys: tuple[str, ...]
    resolved: tuple[str, ...]

    @functools.cached_property
    def fields(self) -> list:
        """The model's columns sent as arrays (all but the resolved keys and synced_at)."""
        skip = {*self.resolved, "synced_at"}
        return [f for f in _columns(self.model) if f.attname not in skip]

    @functools.cached_property
    def formats(self) -> list[tuple[str, Callable[[Any], Any], Any]]:
        """(attname, converter, the converted default) per array column."""
        out = []
        for f in self.fields:
            convert = _json_text if f.get_internal_type() == "JSONField" else _same
            default = f.get_default()
            out.append((f.attname, convert, None if default is None else convert(default)))
        return out

    def arrays(self, rows: Sequence[tuple[dict[str, Any], tuple[str | None, ...]]]) -> list[list]:
        """The column lists of ``rows`` (values by attname, others default; then the keys)."""
        width = len(self.fields) + len(self.keys)
        if not rows:
            return [[] for _ in range(width)]
        tuples = [
            (
                *[
                    (None if (v := values[a]) is None else convert(v)) if a in values else default
                    for a, convert, default in self.formats
                ],
                *keys,
            )
            for values, keys in rows
        ]
        return [list(column) for column in zip(*tuples, strict=True)]

    def source(self) -> str:
        """``unnest`` of this table's arrays (parameters ``<name><n>``) as the row source ``t``."""
        quote = connection.ops.quote_name
        types = [_array_type(f) for f in self.fields] + ["text[]"] * len(self.keys)
        params = [f"%({self.name}{n})b::{t}" for n, t in enumerate(types)]
        names = [quote(f.column) for f in self.fields] + [*self.keys, "_n"]
        return f"unnest({', '.join(params)}) WITH ORDINALITY AS t({', '.join(names)})"


_PAGE_WORKFLOWS = _PageTable(Workflow, "wf", (), ())
_PAGE_STEPS = _PageTable(Step, "st", ("_wf",), ("workflow_id",))
_PAGE_JOBS = _PageTable(Job, "jb", ("_wf", "_step"), ("workflow_id", "step_id"))
_PAGE_STUB_JOBS = _PageTable(Job, "stub", ("_wf", "_step"), ("workflow_id", "step_id"))
_PAGE_BLOBS = _PageTable(Blob, "bl", ("_wf", "_step", "_job"), ("workflow_id", "step_id", "job_id"))
_BLOB_KINDS = frozenset(Blob.Kind.values)


@dataclass
class _PageRows:
    """One page as column lists per table (``_page_rows``) and what it holds."""

    arrays: dict[_PageTable, list[list]]
    stats: SyncStats


def _page_rows(workflows: Sequence[api.Workflow]) -> _PageRows:
    """The rows ``store_workflows`` would write for ``workflows``, as column lists; no database.

    The same values and the same choices as ``store_workflows``: a page that repeats a
    workflow, step, job or blob keeps its last copy, and a job listed by a step is not
    also a blob-only job.
    """
    workflows = list({w.id: w for w in workflows if w.id}.values())
    stats = SyncStats()
    wf_rows, step_rows = [], {}
    full_jobs: dict[str, tuple] = {}
    blob_only_jobs: dict[str, tuple] = {}
    blobs: dict[str, tuple] = {}
    for w in workflows:
        wf_rows.append(
            (
                {
                    "civitai_id": w.id,
                    "status": w.status or "",
                    "tags": w.tags,
                    "tag_index": _tag_index(w.tags),
                    "prompt": w.prompt or "",
                    "nsfw_level": w.nsfw_level or "",
                    "cost_total": int(w.cost_total) if w.cost_total is not None else None,
                    "created_at": w.created_at,
                    "started_at": w.started_at,
                    "completed_at": w.completed_at,
                    "raw": _workflow_raw(w.raw),
                },
                (),
            )
        )
        for position, s in enumerate(w.steps):
            name = s.name or str(position)
            step_rows[(w.id, name)] = (
                {
                    "name": name,
                    "position": position,
                    "step_type": s.step_type,
                    "status": s.status or "",
                    "priority": str(s.raw.get("priority") or ""),
                    "prompt": s.prompt or "",
                    "negative_prompt": s.negative_prompt or "",
                    "started_at": s.started_at,
                    "completed_at": s.completed_at,
                    "raw": s.raw,
                },
                (w.id,),
            )
            place = (w.id, name)
            for j in s.jobs or []:
                if j.id:
                    full_jobs[j.id] = (
                        {
                            "civitai_id": j.id,
                            "status": j.status or "",
                            "cost": float(j.cost) if j.cost is not None else None,
                            "started_at": j.started_at,
                            "completed_at": j.completed_at,
                            "raw": j.raw,
                        },
                        place,
                    )
            for b_pos, b in enumerate(s.blobs):
                if b.job_id and b.job_id not in full_jobs:
                    blob_only_jobs[b.job_id] = ({"civitai_id": b.job_id}, place)
                blobs[b.id] = (
                    {
                        "civitai_id": b.id,
                        "position": b_pos,
                        "kind": b.type if b.type in _BLOB_KINDS else Blob.Kind.OTHER,
                        "available": b.available,
                        "url": b.url or "",
                        "url_expires_at": b.url_expires_at,
                        "preview_url": str(b.raw.get("previewUrl") or ""),
                        "nsfw_level": b.nsfw_level or "",
                        "blocked_reason": b.blocked_reason or "",
                        "width": b.width,
                        "height": b.height,
                        "raw": b.raw,
                    },
                    (*place, b.job_id or None),
                )
    for key in full_jobs:
        blob_only_jobs.pop(key, None)

    stats.workflows = len(workflows)
    stats.steps = len(step_rows)
    stats.jobs = len(full_jobs) + len(blob_only_jobs)
    stats.blobs = len(blobs)
    return _PageRows(
        arrays={
            _PAGE_WORKFLOWS: _PAGE_WORKFLOWS.arrays(wf_rows),
            _PAGE_STEPS: _PAGE_STEPS.arrays(list(step_rows.values())),
            _PAGE_JOBS: _PAGE_JOBS.arrays(list(full_jobs.values())),
            _PAGE_STUB_JOBS: _PAGE_STUB_JOBS.arrays(list(blob_only_jobs.values())),
            _PAGE_BLOBS: _PAGE_BLOBS.arrays(list(blobs.values())),
        },
        stats=stats,
    )


def _page_insert(
    table: _PageTable, joins: str, keys: Sequence[str], conflict: str, returning: str
) -> str:
    """The CTE upserting ``table``'s rows; ``keys`` are the SQL of its resolved keys."""
    quote = connection.ops.quote_name
    by_attname = {f.attname: f for f in _columns(table.model)}
    columns = [quote(f.column) for f in table.fields]
    values = [f"t.{c}" for c in columns]
    for attname, sql in zip(table.resolved, keys, strict=True):
        columns.append(quote(by_attname[attname].column))
        values.append(sql)
    columns.append(quote(by_attname["synced_at"].column))
    values.append("%(now)s")
    return (
        f"{table.name} AS (INSERT INTO {quote(table.model._meta.db_table)} AS stored "  # noqa: S608 - names from the models
        f"({', '.join(columns)}) SELECT {', '.join(values)} FROM {table.source()} {joins} "
        f"ORDER BY t._n {conflict} RETURNING {returning})"
    )


def _updates(model, names: Sequence[str]) -> str:
    quote = connection.ops.quote_name
    by_name = {f.name: f for f in _columns(model)}
    return ", ".join(
        f"{quote(by_name[n].column)} = EXCLUDED.{quote(by_name[n].column)}" for n in names
    )


@functools.cache
def _page_statement(*, durable: bool) -> str:
    """The one statement that stores a page: a CTE per table, then each CTE's row count.

    The CTEs share one snapshot, so a table's rows find their workflow and step among
    the rows the CTE before *returned* (inserted or updated), not in the table. A job
    stored without its place (e.g. by a v1 lookup) gets the page's in its own upsert
    (it is the same row, and one statement may not change a row twice): a full job's
    ``DO UPDATE`` keeps a stored step, a blob-only job's updates only a missing one
    (and is otherwise never overwritten). A blob's job is the one the page's job CTEs
    returned, or else the stored one those left alone, looked up only for those (a
    subquery that ``COALESCE`` evaluates only when the CTEs did not return the job).
    ``durable=False`` sets ``synchronous_commit = off`` for the transaction in the
    same statement (``store_workflows``).

    The jobs and blobs find their workflow and step in ``place``, the page's steps
    joined to their workflows once, keyed by one ``text[]`` of (workflow id, step
    name). Two join columns would be estimated as independent (1/100 each for CTE
    rows, which have no statistics), so the join of 100 rows to 100 was planned as one
    row and the blob's job lookup after it as a nested loop over the job CTEs (100 x
    100 rows); one key is estimated at the 100 rows it finds, and every join is
    hashed (docs/scale.md, sync). The job CTEs stay two: a merged upsert could not tell
    a blob-only job's row (update only a missing place) from a listed job's in
    ``DO UPDATE``.
    """
    quote = connection.ops.quote_name
    job = quote(Job._meta.db_table)
    place = "JOIN place p ON p.key = ARRAY[t._wf, t._step]"
    keep_place = (
        "workflow_id = CASE WHEN stored.step_id IS NULL THEN EXCLUDED.workflow_id "
        "ELSE stored.workflow_id END, step_id = COALESCE(stored.step_id, EXCLUDED.step_id)"
    )
    ctes = [
        _page_insert(
            _PAGE_WORKFLOWS,
            "",
            (),
            f"ON CONFLICT (civitai_id) DO UPDATE SET {_updates(Workflow, WORKFLOW_UPDATES)}",
            "id, civitai_id",
        ),
        _page_insert(
            _PAGE_STEPS,
            "JOIN wf w ON w.civitai_id = t._wf",
            ("w.id",),
            f"ON CONFLICT (workflow_id, name) DO UPDATE SET {_updates(Step, STEP_UPDATES)}",
            "id, workflow_id, name",
        ),
        "place AS (SELECT ARRAY[w.civitai_id, s.name]::text[] AS key, s.workflow_id, s.id "
        "FROM st s JOIN wf w ON w.id = s.workflow_id)",
        _page_insert(
            _PAGE_JOBS,
            place,
            ("p.workflow_id", "p.id"),
            f"ON CONFLICT (civitai_id) DO UPDATE SET {_updates(Job, JOB_UPDATES)}, {keep_place}",
            "id, civitai_id",
        ),
        # Jobs known only from a blob's jobId: inserted if new, never overwritten.
        _page_insert(
            _PAGE_STUB_JOBS,
            place,
            ("p.workflow_id", "p.id"),
            "ON CONFLICT (civitai_id) DO UPDATE SET workflow_id = EXCLUDED.workflow_id, "
            "step_id = EXCLUDED.step_id WHERE stored.step_id IS NULL",
            "id, civitai_id",
        ),
        _page_insert(
            _PAGE_BLOBS,
            f"{place} LEFT JOIN (SELECT id, civitai_id FROM jb UNION ALL "  # noqa: S608 - names from the models
            "SELECT id, civitai_id FROM stub) nj ON nj.civitai_id = t._job",
            (
                "p.workflow_id",
                "p.id",
                f"COALESCE(nj.id, (SELECT id FROM {job} WHERE civitai_id = t._job))",  # noqa: S608 - names from the models
            ),
            f"ON CONFLICT (civitai_id) DO UPDATE SET {_updates(Blob, BLOB_UPDATES)}",
            "1",
        ),
    ]
    counts = ", ".join(
        f"(SELECT count(*) FROM {table.name})"  # noqa: S608 - the CTEs' names
        for table in (_PAGE_WORKFLOWS, _PAGE_STEPS, _PAGE_JOBS, _PAGE_BLOBS)
    )
    if not durable:
        counts += ", set_config('synchronous_commit', 'off', true)"
    return f"WITH {', '.join(ctes)} SELECT {counts}"


def _page_params(rows: _PageRows, now: dt.datetime) -> dict[str, Any]:
    """``_page_statement``'s parameters: each table's column lists, and ``now``."""
    params: dict[str, Any] = {"now": now}
    for table, arrays in rows.arrays.items():
        params.update((f"{table.name}{n}", column) for n, column in enumerate(arrays))
    return params


def _store_page_rows(
    rows: _PageRows, *, now: dt.datetime | None = None, durable: bool = True
) -> SyncStats:
    """PostgreSQL: store ``_page_rows``' arrays in one query; ``store_workflows``' rows.

    The statement goes through a psycopg cursor with server-side binding (Django's own
    binds on the client, which would spell every array out as SQL text), wrapped as
    Django wraps its cursors so it is counted and logged like any query. It is prepared
    only as the connection's settings say (``DATABASE_PREPARED_STATEMENTS``): a pooler
    in transaction mode must not see named statements.
    """
    import psycopg

    stats = rows.stats
    if not stats.workflows:
        return stats
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    wrap = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    with wrap(raw) as cursor:
        cursor.execute(_page_statement(durable=durable), _page_params(rows, now or timezone.now()))
        stored = cursor.fetchone()[:4]
    expected = (stats.workflows, stats.steps, len(rows.arrays[_PAGE_JOBS][0]), stats.blobs)
    if tuple(stored) != expected:
        # An inner join found no stored row for a key: never drop rows silently.
        raise RuntimeError(
            f"page stored {tuple(stored)} of {expected} rows (workflows, steps, jobs, blobs)"
        )
    return stats


def store_workflows(
    workflows: Sequence[api.Workflow], *, now: dt.datetime | None = None, durable: bool = True
) -> SyncStats:
    """Upsert workflows with their steps, jobs and blobs; returns counts. Call inside a transaction.

    A fixed number of queries per call whatever the number of workflows.

    ``durable=False`` (``sync_workflows``, whose transaction holds one page and nothing
    else) lets PostgreSQL commit that transaction without waiting for its WAL to reach
    the disk (``SET LOCAL synchronous_commit = off``, on PostgreSQL as ``set_config``
    with ``is_local`` in the page's one statement): the page is committed and seen
    by everyone at once, and only a crash of the database server itself within
    ``wal_writer_delay`` (3 x 200 ms) can lose it. The WAL is one sequence, so any
    later durable commit (the task run's progress, the run marked done) flushes the
    page with it: nothing that says a page was stored can outlive the page, and the
    next sync stores it again. On this shared machine waiting for the flush took
    5-30 ms per page (docs/scale.md). Leave the default for a transaction that also
    writes data we own (review decisions): ``SET LOCAL`` covers the whole transaction.
    """
    now = now or timezone.now()
    stats = SyncStats()
    # One INSERT ... ON CONFLICT may not touch a row twice (PostgreSQL refuses), so a
    # page that repeats a workflow keeps its last copy.
    workflows = list({w.id: w for w in workflows if w.id}.values())
    if not workflows:
        return stats
    if _use_page_statement():
        return _store_page_rows(_page_rows(workflows), now=now, durable=durable)
    wf_pk = {
        key[0]: pk
        for key, pk in _upsert(
            Workflow,
            [
                _full_row(
                    Workflow,
                    {
                        "civitai_id": w.id,
                        "status": w.status or "",
                        "tags": w.tags,
                        "tag_index": _tag_index(w.tags),
                        "prompt": w.prompt or "",
                        "nsfw_level": w.nsfw_level or "",
                        "cost_total": int(w.cost_total) if w.cost_total is not None else None,
                        "created_at": w.created_at,
                        "started_at": w.started_at,
                        "completed_at": w.completed_at,
                        "raw": _workflow_raw(w.raw),
                        "synced_at": now,
                    },
                )
                for w in workflows
            ],
            ["civitai_id"],
            WORKFLOW_UPDATES,
        ).items()
    }
    stats.workflows = len(workflows)

    steps: dict[tuple[int, str], dict[str, Any]] = {}
    for w in workflows:
        for position, s in enumerate(w.steps):
            name = s.name or str(position)
            steps[(wf_pk[w.id], name)] = _full_row(
                Step,
                {
                    "workflow_id": wf_pk[w.id],
                    "name": name,
                    "position": position,
                    "step_type": s.step_type,
                    "status": s.status or "",
                    "priority": str(s.raw.get("priority") or ""),
                    "prompt": s.prompt or "",
                    "negative_prompt": s.negative_prompt or "",
                    "started_at": s.started_at,
                    "completed_at": s.completed_at,
                    "raw": s.raw,
                    "synced_at": now,
                },
            )
    step_pk = _upsert(Step, list(steps.values()), ["workflow", "name"], STEP_UPDATES)
    stats.steps = len(steps)

    full_jobs: dict[str, dict[str, Any]] = {}
    blob_only_jobs: dict[str, dict[str, Any]] = {}
    blobs: dict[str, dict[str, Any]] = {}
    blob_job: dict[str, str] = {}
    for w in workflows:
        for position, s in enumerate(w.steps):
            wf_id = wf_pk[w.id]
            st_id = step_pk[(wf_id, s.name or str(position))]
            for j in s.jobs or []:
                if j.id:
                    full_jobs[j.id] = {
                        "civitai_id": j.id,
                        "workflow_id": wf_id,
                        "step_id": st_id,
                        "status": j.status or "",
                        "cost": float(j.cost) if j.cost is not None else None,
                        "started_at": j.started_at,
                        "completed_at": j.completed_at,
                        "raw": j.raw,
                        "synced_at": now,
                    }
            for b_pos, b in enumerate(s.blobs):
                if b.job_id and b.job_id not in full_jobs:
                    blob_only_jobs[b.job_id] = {
                        "civitai_id": b.job_id,
                        "workflow_id": wf_id,
                        "step_id": st_id,
                        "synced_at": now,
                    }
                blobs[b.id] = {
                    "civitai_id": b.id,
                    "workflow_id": wf_id,
                    "step_id": st_id,
                    "position": b_pos,
                    "kind": b.type if b.type in Blob.Kind.values else Blob.Kind.OTHER,
                    "available": b.available,
                    "url": b.url or "",
                    "url_expires_at": b.url_expires_at,
                    "preview_url": str(b.raw.get("previewUrl") or ""),
                    "nsfw_level": b.nsfw_level or "",
                    "blocked_reason": b.blocked_reason or "",
                    "width": b.width,
                    "height": b.height,
                    "raw": b.raw,
                    "synced_at": now,
                }
                if b.job_id:
                    blob_job[b.id] = b.job_id
    for key in full_jobs:
        blob_only_jobs.pop(key, None)
    # A job belongs to the workflow and step it was first seen in: upstream data that
    # names one job under two workflows must not make re-syncs flip it back and forth.
    full_rows = [_full_row(Job, j) for j in full_jobs.values()]
    job_pk = {
        key[0]: pk for key, pk in _upsert(Job, full_rows, ["civitai_id"], JOB_UPDATES).items()
    }
    # Jobs known only from a blob's jobId: insert if new, never overwrite a job that a
    # step listing or a v1 fetch already described.
    stub_rows = [_full_row(Job, j) for j in blob_only_jobs.values()]
    if stub_rows:
        Job.objects.bulk_create([Job(**row) for row in stub_rows], ignore_conflicts=True)
        job_pk.update(
            Job.objects.filter(civitai_id__in=list(blob_only_jobs)).values_list("civitai_id", "pk")
        )
    _link_unplaced_jobs({**blob_only_jobs, **full_jobs})
    stats.jobs = len(full_jobs) + len(blob_only_jobs)
    for blob_id, blob in blobs.items():
        blob["job_id"] = job_pk.get(blob_job[blob_id]) if blob_id in blob_job else None
    _upsert(Blob, [_full_row(Blob, b) for b in blobs.values()], ["civitai_id"], BLOB_UPDATES)
    stats.blobs = len(blobs)
    return stats


def _link_unplaced_jobs(jobs: dict[str, dict[str, Any]]) -> None:
    """Give jobs stored without a workflow or step (e.g. by a v1 lookup) their place.

    One query to find them (usually none), one UPDATE for those found. The CASE
    expression is built for the unplaced jobs only: built for every job of the page,
    it cost about a tenth of the storing time (docs/benchmarks.md).
    """
    if not jobs:
        return
    placed = {k: j for k, j in jobs.items() if j["step_id"]}
    if not placed:
        return
    unplaced = Job.objects.filter(civitai_id__in=list(placed), step__isnull=True)
    placed = {k: placed[k] for k in unplaced.values_list("civitai_id", flat=True)}
    if not placed:
        return
    Job.objects.filter(civitai_id__in=list(placed), step__isnull=True).update(
        workflow_id=Case(
            *[When(civitai_id=k, then=Value(j["workflow_id"])) for k, j in placed.items()]
        ),
        step_id=Case(*[When(civitai_id=k, then=Value(j["step_id"])) for k, j in placed.items()]),
    )


def _scan_fields(job: api.Job) -> dict[str, Any]:
    scan = job.scan
    flags = job.prompt_classification
    blocked = scan.blocked_reason or ""
    return {
        "csam_scores": list(scan.csam_scores),
        "csam_score_max": scan.max_csam_score,
        "csam_score_unparsed": scan.csam_score_unparsed,
        "vlm_summary": scan.vlm_summary or "",
        "blocked_reason": blocked[:200],
        "is_blocked": bool(blocked),
        "nsfw_level": scan.nsfw_level or "",
        "nsfw_rank": nsfw_rank(scan.nsfw_level),
        "prompt_sexual": flags.sexual if flags else None,
        "prompt_young": flags.young if flags else None,
        "prompt_cr": flags.cr if flags else None,
        "prompt_scan": flags.scan if flags else None,
        "prompt_flagged": bool(flags and flags.flags),
        "prompt": job.prompt or "",
        "negative_prompt": job.negative_prompt or "",
        "event_type": (job.last_event.type or "") if job.last_event else "",
        "context": scan.raw,
        "raw": job.raw,
        "state": ScanResult.State.READ,
    }


def store_job(job: api.Job, *, now: dt.datetime | None = None) -> Job:
    """Upsert a v1 job and its scan result; link or create the blobs of its results.

    Per-image CSAM scores are copied onto the blobs when the scan lists one score per
    result (matched by position), or one score for a single result.
    """
    now = now or timezone.now()
    if not job.job_id:
        raise UnexpectedShape("job has no jobId")
    with transaction.atomic():
        workflow = (
            Workflow.objects.filter(civitai_id=job.workflow_id).first() if job.workflow_id else None
        )
        row, _created = Job.objects.get_or_create(
            civitai_id=job.job_id, defaults={"workflow": workflow, "synced_at": now}
        )
        changes: dict[str, Any] = {"job_type": job.type or "", "synced_at": now}
        if job.cost is not None:
            changes["cost"] = float(job.cost)
        if job.created_at:
            changes["created_at"] = job.created_at
        if workflow and not row.workflow_id:
            changes["workflow"] = workflow
        event_status = (
            _EVENT_STATUS.get((job.last_event.type or "").lower()) if job.last_event else None
        )
        if event_status and not row.status:
            changes["status"] = event_status
        Job.objects.filter(pk=row.pk).update(**changes)
        ScanResult.objects.update_or_create(
            job=row, defaults={**_scan_fields(job), "fetched_at": now}
        )

        scores = list(job.scan.csam_scores)
        per_blob = len(scores) == len(job.results) and len(scores) > 0
        existing = {
            b.civitai_id: b
            for b in Blob.objects.filter(civitai_id__in=[r.blob_key for r in job.results])
        }
        for position, result in enumerate(job.results):
            if not result.blob_key:
                continue
            score = scores[position] if per_blob else None
            blob = existing.get(result.blob_key)
            if blob is None:
                Blob.objects.create(
                    civitai_id=result.blob_key,
                    workflow=workflow,
                    job=row,
                    position=position,
                    kind=api.blob_kind(None, result.blob_key),
                    available=result.available,
                    url=result.url or "",
                    url_expires_at=result.url_expires_at,
                    blocked_reason=(result.blocked_reason or "")[:200],
                    csam_score=score,
                    result_available=result.available,
                    result_blocked_reason=(result.blocked_reason or "")[:200],
                    raw=result.raw,
                    synced_at=now,
                )
                continue
            Blob.objects.filter(pk=blob.pk).update(
                job=row,
                csam_score=score,
                result_available=result.available,
                result_blocked_reason=(result.blocked_reason or "")[:200],
            )
    row.refresh_from_db()
    return row


# --- runs ------------------------------------------------------------------------------


def mark_scan_unknown(job: Job, *, now: dt.datetime | None = None) -> ScanResult:
    """Record that ``job``'s scan cannot be had (the v1 API answers 404 for it).

    A scan read earlier is kept: it is still the best knowledge of that job.
    """
    scan, _ = ScanResult.objects.get_or_create(
        job=job, defaults={"state": ScanResult.State.UNKNOWN, "fetched_at": now or timezone.now()}
    )
    return scan


def jobs_needing_scan(workflow_pks: Iterable[int]):
    """Jobs of these workflows that are finished and have no scan stored yet."""
    return (
        Job.objects.filter(workflow_id__in=list(workflow_pks), scan__isnull=True)
        .filter(
            Q(status__in=TERMINAL_STATUSES) | Q(status="", workflow__status__in=TERMINAL_STATUSES)
        )
        .order_by("-workflow__created_at", "civitai_id")
    )


def fetch_scans(client, jobs: Iterable[Job], *, limit: int, stats: SyncStats) -> None:
    """Fetch and store the v1 job (scan) of up to ``limit`` jobs; one failure does not stop it."""
    for job in list(jobs)[: max(limit, 0)]:
        try:
            store_job(client.get_job(job.civitai_id))
            stats.scans += 1
        except NotFound:
            # A job id taken from a v2 blob that the v1 API has no record of: a lasting
            # state, not a failed sync. Recorded as an unknown scan, so media stays
            # withheld and the job is not asked for again on every run.
            mark_scan_unknown(job)
            stats.unknown_scans += 1
            logger.info("job %s is not known to the v1 jobs API (404): scan unknown", job)
        except (UpstreamError, OrchestrationRefusal) as exc:
            stats.errors.append(f"job {job.civitai_id}: {exc}")
            logger.warning("scan fetch failed for job %s: %s", job.civitai_id, exc)


def sync_workflows(
    *,
    client=None,
    from_date: dt.datetime | None = None,
    to_date: dt.datetime | None = None,
    tags: Sequence[str] = (),
    max_workflows: int | None = None,
    max_scans: int | None = None,
    page_size: int = PAGE_SIZE,
    on_page: Callable[[SyncStats, int], None] | None = None,
) -> SyncStats:
    """Mirror the workflow list (newest first), one committed transaction per page.

    ``on_page(stats, n)`` is called after each stored page with the number of
    workflows it held (the command's progress bar). Stops at the last page, at a
    repeated cursor, or after ``max_workflows``. The next page is fetched while this
    one is stored (``_prefetched_pages``).
    """
    client = client or get_client()
    scans_left = settings.ORCHESTRATION_SYNC_MAX_SCANS if max_scans is None else max_scans
    stats = SyncStats()
    pages = _prefetched_pages(
        client,
        page_size=page_size,
        max_workflows=max_workflows,
        # PostgreSQL: the prefetch thread also builds the page's column arrays (_page_rows).
        prepare=_page_rows if _use_page_statement() else None,
        # Mature blobs keep their URLs in the mirror (hideMatureContent=false): the pages
        # blur them until a reviewer's logged reveal, and withhold flagged ones entirely.
        filters={
            "tags": list(tags),
            "from_date": from_date,
            "to_date": to_date,
            "hide_mature_content": False,
        },
    )
    with contextlib.closing(pages):
        for items, rows, wait_for_prefetch in pages:
            with transaction.atomic():
                if rows is not None:
                    page_stats = _store_page_rows(rows, durable=False)
                else:
                    page_stats = store_workflows(items, durable=False)
            stats.pages += 1
            stats.workflows += page_stats.workflows
            stats.steps += page_stats.steps
            stats.jobs += page_stats.jobs
            stats.blobs += page_stats.blobs
            if scans_left > 0 and items:
                pks = Workflow.objects.filter(civitai_id__in=[w.id for w in items]).values_list(
                    "pk", flat=True
                )
                before = stats.scans
                wait_for_prefetch()  # one request at a time on the client's session
                fetch_scans(client, jobs_needing_scan(pks), limit=scans_left, stats=stats)
                scans_left -= stats.scans - before
            if on_page:
                on_page(stats, len(items))
    return stats


def _prefetched_pages(
    client,
    *,
    page_size: int,
    max_workflows: int | None,
    filters: dict,
    prepare: Callable[[list[api.Workflow]], Any] | None = None,
):
    """The workflow list's pages, each page's workflows fetched while the caller stores
    the previous one.

    Fetching a page (waiting for the API, parsing and checking its JSON) and storing
    one (waiting for the database) each leave the interpreter free most of the time, so
    one prefetching thread runs them side by side (docs/benchmarks.md, sync). Yields
    ``(workflows, prepare(workflows), wait_for_prefetch)``: ``prepare`` (if given) runs
    in the prefetching thread too, so its Python work overlaps the database's work on
    the page before; ``wait_for_prefetch()`` blocks until the fetch
    in flight is done, for a caller about to use the client itself. Stops at the last
    page, at a repeated cursor, at an empty page or after ``max_workflows``; an error
    fetching a page is raised where that page would have been yielded, after the pages
    before it were stored. Closing the generator waits for the fetch in flight.
    """

    def take_after(fetched: int) -> int:
        return page_size if max_workflows is None else min(page_size, max_workflows - fetched)

    def fetch(cursor: str | None, take: int):
        page = client.list_workflows(cursor=cursor, take=take, **filters)
        items = page.items[:take]
        return page, items, prepare(items) if prepare else None

    seen: set[str] = set()
    fetched = 0
    take = take_after(fetched)
    if take <= 0:
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-prefetch") as pool:
        future = pool.submit(fetch, None, take)
        while future is not None:
            page, items, prepared = future.result()
            fetched += len(items)
            take = take_after(fetched)
            future = None
            if page.next and page.next not in seen and items and take > 0:
                seen.add(page.next)
                future = pool.submit(fetch, page.next, take)
            yield items, prepared, (lambda pending=future: pending and pending.exception())


def sync_workflow(workflow_id: str, *, client=None, scans: bool = True) -> Workflow:
    """Fetch one workflow by id and store it, refreshing its jobs' scans (bounded).

    Raises ``civitrack.http.NotFound`` when the API does not know it.
    """
    client = client or get_client()
    workflow = client.get_workflow(workflow_id, hide_mature_content=False)
    if workflow.id and workflow.id != workflow_id:
        from civitrack.http import ResponseMismatch

        raise ResponseMismatch(f"Orchestration returned workflow {workflow.id} for {workflow_id}")
    if not workflow.id:
        workflow.id = workflow_id
    with transaction.atomic():
        store_workflows([workflow])
    row = Workflow.objects.get(civitai_id=workflow_id)
    if scans:
        stats = SyncStats()
        fetch_scans(
            client,
            jobs_needing_scan([row.pk]),
            limit=settings.ORCHESTRATION_SYNC_MAX_SCANS,
            stats=stats,
        )
    return row


def sync_job(job_id: str, *, client=None) -> Job:
    """Fetch one v1 job (with its scan) by id and store it; mirrors its workflow if new.

    Raises ``civitrack.http.NotFound`` when the API does not know the job.
    """
    client = client or get_client()
    job = client.get_job(job_id)
    if job.job_id and job.job_id.lower() != job_id.lower():
        from civitrack.http import ResponseMismatch

        raise ResponseMismatch(f"Orchestration returned job {job.job_id} for {job_id}")
    if job.workflow_id and not Workflow.objects.filter(civitai_id=job.workflow_id).exists():
        try:
            sync_workflow(job.workflow_id, client=client, scans=False)
        except NotFound:
            logger.info("workflow %s of job %s is gone upstream", job.workflow_id, job_id)
    return store_job(job)
