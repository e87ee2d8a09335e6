"""Staff pages: mirrored workflows and jobs, lookup, and the moderation review queue.

Views parse the request, call one model method or sync function, and render; the
rules (claims, decisions, which media may be shown) live on the models. Every page
needs a signed-in staff user (anonymous → login page, non-staff → 403); the review
queue, claims, decisions, reveals and the CSV export also need
``orchestration.review_job`` (403 without it).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import Count, F, OuterRef, Prefetch, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from background.models import TaskRun
from background.tasks import enqueue as enqueue_task
from civitrack.http import NotFound, UpstreamError
from civitrack.listing import CappedPaginator
from civitrack.media import is_http_url, is_local_static_url
from civitrack.spreadsheet import neutralize
from orchestration import review_flow, sync
from orchestration.client import HIGHEST_NSFW_LEVEL
from orchestration.errors import DecisionRefused, InvalidArgument, OrchestrationRefusal
from orchestration.filters import ReviewQueueFilter, WorkflowFilter
from orchestration.media import redact_urls
from orchestration.models import (
    Blob,
    ClaimTaken,
    Job,
    MediaPolicy,
    MediaWithheld,
    RevealLog,
    ReviewDecision,
    Step,
    Workflow,
)
from orchestration.trace import assets_for_job

REVIEW_PERM = "orchestration.review_job"
PAGE_SIZE = 25
GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,199}$")
BLOB_RE = re.compile(r"\.[A-Za-z0-9]{2,5}$")


def staff_required(view):
    """Signed-in staff only: anonymous visitors go to the login page, others get 403."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied("Staff only")
        return view(request, *args, **kwargs)

    return wrapped


def reviewer_required(view):
    """Staff with ``orchestration.review_job``; 403 for staff without it."""
    return staff_required(permission_required(REVIEW_PERM, raise_exception=True)(view))


def _render(request, template: str, context: dict, status: int = 200):
    """Render inside the admin's chrome (header, user links, theme)."""
    base = admin.site.each_context(request)
    base["is_nav_sidebar_enabled"] = False
    base["can_review"] = request.user.has_perm(REVIEW_PERM)
    return render(request, template, {**base, **context}, status=status)


def _get_workflow(civitai_id: str) -> Workflow:
    return get_object_or_404(Workflow, civitai_id=civitai_id)


def _get_job(civitai_id: str) -> Job:
    qs = Job.objects.select_related("workflow", "step", "scan", "claimed_by")
    return get_object_or_404(qs, civitai_id=civitai_id)


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# --- media -----------------------------------------------------------------------------


@dataclass
class MediaItem:
    """One blob as a page shows it: its policy, and a media URL only when it may load."""

    blob: Blob
    policy: MediaPolicy
    revealed: bool
    can_reveal: bool
    assets: tuple[tuple[int, str | None], ...] = ()

    @property
    def media_url(self) -> str | None:
        if self.policy.withheld or (self.policy.needs_reveal and not self.revealed):
            return None
        return reverse("orchestration:blob_media", args=[self.blob.civitai_id])

    @property
    def reveal_url(self) -> str:
        return reverse("orchestration:blob_reveal", args=[self.blob.civitai_id])


def media_items(request, blobs) -> list[MediaItem]:
    """Wrap blobs (with ``job__scan`` selected) for templates; one query for reveals."""
    blobs = list(blobs)
    can_review = request.user.has_perm(REVIEW_PERM)
    revealed = RevealLog.recent_blob_ids(request.user, [b.pk for b in blobs]) if blobs else set()
    assets = _assets_by_sha([b.sha256 for b in blobs if b.sha256])
    items = []
    for blob in blobs:
        job = blob.job if blob.job_id else None
        scan = job.scan_or_none if job else None
        policy = blob.media_policy(scan=scan, decision=job.review_status if job else "")
        links = tuple(assets.get(blob.sha256, ())) if blob.sha256 else ()
        items.append(MediaItem(blob, policy, blob.pk in revealed, can_review, links))
    return items


def _assets_by_sha(shas: list[str]) -> dict[str, list[tuple[int, str | None]]]:
    """Tracking assets whose sha256sum equals a blob's content hash, with admin links."""
    if not shas:
        return {}
    from tracking.models import Asset

    found: dict[str, list[tuple[int, str | None]]] = {}
    for pk, sha in Asset.objects.filter(sha256sum__in=set(shas)).values_list("pk", "sha256sum"):
        try:
            url = reverse("admin:tracking_asset_change", args=[pk])
        except NoReverseMatch:  # tracking admin not registered
            url = None
        found.setdefault(sha, []).append((pk, url))
    return found


