"""Moderation scan values from Orchestration job events, and the "may we fetch this?" rule.

The v1 job status carries scan results in ``lastEvent.context`` as free-form values
(civitai-api.md §1.6): ``hive_csam_score`` has been seen as a number (``0.0003``,
``0.91``) and as a display string with one percentage per image
(``"0.00 %, 0.00 %"``). We keep every score as a **fraction 0-1**, the way the API
means it:

- a number in 0-1 is already a fraction; a number above 1 (and at most 100) can only
  be a percentage, so it is divided by 100;
- a string part ending in ``%`` is a percentage (``"12.5 %"`` → ``0.125``); a bare
  numeric string follows the number rule;
- several values (comma-separated string or a JSON list) give one score per image.

A CSAM score that is present but cannot be read is treated as **flagged** (fail
closed): the one mistake we refuse to make is fetching or showing media whose scan
we could not understand.

``ScanResult`` (what a job's ``lastEvent.context`` says) lives here beside the rule
that reads it; ``orchestration.types`` imports it from here and not the other way, so
the two modules no longer import each other.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings

# Keys of ``lastEvent.context`` that ScanResult lifts into named fields.
CSAM_SCORE_KEYS = ("hive_csam_score", "csam_score", "csamScore")
VLM_SUMMARY_KEYS = ("hive_vlm_summary", "vlm_summary", "vlmSummary")
BLOCKED_REASON_KEYS = ("blocked_reason", "blockedReason")
NSFW_LEVEL_KEYS = ("nsfwLevel", "nsfw_level")
SCAN_KEYS = CSAM_SCORE_KEYS + VLM_SUMMARY_KEYS + BLOCKED_REASON_KEYS + NSFW_LEVEL_KEYS

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


class ScoreParseError(ValueError):
    """A scan score value that is not a number, a percentage, or a list of them."""


def _number_to_fraction(value: float, original: Any) -> float:
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ScoreParseError(f"score out of range: {original!r}")
    if value <= 1:
        return float(value)
    if value <= 100:  # above 1 it cannot be a fraction: read it as a percentage
        return value / 100
    raise ScoreParseError(f"score out of range: {original!r}")


def _parse_one(part: Any) -> float:
    if isinstance(part, bool):  # bool is an int subclass; True is not a score
        raise ScoreParseError(f"not a score: {part!r}")
    if isinstance(part, int | float):
        return _number_to_fraction(float(part), part)
    if isinstance(part, str):
        text = part.strip()
        percent = text.endswith("%")
        if percent:
            text = text[:-1].strip()
        if not _NUMBER.match(text):
            raise ScoreParseError(f"not a score: {part!r}")
        value = float(text)
        if percent:
            if value < 0 or value > 100:
                raise ScoreParseError(f"percentage out of range: {part!r}")
            return value / 100
        return _number_to_fraction(value, part)
    raise ScoreParseError(f"not a score: {part!r}")


def parse_scores(value: Any) -> list[float]:
    """Parse a score value into fractions 0-1, one per image.

    ``None`` and ``""`` mean "no score" (``[]``). Raises ``ScoreParseError`` for
    anything that is not a number, a percentage string, or a list of those.
    """
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [_parse_one(v) for v in value]
    if isinstance(value, str):
        parts = [p for p in value.split(",") if p.strip()]
        return [_parse_one(p) for p in parts]
    return [_parse_one(value)]


def text_value(value: Any) -> str | None:
    """A context value as display text (``None`` and empty strings become ``None``)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or None
    return str(value)


def first_key(mapping: dict[str, Any], keys: Iterable[str]) -> tuple[str | None, Any]:
    """The first of ``keys`` present in ``mapping`` and its value."""
    for key in keys:
        if key in mapping:
            return key, mapping[key]
    return None, None


