"""Per-kind locks: two runs of one kind of work never interleave.

On PostgreSQL a session-level advisory lock (``pg_try_advisory_lock``): it lives as
long as the worker's database session, so a worker killed with SIGKILL, or a host
that is lost, releases it when PostgreSQL drops the connection; no lease to expire,
nothing of ours to clean up. SQLite is the embedded default with one worker on one
machine, and SQLite itself admits one writer at a time, so there the lock is a no-op.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

from django.db import connection


class LockBusy(Exception):
    """Another run holds the lock of this kind."""


def _key(name: str) -> int:
    # A stable signed 64-bit key per name (advisory locks take a bigint).
    return int.from_bytes(
        hashlib.sha256(f"civitrack:{name}".encode()).digest()[:8], "big", signed=True
    )


@contextlib.contextmanager
def kind_lock(name: str) -> Iterator[None]:
    """Hold the lock named ``name`` for the block; ``LockBusy`` when another run holds it."""
    if connection.vendor != "postgresql":
        yield
        return
    key = _key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (acquired,) = cursor.fetchone()
    if not acquired:
        raise LockBusy(name)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
