"""Pairs of near-duplicate assets for staff to decide on (the admin's pairs page).

``Asset.objects.near`` answers "what looks like this one asset"; the pairs page asks
"which two assets anywhere look alike", a self-join. It uses the same multi-index
scheme so it stays complete: two pHashes within ``k`` bits have one of their four
16-bit bands within a few bits of each other (pigeonhole: ``perceptual.band_radii``
gives each band's radius, ``k // 4`` or one less), so for each band the join probes
``b.band = a.band XOR mask`` for every mask of at most that many bits (each probe an
index lookup on the band column), and only those candidates are compared bit by bit. Pairs are of the same media type, each reported once (lower
id first), and pairs with a ``NearDuplicateDecision`` are left out in the database.

A page costs two queries whatever its size: the pairs (ids and distances, with
``LIMIT``/``OFFSET``) and the assets they name. The join's work grows with the
number of hashed assets times the probes per band (1, 17, 137 or 697 for a radius
of 0..3), so a small ``k`` is also the cheap one.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from tracking import perceptual
from tracking.models import PHASH_BANDS, Asset, NearDuplicateDecision

DEFAULT_MAX_DISTANCE = perceptual.DEFAULT_MAX_DISTANCE
MAX_DISTANCE = perceptual.MAX_DISTANCE


@dataclass(frozen=True)
class Pair:
    low: Asset
    high: Asset
    distance: int


@dataclass(frozen=True)
class PairPage:
    pairs: list[Pair]
    has_more: bool


def _hamming_sql(a: str, b: str) -> str:
    """SQL for the differing bits of two BIGINT columns (``tracking.models.Hamming``)."""
    if connection.vendor == "postgresql":
        return f"bit_count(CAST(({a} # {b}) AS bit(64)))"
    return f"civitrack_hamming({a}, {b})"


def _xor_sql(a: str, b: str) -> str:
    # SQLite has no XOR operator; (a | b) - (a & b) is XOR on both backends.
    return f"(({a} | {b}) - ({a} & {b}))"


def pairs_sql(max_distance: int) -> str:
    """The pairs query (parameters: max distance, limit, offset); see the module docstring."""
    asset = connection.ops.quote_name(Asset._meta.db_table)
    decision = connection.ops.quote_name(NearDuplicateDecision._meta.db_table)
    # One mask list per radius in use (band_radii: at k = 8, band 0 within 2 bits and
    # the others within 1; a band at -1 is not probed).
    radii = perceptual.band_radii(max_distance)
    masks = ", ".join(
        f"masks{r}(m) AS (VALUES {', '.join(f'({m})' for m in perceptual.within(0, r))})"
        for r in sorted({r for r in radii if r >= 0})
    )
    # Only table and column names from the models and integers computed here go into the
    # text; the caller's values are parameters.
    probes = " UNION ".join(
        f"SELECT a.id AS low_id, b.id AS high_id FROM {asset} a"  # noqa: S608
        f" CROSS JOIN masks{radius} masks"
        f" JOIN {asset} b ON b.{band} = {_xor_sql(f'a.{band}', 'masks.m')}"
        " AND b.id > a.id AND b.asset_type = a.asset_type"
        f" WHERE a.{band} IS NOT NULL"
        for band, radius in zip(PHASH_BANDS, radii, strict=True)
        if radius >= 0
    )
    distance = _hamming_sql("a.phash", "b.phash")
    return (
        f"WITH {masks}, candidates AS ({probes})"  # noqa: S608
        f" SELECT c.low_id, c.high_id, {distance} AS distance FROM candidates c"
        f" JOIN {asset} a ON a.id = c.low_id JOIN {asset} b ON b.id = c.high_id"
        f" WHERE {distance} <= %s"
        f" AND NOT EXISTS (SELECT 1 FROM {decision} d"
        " WHERE d.low_id = c.low_id AND d.high_id = c.high_id)"
        " ORDER BY distance, c.high_id DESC, c.low_id LIMIT %s OFFSET %s"
    )


def undecided_pairs(*, max_distance: int, limit: int, offset: int = 0) -> PairPage:
    """Undecided pairs within ``max_distance`` bits, closest first (newest first among equals)."""
    if not 0 <= max_distance <= MAX_DISTANCE:
        raise ValueError(f"max_distance must be between 0 and {MAX_DISTANCE}")
    with connection.cursor() as cursor:
        cursor.execute(pairs_sql(max_distance), [max_distance, limit + 1, offset])
        rows = cursor.fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit]
    assets = Asset.objects.in_bulk({pk for row in rows for pk in row[:2]})
    pairs = [
        Pair(assets[low], assets[high], distance)
        for low, high, distance in rows
        if low in assets and high in assets  # deleted between the two queries
    ]
    return PairPage(pairs, has_more)
