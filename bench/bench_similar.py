#!/usr/bin/env python
"""Near-duplicate search at 1M assets against an exact sha256 lookup, same data, same run.

Run: ``.venv/bin/python bench/bench_similar.py`` (``make bench`` runs it too).

The shared benchmark database holds 100k assets; this needs 1M, and 900k extra rows
would slow every benchmark that runs after it, so the script always makes its own
database (``civitrack_bench_similar``, migrated, then dropped), whatever
``BENCH_DATABASE_URL`` says. Rows are inserted by one ``INSERT … SELECT`` over
``generate_series`` on PostgreSQL (random 64-bit pHashes from md5, their bands, a
unique sha256 each; about 20 s) and by ``executemany`` on SQLite.

Measured through the ORM, as the services call it, after warm-up, p50 of
``BENCH_SIMILAR_RUNS`` (default 200) queries each:

- exact: ``Asset.objects.filter(sha256sum=…).values_list("pk").first()``;
- near: ``Asset.objects.near(phash, k)`` (k = ``DEFAULT_MAX_DISTANCE``), the first
  20 ``(pk, distance)``, for queries made from stored hashes with k bits flipped at
  random positions (so there is a match to find, and no band is equal by luck);
- near at the other radii (k = 3, 7, 15) for the tuning table in
  docs/near-duplicates.md.

Goal (issue 16): near at the default k ≤ 10x exact, on PostgreSQL. SQLite at 1M is
reported too when the script runs alone (``BENCH_SIMILAR_SQLITE=1`` inside
``make bench``, ``=0`` to skip it).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

NAME = "similar"
ROWS = int(os.environ.get("BENCH_SIMILAR_ROWS", "1000000"))
RUNS = int(os.environ.get("BENCH_SIMILAR_RUNS", "200"))
GOAL_RATIO = 10.0
OTHER_K = (3, 7, 15)

PG_FILL = """
INSERT INTO tracking_asset (
    created_at, updated_at, metadata, asset_url, asset_type, asset_source, sha256sum,
    phash, dhash, phash_b0, phash_b1, phash_b2, phash_b3
)
SELECT now(), now(), '{{}}'::jsonb, 'https://cdn.example/' || i || '.png', 'image', 'generated',
       encode(sha256(i::text::bytea), 'hex'), h, h # 1234567, (h >> 48) & 65535,
       (h >> 32) & 65535, (h >> 16) & 65535, h & 65535
