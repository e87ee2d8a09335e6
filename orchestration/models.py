"""Local mirror of Civitai Orchestration workflows, and our own moderation decisions.

What Civitai says (workflows, steps, jobs, blobs, a job's scan results) is mirrored
keyed by Civitai's ids (opaque strings), with the raw JSON kept beside the parsed
columns, so a re-sync updates rows in place and never duplicates them. What we
decide (review decisions, claims, reveal logs) lives only here and is never erased:
a decision is superseded by a newer one, not edited or deleted.

The media safety rule (never fetch or render media of a CSAM-flagged, blocked or
unavailable job; blur mature media until a logged reveal) is ``Blob.media_policy``;
pages and the media endpoint only ask it.
"""

from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass
from functools import reduce

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from civitrack.media import is_renderable_media_url
from orchestration import scan as scanlib
from orchestration.errors import DecisionRefused

# Orchestration's NsfwLevel, ranked so lists can sort by it ("na" and unknown rank 0).
NSFW_RANK = {"pg": 1, "pg13": 2, "r": 3, "x": 4, "xxx": 5}
MATURE_RANK = NSFW_RANK["r"]
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "expired", "canceled"})


def nsfw_rank(level: str | None) -> int:
    """Rank of an Orchestration NSFW level for sorting; unknown or ``na`` is 0."""
    return NSFW_RANK.get((level or "").strip().lower(), 0)


class Status(models.TextChoices):
    """Orchestration's WorkflowStatus, shared by workflows, steps and jobs (stored lower-case)."""

    UNASSIGNED = "unassigned", _("Unassigned")
    PREPARING = "preparing", _("Preparing")
    SCHEDULED = "scheduled", _("Scheduled")
    PROCESSING = "processing", _("Processing")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Expired")
    CANCELED = "canceled", _("Canceled")


class NsfwLevel(models.TextChoices):
    PG = "pg", "PG"
    PG13 = "pg13", "PG-13"
    R = "r", "R"
    X = "x", "X"
    XXX = "xxx", "XXX"
    NA = "na", _("N/A")


class Mirrored(models.Model):
    """Columns every mirrored record has: upstream JSON as received and when we stored it."""

    raw = models.JSONField(
        _("raw"), default=dict, blank=True, help_text=_("The API's JSON, as received")
    )
    # Not indexed here: every index is written by every synced row (docs/scale.md, sync),
    # and only the workflows' time is read (``Workflow.synced_at``).
    synced_at = models.DateTimeField(_("synced at"), default=timezone.now)

    class Meta:
        abstract = True


# --- workflows and steps ---------------------------------------------------------------


class WorkflowQuerySet(models.QuerySet):
    def with_flags(self) -> WorkflowQuerySet:
        """Annotate ``has_flagged_job`` (see ``Job.objects.flagged``) with one subquery.

        A scalar subquery (``COALESCE((SELECT true … LIMIT 1), false)``), not
        ``EXISTS``: PostgreSQL may hash an ``EXISTS`` and, planning for every workflow,
        does, so each page built a hash of every flagged job joined to every job
        (36 ms of a 38 ms page at 100k workflows, issue 17). A scalar subquery is never
        hashed; it runs once for each row shown, after the LIMIT, on the jobs' workflow
        index. Same value: true exactly when a flagged job exists. Filter with
        ``having_flagged_job``, not on this annotation (in a WHERE it would run per row).
        """
        first_flagged = (
            Job.objects.flagged()
            .filter(workflow=OuterRef("pk"))
            .order_by()
            .values(hit=Value(True))[:1]
        )
        return self.annotate(
            has_flagged_job=Coalesce(
                Subquery(first_flagged, output_field=models.BooleanField()), Value(False)
            )
        )

    def having_flagged_job(self, flagged: bool = True) -> WorkflowQuerySet:
        """Workflows with (or without) a flagged job: a semi-join (anti-join) on the jobs."""
        exists = Exists(Job.objects.flagged().filter(workflow=OuterRef("pk")))
        return self.filter(exists if flagged else ~exists)

    def with_tag(self, tag: str) -> WorkflowQuerySet:
        """Workflows carrying exactly this tag (tags are stored as ``|a|b|`` for this lookup)."""
        return self.filter(tag_index__contains=f"|{tag}|")


