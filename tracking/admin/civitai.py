"""Admin support for Civitai imports and engagement stats (wired into tracking/admin/records.py).

- ``sync_stats_action`` / ``import_again_action``: Post admin actions that call the
  services and report each post's outcome with ``message_user``.
- ``stats_chart_html``: a small inline SVG line chart of reactions over time plus a
  table of the latest counts. Every value reaches the page through ``format_html``
  (numbers are formatted by us, text is escaped), so a label cannot inject markup.
- ``latest_stats_for_asset`` / ``stats_for_post``: read-only field helpers for the
  Asset and Post change pages (one query each).
- ``import_post_view``: a staff form to import a post by URL, with a dry-run preview.

The admin classes themselves live in tracking/admin/records.py; nothing here registers models.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.apps import apps as django_apps
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from background.tasks import enqueue as enqueue_task
from tracking.civitai_import import import_civitai_post
from tracking.civitai_urls import parse_post_ref
from tracking.errors import ToolError
from tracking.models import AssetStatsSnapshot

COUNT_FIELDS = (
    ("like_count", _("Likes")),
    ("heart_count", _("Hearts")),
    ("laugh_count", _("Laughs")),
    ("cry_count", _("Cries")),
    ("dislike_count", _("Dislikes")),
    ("comment_count", _("Comments")),
)
CHART_POINTS = 60
WIDTH, HEIGHT, PAD = 320, 90, 8


# -- actions -----------------------------------------------------------------------


@admin.action(description=_("Sync Civitai stats of selected posts"), permissions=["change"])
def sync_stats_action(modeladmin, request, queryset) -> None:
    """Enqueue one background run that snapshots the selected posts' engagement counts."""
    pks = list(queryset.order_by("id").values_list("pk", flat=True))
    run = enqueue_task(
        "sync_stats", user=request.user, origin="post admin", post_ids=pks, user_id=request.user.pk
    )
    _report_enqueued(modeladmin, request, [run])


@admin.action(description=_("Import selected posts again from Civitai"), permissions=["change"])
def import_again_action(modeladmin, request, queryset) -> None:
    """Enqueue a re-import (updates in place) of each selected post."""
    runs = [
        enqueue_task(
            "import_post",
            user=request.user,
            origin="post admin",
            post=str(civitai_id),
            user_id=request.user.pk,
        )
        for civitai_id in queryset.order_by("id").values_list("civitai_id", flat=True)
    ]
    _report_enqueued(modeladmin, request, runs)


def _report_enqueued(modeladmin, request, runs) -> None:
    links = format_html_join(
        ", ",
        '<a href="{}">#{}</a>',
        ((reverse("admin:background_taskrun_change", args=[r.pk]), r.pk) for r in runs),
    )
    modeladmin.message_user(
        request,
        format_html(
            "{} {}",
            ngettext(
                "Enqueued %(count)d background run; its page shows the progress:",
                "Enqueued %(count)d background runs; their pages show the progress:",
                len(runs),
            )
            % {"count": len(runs)},
            links,
        ),
        messages.SUCCESS,
    )


# -- stats chart -------------------------------------------------------------------


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


def _when(value: datetime) -> str:
    return localtime(value).strftime("%Y-%m-%d %H:%M")


def stats_chart_html(
    snapshots: Iterable[Any], *, label: str = "", empty: str | None = None
) -> SafeString:
    """An inline SVG line of reactions over time and a table of the latest counts.

    ``snapshots`` are ``AssetStatsSnapshot``s or ``StatsPoint``s in any order; ``empty``
    is what to say when there are none.
    """
    points: Sequence[Any] = sorted(snapshots, key=lambda s: s.captured_at)
    if not points:
        return format_html(
            '<p class="civitai-stats-empty">{}</p>',
            empty or _("No stats yet: run “Sync Civitai stats” on the post."),
        )
    t0 = points[0].captured_at.timestamp()
    span = points[-1].captured_at.timestamp() - t0
    top = max(max(p.reactions for p in points), 1)
    coords = []
    for p in points:
        x = PAD + (WIDTH - 2 * PAD) * ((p.captured_at.timestamp() - t0) / span if span else 0.5)
        y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * p.reactions / top
        coords.append((x, y, p))
    polyline = " ".join(f"{x:.1f},{y:.1f}" for x, y, _p in coords)
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="2.5"><title>{}</title></circle>',
        (
            (
                f"{x:.1f}",
                f"{y:.1f}",
                ngettext(
                    "%(when)s: %(count)s reaction", "%(when)s: %(count)s reactions", p.reactions
                )
                % {"when": _when(p.captured_at), "count": p.reactions},
            )
            for x, y, p in coords
        ),
    )
    title = (
        gettext("Reactions over time — %(label)s") % {"label": label}
        if label
        else gettext("Reactions over time")
    )
    svg = format_html(
        '<svg class="civitai-stats-chart" xmlns="http://www.w3.org/2000/svg" width="{w}" '
        'height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{title}">'
        "<title>{title}</title>"
        '<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{line}"/>'
        '<g fill="currentColor">{dots}</g>'
        '<text x="{pad}" y="{ty}" font-size="10">{top}</text></svg>',
        w=WIDTH,
        h=HEIGHT,
        title=title,
        line=polyline,
        dots=dots,
        pad=PAD,
        ty=PAD + 4,
        top=top,
    )
    latest = points[-1]
    header = format_html_join("", "<th>{}</th>", ((name,) for _f, name in COUNT_FIELDS))
    cells = format_html_join("", "<td>{}</td>", ((getattr(latest, f),) for f, _n in COUNT_FIELDS))
    table = format_html(
        '<table class="civitai-stats-latest"><caption>{}</caption>'
        "<thead><tr>{}<th>{}</th></tr></thead>"
        "<tbody><tr>{}<td>{}</td></tr></tbody></table>",
        ngettext(
            "Latest, %(when)s (%(count)d snapshot)",
            "Latest, %(when)s (%(count)d snapshots)",
            len(points),
        )
        % {"when": _when(latest.captured_at), "count": len(points)},
        header,
        gettext("Reactions"),
        cells,
        latest.reactions,
    )
    return mark_safe(svg + table)  # noqa: S308 - both parts built by format_html