FROM (
    SELECT i, ('x' || md5('phash' || i))::bit(64)::bigint AS h
    FROM generate_series({start}, {stop}) AS i
) AS s
"""


# The secondary indexes of tracking_asset, as (name, CREATE statement), per vendor.
INDEX_QUERIES = {
    "postgresql": (
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tracking_asset'"
        " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
    ),
    "sqlite": (
        "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
        " AND tbl_name = 'tracking_asset' AND sql IS NOT NULL"
    ),
}


@contextmanager
def indexes_built_after(cursor, vendor: str):
    """Drop the secondary indexes (the trigram GINs above all) for the block and build
    them again after it: minutes faster than row by row, the same indexes in the end."""
    cursor.execute(INDEX_QUERIES[vendor])
    indexes = cursor.fetchall()
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    yield
    for _name, definition in indexes:
        cursor.execute(definition)


def fill_postgres(rows: int) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor, indexes_built_after(cursor, "postgresql"):
        step = 250_000
        for start in range(1, rows + 1, step):
            cursor.execute(PG_FILL.format(start=start, stop=min(rows, start + step - 1)))
    connection.close()
    with connection.cursor() as cursor:  # VACUUM outside the transaction of the fill
        cursor.execute("VACUUM (ANALYZE) tracking_asset")
    return time.perf_counter() - started


def fill_sqlite(rows: int) -> float:
    import hashlib

    from django.db import connection, transaction

    from tracking import perceptual

    rng = random.Random(16)
    started = time.perf_counter()
    sql = (
        "INSERT INTO tracking_asset (created_at, updated_at, metadata, asset_url, asset_type,"
        " asset_source, sha256sum, phash, dhash, phash_b0, phash_b1, phash_b2, phash_b3)"
        " VALUES ('2026-01-01', '2026-01-01', '{}', ?, 'image', 'generated', ?, ?, ?, ?, ?, ?, ?)"
    )
    batch = []
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        indexes_built_after(cursor, "sqlite"),
    ):
        for i in range(1, rows + 1):
            h = perceptual.to_signed(rng.getrandbits(64))
            batch.append(
                (
                    f"https://cdn.example/{i}.png",
                    hashlib.sha256(str(i).encode()).hexdigest(),
                    h,
                    h ^ 1234567,
                    *perceptual.bands(h),
                )
            )
            if len(batch) == 50_000:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def queries(n: int, k: int) -> list[tuple[int, str]]:
    """``n`` (near query, sha256 of a stored row) pairs: stored hashes with k bits flipped."""
    from tracking import perceptual
    from tracking.models import Asset

    rng = random.Random(k)
    ids = [rng.randrange(1, ROWS + 1) for _ in range(n)]
    stored = dict(Asset.objects.filter(pk__in=ids).values_list("pk", "phash"))
    pairs = []
    for pk in ids:
        value = perceptual.to_unsigned(stored[pk])
        for bit in rng.sample(range(64), k):
            value ^= 1 << bit
        pairs.append((perceptual.to_signed(value), Asset.objects.get(pk=pk).sha256sum))
    return pairs


def measure() -> dict:
    """Time both queries on the configured database; returns the figures."""
    from tracking import perceptual
    from tracking.models import Asset

    k = perceptual.DEFAULT_MAX_DISTANCE
    pairs = queries(RUNS, k)
    it = iter(pairs * 2)
    exact = common.sample_ms(
        lambda: Asset.objects.filter(sha256sum=next(it)[1]).values_list("pk", flat=True).first(),
        runs=RUNS,
    )
    found = []
    it = iter(pairs * 2)

    def near(kk=k):
        rows = list(Asset.objects.near(next(it)[0], kk).values_list("pk", "distance")[:20])
        found.append(len(rows))

    near_ms = common.sample_ms(near, runs=RUNS)
    missed = sum(1 for n in found if n == 0)
    others = {}
    for kk in OTHER_K:
        it = iter(queries(RUNS // 2, kk) * 2)
        others[kk] = common.p50(common.sample_ms(lambda kk=kk: near(kk), runs=RUNS // 2))
    # per band: within k // 4 bits, or one less (perceptual.band_radii)
    probes = sum(len(perceptual.within(0, r)) for r in perceptual.band_radii(k) if r >= 0)
    return {
        "k": k,
        "exact_p50": common.p50(exact),
        "near_p50": common.p50(near_ms),
        "near_p95": common.p95(near_ms),
        "missed": missed,
        "others": others,
        "probes": probes,
    }


def child(vendor: str) -> None:
    """Fill and measure in this process (Django is configured for one database)."""
    os.environ.update(common.django_env(os.environ["BENCH_SIMILAR_URL"]))
    sys.path.insert(0, str(common.ROOT))
    import django

    django.setup()
    fill = fill_postgres(ROWS) if vendor == "postgresql" else fill_sqlite(ROWS)
    figures = measure() | {"fill_s": fill}
    print("RESULT " + json.dumps(figures))


def run_child(vendor: str, url: str) -> dict:
    common.manage(url, "migrate", "--noinput", "-v0")
    env = common.django_env(url) | {"BENCH_SIMILAR_URL": url}
    proc = subprocess.run(
        [sys.executable, __file__, "--child", vendor],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise SystemExit(f"{vendor} child failed:\n{proc.stderr[-3000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


def main() -> None:
    url = common.create_database(NAME)
    try:
        pg = run_child("postgresql", url)
    finally:
        common.drop_database(url)
    lite = None
    # SQLite adds minutes: on by default when run alone, off inside make bench
    # (run_all gives each script 10 minutes).
    default_sqlite = "0" if os.environ.get("BENCH_DATABASE_URL") else "1"
    if os.environ.get("BENCH_SIMILAR_SQLITE", default_sqlite) != "0":
        with tempfile.TemporaryDirectory() as folder:
            lite = run_child("sqlite", f"sqlite:///{folder}/similar.sqlite3")
    ratio = pg["near_p50"] / pg["exact_p50"]
    k = pg["k"]
    figures = [
        {"what": "assets", "value": f"{ROWS:,}", "unit": ""},
        {
            "what": "PostgreSQL fill (INSERT … SELECT + VACUUM)",
            "value": f"{pg['fill_s']:.0f}",
            "unit": "s",
        },
        {
            "what": "PostgreSQL exact sha256 lookup p50",
            "value": f"{pg['exact_p50']:.2f}",
            "unit": "ms",
        },
        {
            "what": f"PostgreSQL near(k={k}) p50 / p95",
            "value": f"{pg['near_p50']:.2f} / {pg['near_p95']:.2f}",
            "unit": "ms",
        },
        {"what": f"PostgreSQL near(k={k}) / exact", "value": f"{ratio:.1f}", "unit": "x"},
        {"what": f"band probes at k={k}", "value": pg["probes"], "unit": "index lookups"},
        {"what": "queries whose planted match was not found", "value": pg["missed"], "unit": ""},
    ]
    for kk, value in pg["others"].items():
        figures.append(
            {"what": f"PostgreSQL near(k={kk}) p50", "value": f"{value:.2f}", "unit": "ms"}
        )
    if lite:
        figures += [
            {
                "what": "SQLite exact sha256 lookup p50",
                "value": f"{lite['exact_p50']:.2f}",
                "unit": "ms",
            },
            {"what": f"SQLite near(k={k}) p50", "value": f"{lite['near_p50']:.2f}", "unit": "ms"},
            {
                "what": f"SQLite near(k={k}) / exact",
                "value": f"{lite['near_p50'] / lite['exact_p50']:.1f}",
                "unit": "x",
            },
        ]
        for kk, value in lite["others"].items():
            figures.append(
                {"what": f"SQLite near(k={kk}) p50", "value": f"{value:.2f}", "unit": "ms"}
            )
    common.write_result(
        NAME,
        {
            "title": f"Near-duplicate search at {ROWS:,} assets (perceptual hashes)",
            "how": (
                f"{ROWS:,} assets with random 64-bit pHashes in a database of its own; p50 of "
                f"{RUNS} ORM queries each, after warm-up: `Asset.objects.near(h, {k})` (first 20 "
                "with distance; each query a stored hash with k bits flipped) against "
                "`filter(sha256sum=…).first()`."
            ),
            "figures": figures,
            "goals": [
                common.goal(
                    f"near(k={k}) vs exact sha256 lookup, PostgreSQL, {ROWS:,} assets",
                    f"<= {GOAL_RATIO:g}x",
                    f"{ratio:.1f}x",
                    ratio <= GOAL_RATIO and pg["missed"] == 0,
                    why=(
                        f"near(k={k}) took {pg['near_p50']:.2f} ms for {pg['probes']} band "
                        f"probes against {pg['exact_p50']:.2f} ms for one B-tree lookup; the "
                        "exact lookup is mostly the ORM's fixed cost, so the ratio moves with "
                        "the machine's load (7.5x to 13.3x before band_radii, same code)"
                    ),
                )
            ],
        },
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        main()