@never_cache
@require_GET
@staff_required
def blob_media(request, blob_id: str):
    """Redirect to the blob's media, only if the safety rule allows it for this user.

    Withheld media (CSAM-flagged, blocked, unavailable, confirmed violation) is refused
    without any upstream request; mature or unrated media needs a logged reveal first.
    """
    blob = get_object_or_404(Blob.objects.select_related("job__scan"), civitai_id=blob_id)
    policy = blob.media_policy()
    if policy.withheld:
        return HttpResponse(policy.reason, status=403, content_type="text/plain")
    if policy.needs_reveal and blob.pk not in RevealLog.recent_blob_ids(request.user, [blob.pk]):
        return HttpResponse(
            gettext("Reveal this media first (reviewers only; each reveal is logged)"),
            status=403,
            content_type="text/plain",
        )
    if is_local_static_url(blob.url):
        return redirect(blob.url)
    if blob.url_expires_at and blob.url_expires_at <= timezone.now():
        return _fresh_media_redirect(blob)
    if not is_http_url(blob.url):  # media_policy already refuses this; belt and braces
        return HttpResponse(gettext("No http(s) media URL"), status=403, content_type="text/plain")
    return redirect(blob.url)


def _fresh_media_redirect(blob: Blob):
    """The stored signed URL expired: ask the API where the blob lives now (no bytes read).

    A redirect to the API's "blocked" placeholder marks the blob blocked instead.
    """
    try:
        location = sync.get_client().resolve_blob(
            blob.civitai_id,
            nsfw_level=HIGHEST_NSFW_LEVEL,  # the page decides what to show; this only renews
            workflow_id=blob.workflow.civitai_id if blob.workflow_id else None,
        )
    except NotFound:
        return HttpResponse(
            gettext("The blob is gone upstream"), status=410, content_type="text/plain"
        )
    except (UpstreamError, ImproperlyConfigured) as exc:
        return HttpResponse(
            gettext("The signed URL expired and the API could not renew it: %(error)s")
            % {"error": exc},
            status=502,
            content_type="text/plain",
        )
    if location.blocked:
        Blob.objects.filter(pk=blob.pk).update(blocked_reason="blocked upstream")
        return HttpResponse(gettext("Blocked upstream"), status=403, content_type="text/plain")
    if not is_http_url(location.url):
        return HttpResponse(gettext("No http(s) media URL"), status=403, content_type="text/plain")
    return redirect(location.url)


@require_POST
@reviewer_required
def blob_reveal(request, blob_id: str):
    """Log a reveal of blurred media, then show it (JSON for the page script, else redirect)."""
    blob = get_object_or_404(Blob.objects.select_related("job__scan"), civitai_id=blob_id)
    try:
        RevealLog.reveal(request.user, blob)
    except MediaWithheld as exc:
        if "json" in request.headers.get("Accept", ""):
            return JsonResponse({"error": str(exc)}, status=403)
        raise PermissionDenied(str(exc)) from None
    url = reverse("orchestration:blob_media", args=[blob.civitai_id])
    if "json" in request.headers.get("Accept", ""):
        return JsonResponse({"url": url, "kind": blob.kind})
    fallback = (
        reverse("orchestration:job_detail", args=[blob.job.civitai_id])
        if blob.job_id
        else reverse("orchestration:workflow_list")
    )
    return redirect(_safe_next(request, fallback))


# --- workflows -------------------------------------------------------------------------


@require_GET
@staff_required
def workflow_list(request):
    """Mirrored workflows, newest first, filtered and searched; a fixed number of queries."""
    # A correlated count for the 25 rows shown: Count("blobs") joined and grouped every
    # workflow with its blobs before the LIMIT (24 ms of 35 at 10,000 workflows).
    blobs = Blob.objects.filter(workflow=OuterRef("pk")).order_by().values("workflow")
    blob_count = Coalesce(Subquery(blobs.annotate(n=Count("pk")).values("n")), 0)
    base = Workflow.objects.with_flags().annotate(blob_count=blob_count)
    filterset = WorkflowFilter(request.GET, queryset=base, request=request)
    sort = request.GET.get("o") or "-created"
    if sort.lstrip("-") not in WORKFLOW_SORTS:
        sort = "-created"
    field = WORKFLOW_SORTS[sort.lstrip("-")][1]
    order = F(field).desc(nulls_last=True) if sort[0] == "-" else F(field).asc(nulls_first=True)
    qs = filterset.qs.prefetch_related(
        Prefetch("steps", queryset=Step.objects.only("id", "workflow_id", "step_type", "status"))
    ).order_by(order, "-id")
    page = CappedPaginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return _render(
        request,
        "orchestration/workflow_list.html",
        {
            "title": _("Orchestration workflows"),
            "filter": filterset,
            "run": _shown_run(request),
            "page_obj": page,
            "querystring": params.urlencode(),
            "columns": _sort_headers(request, sort),
        },
    )


