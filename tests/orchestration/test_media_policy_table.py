"""The media policy fails closed, over every combination of what a blob's scan may say.

An independent statement of the rule (``expected``) is checked against
``Blob.media_policy`` for every combination of: job known or not, scan present, absent
or unreadable, CSAM score below/at/above the threshold, a blocked reason (none, on the
blob, on the scan), the nsfw level and availability. Media is shown only when a job with
a readable scan under the threshold says nothing blocks it.
"""

import itertools

import pytest
from django.urls import reverse

from orchestration.models import Blob, Job, RevealLog, ScanResult, nsfw_rank

pytestmark = pytest.mark.django_db

THRESHOLD = 0.5
SCORES = {"below": 0.49, "at": 0.5, "above": 0.51}
LEVELS = {"pg": "pg", "mature": "x", "unrated": ""}
CASES = list(
    itertools.product(
        ("job", "no job"),
        ("present", "absent", "unreadable", "no score"),
        tuple(SCORES),
        ("none", "on blob", "on scan"),
        tuple(LEVELS),
        (True, False),
    )
)


def expected(job, scan, score, blocked, level, available) -> str:
    """``withheld``, ``reveal`` or ``show``: the rule, written without the code's helpers."""
    scanned = job == "job" and scan == "present"
    if not scanned or SCORES[score] >= THRESHOLD or blocked != "none" or not available:
        return "withheld"
    return "show" if level == "pg" else "reveal"


def make_blob(n, job, scan, score, blocked, level, available) -> Blob:
    job_row = None
    if job == "job":
        job_row = Job.objects.create(civitai_id=f"00000000-0000-4000-8000-{n:012d}")
    if job_row is not None and scan != "absent":
        value = SCORES[score]
        ScanResult.objects.create(
            job=job_row,
            csam_scores=[value] if scan == "present" else [],
            csam_score_max=value if scan == "present" else None,
            csam_score_unparsed=scan == "unreadable",
            blocked_reason="policy" if blocked == "on scan" else "",
            is_blocked=blocked == "on scan",
            nsfw_level=LEVELS[level],
            nsfw_rank=nsfw_rank(LEVELS[level]),
        )
    return Blob.objects.create(
        civitai_id=f"{n:032X}.png",
        job=job_row,
        kind="image",
        available=available,
        url="https://203.0.113.7/img.png",
        nsfw_level=LEVELS[level],
        blocked_reason="policy" if blocked == "on blob" else "",
        # A blob without a job may still carry a score copied from somewhere.
        csam_score=SCORES[score] if job == "no job" and scan == "present" else None,
    )


def test_every_combination_is_decided_by_the_fail_closed_rule(settings):
    settings.MODERATION_CSAM_THRESHOLD = THRESHOLD
    wrong = []
    for n, case in enumerate(CASES, start=1):
        blob = Blob.objects.select_related("job__scan").get(pk=make_blob(n, *case).pk)
        policy = blob.media_policy()
        got = "withheld" if policy.withheld else ("reveal" if policy.needs_reveal else "show")
        if got != expected(*case):
            wrong.append((case, got, policy.reason))
    assert len(CASES) == 2 * 4 * 3 * 3 * 3 * 2
    assert wrong == []


def test_a_workflow_output_without_a_job_is_withheld_from_plain_staff(client, staff):
    blob = Blob.objects.create(
        civitai_id="ABCDEF0123456789ABCDEF0123456789.png",
        kind="image",
        available=True,
        url="https://203.0.113.7/unscanned.png",
        nsfw_level="pg",
    )
    client.force_login(staff)

    response = client.get(reverse("orchestration:blob_media", args=[blob.civitai_id]))

    assert response.status_code == 403
    assert "no job is known" in response.content.decode()
    assert client.post(reverse("orchestration:blob_reveal", args=[blob.civitai_id])).status_code
    assert RevealLog.objects.count() == 0


def test_a_scan_recorded_without_a_csam_score_withholds_the_media(client, reviewer):
    job = Job.objects.create(civitai_id="00000000-0000-4000-8000-000000000999")
    ScanResult.objects.create(job=job, nsfw_level="pg", nsfw_rank=nsfw_rank("pg"))
    blob = Blob.objects.create(
        civitai_id="00000000000000000000000000000999.png",
        job=job,
        kind="image",
        available=True,
        url="https://203.0.113.7/unknown.png",
        nsfw_level="pg",
    )
    client.force_login(reviewer)

    response = client.get(reverse("orchestration:blob_media", args=[blob.civitai_id]))

    assert response.status_code == 403
    assert "scan unknown" in response.content.decode()
