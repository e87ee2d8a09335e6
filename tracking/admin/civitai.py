"""Admin support for Civitai imports and engagement stats (wired into tracking/admin/records.py).

- ``sync_stats_action`` / ``import_again_action``: Post admin actions that call the
  services and report each post's outcome with ``message_user``.
- ``latest_stats_for_asset`` / ``stats_for_post``: read-only field helpers for the
  Asset and Post change pages (one query each): the engagement chart and its table
  (workspace/engagement.py), or why there are no stats yet.
- ``import_post_view``: a staff form to import a post by URL, with a dry-run preview.

The admin classes themselves live in tracking/admin/records.py; nothing here registers models.
"""

from __future__ import annotations

from django import forms
from django.apps import apps as django_apps
from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from background.tasks import enqueue as enqueue_task
from tracking.civitai_import import import_civitai_post
from tracking.civitai_urls import parse_post_ref
from tracking.errors import ToolError
from workspace.engagement import engagement_for_asset, engagement_for_post, render_chart

NO_STATS = _("No stats yet: run “Sync Civitai stats” on the post.")


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


# -- engagement ----------------------------------------------------------------------
# The charts themselves are the staff workspace's (workspace/engagement.py); these are
# the read-only fields of the Asset and Post pages, with the reasons stats are missing.


def latest_stats_for_asset(asset) -> SafeString:
    """Read-only field for the Asset page: the asset's snapshots, charted (one query)."""
    if asset is None or asset.pk is None:
        return render_chart([], chart_id="", title="", empty=NO_STATS)
    return engagement_for_asset(asset, empty=lambda: _no_stats_reason(asset))


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
        return render_chart([], chart_id="", title="", empty=NO_STATS)
    return engagement_for_post(post, empty=NO_STATS)


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