@dataclass
class ScanResult:
    """Moderation scan values from a v1 job's ``lastEvent.context``.

    ``csam_scores`` are fractions 0-1, one per image (see ``orchestration.scan`` for
    how percentages are converted). ``csam_score_unparsed`` is True when a CSAM score
    was present but unreadable; ``is_csam_flagged`` then fails closed. ``other`` keeps
    every context key that is not a scan field (metrics such as ``gpu_ms``).
    """

    csam_scores: list[float] = field(default_factory=list)
    csam_score_raw: Any = None
    csam_score_present: bool = False
    csam_score_unparsed: bool = False
    vlm_summary: str | None = None
    blocked_reason: str | None = None
    nsfw_level: str | None = None
    other: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_context(cls, context: Any) -> ScanResult:
        context = context if isinstance(context, dict) else {}
        key, value = first_key(context, CSAM_SCORE_KEYS)
        scores: list[float] = []
        unparsed = False
        if key is not None:
            try:
                scores = parse_scores(value)
            except ScoreParseError:
                unparsed = True
        _, summary = first_key(context, VLM_SUMMARY_KEYS)
        _, reason = first_key(context, BLOCKED_REASON_KEYS)
        _, level = first_key(context, NSFW_LEVEL_KEYS)
        return cls(
            csam_scores=scores,
            csam_score_raw=value,
            csam_score_present=key is not None and value not in (None, ""),
            csam_score_unparsed=unparsed,
            vlm_summary=text_value(summary),
            blocked_reason=text_value(reason),
            nsfw_level=text.lower() if (text := text_value(level)) else None,
            other={k: v for k, v in context.items() if k not in SCAN_KEYS},
            raw=context,
        )

    @property
    def max_csam_score(self) -> float | None:
        return max(self.csam_scores) if self.csam_scores else None

    @property
    def has_scan(self) -> bool:
        """True when the context carried any scan field at all."""
        return any(k in self.raw for k in SCAN_KEYS)

    def is_csam_flagged(self, threshold: float | None = None) -> bool:
        return is_csam_flagged(self, threshold)


def default_threshold() -> float:
    return float(settings.MODERATION_CSAM_THRESHOLD)


def is_csam_flagged(scan: ScanResult | None, threshold: float | None = None) -> bool:
    """True when the scan says the media may be CSAM.

    Flagged when any per-image score is at or over ``threshold`` (default
    ``settings.MODERATION_CSAM_THRESHOLD``), when a CSAM score is present but
    unreadable (fail closed), or when the blocked reason names CSAM.
    """
    if scan is None:
        return False
    limit = default_threshold() if threshold is None else threshold
    if scan.csam_score_unparsed:
        return True
    if any(score >= limit for score in scan.csam_scores):
        return True
    reason = (scan.blocked_reason or "").lower()
    return "csam" in reason


class FetchableBlob(Protocol):
    """What ``blob_must_not_be_fetched`` reads: a workflow Blob or a v1 job result."""

    available: bool
    blocked_reason: str | None


def blob_must_not_be_fetched(
    blob: FetchableBlob, job_scan: ScanResult | None = None, *, threshold: float | None = None
) -> tuple[bool, str]:
    """Decide whether a blob's bytes may be requested; return ``(refuse, reason)``.

    Refused when the blob is blocked (``blockedReason``), unavailable (mature content
    hidden, still running, lost, or blocked by the scanner), or when its job's scan is
    blocked or flags possible CSAM. ``reason`` is a short sentence for the user; it is
    ``""`` when the blob may be fetched.
    """
    if blob.blocked_reason:
        return True, f"blocked ({blob.blocked_reason})"
    if getattr(blob, "blocked", False):
        return True, "blocked"
    if not blob.available:
        return True, "not available"
    if job_scan is not None:
        limit = default_threshold() if threshold is None else threshold
        if is_csam_flagged(job_scan, limit):
            if job_scan.csam_score_unparsed:
                return True, "possible CSAM: the job's CSAM score could not be read"
            score = job_scan.max_csam_score
            if score is not None and score >= limit:
                return True, (
                    f"possible CSAM: the job's scan score {score:.4f} is at or over"
                    f" the threshold {limit:g}"
                )
            return True, f"possible CSAM: blocked by the job's scan ({job_scan.blocked_reason})"
        if job_scan.blocked_reason:
            return True, f"blocked by the job's scan ({job_scan.blocked_reason})"
    return False, ""
