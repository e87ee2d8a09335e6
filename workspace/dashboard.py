"""The dashboard on the admin index: what needs doing, each figure linked to its list.

Every figure is one query whose cost does not grow with the tables (issues 14 and 17):
counts stop at ``TILE_COUNT_CAP`` and then say "more than 1000" (``civitrack.listing.capped_count``)
and go through indexes (``job_waiting_idx`` with the scans' flag and risk indexes for
the queue, the B-trees on ``sha256sum``/``post_id`` for the ``IS NULL`` counts,
``post_status_created_idx``), latest times are ``MAX`` over indexed columns, and
engagement growth reads the best bounds of the week (``AssetWeekGrowth``) and the
snapshots of twenty assets (``AssetStatsSnapshotQuerySet.top_growth``). The
number of queries is fixed whatever the data size; ``tests/workspace/test_dashboard.py``
asserts it and the plans.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.db.models import Max, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civitrack.listing import capped_count

REVIEW_PERM = "orchestration.review_job"
GROWTH_DAYS = 7
TOP_GROWTH = 5
# A tile's count stops here and says "more than 1000"; the list it links to counts to
# ``COUNT_CAP`` (10,000). Reading up to 10,001 index entries for each of the eight
# counts that reach it at 1M rows was half the page's database time (issue 17: 18 to
# 9 ms); a tile saying "more than 1000" asks for the same action as one saying 1,676.
TILE_COUNT_CAP = 1_000


def _count(queryset) -> int:
    """``capped_count`` at ``TILE_COUNT_CAP``: exact below it, "more than 1000" above."""
    return capped_count(queryset, cap=TILE_COUNT_CAP)


@dataclass
class Figure:
    """One number (or time) on a tile, with the list it stands for."""

    label: str
    value: object
    url: str | None = None
    note: str = ""


@dataclass
class Tile:
    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    url: str | None = None
    empty: str = ""


def _url(name: str, args=None, **query) -> str | None:
    try:
        base = reverse(name, args=args)
    except NoReverseMatch:  # that admin or page is not installed here
        return None
    return f"{base}?{urlencode(query)}" if query else base


def _can_view(user, app_model: str) -> bool:
    app_label, model = app_model.split(".")
    return user.has_perm(f"{app_label}.view_{model}") or user.has_perm(
        f"{app_label}.change_{model}"
    )


def review_tile(user, now: dt.datetime) -> Tile | None:
    """The queue by risk band and the jobs flagged in the last 24 hours: one aggregate.

    A job can carry several flags (a blocked job often has a CSAM score too), so each
    band counts exactly the jobs its link lists; "lower risk" is the rest.
    """
    if not user.has_perm(REVIEW_PERM):
        return None
    from orchestration.models import Job, ReviewStatus

    threshold = settings.MODERATION_CSAM_THRESHOLD
    csam = Q(scan__csam_score_max__gte=threshold) | Q(scan__csam_score_unparsed=True)
    blocked = Q(scan__is_blocked=True)
    prompt = Q(scan__prompt_flagged=True)
    waiting = Q(
        scan__isnull=False, review_status__in=[ReviewStatus.PENDING, ReviewStatus.ESCALATED]
    )
    flagged = csam | Q(scan__is_blocked=True) | Q(scan__prompt_flagged=True)
    since = now - dt.timedelta(hours=24)
    # One capped count per figure (issue 17): a single aggregate read every job and its
    # scan, 0.6 s at 100k jobs; each count below reads at most COUNT_CAP + 1 rows, from
    # scan_risk_order_idx, the partial flag indexes or job_created_idx on the scans'
    # side, and job_waiting_idx (the queued jobs' ids, orchestration 0007) on the jobs':
    # each flagged scan's job is one index-only probe, where reading the pending jobs'
    # rows made PostgreSQL hash-join all of them (the CSAM band 14 to 2 ms at 100k jobs).
    queued = Job.objects.filter(waiting)
    # The CSAM band as two disjoint parts, so that neither is an OR across two indexes
    # (a bitmap that read every matching scan's row): the scores at the threshold from
    # scan_risk_order_idx alone (it holds the job id, orchestration 0009), then the
    # unreadable scores not already counted. One query; the count is the same.
    csam_band = (
        queued.filter(scan__csam_score_max__gte=threshold)
        .order_by()
        .union(
            queued.filter(
                Q(scan__csam_score_unparsed=True) & ~Q(scan__csam_score_max__gte=threshold)
            ).order_by(),
            all=True,
        )
    )
    counts = {
        "total": _count(queued),
        "csam": _count(csam_band),
        "blocked": _count(queued.filter(blocked)),
        "prompt": _count(queued.filter(prompt)),
        "lower": _count(
            queued.filter(
                Q(scan__csam_score_max__lt=threshold, scan__csam_score_unparsed=False)
                & Q(scan__is_blocked=False, scan__prompt_flagged=False)
            )
        ),
        "escalated": _count(queued.filter(review_status=ReviewStatus.ESCALATED)),
        "flagged_24h": _count(Job.objects.filter(flagged, created_at__gte=since)),
    }
    queue = "orchestration:review_queue"
    return Tile(
        key="review",
        title=_("Review queue"),
        url=_url(queue),
        figures=[
            Figure(_("needing a decision"), counts["total"], _url(queue)),
            Figure(_("CSAM score at threshold"), counts["csam"], _url(queue, min_csam=threshold)),
            Figure(_("blocked"), counts["blocked"], _url(queue, blocked="true")),
            Figure(_("prompt flagged"), counts["prompt"], _url(queue, prompt_flagged="true")),
            Figure(
                _("lower risk (below threshold, not blocked or flagged)"),
                counts["lower"],
                _url(queue, max_csam=threshold, blocked="false", prompt_flagged="false"),
            ),
            Figure(_("escalated"), counts["escalated"], _url(queue, state=ReviewStatus.ESCALATED)),
            Figure(
                _("jobs flagged in the last 24 h"),
                counts["flagged_24h"],
                _url("orchestration:workflow_list", flagged="true", created_from=since.date()),
            ),
        ],
    )


def records_tile(user) -> Tile | None:
    """Posts pending, assets without a sha256 or a post: three index-served counts."""
    from tracking.models import Asset, Post

    figures = []
    if _can_view(user, "tracking.post"):
        pending = _count(Post.objects.filter(status=Post.Status.PENDING))
        figures.append(
            Figure(
                _("posts pending"),
                pending,
                _url("admin:tracking_post_changelist", status__exact=Post.Status.PENDING),
            )
        )
    if _can_view(user, "tracking.asset"):
        changelist = "admin:tracking_asset_changelist"
        no_hash = _count(Asset.objects.filter(sha256sum__isnull=True))
        no_post = _count(Asset.objects.filter(post__isnull=True))
        figures.append(
            Figure(_("assets without sha256"), no_hash, _url(changelist, has_sha256="no"))
        )
        figures.append(Figure(_("assets in no post"), no_post, _url(changelist, has_post="no")))
    if user.has_perm("tracking.change_asset"):
        # No count: finding the pairs is a self-join, too dear for a tile (issue 14's rule).
        pairs = _url("admin:tracking_asset_near_duplicates")
        figures.append(Figure(_("near-duplicate pairs"), _("review"), pairs))
    if not figures:
        return None
    return Tile(key="records", title=_("Records to finish"), figures=figures)


def sync_tile(user, now: dt.datetime) -> Tile:
    """When each kind of sync last stored something, from what the mirror holds.

    With the background-work app (``background``, issue 13) the task runs' own record
    is shown too: the last success of each kind, and the failures of the week.
    """
    from orchestration.models import Workflow
    from tracking.models import AssetStatsSnapshot

    figures = [
        Figure(
            _("workflows synced"),
            Workflow.objects.aggregate(at=Max("synced_at"))["at"],
            _url("orchestration:workflow_list"),
        ),
        Figure(
            _("Civitai stats synced"),
            AssetStatsSnapshot.objects.aggregate(at=Max("captured_at"))["at"],
            _url("admin:tracking_assetstatssnapshot_changelist"),
        ),
    ]
    figures.extend(task_run_figures(user, now))
    return Tile(key="sync", title=_("Last syncs"), figures=figures)


def task_run_figures(user, now: dt.datetime) -> list[Figure]:
    """From the background-work app's TaskRun: the last successful run of each kind of
    task and the runs that failed in the last seven days (two queries, both on the
    ``taskrun_kind_idx`` index's columns). Nothing when that app is not installed."""
    if not apps.is_installed("background"):
        return []
    from background.models import TaskRun
    from background.tasks import KINDS

    changelist = "admin:background_taskrun_changelist"
    last = (
        TaskRun.objects.filter(status=TaskRun.Status.SUCCEEDED)
        .values("kind")
        .annotate(at=Max("finished_at"))
        .order_by("kind")
    )
    figures = [
        Figure(
            _("%(task)s, last success") % {"task": KINDS[row["kind"]].label}
            if row["kind"] in KINDS
            else row["kind"],
            row["at"],
            _url(changelist, kind__exact=row["kind"], status__exact=TaskRun.Status.SUCCEEDED),
        )
        for row in last
    ]
    since = now - dt.timedelta(days=GROWTH_DAYS)
    failed = TaskRun.objects.filter(status=TaskRun.Status.FAILED, finished_at__gte=since).count()
    figures.append(
        Figure(
            _("failed task runs, last 7 days"),
            failed,
            _url(
                changelist,
                status__exact=TaskRun.Status.FAILED,
                finished_at__gte=since.replace(microsecond=0).isoformat(),
            ),
        )
    )
    return figures


def growth_tile(user, now: dt.datetime) -> Tile | None:
    """Assets whose reactions grew most over the last seven days: one query whose cost
    does not grow with the week's snapshots (``AssetStatsSnapshotQuerySet.top_growth``).

    Grouping every snapshot of the week by asset read 10,238 snapshots of 5,711 assets
    at 1M assets in the seed (107 at 10k), the page's slowest query. ``top_growth``
    instead reads each asset's stored growth over the week before its latest snapshot
    (``AssetWeekGrowth``, kept by triggers), an upper bound of its growth this week,
    and computes the exact growth of the best twenty bounds from their own snapshots;
    the answer is the same five as the full grouping, which the same statement falls
    back to when the bounds do not settle it (docs/scale.md).
    """
    if not _can_view(user, "tracking.asset"):
        return None
    from tracking.models import AssetStatsSnapshot

    since = now - dt.timedelta(days=GROWTH_DAYS)
    rows = AssetStatsSnapshot.objects.top_growth(since, now, TOP_GROWTH)
    figures = [
        Figure(
            _("asset #%(pk)s") % {"pk": row["asset_id"]},
            f"+{row['growth']}",
            _url("admin:tracking_asset_change", args=[row["asset_id"]]),
            note=_("Civitai image %(id)s") % {"id": row["civitai_id"]} if row["civitai_id"] else "",
        )
        for row in rows
    ]
    return Tile(
        key="growth",
        title=_("Top engagement growth, last 7 days"),
        figures=figures,
        url=_url(
            "admin:tracking_assetstatssnapshot_changelist",
            captured_at__gte=since.replace(microsecond=0).isoformat(),
        ),
        empty=_("No reactions gained this week (or no stats synced)."),
    )


def dashboard_tiles(user) -> list[Tile]:
    """The tiles this staff user may see, in the order of the page."""
    now = timezone.now()
    tiles = [
        review_tile(user, now),
        records_tile(user),
        sync_tile(user, now),
        growth_tile(user, now),
    ]
    return [t for t in tiles if t is not None]