class Workflow(Mirrored):
    """One Orchestration workflow (``GET /v2/consumer/workflows/{id}``)."""

    # Unique through Meta.constraints, not ``unique=True``: on PostgreSQL the field
    # option adds a second (varchar_pattern_ops) index for LIKE 'x%' that no query
    # uses and every synced row writes. The same holds for Job's and Blob's ids.
    civitai_id = models.CharField(_("workflow id"), max_length=200)
    # Filtered through ``wf_status_created_idx``, whose first column it is.
    status = models.CharField(_("status"), max_length=32, choices=Status.choices)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    # "|tag1|tag2|": exact-tag filtering that works the same on SQLite and PostgreSQL.
    tag_index = models.TextField(_("tag index"), default="", blank=True, editable=False)
    prompt = models.TextField(
        _("prompt"), default="", blank=True, help_text=_("First prompt found in the steps")
    )
    nsfw_level = models.CharField(
        _("nsfw level"), max_length=16, choices=NsfwLevel.choices, default="", blank=True
    )
    cost_total = models.IntegerField(_("cost total"), null=True, blank=True)
    created_at = models.DateTimeField(
        _("created at"), null=True, blank=True, help_text=_("createdAt from the API")
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    # The dashboard's "workflows synced" is the newest of these (an index's last entry).
    synced_at = models.DateTimeField(_("synced at"), default=timezone.now, db_index=True)

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="wf_created_idx"),
            # The staff list's order (``-created_at`` NULLS LAST, ``-id``) is served by
            # ``wf_created_nulls_last_idx``, created by migration orchestration 0006.
            models.Index(fields=["status", "-created_at"], name="wf_status_created_idx"),
        ]
        constraints = [models.UniqueConstraint(fields=["civitai_id"], name="wf_civitai_id_unique")]

    def __str__(self) -> str:
        return self.civitai_id

    @property
    def duration(self) -> dt.timedelta | None:
        if self.started_at and self.completed_at:
            return self.completed_at - self.started_at
        return None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


class Step(Mirrored):
    """One step of a workflow; steps have no id upstream, so (workflow, name) is the key."""

    # Found by ``step_workflow_name_unique``, whose first column it is: no index of its own.
    workflow = models.ForeignKey(
        Workflow,
        on_delete=models.CASCADE,
        related_name="steps",
        verbose_name=_("workflow"),
        db_index=False,
    )
    name = models.CharField(_("name"), max_length=200)
    position = models.PositiveIntegerField(_("position"), default=0)
    step_type = models.CharField(_("type"), max_length=64, help_text="$type")
    status = models.CharField(_("status"), max_length=32, choices=Status.choices)
    priority = models.CharField(_("priority"), max_length=16, default="", blank=True)
    prompt = models.TextField(_("prompt"), default="", blank=True)
    negative_prompt = models.TextField(_("negative prompt"), default="", blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["workflow", "position", "id"]
        # The admin's type filter lists its values from this index (civitrack/listing.py);
        # a Meta index, unlike ``db_index=True``, adds no LIKE index beside it.
        indexes = [models.Index(fields=["step_type"], name="step_type_idx")]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "name"], name="step_workflow_name_unique")
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id}/{self.name} ({self.step_type})"

    # Fields of the newer step shape (docs/orchestration-cli.md, "Compared with the
    # published API"), read from the stored JSON: only pages show them.
    @property
    def has_jobs_list(self) -> bool:
        """True for the older shape (``jobs[]``); False when job ids come from the blobs."""
        return isinstance((self.raw or {}).get("jobs"), list)

    @property
    def queue_position(self) -> dict:
        value = (self.raw or {}).get("queuePosition")
        return value if isinstance(value, dict) else {}

    @property
    def preparation(self) -> list[dict]:
        value = (self.raw or {}).get("preparation")
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    @property
    def warnings(self) -> list[dict]:
        value = (self.raw or {}).get("warnings")
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# --- jobs, scan results, blobs ---------------------------------------------------------


# Who may claim, decide, reveal and export (``Job.Meta.permissions``).
REVIEW_PERMISSION = "orchestration.review_job"


class ReviewStatus(models.TextChoices):
    """Where a job stands in review; mirrors its current (latest) decision."""

    PENDING = "pending", _("Needs review")
    CLEARED = "cleared", _("Cleared")
    CONFIRMED_VIOLATION = "confirmed_violation", _("Confirmed violation")
    ESCALATED = "escalated", _("Escalated")


class MediaWithheld(Exception):
    """The media of this blob must never be fetched or shown; the message says why."""