# Sortable columns of the workflows list: ``?o=key`` ascending, ``?o=-key`` descending.
WORKFLOW_SORTS = {
    "id": (_lazy("Workflow"), "civitai_id"),
    "created": (_lazy("Created"), "created_at"),
    "status": (_lazy("Status"), "status"),
    "blobs": (_lazy("Blobs"), "blob_count"),
    "cost": (_lazy("Cost"), "cost_total"),
}
WORKFLOW_COLUMNS = [
    "id",
    "created",
    "status",
    _lazy("Steps"),
    _lazy("Tags"),
    _lazy("Prompt"),
    "blobs",
    "cost",
    _lazy("Flagged"),
]


def _sort_headers(request, current: str) -> list[dict]:
    """The list's column headers: label, link that sorts by it, and the current state."""
    headers = []
    for column in WORKFLOW_COLUMNS:
        if column not in WORKFLOW_SORTS:
            headers.append({"label": column})
            continue
        params = request.GET.copy()
        params.pop("page", None)
        active = current.lstrip("-") == column
        descending = active and current.startswith("-")
        # First click sorts descending for dates and numbers, ascending for text.
        if active:
            params["o"] = column if descending else f"-{column}"
        else:
            params["o"] = column if column in ("id", "status") else f"-{column}"
        headers.append(
            {
                "label": WORKFLOW_SORTS[column][0],
                "url": "?" + params.urlencode(),
                "sorted": active,
                "descending": descending,
                "aria_sort": ("descending" if descending else "ascending") if active else "",
            }
        )
    return headers


@require_GET
@staff_required
def workflow_detail(request, workflow_id: str):
    workflow = _get_workflow(workflow_id)
    steps = list(workflow.steps.all())
    jobs = list(
        workflow.jobs.select_related("scan", "step", "claimed_by").order_by("step_id", "id")
    )
    blobs = workflow.blobs.select_related("job__scan").order_by("step_id", "position", "id")
    items = media_items(request, blobs)
    by_step: dict[int | None, list[MediaItem]] = {}
    for item in items:
        by_step.setdefault(item.blob.step_id, []).append(item)
    jobs_by_step: dict[int | None, list[Job]] = {}
    for job in jobs:
        jobs_by_step.setdefault(job.step_id, []).append(job)
    step_rows = [(s, jobs_by_step.get(s.pk, []), by_step.get(s.pk, [])) for s in steps]
    return _render(
        request,
        "orchestration/workflow_detail.html",
        {
            "title": gettext("Workflow %(id)s") % {"id": workflow.civitai_id},
            "workflow": workflow,
            "step_rows": step_rows,
            "run": _shown_run(request),
            "orphan_items": by_step.get(None, []),
            "raw_json": redact_urls(workflow.raw),
        },
    )


@require_POST
@staff_required
def workflow_refresh(request, workflow_id: str):
    """Enqueue the refresh; the page then shows its progress (background/_run_progress.html)."""
    _get_workflow(workflow_id)
    run = enqueue_task(
        "refresh_workflow", user=request.user, origin="workflow page", workflow_id=workflow_id
    )
    return _redirect_with_run("orchestration:workflow_detail", workflow_id, run)


def _redirect_with_run(name: str, object_id: str, run):
    return redirect(f"{reverse(name, args=[object_id])}?run={run.pk}")


def _shown_run(request):
    """The task run named by ``?run=`` (enqueued by a button on this page), if any."""
    value = request.GET.get("run", "")
    if not value.isdigit():
        return None
    return TaskRun.objects.filter(pk=int(value)).first()


