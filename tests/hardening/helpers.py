"""Shared by the hardening suites: a cheap database snapshot, a loopback-only network guard,
and the per-suite counters printed at the end of the run."""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache

from django.apps import apps
from django.db import connection

# Columns that change on a call that is refused for good reasons: a valid token records
# when it was last used (at most once a minute) before the tool even looks at its input.
IGNORED_COLUMNS = {("tracking_apitoken", "last_used_at")}

# What each hardening suite ran, printed by tests/hardening/conftest.py after the run.
REPORT: dict[str, Counter] = defaultdict(Counter)


@cache
def _snapshot_queries() -> list[tuple[str, str]]:
    """(table, SELECT of every column but the ignored ones, ordered by pk) per civitrack table.

    On PostgreSQL the per-table SELECTs are folded into one statement that returns a
    count and an md5 of the rows' text per table: one round trip instead of ten.
    """
    quote = connection.ops.quote_name
    queries = []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.app_label not in {"tracking", "orchestration"}:
            continue
        columns = ", ".join(
            quote(f.column)
            for f in meta.concrete_fields
            if (meta.db_table, f.column) not in IGNORED_COLUMNS
        )
        pk = quote(meta.pk.column)
        queries.append((meta.db_table, f"SELECT {columns} FROM {quote(meta.db_table)}", pk))
    if connection.vendor == "postgresql":
        parts = [
            f"SELECT '{table}', count(*)::text || ' rows ' || "
            f"md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x.{pk}), '')) FROM ({sql}) x"
            for table, sql, pk in queries
        ]
        return [("*", " UNION ALL ".join(parts))]
    return [(table, f"{sql} ORDER BY {pk}") for table, sql, pk in queries]


def db_snapshot() -> dict[str, str]:
    """Row count and a digest of every row of every civitrack table, ordered by pk.

    Plain SELECTs on a raw cursor (no ORM compilation, JSON left as the text the
    database stores), cheap enough to take after every refused call of the fuzz
    suite. Compared within one backend only.
    """
    digests: dict[str, str] = {}
    with connection.cursor() as cursor:
        for table, sql in _snapshot_queries():
            cursor.execute(sql)
            if table == "*":
                digests.update(dict(cursor.fetchall()))
                continue
            rows = cursor.fetchall()
            digest = hashlib.sha256(repr(rows).encode("utf-8", "surrogatepass")).hexdigest()
            digests[table] = f"{len(rows)} rows {digest[:16]}"
    return digests


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@dataclass
class NetworkGuard:
    """Every name lookup or connect this process tried towards a non-loopback host."""

    attempts: list[str] = field(default_factory=list)


def install_network_guard(monkeypatch) -> NetworkGuard:
    """Refuse (and record) DNS lookups and TCP connects to anything but loopback.

    Patches ``socket.getaddrinfo`` (what urllib3 and tracking.hashing.resolve call) and
    ``socket.socket.connect`` (every Python-level connect). A refused lookup raises
    ``socket.gaierror`` like an unknown name would, so the code under test takes its
    ordinary "could not resolve" path; the test then asserts ``attempts`` is empty
    only for connects, since refusing names is the guard's job.
    """
    guard = NetworkGuard()
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if not _is_loopback(name):
            guard.attempts.append(f"lookup {name!r}")
            raise socket.gaierror(socket.EAI_NONAME, "refused by the hardening network guard")
        return real_getaddrinfo(host, port, *args, **kwargs)

    def connect(sock, address):
        host = address[0] if isinstance(address, tuple) else None
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(host):
            guard.attempts.append(f"connect {address!r}")
            raise ConnectionRefusedError("refused by the hardening network guard")
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return guard
