"""django-filter FilterSets for the workflows list and the review queue."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from civitrack.listing import InSubquery
from orchestration.models import (
    NSFW_RANK,
    Job,
    ReviewStatus,
    Status,
    Step,
    Workflow,
)

STEP_TYPES = [
    "textToImage",
    "imageGen",
    "videoGen",
    "comfy",
    "customComfy",
    "convertImage",
    "imageUpscaler",
    "videoEnhancement",
    "videoUpscaler",
    "videoInterpolation",
    "videoFrameExtraction",
]

_date = forms.DateInput(attrs={"type": "date"})


def _end_of_day(value: dt.date) -> dt.datetime:
    """A date-only "to" bound means the whole day (docs/contract.md, "Orchestration command line"), in UTC."""
    return dt.datetime.combine(value, dt.time.max, tzinfo=dt.UTC)


def _start_of_day(value: dt.date) -> dt.datetime:
    return dt.datetime.combine(value, dt.time.min, tzinfo=dt.UTC)


class WorkflowFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("Search id, tag or prompt"))
    status = django_filters.ChoiceFilter(choices=Status.choices)
    tag = django_filters.CharFilter(method="filter_tag", label=_("Tag (exact)"))
    created_from = django_filters.DateFilter(
        method="filter_from", label=_("Created from"), widget=_date
    )
    created_to = django_filters.DateFilter(method="filter_to", label=_("Created to"), widget=_date)
    step_type = django_filters.ChoiceFilter(
        method="filter_step_type", label=_("Step type"), choices=[(t, t) for t in STEP_TYPES]
    )
    flagged = django_filters.BooleanFilter(
        method="filter_flagged",
        label=_("Has flagged job"),
        widget=forms.Select(choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))]),
    )

    class Meta:
        model = Workflow
        fields: list[str] = []

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        # The steps' prompts as an id array, not a join: the OR stays on the workflow table
        # (trigram indexes, migration 0005_scale_indexes) and needs no DISTINCT.
        steps = Step.objects.filter(prompt__icontains=value).order_by().values("workflow_id")
        return queryset.filter(
            Q(civitai_id__icontains=value)
            | Q(tag_index__icontains=value)
            | Q(prompt__icontains=value)
            | Q(InSubquery(F("pk"), steps))
        )

    def filter_tag(self, queryset, name, value):
        return queryset.with_tag(value.strip()) if value.strip() else queryset

    def filter_from(self, queryset, name, value):
        return queryset.filter(created_at__gte=_start_of_day(value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(created_at__lte=_end_of_day(value))

    def filter_step_type(self, queryset, name, value):
        return queryset.filter(
            Exists(Step.objects.filter(workflow=OuterRef("pk"), step_type=value))
        )

    def filter_flagged(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.having_flagged_job(value)


class ReviewQueueFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        method="filter_state",
        label=_("State"),
        empty_label=_("Needs decision (pending + escalated)"),
        choices=[
            (ReviewStatus.PENDING, _("Pending only")),
            (ReviewStatus.ESCALATED, _("Escalated only")),
        ],
    )
    # Scores are fractions (0.5 is 50 %): out-of-range or non-numeric values are refused
    # with the field's message instead of being ignored (issue 14 item 2).
    min_csam = django_filters.NumberFilter(
        field_name="scan__csam_score_max",
        lookup_expr="gte",
        label=_("CSAM score ≥"),
        min_value=0,
        max_value=1,
    )
    max_csam = django_filters.NumberFilter(
        field_name="scan__csam_score_max",
        lookup_expr="lt",
        label=_("CSAM score <"),
        min_value=0,
        max_value=1,
    )
    blocked = django_filters.BooleanFilter(
        field_name="scan__is_blocked",
        label=_("Blocked"),
        widget=forms.Select(choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))]),
    )
    min_nsfw = django_filters.ChoiceFilter(
        method="filter_min_nsfw",
        label=_("NSFW level ≥"),
        choices=[(k, k) for k in NSFW_RANK],
    )
    prompt_flagged = django_filters.BooleanFilter(
        field_name="scan__prompt_flagged",
        label=_("Prompt flagged"),
        widget=forms.Select(choices=[("", _("Any")), ("true", _("Yes")), ("false", _("No"))]),
    )
    claim = django_filters.ChoiceFilter(
        method="filter_claim",
        label=_("Claim"),
        choices=[("mine", _("Claimed by me")), ("unclaimed", _("Not claimed by anyone"))],
    )

    class Meta:
        model = Job
        fields: list[str] = []

    def filter_state(self, queryset, name, value):
        return queryset.filter(review_status=value)

    def filter_min_nsfw(self, queryset, name, value):
        return queryset.filter(scan__nsfw_rank__gte=NSFW_RANK[value])

    def filter_claim(self, queryset, name, value):
        live_since = Job.claim_ttl_cutoff()
        if value == "mine":
            return queryset.filter(claimed_by=self.request.user, claimed_at__gt=live_since)
        return queryset.filter(Q(claimed_by__isnull=True) | Q(claimed_at__lte=live_since))