# --- jobs and review -------------------------------------------------------------------


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_lazy("Decision"),
        choices=ReviewDecision.Decision.choices,
        widget=forms.RadioSelect,
        required=True,
    )
    note = forms.CharField(
        label=_lazy("Note"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        required=False,
        max_length=5000,
        help_text=_lazy("Required for a violation or an escalation."),
    )


@require_GET
@staff_required
def job_detail(request, job_id: str):
    job = _get_job(job_id)
    blobs = job.blobs.select_related("job__scan").order_by("position", "id")
    decisions = job.decisions.select_related("decided_by", "supersedes").order_by(
        "-decided_at", "-id"
    )
    scan = job.scan_or_none
    can_review = request.user.has_perm(REVIEW_PERM)
    # Where the job stands in the queue now; ?pos= (the place it had) once it has left.
    position = review_flow.queue_position(job) if can_review else None
    if position is None:
        position = _queue_position(request)
    return _render(
        request,
        "orchestration/job_detail.html",
        {
            "title": gettext("Job %(id)s") % {"id": job.civitai_id},
            "job": job,
            "scan": scan,
            "items": media_items(request, blobs),
            "decisions": list(decisions),
            "form": DecisionForm() if can_review else None,
            "claim_live": job.claim_is_live(),
            "raw_json": redact_urls(scan.raw) if scan else None,
            "run": _shown_run(request),
            "traced_assets": assets_for_job(job),
            "context_json": redact_urls(scan.context) if scan else None,
            "position": position,
            "next_url": _review_at_url(0 if position is None else position + 1)
            if can_review
            else None,
            "previous_url": _review_at_url(position - 1) if can_review and position else None,
        },
    )


def _queue_position(request) -> int | None:
    """``?pos=N``: where the job stood in the queue when the reviewer opened it."""
    value = request.GET.get("pos", "")
    return int(value) if value.isdigit() and int(value) < 1_000_000 else None


def _review_at_url(position: int) -> str:
    return reverse("orchestration:review_at", args=[position])


@require_POST
@staff_required
def job_refresh(request, job_id: str):
    """Enqueue the refresh of the job and its scan; the page shows its progress."""
    _get_job(job_id)
    run = enqueue_task("refresh_job", user=request.user, origin="job page", job_id=job_id)
    return _redirect_with_run("orchestration:job_detail", job_id, run)


@require_POST
@reviewer_required
def job_claim(request, job_id: str):
    job = _get_job(job_id)
    try:
        job.claim(request.user)
    except ClaimTaken as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, gettext("You claimed job %(id)s") % {"id": job.civitai_id})
    return redirect(_safe_next(request, reverse("orchestration:job_detail", args=[job_id])))


@require_POST
@reviewer_required
def job_release(request, job_id: str):
    job = _get_job(job_id)
    if job.release(request.user):
        messages.success(request, gettext("You released job %(id)s") % {"id": job.civitai_id})
    else:
        messages.warning(request, gettext("You did not hold a claim on this job"))
    return redirect(_safe_next(request, reverse("orchestration:job_detail", args=[job_id])))


@require_POST
@reviewer_required
def job_decide(request, job_id: str):
    """Record a decision; with ``and_next`` land on the next job to review, claimed."""
    job = _get_job(job_id)
    form = DecisionForm(request.POST)
    decided = False
    if form.is_valid():
        try:
            job.decide(request.user, form.cleaned_data["decision"], form.cleaned_data["note"])
        except (DecisionRefused, ClaimTaken) as exc:
            messages.error(request, str(exc))
        else:
            decided = True
            messages.success(
                request, _("Decision recorded for job %(job)s") % {"job": job.civitai_id}
            )
    else:
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
    if decided and request.POST.get("and_next"):
        nxt = review_flow.claim_next(request.user, skip=job)
        if nxt is None:
            messages.info(request, _("Nothing left to review: the queue is empty for you."))
            return redirect("orchestration:review_queue")
        messages.info(request, _("Now job %(job)s, claimed by you.") % {"job": nxt.civitai_id})
        return redirect("orchestration:job_detail", nxt.civitai_id)
    return redirect("orchestration:job_detail", job_id)


@require_GET
@reviewer_required
def review_at(request, position: int):
    """The job at ``position`` of the queue (``j``/``k`` on a job page)."""
    job = review_flow.queue_job_at(position)
    if job is None:
        messages.info(request, _("That is the end of the review queue."))
        return redirect("orchestration:review_queue")
    url = reverse("orchestration:job_detail", args=[job.civitai_id])
    return redirect(f"{url}?pos={position}")


