"""Review at speed (issue 14 item 2): the next job to work, its place in the queue, and
bulk-clearing of low-risk jobs.

The rules of a single decision stay on the models (``Job.claim``,
``ReviewDecision.decide``); this module only chooses which jobs they apply to, in the
queue's own order (``JobQuerySet.riskiest_first``).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, Window
from django.db.models.functions import RowNumber

from orchestration.errors import DecisionRefused
from orchestration.models import ClaimTaken, Job, ReviewDecision, ReviewStatus

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
    not in it: one query numbering the queue's rows in the queue's own order."""
    order = Job.objects.none().riskiest_first().query.order_by
    ranked = (
        Job.objects.needing_review()
        .annotate(rank=Window(RowNumber(), order_by=list(order)))
        .order_by()
        .values_list("pk", "rank")
    )
    # The job's own row is picked outside the numbering: a WHERE on the same query
    # would number a queue of one.
    sql, params = ranked.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT q.rank FROM ({sql}) q WHERE q.pk = %s", (*params, job.pk))  # noqa: S608
        row = cursor.fetchone()
    return None if row is None else row[0] - 1


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
