"""Engagement over time: one asset's or post's reactions, or several compared on one chart.

The numbers are ``AssetStatsSnapshot`` rows (a post's are its assets' counts summed per
sync). Each chart is a table first — always in the page, the answer when scripts are
off — plus the same figures as JSON (``json_script``, never inline script) that
``static/workspace/engagement-chart.js`` draws with the vendored Chart.js
(``static/vendor/chartjs/``). One query reads every snapshot a chart shows, so a page
costs the same number of queries for 3 snapshots or 3,000.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from tracking.models import Asset, AssetStatsSnapshot, Post

COUNT_FIELDS = (
    ("like_count", _("Likes")),
    ("heart_count", _("Hearts")),
    ("laugh_count", _("Laughs")),
    ("cry_count", _("Cries")),
    ("dislike_count", _("Dislikes")),
    ("comment_count", _("Comments")),
)
# What a comparison can plot, one line per record: the reactions (likes, hearts,
# laughs, cries — Civitai's own total) or any single count.
METRICS = (("reactions", _("Reactions")), *COUNT_FIELDS)
# The newest snapshots a chart reads; older ones are left out (the page says so).
MAX_POINTS = 500
MAX_COMPARED = 12


@dataclass(frozen=True)
class StatsPoint:
    """Counts at one moment (a snapshot, or a post's snapshots summed for one sync)."""

    captured_at: datetime
    like_count: int = 0
    heart_count: int = 0
    laugh_count: int = 0
    cry_count: int = 0
    dislike_count: int = 0
    comment_count: int = 0

    @property
    def reactions(self) -> int:
        return self.like_count + self.heart_count + self.laugh_count + self.cry_count

    def value(self, metric: str) -> int:
        return getattr(self, metric)


@dataclass
class Subject:
    """One asset or post on a chart, with its points oldest first."""

    label: str
    url: str | None
    points: list[StatsPoint] = field(default_factory=list)


def _ms(value: datetime) -> int:
    """A moment as milliseconds since the epoch: what the chart's time axis plots."""
    return int(value.timestamp() * 1000)


def _chart_data(series: Sequence[tuple[str, Sequence[tuple[datetime, int]]]], title: str) -> dict:
    return {
        "title": title,
        "series": [
            {"label": str(label), "points": [[_ms(when), value] for when, value in points]}
            for label, points in series
        ],
    }


def render_chart(
    subjects: Sequence[Subject],
    *,
    chart_id: str,
    title: str,
    metric: str | None = None,
    empty: str | Callable[[], str] = "",
    truncated: bool = False,
) -> SafeString:
    """The chart's figure: the table of every point, and the JSON the script draws.

    With one subject and no ``metric`` there is one line per reaction type; otherwise
    one line per subject of ``metric``. ``empty`` (or what it returns, when called only
    then) is said instead when there are no points.
    """
    if not any(s.points for s in subjects):
        text = empty() if callable(empty) else empty
        return render_to_string("workspace/_engagement_chart.html", {"empty": text})
    if metric is None and len(subjects) == 1:
        points = subjects[0].points
        series = [(name, [(p.captured_at, p.value(f)) for p in points]) for f, name in COUNT_FIELDS]
    else:
        metric = metric or "reactions"
        series = [(s.label, [(p.captured_at, p.value(metric)) for p in s.points]) for s in subjects]
    rows = [(s, p) for s in subjects for p in reversed(s.points)]  # newest first per subject
    return render_to_string(
        "workspace/_engagement_chart.html",
        {
            "chart_id": chart_id,
            "data_id": f"{chart_id}-data",
            "title": title,
            "data": _chart_data(series, title),
            "subjects": subjects,
            "compare": len(subjects) > 1,
            "rows": rows,
            "count_fields": COUNT_FIELDS,
            "truncated": truncated,
            "max_points": MAX_POINTS,
        },
    )


def _points(rows: Iterable[Any]) -> list[StatsPoint]:
    fields = ("captured_at", *(f for f, _n in COUNT_FIELDS))
    return sorted(
        (StatsPoint(**{f: _get(row, f) for f in fields}) for row in rows),
        key=lambda p: p.captured_at,
    )


def _get(row: Any, name: str):
    return row[name] if isinstance(row, dict) else getattr(row, name)


def asset_subjects(assets: Sequence[Asset]) -> tuple[list[Subject], bool]:
    """Each asset's newest snapshots (up to ``MAX_POINTS`` in all), in one query."""
    rows = list(
        AssetStatsSnapshot.objects.filter(asset__in=[a.pk for a in assets])
        .order_by("-captured_at", "-id")
        .values("asset_id", "captured_at", *(f for f, _n in COUNT_FIELDS))[: MAX_POINTS + 1]
    )
    truncated = len(rows) > MAX_POINTS
    by_asset: dict[int, list] = {}
    for row in rows[:MAX_POINTS]:
        by_asset.setdefault(row["asset_id"], []).append(row)
    subjects = [
        Subject(
            label=gettext("asset #%(id)s") % {"id": a.pk},
            url=reverse("admin:tracking_asset_change", args=[a.pk]),
            points=_points(by_asset.get(a.pk, [])),
        )
        for a in assets
    ]
    return subjects, truncated


def post_subjects(posts: Sequence[Post]) -> tuple[list[Subject], bool]:
    """Each post's assets' counts summed per sync (up to ``MAX_POINTS`` in all), in one query."""
    rows = list(
        AssetStatsSnapshot.objects.filter(asset__post__in=[p.pk for p in posts])
        .values("asset__post_id", "captured_at")
        .annotate(**{f: Sum(f) for f, _n in COUNT_FIELDS})
        .order_by("-captured_at", "asset__post_id")[: MAX_POINTS + 1]
    )
    truncated = len(rows) > MAX_POINTS
    by_post: dict[int, list] = {}
    for row in rows[:MAX_POINTS]:
        by_post.setdefault(row["asset__post_id"], []).append(row)
    subjects = [
        Subject(
            label=gettext("post %(id)s") % {"id": p.civitai_id},
            url=reverse("admin:tracking_post_change", args=[p.pk]),
            points=_points(by_post.get(p.pk, [])),
        )
        for p in posts
    ]
    return subjects, truncated


# -- the change pages' read-only field ------------------------------------------------


def engagement_for_asset(asset: Asset, *, empty: str | Callable[[], str]) -> SafeString:
    """The Asset page's chart: one line per reaction type, the snapshots below (one query)."""
    subjects, truncated = asset_subjects([asset])
    return render_chart(
        subjects,
        chart_id=f"engagement-asset-{asset.pk}",
        title=gettext("Engagement over time — %(label)s") % {"label": subjects[0].label},
        empty=empty,
        truncated=truncated,
    )


def engagement_for_post(post: Post, *, empty: str) -> SafeString:
    """The Post page's chart: its assets' counts summed per sync (one query)."""
    subjects, truncated = post_subjects([post])
    return render_chart(
        subjects,
        chart_id=f"engagement-post-{post.pk}",
        title=gettext("Engagement over time — %(label)s") % {"label": subjects[0].label},
        empty=empty,
        truncated=truncated,
    )


# -- the comparison page ----------------------------------------------------------------

KINDS = {"asset": (Asset, asset_subjects), "post": (Post, post_subjects)}


class CompareError(ValueError):
    """A comparison address that cannot be drawn; the message says why."""


def parse_compare_query(query) -> tuple[list[int], str]:
    """``?ids=3,5&metric=like_count`` → ([3, 5], "like_count"); refuses what is wrong."""
    raw = ",".join(query.getlist("ids"))
    ids: list[int] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        if not part.isascii() or not part.isdigit() or len(part) > 18:
            raise CompareError(gettext("ids must be record ids like 3,5; got %(v)r") % {"v": part})
        if int(part) not in ids:
            ids.append(int(part))
    if not ids:
        raise CompareError(gettext("ids must list at least one record id, e.g. ?ids=3,5"))
    if len(ids) > MAX_COMPARED:
        raise CompareError(
            gettext("at most %(n)d records can be compared at once") % {"n": MAX_COMPARED}
        )
    metric = query.get("metric") or "reactions"
    if metric not in dict(METRICS):
        raise CompareError(
            gettext("metric must be one of %(names)s; got %(v)r")
            % {"names": ", ".join(dict(METRICS)), "v": metric}
        )
    return ids, metric


def compare_view(request, kind: str):
    """``/admin/tracking/<asset|post>/compare/?ids=…&metric=…``: one line per record.

    Bookmarkable (everything is in the query string); needs the model's view permission.
    """
    model, subjects_of = KINDS[kind]
    opts = model._meta
    if not request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
        raise PermissionDenied
    try:
        ids, metric = parse_compare_query(request.GET)
    except CompareError as exc:
        return render(
            request,
            "admin/workspace/compare_engagement.html",
            {**_page_context(request, model), "error": str(exc)},
            status=400,
        )
    found = model.objects.in_bulk(ids)
    records = [found[i] for i in ids if i in found]
    missing = [i for i in ids if i not in found]
    subjects, truncated = subjects_of(records) if records else ([], False)
    metric_name = dict(METRICS)[metric]
    chart = render_chart(
        subjects,
        chart_id=f"engagement-compare-{kind}",
        title=gettext("%(metric)s over time") % {"metric": metric_name},
        metric=metric,
        empty=gettext("None of these records has engagement stats yet."),
        truncated=truncated,
    )
    return render(
        request,
        "admin/workspace/compare_engagement.html",
        {
            **_page_context(request, model),
            "chart": chart,
            "subjects": subjects,
            "missing": missing,
            "metrics": METRICS,
            "metric": metric,
            "ids": ",".join(str(i) for i in ids),
        },
    )


def _page_context(request, model) -> dict:
    opts = model._meta
    return {
        **admin.site.each_context(request),
        "title": gettext("Compare engagement of %(things)s") % {"things": opts.verbose_name_plural},
        "opts": opts,
        "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
    }


def compare_url(kind: str, ids: Iterable[int], metric: str = "reactions") -> str:
    query = ",".join(str(i) for i in ids)
    url = reverse(f"admin:tracking_{kind}_compare") + f"?ids={query}"
    return url if metric == "reactions" else f"{url}&metric={metric}"


def compare_action(kind: str):
    """The changelist action "Compare engagement": opens the comparison of the selection."""

    @admin.action(description=_("Compare engagement of selected %(verbose_name_plural)s"))
    def compare_engagement(modeladmin, request, queryset):
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[: MAX_COMPARED + 1])
        if len(ids) > MAX_COMPARED:
            modeladmin.message_user(
                request,
                ngettext(
                    "Select at most %(n)d record to compare.",
                    "Select at most %(n)d records to compare.",
                    MAX_COMPARED,
                )
                % {"n": MAX_COMPARED},
                messages.ERROR,
            )
            return None
        return HttpResponseRedirect(compare_url(kind, ids))

    return compare_engagement