class BulkClearForm(forms.Form):
    below = forms.DecimalField(
        label=_lazy("CSAM score below"),
        min_value=0,
        max_digits=6,
        decimal_places=5,
        help_text=_lazy("Pending jobs under this score, never blocked or flagged, are cleared."),
    )
    note = forms.CharField(required=False, max_length=5000, label=_lazy("Note"))

    def clean_below(self):
        value = self.cleaned_data["below"]
        threshold = Decimal(str(settings.MODERATION_CSAM_THRESHOLD))
        if value > threshold:
            raise forms.ValidationError(
                _("Must not be above the CSAM threshold (%(t)s).") % {"t": threshold}
            )
        return value


@require_http_methods(["GET", "POST"])
@reviewer_required
def review_bulk_clear(request):
    """Bulk-clear low-risk jobs: the first step names the count, the second clears them."""
    form = BulkClearForm(request.POST or request.GET or None)
    if not form.is_valid():
        return _render(
            request,
            "orchestration/review_bulk_clear.html",
            {"title": _("Bulk clear low-risk jobs"), "form": form, "count": None},
            status=400 if form.is_bound else 200,
        )
    below, note = form.cleaned_data["below"], form.cleaned_data["note"]
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        cleared = review_flow.bulk_clear(request.user, below, note)
        messages.success(
            request,
            ngettext(
                "Cleared %(n)d job with a CSAM score below %(below)s.",
                "Cleared %(n)d jobs with a CSAM score below %(below)s.",
                cleared,
            )
            % {"n": cleared, "below": below},
        )
        return redirect("orchestration:review_queue")
    count = review_flow.bulk_clear_candidates(request.user, below).count()
    return _render(
        request,
        "orchestration/review_bulk_clear.html",
        {
            "title": _("Bulk clear low-risk jobs"),
            "form": form,
            "count": count,
            "below": below,
            "note": note,
        },
    )


QUEUE_DEFERRED = (
    "raw",
    "scan__raw",
    "scan__context",
    "scan__vlm_summary",
    "scan__prompt",
    "scan__negative_prompt",
    "workflow__raw",
    "workflow__tags",
    "workflow__tag_index",
    "workflow__prompt",
    "step__raw",
    "step__prompt",
    "step__negative_prompt",
)


@require_GET
@reviewer_required
def review_queue(request):
    """Jobs with a scan and no final decision, riskiest first; a fixed number of queries."""
    base = Job.objects.needing_review().for_list().riskiest_first()
    filterset = ReviewQueueFilter(request.GET, queryset=base, request=request)
    if not filterset.is_valid():
        # A bad value (?min_csam=abc) is said, and nothing is listed: showing the whole
        # queue as if it were filtered would mislead.
        return _render(
            request,
            "orchestration/review_queue.html",
            {"title": _("Review queue"), "filter": filterset, "rows": [], "page_obj": None},
            status=400,
        )
    # The queue shows none of the JSON and long text of the joined rows; carried through
    # the sort of every queued job they made it several times slower (issue 17).
    qs = filterset.qs.defer(*QUEUE_DEFERRED).prefetch_related(
        Prefetch("blobs", queryset=Blob.objects.defer("raw").order_by("position", "id"))
    )
    page = CappedPaginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    jobs = list(page.object_list)
    all_blobs = []
    for job in jobs:
        for blob in job.blobs.all():
            blob.job = job  # the scan is already selected on the job; no query per blob
            all_blobs.append(blob)
    items = media_items(request, all_blobs)
    by_job: dict[int, list[MediaItem]] = {}
    for item in items:
        by_job.setdefault(item.blob.job_id, []).append(item)
    now = timezone.now()
    rows = [(job, by_job.get(job.pk, [])[:3], job.claim_is_live(now)) for job in jobs]
    params = request.GET.copy()
    params.pop("page", None)
    today = timezone.now().date()
    return _render(
        request,
        "orchestration/review_queue.html",
        {
            "title": gettext("Review queue"),
            "filter": filterset,
            "page_obj": page,
            "rows": rows,
            "querystring": params.urlencode(),
            "export_from": (today - dt.timedelta(days=30)).isoformat(),
            "export_to": today.isoformat(),
            "csam_threshold": settings.MODERATION_CSAM_THRESHOLD,
        },
    )


def _parse_date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(
            gettext("%(name)s must be a date like 2026-09-12") % {"name": name}
        ) from None


