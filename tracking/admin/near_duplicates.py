"""The near-duplicate pairs page: two similar assets side by side, and staff's verdict.

Perceptual hashes (docs/near-duplicates.md) find assets that look alike although their
bytes differ. Whether two of them are one work (a re-encoded copy) or two works that
happen to look alike is a person's call: this page shows the pairs within distance
``k``, closest first, and records "same work" or "not a duplicate" as a
``NearDuplicateDecision`` (who, when, at what distance); a decided pair is not shown
again. Previews follow the asset admin's rules (``media_preview``). The page costs a
fixed number of queries whatever its size (``tracking.near_duplicates``).

Access: staff holding ``tracking.change_asset``; the verdict itself goes through the
ownership rule of both assets (``services.decide_near_duplicate``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.apps import apps as django_apps
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods
from simple_history.admin import SimpleHistoryAdmin

from tracking import near_duplicates, services
from tracking.admin.records import admin_link, media_preview
from tracking.errors import ToolError
from tracking.models import NearDuplicateDecision, NearDuplicateVerdict

PAGE_SIZE = 20


class PairFilterForm(forms.Form):
    k = forms.IntegerField(
        label=_("maximum distance"),
        min_value=0,
        max_value=near_duplicates.MAX_DISTANCE,
        required=False,
        help_text=_("Differing bits of the 64-bit pHash, 0 (identical) to %(max)s")
        % {"max": near_duplicates.MAX_DISTANCE},
    )
    page = forms.IntegerField(min_value=1, required=False)


class DecisionForm(forms.Form):
    low = forms.IntegerField(min_value=1)
    high = forms.IntegerField(min_value=1)
    verdict = forms.ChoiceField(choices=NearDuplicateVerdict.choices)
    distance = forms.IntegerField(min_value=0, max_value=64, required=False)


def _page_url(k: int, page: int) -> str:
    base = reverse("admin:tracking_asset_near_duplicates")
    return f"{base}?{urlencode({'k': k, 'page': page})}"


@login_required
@permission_required("tracking.change_asset", raise_exception=True)
@require_http_methods(["GET", "POST"])
def near_duplicates_view(request):
    """GET: a page of undecided pairs. POST: record a verdict, then back to the same page."""
    if not request.user.is_staff:
        raise PermissionDenied
    filters = PairFilterForm(request.GET or None)
    k, page = near_duplicates.DEFAULT_MAX_DISTANCE, 1
    if filters.is_valid():
        k = filters.cleaned_data["k"] if filters.cleaned_data["k"] is not None else k
        page = filters.cleaned_data["page"] or 1

    if request.method == "POST":
        form = DecisionForm(request.POST)
        if not form.is_valid():
            messages.error(request, gettext("The decision was not understood; nothing recorded."))
        else:
            data = form.cleaned_data
            try:
                services.decide_near_duplicate(
                    user=request.user,
                    asset_id=data["low"],
                    other_asset_id=data["high"],
                    verdict=data["verdict"],
                    distance=data["distance"],
                )
            except ToolError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    gettext("Assets #%(low)s and #%(high)s: %(verdict)s.")
                    % {
                        "low": data["low"],
                        "high": data["high"],
                        "verdict": NearDuplicateVerdict(data["verdict"]).label,
                    },
                )
        return HttpResponseRedirect(_page_url(k, page))

    result = near_duplicates.undecided_pairs(
        max_distance=k, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    rows = [
        {
            "pair": pair,
            "low_preview": media_preview(pair.low, size=320),
            "high_preview": media_preview(pair.high, size=320),
            "low_link": admin_link(pair.low, f"#{pair.low.pk}"),
            "high_link": admin_link(pair.high, f"#{pair.high.pk}"),
        }
        for pair in result.pairs
    ]
    context = {
        **admin.site.each_context(request),
        "title": _("Near-duplicate pairs"),
        "tracking_app_name": django_apps.get_app_config("tracking").verbose_name,
        "asset_changelist_url": reverse("admin:tracking_asset_changelist"),
        "filters": filters if filters.is_bound else PairFilterForm(initial={"k": k}),
        "rows": rows,
        "k": k,
        "page": page,
        "previous_url": _page_url(k, page - 1) if page > 1 else None,
        "next_url": _page_url(k, page + 1) if result.has_more else None,
        "verdicts": NearDuplicateVerdict,
    }
    return render(request, "admin/tracking/asset/near_duplicates.html", context)


@admin.register(NearDuplicateDecision)
class NearDuplicateDecisionAdmin(SimpleHistoryAdmin):
    """The verdicts given on the pairs page, with who gave them and when.

    Read-only here: a verdict is given (or changed) on the pairs page, where both
    assets are seen side by side; deleting one puts its pair back on that page.
    """

    list_display = ["id", "low", "high", "verdict", "distance", "decided_by", "decided_at"]
    list_select_related = ["low", "high", "decided_by"]
    list_filter = ["verdict", "decided_at"]
    search_fields = ["=low__id", "=high__id"]
    raw_id_fields = ["low", "high"]
    date_hierarchy = "decided_at"
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
