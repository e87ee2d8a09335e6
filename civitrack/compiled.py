"""Run a ``values()`` query of fixed shape without building and compiling it per call.

Why: the API's most frequent read, ``find_asset`` (40 columns, seven joins and the
lineage subquery), spent about 2 ms of Python per request building its QuerySet and
compiling the SQL, several times what PostgreSQL takes to run the statement once it is
prepared (``DATABASE_PREPARED_STATEMENTS``; docs/benchmarks.md, HTTP API). Django has
no compiled-query cache, and no well-kept library offers one without also caching
results (which would serve stale rows), so this is the smallest one that keeps the
ORM in charge of the SQL:

- the ORM builds and compiles the query once per shape (which filters are present)
  and database alias, with *marker* values standing in for the caller's;
- the compiled parameters are matched back to the markers, so each later call sends
  the same SQL with the caller's values in the markers' places (a statement
  PostgreSQL can keep prepared);
- the rows are decoded by that same compiler's converters (JSON columns, datetimes)
  and named as ``ValuesIterable`` names them: each row is the dict ``.values()`` gives.

The query still runs through Django's cursor, in the caller's connection and
transaction, and is counted by ``assertNumQueries`` like any other. A shape whose
markers cannot all be found among the compiled parameters (a value folded into the
SQL text) is not cached: it is built and run by the ORM every time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

# Bigint-sized integers and strings no caller sends: a compiled parameter equal to one
# of them is the caller's value for that name.
_INT_MARKER_BASE = 9_100_000_000_000_000_000
_TEXT_MARKER = "\x00civitrack-compiled-marker-{}\x00"
_BIGINT_MAX = 2**63 - 1


class _Compiled:
    __slots__ = ("compiler", "composite", "converters", "fields", "names", "params", "sql")

    def __init__(self, queryset: QuerySet, markers: dict[str, Any]):
        query = queryset.query
        self.compiler = query.get_compiler(queryset.db)
        self.sql, compiled = self.compiler.as_sql()
        by_marker = {(type(v), v): name for name, v in markers.items()}
        self.params: list[tuple[str | None, Any]] = [
            (by_marker.get((type(p), p)), p) for p in compiled
        ]
        found = {name for name, _ in self.params if name is not None}
        if found != set(markers) or any(str(v) in self.sql for v in markers.values()):
            raise LookupError("a marker is not a parameter of the compiled SQL")
        self.names = (
            list(query.selected)
            if query.selected
            else [*query.extra_select, *query.values_select, *query.annotation_select]
        )
        # What ``results_iter`` works out on every call (the select's converters: ~40
        # fields asked for theirs, a few per cent of a find_asset request's Python),
        # worked out once: they depend on the compiled select only.
        compiler = self.compiler
        self.fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
        self.converters = compiler.get_converters(self.fields)
        self.composite = compiler.has_composite_fields(self.fields)

    def rows(self, using: str, values: dict[str, Any]) -> list[dict[str, Any]]:
        params = [values[name] if name is not None else p for name, p in self.params]
        with connections[using].cursor() as cursor:
            cursor.execute(self.sql, params)
            fetched = cursor.fetchall()
        rows = fetched
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        if self.composite:
            rows = self.compiler.composite_fields_to_tuples(rows, self.fields)
        names = self.names
        return [dict(zip(names, row, strict=True)) for row in rows]


class CompiledValues:
    """A ``values()`` query built by ``build(**values)``, compiled once per shape.

    ``kinds`` names each value ``build`` accepts and its type (``int`` or ``str``);
    ``rows(**values)`` passes only the values that are not None, and the set of names
    given is the shape. ``build`` must put every value it receives into the query as
    a parameter (a filter), and must not otherwise depend on the values.
    """

    def __init__(self, build: Callable[..., QuerySet], kinds: dict[str, type]):
        self.build = build
        self.kinds = kinds
        self._cache: dict[tuple[str, frozenset[str]], _Compiled | None] = {}
        self._lock = threading.Lock()

    def _markers(self, names: frozenset[str]) -> dict[str, Any]:
        markers: dict[str, Any] = {}
        for i, name in enumerate(sorted(names)):
            kind = self.kinds[name]
            markers[name] = _INT_MARKER_BASE + i if kind is int else _TEXT_MARKER.format(i)
        return markers

    def _compiled(self, using: str, names: frozenset[str]) -> _Compiled | None:
        key = (using, names)
        try:
            return self._cache[key]
        except KeyError:
            pass
        markers = self._markers(names)
        try:
            compiled = _Compiled(self.build(**markers).using(using), markers)
        except (LookupError, EmptyResultSet, FullResultSet):
            compiled = None
        with self._lock:
            self._cache.setdefault(key, compiled)
        return compiled

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[dict[str, Any]]:
        given = {k: v for k, v in values.items() if v is not None}
        ordinary = any(
            type(v) is not self.kinds[k]
            or (type(v) is int and not -_BIGINT_MAX <= v <= _BIGINT_MAX)
            for k, v in given.items()
        )
        compiled = None if ordinary else self._compiled(using, frozenset(given))
        if compiled is None:
            # A value of another type or beyond bigint (the ORM answers those itself,
            # e.g. no row for an out-of-range id), or an uncacheable shape.
            return list(self.build(**given).using(using))
        return compiled.rows(using, given)
