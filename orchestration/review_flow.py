"""Review at speed (issue 14 item 2): the next job to work, its place in the queue, and
bulk-clearing of low-risk jobs.

The rules of a single decision stay on the models (``Job.claim``,
``ReviewDecision.decide``); this module only chooses which jobs they apply to, in the
queue's own order (``JobQuerySet.riskiest_first``).
"""

from __future__ import annotations

import operator
from decimal import Decimal
from functools import reduce

from django.conf import settings
from django.db import transaction
from django.db.models import BigIntegerField, Exists, OuterRef, Q, Value
from django.db.models.expressions import CombinedExpression

from civitrack.listing import matching_count
from orchestration.errors import DecisionRefused
from orchestration.models import ClaimTaken, Job, JobQuerySet, ReviewDecision, ReviewStatus

# How many candidates "decide and next" tries when others claim them at the same time.
CLAIM_ATTEMPTS = 5


def workable(user):
    """The queue as ``user`` can work it: needing review, riskiest first, without jobs
    another reviewer holds a live claim on, and without jobs this reviewer escalated
    (they wait for someone else's look)."""
    escalated_by_me = ReviewDecision.objects.filter(
        job=OuterRef("pk"),
        decided_by=user,
        decision=ReviewDecision.Decision.ESCALATED,
        superseded_by__isnull=True,
    )
    live_since = Job.claim_ttl_cutoff()
    claimed_by_other = Q(claimed_at__gt=live_since) & ~Q(claimed_by=user)
    return (
        Job.objects.needing_review()
        .exclude(claimed_by_other)
        .exclude(Q(review_status=ReviewStatus.ESCALATED) & Exists(escalated_by_me))
        .riskiest_first()
    )


def claim_next(user, *, skip: Job | None = None) -> Job | None:
    """Claim and return the next job ``user`` should review, or None when none is left.

    Two reviewers pressing "decide and next" together may pick the same candidate;
    ``Job.claim`` is a conditional UPDATE, so the loser moves on to the following one.
    """
    candidates = workable(user)
    if skip is not None:
        candidates = candidates.exclude(pk=skip.pk)
    for job in candidates[:CLAIM_ATTEMPTS]:
        try:
            job.claim(user)
        except ClaimTaken:
            continue
        return job
    return None


def queue_position(job: Job) -> int | None:
    """Where ``job`` stands in the queue (0-based, riskiest first), or None when it is
    not in it: the number of queued jobs sorted before it (``JobQuerySet.ahead_of``).

    One query: the job's row if it is still in the queue, with its stored keys and the
    count for the keys it was loaded with. The count reads only the rows ahead, so it
    costs what the job's place does, not what the queue's length does (numbering the
    whole queue with ROW_NUMBER sorted every waiting job on each page view, issue 17).
    Should the stored keys differ from the loaded ones (a sync or a decision in
    between), the count is taken again for the stored keys. Load ``job`` with its scan
    (``select_related("scan")``, as the job page does), or reading it costs a query.
    """
    names = [name for name, _nulls in JobQuerySet.RISK_ORDER]
    loaded = JobQuerySet.risk_key(job)
    queued = Job.objects.needing_review()
    # Uncorrelated subqueries: the database counts only if it finds the job's row.
    ahead = _count_ahead(queued, loaded) if loaded else Value(None, BigIntegerField())
    rows = list(queued.filter(pk=job.pk).order_by().values(*names, ahead=ahead))
    if not rows:
        return None
    current = rows[0]
    position = current.pop("ahead")
    if current != loaded:
        position = queued.ahead_of(current).count()
    return position


def _count_ahead(queued, key: dict) -> CombinedExpression:
    """How many of ``queued`` sort before ``key``, as the sum of two scalar subqueries.

    The first counts the jobs ahead on the scan's keys: the scan index holds every
    column it reads, so each job is only probed for being queued (``job_waiting_idx``,
    index-only). The second counts the jobs tied with ``key`` on all three and ahead
    on the job's own columns (creation time, id): a few rows. In one condition the job's columns made PostgreSQL read
    every queued job's row to hash-join them: split, about a quarter less at the middle
    and the bottom of the queue at 1M (docs/scale.md). The conditions are disjoint, so
    any split adds up to the same count; this one follows ``RISK_ORDER``'s scan keys.
    """
    conditions = JobQuerySet.ahead_conditions(key)
    on_scan = sum(name.startswith("scan__") for name, _nulls in JobQuerySet.RISK_ORDER)
    first, rest = conditions[:on_scan], conditions[on_scan:]
    return matching_count(queued.filter(reduce(operator.or_, first))) + matching_count(
        queued.filter(reduce(operator.or_, rest))
    )


def queue_job_at(position: int) -> Job | None:
    """The job at ``position`` (0-based) of the whole queue, riskiest first."""
    if position < 0:
        return None
    return (
        Job.objects.needing_review()
        .riskiest_first()
        .only("civitai_id")[position : position + 1]
        .first()
    )


# -- bulk clear -----------------------------------------------------------------------


def bulk_clear_candidates(user, below: Decimal):
    """Pending jobs whose CSAM score is known and below ``below`` (itself below the
    threshold), not blocked, not prompt-flagged, not claimed by someone else."""
    threshold = Decimal(str(settings.MODERATION_CSAM_THRESHOLD))
    if below > threshold:
        raise DecisionRefused(
            f"Bulk clear only takes jobs below the CSAM threshold ({threshold}); "
            f"{below} is above it"
        )
    live_since = Job.claim_ttl_cutoff()
    return Job.objects.filter(
        review_status=ReviewStatus.PENDING,
        scan__isnull=False,
        scan__csam_score_max__isnull=False,
        scan__csam_score_max__lt=below,
        scan__csam_score_unparsed=False,
        scan__is_blocked=False,
        scan__prompt_flagged=False,
    ).exclude(Q(claimed_at__gt=live_since) & ~Q(claimed_by=user))


def bulk_clear(user, below: Decimal, note: str = "") -> int:
    """Clear every candidate with one decision row each; returns how many were cleared.

    The candidates are locked first, so a reviewer deciding one of them at the same
    moment either goes first (and the job is no longer pending here) or waits.
    """
    note = (note or "").strip() or f"bulk clear: CSAM score below {below}"
    with transaction.atomic():
        ids = list(
            bulk_clear_candidates(user, below)
            .select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not ids:
            return 0
        ReviewDecision.objects.bulk_create(
            ReviewDecision(
                job_id=pk, decision=ReviewDecision.Decision.CLEARED, note=note, decided_by=user
            )
            for pk in ids
        )
        Job.objects.filter(pk__in=ids).update(
            review_status=ReviewStatus.CLEARED, claimed_by=None, claimed_at=None
        )
    return len(ids)