class ClaimTaken(Exception):
    """Another reviewer holds a live claim on this job."""

    def __init__(self, job: Job, holder: str):
        self.job = job
        self.holder = holder
        super().__init__(
            gettext("Job %(job)s is claimed by %(holder)s")
            % {"job": job.civitai_id, "holder": holder}
        )


class JobQuerySet(models.QuerySet):
    def flagged(self) -> JobQuerySet:
        """Jobs whose scan crossed a line: CSAM score at threshold, blocked, or a prompt flag."""
        return self.filter(
            Q(scan__csam_score_max__gte=settings.MODERATION_CSAM_THRESHOLD)
            | Q(scan__csam_score_unparsed=True)
            | Q(scan__is_blocked=True)
            | Q(scan__prompt_flagged=True)
        )

    def needing_review(self) -> JobQuerySet:
        """Jobs with a scan result and no final decision (never decided, or escalated)."""
        return self.filter(
            scan__isnull=False,
            review_status__in=[ReviewStatus.PENDING, ReviewStatus.ESCALATED],
        )

    # The review queue's order, declared once for the sort (``riskiest_first``) and for
    # the place of a job in it (``ahead_of``): each key descending, NULLs last where the
    # column allows them; ``id`` last makes the order total.
    RISK_ORDER: tuple[tuple[str, bool], ...] = (
        ("scan__csam_score_max", True),
        ("scan__is_blocked", False),
        ("scan__nsfw_rank", False),
        ("created_at", True),
        ("id", False),
    )

    def riskiest_first(self) -> JobQuerySet:
        """Highest CSAM score first, then blocked, then NSFW level, newest first within ties."""
        return self.order_by(
            *(
                F(key).desc(nulls_last=True) if nulls else F(key).desc()
                for key, nulls in self.RISK_ORDER
            )
        )

    def ahead_of(self, key: dict) -> JobQuerySet:
        """The jobs that ``riskiest_first`` sorts strictly before a job whose values of
        ``RISK_ORDER``'s keys are ``key`` (``risk_key``)."""
        return self.filter(reduce(operator.or_, self.ahead_conditions(key)))

    @classmethod
    def ahead_conditions(cls, key: dict) -> list[Q]:
        """The order's comparison with ``key`` spelt out, one condition per key of
        ``RISK_ORDER``: equal to ``key`` on the keys before it, sorted before it on this
        one. A job is ahead of ``key`` when it meets one of them, and it meets at most
        one, so their counts add up (``review_flow.queue_position``).

        ``key``'s values are literals, so each condition is a range of
        ``scan_risk_order_idx`` (the last ones within a tie of its columns). A NULL
        sorts after every value: a job whose value is NULL has every non-NULL row ahead
        of it and ties with the NULL ones.
        """
        conditions = []
        tied = Q()
        for name, nulls_last in cls.RISK_ORDER:
            value = key[name]
            if value is None:
                if not nulls_last:
                    raise ValueError(f"{name} has no place for NULL in the queue's order")
                after_it, same = Q(**{f"{name}__isnull": False}), Q(**{f"{name}__isnull": True})
            else:
                after_it, same = Q(**{f"{name}__gt": value}), Q(**{name: value})
            conditions.append(tied & after_it)
            tied &= same
        return conditions

    @classmethod
    def risk_key(cls, job: Job) -> dict | None:
        """``job``'s values of ``RISK_ORDER``'s keys as loaded, or None without a scan."""
        scan = job.scan_or_none
        if scan is None:
            return None
        return {
            name: getattr(scan if name.startswith("scan__") else job, name.removeprefix("scan__"))
            for name, _nulls in cls.RISK_ORDER
        }

    def for_list(self) -> JobQuerySet:
        return self.select_related("scan", "workflow", "step", "claimed_by")


