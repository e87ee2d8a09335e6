"""Scan score parsing and the rule deciding which blobs may be fetched."""

import pytest

from orchestration.scan import (
    ScoreParseError,
    blob_must_not_be_fetched,
    is_csam_flagged,
    parse_scores,
)
from orchestration.types import Blob, Job, JobResult, ScanResult
from tests.fakes import orchestration_data as data


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.00 %, 0.00 %", [0.0, 0.0]),
        ("12.5 %", [0.125]),
        ("12.5%", [0.125]),
        ("100 %", [1.0]),
        (0.0003, [0.0003]),
        (0.91, [0.91]),
        ("0.91", [0.91]),
        (0, [0.0]),
        (1, [1.0]),
        (37.5, [0.375]),
        ([0.1, "50 %"], [0.1, 0.5]),
        (None, []),
        ("", []),
        (" , ", []),
    ],
)
def test_it_parses_scores_as_fractions(value, expected):
    assert parse_scores(value) == pytest.approx(expected)


@pytest.mark.parametrize("value", ["abc", "12.5 % %", True, -0.1, 101, "150 %", {"a": 1}, "nan"])
def test_it_refuses_values_that_are_not_scores(value):
    with pytest.raises(ScoreParseError):
        parse_scores(value)


def _scan(**context):
    return ScanResult.from_context(context)


def test_it_flags_csam_at_or_over_the_threshold(settings):
    settings.MODERATION_CSAM_THRESHOLD = 0.5
    assert is_csam_flagged(_scan(hive_csam_score=0.5))
    assert is_csam_flagged(_scan(hive_csam_score="0.00 %, 50.00 %"))
    assert not is_csam_flagged(_scan(hive_csam_score="0.00 %, 49.99 %"))
    assert not is_csam_flagged(_scan(hive_csam_score=0.0003))
    assert is_csam_flagged(_scan(hive_csam_score=0.2), threshold=0.2)
    assert not is_csam_flagged(None)
    assert not is_csam_flagged(_scan())


def test_it_fails_closed_on_an_unreadable_csam_score():
    scan = _scan(hive_csam_score="unknown")
    assert scan.csam_score_unparsed
    assert scan.csam_scores == []
    assert is_csam_flagged(scan)


def test_it_flags_a_csam_blocked_reason_even_with_a_low_score():
    assert is_csam_flagged(_scan(hive_csam_score=0.01, blocked_reason="csam_scan"))


def test_it_allows_an_available_clean_blob():
    blob = Blob.from_api({"id": "a.png", "available": True})
    assert blob_must_not_be_fetched(blob, Job.from_api(data.job_ok()).scan) == (False, "")
    assert blob_must_not_be_fetched(blob, None) == (False, "")


@pytest.mark.parametrize(
    ("blob", "scan", "reason"),
    [
        ({"id": "a.png", "available": True, "blockedReason": "policy"}, None, "blocked (policy)"),
        ({"id": "a.png", "available": False}, None, "not available"),
        ({"id": "a.png", "available": True}, {"hive_csam_score": 0.91}, "possible CSAM"),
        ({"id": "a.png", "available": True}, {"hive_csam_score": "60 %"}, "possible CSAM"),
        ({"id": "a.png", "available": True}, {"hive_csam_score": "?"}, "could not be read"),
        ({"id": "a.png", "available": True}, {"blocked_reason": "nsfw_policy"}, "blocked by"),
    ],
)
def test_it_refuses_blocked_unavailable_and_flagged_blobs(settings, blob, scan, reason):
    settings.MODERATION_CSAM_THRESHOLD = 0.5
    refuse, why = blob_must_not_be_fetched(
        Blob.from_api(blob), None if scan is None else ScanResult.from_context(scan)
    )
    assert refuse
    assert reason in why


def test_it_applies_the_rule_to_v1_job_results_too():
    job = Job.from_api(data.job_csam())
    refuse, why = blob_must_not_be_fetched(job.results[0], job.scan)
    assert refuse and why == "not available"
    result = JobResult.from_api({"blobKey": "k.png", "available": True})
    refuse, why = blob_must_not_be_fetched(result, job.scan)
    assert refuse and "possible CSAM" in why