def latest_stats_for_asset(asset) -> SafeString:
    """Read-only field for the Asset page: the asset's recent snapshots (one query)."""
    if asset is None or asset.pk is None:
        return stats_chart_html([])
    recent = list(asset.stats_snapshots.order_by("-captured_at", "-id")[:CHART_POINTS])
    if not recent:
        return stats_chart_html([], empty=_no_stats_reason(asset))
    return stats_chart_html(recent, label=str(asset))


def _no_stats_reason(asset) -> str:
    """Why an asset has no engagement stats, and what (if anything) would get them."""
    if not asset.civitai_id:
        return _(
            "No stats: this asset is not on Civitai (no Civitai image id). Stats are "
            "read from Civitai for published images only."
        )
    if not asset.post_id:
        return _(
            "No stats yet: this asset is in no post. Link it to its Civitai post, then "
            "run “Sync Civitai stats” on that post."
        )
    return _("No stats yet: run “Sync Civitai stats” on post %(post)s.") % {
        "post": asset.post.civitai_id or asset.post_id
    }


def stats_for_post(post) -> SafeString:
    """Read-only field for the Post page: its assets' counts summed per sync (one query)."""
    if post is None or post.pk is None:
        return stats_chart_html([])
    rows = (
        AssetStatsSnapshot.objects.filter(asset__post=post)
        .values("captured_at")
        .annotate(**{field: Sum(field) for field, _name in COUNT_FIELDS})
        .order_by("-captured_at")[:CHART_POINTS]
    )
    return stats_chart_html([StatsPoint(**row) for row in rows], label=str(post))


# -- import form -------------------------------------------------------------------


class ImportPostForm(forms.Form):
    post = forms.CharField(
        label=_("Civitai post URL or id"),
        max_length=500,
        widget=forms.TextInput(
            attrs={"size": 60, "placeholder": "https://civitai.com/posts/23602354"}
        ),
    )


def _admin_url(name: str, *args) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # the model is not registered in this admin
        return None


@login_required
@permission_required("tracking.add_post", raise_exception=True)
def import_post_view(request):
    """Import a Civitai post from the admin: "Preview" is a dry run, "Import" records it."""
    if not request.user.is_staff:
        raise PermissionDenied
    result = run = None
    form = ImportPostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "import":
            # Recording runs in the background; this page polls its progress.
            try:
                parse_post_ref(form.cleaned_data["post"], field="post")
            except ToolError as exc:
                form.add_error("post", exc.message)
            else:
                run = enqueue_task(
                    "import_post",
                    user=request.user,
                    origin="import form",
                    post=form.cleaned_data["post"],
                    user_id=request.user.pk,
                )
        else:
            # The preview writes nothing: it fetches and checks within the outbound
            # deadlines, like the recording tools.
            try:
                result = import_civitai_post(
                    post=form.cleaned_data["post"], dry_run=True, user=request.user
                )
            except ToolError as exc:
                form.add_error("post", exc.message)
            else:
                for asset in result["assets"]:
                    asset["admin_url"] = asset["asset_id"] and _admin_url(
                        "admin:tracking_asset_change", asset["asset_id"]
                    )
                post_id = result["post"]["post_id"]
                result["post"]["admin_url"] = post_id and _admin_url(
                    "admin:tracking_post_change", post_id
                )
    context = {
        **admin.site.each_context(request),
        "title": _("Import a Civitai post"),
        "tracking_app_name": django_apps.get_app_config("tracking").verbose_name,
        "form": form,
        "result": result,
        "run": run,
        "post_changelist_url": _admin_url("admin:tracking_post_changelist"),
    }
    return render(request, "admin/tracking/import_post.html", context)