class Job(Mirrored):
    """A job of a step (``WorkflowStepJob`` / v1 ``JobStatus``), keyed by its GUID.

    Claim and review columns are ours: ``claimed_by``/``claimed_at`` (one reviewer at
    a time, see ``claim``) and ``review_status`` (the current decision's value, kept in
    step by ``decide`` so the queue can filter without a subquery).
    """

    civitai_id = models.CharField(_("job id"), max_length=200)
    # Found by ``job_workflow_step_idx``, whose first column it is: no index of its own.
    workflow = models.ForeignKey(
        Workflow,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        verbose_name=_("workflow"),
        db_index=False,
    )
    step = models.ForeignKey(
        Step,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
        verbose_name=_("step"),
    )
    status = models.CharField(
        _("status"), max_length=32, choices=Status.choices, default="", blank=True
    )
    job_type = models.CharField(_("job type"), max_length=100, default="", blank=True)
    cost = models.FloatField(_("cost"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), null=True, blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    review_status = models.CharField(
        _("review status"),
        max_length=32,
        choices=ReviewStatus.choices,
        default=ReviewStatus.PENDING,
    )
    # Indexed by ``job_claimed_by_idx`` for the claimed jobs only (synced jobs have none).
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claimed_jobs",
        verbose_name=_("claimed by"),
        db_index=False,
    )
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at", "-id"]
        permissions = [("review_job", "Can review jobs: claim, decide, reveal media, export")]
        indexes = [
            models.Index(fields=["review_status", "claimed_at"], name="job_review_idx"),
            models.Index(fields=["workflow", "step"], name="job_workflow_step_idx"),
            # The admin list's order (Meta.ordering), read from one index (issue 17).
            models.Index(fields=["-created_at", "-id"], name="job_created_idx"),
            # The ids of the jobs waiting for a decision (``needing_review``'s status
            # condition), so the queue's counts probe a flagged scan's job or merge
            # with the scans without reading job rows (issue 17): reading them made
            # PostgreSQL hash-join every pending job, 10-14 ms per count at 100k jobs.
            models.Index(
                fields=["id"],
                # Two equalities, not IN: PostgreSQL prints an IN list back in a form
                # that re-creates differently (seed_scale rebuilds indexes from it).
                condition=Q(review_status=ReviewStatus.PENDING)
                | Q(review_status=ReviewStatus.ESCALATED),
                name="job_waiting_idx",
            ),
            # A user's claims (and deleting a user, SET NULL) probe this; an equality on
            # claimed_by implies the condition. The unclaimed jobs, every synced one among
            # them, are not in it.
            models.Index(
                fields=["claimed_by"],
                condition=Q(claimed_by__isnull=False),
                name="job_claimed_by_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["civitai_id"], name="job_civitai_id_unique"),
            models.CheckConstraint(
                condition=Q(review_status__in=ReviewStatus.values), name="job_review_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(claimed_by__isnull=True) | Q(claimed_at__isnull=False),
                name="job_claim_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.civitai_id

    # -- claims ---------------------------------------------------------------------

    @staticmethod
    def claim_ttl() -> dt.timedelta:
        return dt.timedelta(minutes=settings.MODERATION_CLAIM_MINUTES)

    @classmethod
    def claim_ttl_cutoff(cls) -> dt.datetime:
        """Claims taken at or before this moment have lapsed."""
        return timezone.now() - cls.claim_ttl()

    def claim_is_live(self, now: dt.datetime | None = None) -> bool:
        now = now or timezone.now()
        return bool(
            self.claimed_by_id and self.claimed_at and self.claimed_at > now - self.claim_ttl()
        )

    def claim(self, user) -> None:
        """Claim this job for ``user`` or raise ``ClaimTaken``.

        One conditional UPDATE (free, expired, or already ours), so two reviewers
        racing for the same job cannot both win whatever the database.
        """
        now = timezone.now()
        won = (
            Job.objects.filter(pk=self.pk)
            .filter(
                Q(claimed_by__isnull=True)
                | Q(claimed_at__lte=now - self.claim_ttl())
                | Q(claimed_by=user)
            )
            .update(claimed_by=user, claimed_at=now)
        )
        if not won:
            self.refresh_from_db(fields=["claimed_by", "claimed_at"])
            holder = self.claimed_by.get_username() if self.claimed_by else "someone else"
            raise ClaimTaken(self, holder)
        self.claimed_by, self.claimed_at = user, now

    def release(self, user) -> bool:
        """Give up ``user``'s claim; returns whether there was one to release."""
        released = Job.objects.filter(pk=self.pk, claimed_by=user).update(
            claimed_by=None, claimed_at=None
        )
        if released:
            self.claimed_by, self.claimed_at = None, None
        return bool(released)

    # -- decisions --------------------------------------------------------------------

    def decide(self, user, decision: str, note: str = "") -> ReviewDecision:
        return ReviewDecision.decide(self, user, decision, note)

    def current_decision(self) -> ReviewDecision | None:
        return self.decisions.filter(superseded_by__isnull=True).first()

    @property
    def scan_or_none(self) -> ScanResult | None:
        try:
            return self.scan
        except ScanResult.DoesNotExist:
            return None

    @property
    def review_label(self) -> str:
        """Where the job stands in review, as pages say it.

        A job without a scan is not in the queue (``needing_review`` needs one), so it
        is "not scanned yet" rather than "needs review" until its scan is fetched.
        """
        if self.review_status == ReviewStatus.PENDING and self.scan_or_none is None:
            return gettext("Not scanned yet (not in the review queue)")
        return self.get_review_status_display()


class ScanState(models.TextChoices):
    """Whether a job's scan could be read."""

    READ = "read", _("Read from the job")
    # The v1 jobs API answered 404 for the job id a v2 blob named: nothing to read, and
    # the media behind it stays withheld (fail closed).
    UNKNOWN = "unknown", _("Unknown: the v1 jobs API has no record of the job")


class ScanResult(models.Model):
    """The moderation scan of one job, parsed from the v1 job's ``lastEvent.context``.

    Numbers are parsed at sync time (scores may arrive as strings or percentages) so
    the queue can sort on them; the raw v1 JSON is kept for the reviewer.
    """

    State = ScanState

    job = models.OneToOneField(
        Job, on_delete=models.CASCADE, primary_key=True, related_name="scan", verbose_name=_("job")
    )
    state = models.CharField(
        _("state"), max_length=16, choices=ScanState.choices, default=ScanState.READ
    )
    csam_scores = models.JSONField(
        _("csam scores"), default=list, blank=True, help_text=_("hive_csam_score per blob")
    )
    csam_score_max = models.FloatField(_("csam score max"), null=True, blank=True)
    csam_score_unparsed = models.BooleanField(
        _("csam score unparsed"),
        default=False,
        help_text=_("A CSAM score was present but unreadable: treated as flagged"),
    )
    vlm_summary = models.TextField(_("vlm summary"), default="", blank=True)
    blocked_reason = models.CharField(_("blocked reason"), max_length=200, default="", blank=True)
    is_blocked = models.BooleanField(_("is blocked"), default=False)
    nsfw_level = models.CharField(_("nsfw level"), max_length=16, default="", blank=True)
    nsfw_rank = models.PositiveSmallIntegerField(_("nsfw rank"), default=0)
    prompt_sexual = models.BooleanField(_("prompt sexual"), null=True)
    prompt_young = models.BooleanField(_("prompt young"), null=True)
    prompt_cr = models.BooleanField(_("prompt cr"), null=True)
    prompt_scan = models.BooleanField(_("prompt scan"), null=True)
    prompt_flagged = models.BooleanField(
        _("prompt flagged"), default=False, help_text=_("Any prompt flag set")
    )
    prompt = models.TextField(_("prompt"), default="", blank=True)
    negative_prompt = models.TextField(_("negative prompt"), default="", blank=True)
    event_type = models.CharField(_("event type"), max_length=32, default="", blank=True)
    context = models.JSONField(
        _("context"), default=dict, blank=True, help_text=_("lastEvent.context as received")
    )
    raw = models.JSONField(
        _("raw"), default=dict, blank=True, help_text=_("The v1 job JSON, as received")
    )
    fetched_at = models.DateTimeField(_("fetched at"), default=timezone.now)

    class Meta:
        verbose_name = _("scan result")
        verbose_name_plural = _("scan results")
        indexes = [
            # The review queue's order (``JobQuerySet.riskiest_first``, NULLS LAST) is
            # served by ``scan_risk_order_idx``, created per database by migration
            # orchestration 0006 (SQLite has no NULLS LAST in an index; issue 17).
            # The dashboard counts each flag (a few per cent of the scans) from its own
            # small index rather than by reading every scan (issue 17).
            models.Index(fields=["job"], condition=Q(is_blocked=True), name="scan_blocked_idx"),
            models.Index(
                fields=["job"], condition=Q(prompt_flagged=True), name="scan_prompt_flagged_idx"
            ),
            models.Index(
                fields=["job"], condition=Q(csam_score_unparsed=True), name="scan_unparsed_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=ScanState.values), name="scan_state_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Scan of {self.job_id}"

    @property
    def is_unknown(self) -> bool:
        return self.state == self.State.UNKNOWN

    @property
    def last_event(self) -> dict:
        value = (self.raw or {}).get("lastEvent")
        return value if isinstance(value, dict) else {}

    @property
    def worker_id(self) -> str:
        return str(self.last_event.get("workerId") or "")

    @property
    def job_duration(self) -> str:
        """``lastEvent.jobDuration`` as sent: a .NET TimeSpan such as ``00:00:12.8150000``."""
        return str(self.last_event.get("jobDuration") or "")

    # The attributes orchestration.scan reads, so its rule is the only CSAM rule.
    @property
    def csam_scores_list(self) -> list[float]:
        return [float(s) for s in self.csam_scores or []]

    @property
    def max_csam_score(self) -> float | None:
        return self.csam_score_max

    @property
    def csam_flagged(self) -> bool:
        return scanlib.is_csam_flagged(_ScanView(self))

    @property
    def prompt_flags(self) -> list[str]:
        names = ("sexual", "young", "cr", "scan")
        return [n for n in names if getattr(self, f"prompt_{n}")]


@dataclass(frozen=True)
class _ScanView:
    """Adapts a stored ScanResult to the attributes ``orchestration.scan`` reads."""

    scan: ScanResult

    @property
    def csam_scores(self) -> list[float]:
        return self.scan.csam_scores_list

    @property
    def csam_score_unparsed(self) -> bool:
        return self.scan.csam_score_unparsed

    @property
    def max_csam_score(self) -> float | None:
        return self.scan.csam_score_max

    @property
    def blocked_reason(self) -> str | None:
        return self.scan.blocked_reason or None


@dataclass(frozen=True)
class MediaPolicy:
    """What a page may do with one blob's media.

    ``withheld``: never fetched or rendered (no URL in the page); ``reason`` says why.
    ``needs_reveal``: mature or unrated; rendered only after a logged reveal.
    """

    withheld: bool
    needs_reveal: bool
    reason: str

    @property
    def show(self) -> bool:
        return not self.withheld and not self.needs_reveal


class Blob(Mirrored):
    """A step output (image, video, ...), keyed by its storage id (e.g. ``<hex>.jpeg``)."""

    class Kind(models.TextChoices):
        IMAGE = "image", _("Image")
        VIDEO = "video", _("Video")
        AUDIO = "audio", _("Audio")
        MODEL3D = "model3d", _("3D model")
        OTHER = "other", _("Other")

    civitai_id = models.CharField(_("blob id"), max_length=300)
    workflow = models.ForeignKey(
        Workflow,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="blobs",
        verbose_name=_("workflow"),
    )
    step = models.ForeignKey(
        Step,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="blobs",
        verbose_name=_("step"),
    )
    job = models.ForeignKey(
        Job,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="blobs",
        verbose_name=_("job"),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices, default=Kind.OTHER)
    available = models.BooleanField(_("available"), default=False)
    url = models.TextField(_("url"), default="", blank=True, help_text=_("Signed URL; expires"))
    url_expires_at = models.DateTimeField(_("url expires at"), null=True, blank=True)
    preview_url = models.TextField(_("preview url"), default="", blank=True)
    nsfw_level = models.CharField(_("nsfw level"), max_length=16, default="", blank=True)
    blocked_reason = models.CharField(_("blocked reason"), max_length=200, default="", blank=True)
    width = models.PositiveIntegerField(_("width"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True)
    csam_score = models.FloatField(
        _("csam score"), null=True, blank=True, help_text=_("From the job's scan")
    )
    # What the v1 job's ``result`` says about this blob (set by a scan fetch only, so a
    # workflow re-sync cannot undo it): it may know better that a blob is gone or blocked.
    result_available = models.BooleanField(_("result available"), null=True, blank=True)
    result_blocked_reason = models.CharField(
        _("result blocked reason"), max_length=200, default="", blank=True
    )
    sha256 = models.CharField(  # noqa: DJ001 - NULL means unknown; "" would collide in lookups
        _("sha256"),
        max_length=64,
        null=True,
        blank=True,
        help_text=_("Content hash, when known"),
    )

    class Meta:
        verbose_name = _("blob")
        verbose_name_plural = _("blobs")
        ordering = ["workflow", "step", "position", "id"]
        indexes = [
            # the admin's NSFW filter lists its values from this index (civitrack/listing.py)
            models.Index(fields=["nsfw_level"], name="blob_nsfw_level_idx"),
            # Lookups by content hash and the hashing task's unhashed blobs (IS NULL).
            models.Index(fields=["sha256"], name="blob_sha256_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["civitai_id"], name="blob_civitai_id_unique"),
            models.CheckConstraint(
                condition=Q(sha256__isnull=True) | Q(sha256__regex=r"^[0-9a-f]{64}$"),
                name="blob_sha256_hex64",
            ),
        ]

    def __str__(self) -> str:
        return self.civitai_id

    def media_policy(
        self, scan: ScanResult | None = None, decision: str | None = None
    ) -> MediaPolicy:
        """Decide whether this blob's media may be fetched, and whether it needs a reveal.

        ``scan`` is the job's scan (pass it when the caller already has it, to save a
        query); ``decision`` the job's review status. Withheld wins over everything:
        a CSAM score at the threshold (job or blob), blocked, unavailable, a confirmed
        violation, or no http(s) URL.

        This is the one place that fails closed on the scan: media is shown only when
        a readable CSAM score exists for it. No job (a workflow output without
        ``jobId``), no scan, a scan without a CSAM score (recorded as unknown, e.g.
        when the v1 job lookup 404s) and an unreadable score are all withheld like an
        unscanned blob, because each may still be CSAM.
        """
        threshold = settings.MODERATION_CSAM_THRESHOLD
        if scan is None and self.job_id is not None:
            scan = self.job.scan_or_none
        if decision is None and self.job_id is not None:
            decision = self.job.review_status
        if self.csam_score is not None and self.csam_score >= threshold:
            return MediaPolicy(
                True, False, gettext("Withheld: possible CSAM (this image's scan score)")
            )
        if scan is not None and scan.is_unknown:
            return MediaPolicy(
                True,
                False,
                gettext("Withheld: scan unknown (the v1 jobs API has no record of the job)"),
            )
        refuse, why = scanlib.blob_must_not_be_fetched(
            _BlobView(self), _ScanView(scan) if scan else None
        )
        if refuse:
            return MediaPolicy(True, False, gettext("Withheld: %(why)s") % {"why": why})
        if self.job_id is None:
            return MediaPolicy(
                True, False, gettext("Withheld: no job is known for this output, so it has no scan")
            )
        if scan is None:
            return MediaPolicy(
                True, False, gettext("Withheld until scanned: refresh the job to fetch its scan")
            )
        if not scan.csam_scores_list and scan.csam_score_max is None:
            return MediaPolicy(
                True, False, gettext("Withheld: the job's scan has no CSAM score (scan unknown)")
            )
        if scan.is_blocked:
            return MediaPolicy(True, False, gettext("Withheld: blocked by the job's scan"))
        if decision == ReviewStatus.CONFIRMED_VIOLATION:
            return MediaPolicy(True, False, gettext("Withheld: confirmed violation"))
        if not is_renderable_media_url(self.url):
            return MediaPolicy(True, False, gettext("Withheld: no http(s) media URL"))
        level = max(nsfw_rank(self.nsfw_level), scan.nsfw_rank)
        if level >= MATURE_RANK:
            return MediaPolicy(False, True, gettext("Mature content: click to reveal (logged)"))
        if level == 0:
            return MediaPolicy(False, True, gettext("Not rated: click to reveal (logged)"))
        return MediaPolicy(False, False, "")

    @property
    def is_video(self) -> bool:
        return self.kind == self.Kind.VIDEO


@dataclass(frozen=True)
class _BlobView:
    blob: Blob

    @property
    def available(self) -> bool:
        return self.blob.available and self.blob.result_available is not False

    @property
    def blocked_reason(self) -> str | None:
        return self.blob.blocked_reason or self.blob.result_blocked_reason or None


def blobs_for_asset(asset) -> models.QuerySet[Blob]:
    """Mirrored blobs whose content hash equals a tracking Asset's sha256sum (may be empty)."""
    if not getattr(asset, "sha256sum", None):
        return Blob.objects.none()
    return Blob.objects.filter(sha256=asset.sha256sum.lower()).select_related("workflow", "job")


# --- our review records ----------------------------------------------------------------


class AppendOnlyQuerySet(models.QuerySet):
    def delete(self):
        raise PermissionError(f"{self.model.__name__} records are never deleted")


class ReviewDecision(models.Model):
    """One reviewer's decision on a job. Never edited or deleted; a newer one supersedes it.

    The chain is linear: each decision supersedes at most one earlier decision and is
    superseded at most once (unique ``supersedes``), and a job has one first decision
    (partial unique index), so two concurrent decisions cannot fork the history.
    """

    class Decision(models.TextChoices):
        CLEARED = "cleared", _("Cleared")
        CONFIRMED_VIOLATION = "confirmed_violation", _("Confirmed violation")
        ESCALATED = "escalated", _("Escalated")

    job = models.ForeignKey(
        Job, on_delete=models.PROTECT, related_name="decisions", verbose_name=_("job")
    )
    decision = models.CharField(_("decision"), max_length=32, choices=Decision.choices)
    note = models.TextField(_("note"), blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="review_decisions",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now, db_index=True)
    supersedes = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
        verbose_name=_("supersedes"),
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("review decision")
        verbose_name_plural = _("review decisions")
        ordering = ["-decided_at", "-id"]
        get_latest_by = ["decided_at", "id"]
        indexes = [models.Index(fields=["job", "-decided_at"], name="decision_job_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(decision__in=["cleared", "confirmed_violation", "escalated"]),
                name="decision_valid",
            ),
            models.UniqueConstraint(
                fields=["job"],
                condition=Q(supersedes__isnull=True),
                name="decision_one_first_per_job",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} on {self.job_id} by {self.decided_by_id}"

    def delete(self, *args, **kwargs):
        raise PermissionError("Review decisions are never deleted; record a new one instead")

    @classmethod
    def decide(cls, job: Job, user, decision: str, note: str = "") -> ReviewDecision:
        """Record ``user``'s decision on ``job``, superseding the current one; release the claim.

        Refuses an unknown decision, a missing note for anything but "cleared", and a
        job another reviewer holds a live claim on. Atomic: the job row is locked so
        the new decision always supersedes the true latest one.
        """
        if decision not in cls.Decision.values:
            raise DecisionRefused(
                'decision must be "cleared", "confirmed_violation" or "escalated"'
            )
        note = (note or "").strip()
        if decision != cls.Decision.CLEARED and not note:
            raise DecisionRefused(gettext("A note is required for a violation or an escalation"))
        with transaction.atomic():
            locked = Job.objects.select_for_update().get(pk=job.pk)
            if locked.claim_is_live() and locked.claimed_by_id != user.pk:
                raise ClaimTaken(locked, locked.claimed_by.get_username())
            current = locked.decisions.filter(superseded_by__isnull=True).first()
            new = cls.objects.create(
                job=locked, decision=decision, note=note, decided_by=user, supersedes=current
            )
            Job.objects.filter(pk=job.pk).update(
                review_status=decision, claimed_by=None, claimed_at=None
            )
        job.review_status, job.claimed_by, job.claimed_at = decision, None, None
        return new


class RevealLog(models.Model):
    """Who revealed which blurred media, and when. Append-only."""

    blob = models.ForeignKey(
        Blob, on_delete=models.PROTECT, related_name="reveals", verbose_name=_("blob")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="media_reveals",
        verbose_name=_("user"),
    )
    revealed_at = models.DateTimeField(_("revealed at"), default=timezone.now, db_index=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("reveal log")
        verbose_name_plural = _("reveal logs")
        ordering = ["-revealed_at", "-id"]
        indexes = [
            models.Index(fields=["user", "blob", "-revealed_at"], name="reveal_user_blob_idx")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} revealed {self.blob_id} at {self.revealed_at:%Y-%m-%d %H:%M}"

    def delete(self, *args, **kwargs):
        raise PermissionError("Reveal logs are never deleted")

    @classmethod
    def reveal(cls, user, blob: Blob) -> RevealLog:
        """Log that ``user`` reveals ``blob``; refuses media that must never be shown."""
        policy = blob.media_policy()
        if policy.withheld:
            raise MediaWithheld(policy.reason)
        return cls.objects.create(user=user, blob=blob)

    @classmethod
    def recent_blob_ids(cls, user, blob_ids, minutes: int | None = None) -> set[int]:
        """Blobs ``user`` revealed within the reveal window (so a reload keeps them shown).

        A reveal is honoured only while ``user`` still holds the review permission: it is
        checked here, on every page and every media request, so a reviewer removed from
        the reviewers group loses access at once rather than when the window ends.
        """
        if not (user.is_active and user.has_perm(REVIEW_PERMISSION)):
            return set()
        minutes = settings.MODERATION_REVEAL_MINUTES if minutes is None else minutes
        since = timezone.now() - dt.timedelta(minutes=minutes)
        return set(
            cls.objects.filter(user=user, blob_id__in=list(blob_ids), revealed_at__gte=since)
            .values_list("blob_id", flat=True)
            .distinct()
        )