@require_GET
@reviewer_required
def review_export(request):
    """Every decision (superseded ones too) decided within ``from``..``to`` (dates, UTC)."""
    try:
        start = _parse_date(request.GET.get("from"), "from")
        end = _parse_date(request.GET.get("to"), "to")
    except InvalidArgument as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain")
    if start and end and start > end:
        return HttpResponseBadRequest(
            gettext("from must not be after to"), content_type="text/plain"
        )
    qs = ReviewDecision.objects.select_related("job__workflow", "decided_by").order_by(
        "decided_at", "id"
    )
    qs = qs.prefetch_related(Prefetch("superseded_by"))
    if start:
        qs = qs.filter(decided_at__gte=dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC))
    if end:
        qs = qs.filter(decided_at__lte=dt.datetime.combine(end, dt.time.max, tzinfo=dt.UTC))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"review-decisions-{start or 'start'}-{end or 'now'}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "decision_id",
            "decided_at",
            "job_id",
            "workflow_id",
            "decision",
            "note",
            "decided_by",
            "supersedes_decision_id",
            "current",
        ]
    )
    for d in qs:
        try:
            current = d.superseded_by is None
        except ReviewDecision.DoesNotExist:
            current = True
        row = [
            d.pk,
            d.decided_at.isoformat(),
            d.job.civitai_id,
            d.job.workflow.civitai_id if d.job.workflow_id else "",
            d.decision,
            d.note,
            d.decided_by.get_username(),  # usernames may start with "-", "+" or "@"
            d.supersedes_id or "",
            "yes" if current else "no",
        ]
        writer.writerow([neutralize(cell) for cell in row])
    return response


# --- lookup ----------------------------------------------------------------------------


def classify_id(value: str) -> str | None:
    """``"job"`` (GUID), ``"blob"`` (storage key with an extension), ``"workflow"``, or None."""
    if GUID_RE.match(value):
        return "job"
    if not ID_RE.match(value):
        return None
    if BLOB_RE.search(value):
        return "blob"
    return "workflow"


@require_http_methods(["GET", "POST"])
@staff_required
def lookup(request):
    """Land on the page of a pasted workflow, job or blob id; fetch and store it if new.

    A GET (``/orchestration/lookup/?q=...``, what the toolbar's box sends) can be
    bookmarked or shared; POST is still accepted for older links and scripts.
    """
    value = (request.POST.get("q") or request.GET.get("q") or "").strip()
    back = reverse("orchestration:workflow_list")
    kind = classify_id(value)
    if kind is None:
        messages.error(request, gettext("Paste a workflow id, a job id (GUID) or a blob id"))
        return redirect(back)
    if kind == "blob":
        blob = Blob.objects.select_related("workflow", "job").filter(civitai_id=value).first()
        if blob is None:
            messages.error(
                request,
                gettext(
                    "Blob %(id)s is not in the mirror. Blobs are found through their workflow or "
                    "job: look up that id (or run sync_workflows) first."
                )
                % {"id": value},
            )
            return redirect(back)
        if blob.workflow_id:
            url = reverse("orchestration:workflow_detail", args=[blob.workflow.civitai_id])
            return redirect(f"{url}#blob-{blob.pk}")
        if blob.job_id:
            return redirect("orchestration:job_detail", blob.job.civitai_id)
        return redirect(reverse("admin:orchestration_blob_change", args=[blob.pk]))
    model = Job if kind == "job" else Workflow
    row = model.objects.filter(civitai_id__iexact=value).first()
    try:
        if row is None:
            row = sync.sync_job(value) if kind == "job" else sync.sync_workflow(value)
            messages.info(
                request,
                (
                    gettext("Fetched job %(id)s from the API and stored it")
                    if kind == "job"
                    else gettext("Fetched workflow %(id)s from the API and stored it")
                )
                % {"id": value},
            )
    except NotFound:
        messages.error(
            request,
            (
                gettext("No job %(id)s upstream: it may have expired or been deleted")
                if kind == "job"
                else gettext("No workflow %(id)s upstream: it may have expired or been deleted")
            )
            % {"id": value},
        )
        return redirect(back)
    except (UpstreamError, ImproperlyConfigured, OrchestrationRefusal) as exc:
        messages.error(
            request,
            (
                gettext("Could not fetch job %(id)s from the Orchestration API: %(error)s")
                if kind == "job"
                else gettext(
                    "Could not fetch workflow %(id)s from the Orchestration API: %(error)s"
                )
            )
            % {"id": value, "error": exc},
        )
        return redirect(back)
    name = "orchestration:job_detail" if kind == "job" else "orchestration:workflow_detail"
    return redirect(name, row.civitai_id)
