"""Admin pieces of the recording tools: the API token admin and two record actions.

``tracking/admin/records.py`` imports this module (registering ``ApiTokenAdmin``) and attaches
``compute_sha256_action`` to the Asset admin and ``mark_published_action`` to the Post
admin. The actions call the services, so the admin follows the same rules as the
tools, and report per record: one failure does not stop the rest.

Tokens are not created here: the raw value must be shown exactly once, and the admin
could only do that through the messages framework, whose default storage is a cookie.
``python manage.py create_api_token USERNAME`` creates them; the admin lists and
revokes them.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from tracking import services
from tracking.errors import ToolError
from tracking.models import ApiToken, Asset, Post


class RevokedFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("revoked", "Revoked")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.action(description=_("Revoke selected tokens"), permissions=["change"])
def revoke_tokens_action(modeladmin, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
    count = 0
    for token in queryset.filter(revoked_at__isnull=True):
        token.revoke()
        count += 1
    modeladmin.message_user(
        request,
        ngettext("Revoked %d token.", "Revoked %d tokens.", count) % count,
        messages.SUCCESS,
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["hint", "user", "name", "created_at", "last_used_at", "is_revoked"]
    list_select_related = ["user"]
    list_filter = [RevokedFilter]
    search_fields = ["name", "hint", "user__username"]
    readonly_fields = ["user", "hint", "created_at", "last_used_at", "revoked_at"]
    fields = ["user", "name", "hint", "created_at", "last_used_at", "revoked_at"]
    actions = [revoke_tokens_action]
    ordering = ["-created_at"]

    @admin.display(boolean=True, description=_("revoked"), ordering="revoked_at")
    def is_revoked(self, obj: ApiToken) -> bool:
        return obj.revoked_at is not None

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Created with `manage.py create_api_token`, which shows the raw token once.
        return False


def _report(modeladmin, request, done: str | None, failures: list[str], skipped: str | None):
    if done:
        modeladmin.message_user(request, done, messages.SUCCESS)
    if skipped:
        modeladmin.message_user(request, skipped, messages.INFO)
    for failure in failures:
        modeladmin.message_user(request, failure, messages.ERROR)


@admin.action(
    description=_("Compute sha256 of selected assets that have none"), permissions=["change"]
)
def compute_sha256_action(modeladmin, request: HttpRequest, queryset: QuerySet[Asset]) -> None:
    """Hash each selected asset without a sha256 (files under HASH_ALLOWED_ROOTS or URLs)."""
    done, skipped, failures = 0, 0, []
    for pk in queryset.order_by("pk").values_list("pk", flat=True):
        try:
            result = services.fill_asset_sha256(user=request.user, asset_id=pk)
        except ToolError as exc:
            failures.append(f"Asset #{pk}: {exc.message}")
            continue
        if result["changed"]:
            done += 1
        else:
            skipped += 1
    _report(
        modeladmin,
        request,
        ngettext("Computed sha256 of %d asset.", "Computed sha256 of %d assets.", done) % done
        if done
        else None,
        failures,
        ngettext(
            "%d asset already had a sha256 and was skipped.",
            "%d assets already had a sha256 and were skipped.",
            skipped,
        )
        % skipped
        if skipped
        else None,
    )


@admin.action(description=_("Mark selected posts as published"), permissions=["change"])
def mark_published_action(modeladmin, request: HttpRequest, queryset: QuerySet[Post]) -> None:
    """Set status "published" through ``update_post`` (which checks who may change a post)."""
    done, skipped, failures = 0, 0, []
    for pk, status in queryset.order_by("pk").values_list("pk", "status"):
        if status == Post.Status.PUBLISHED:
            skipped += 1
            continue
        try:
            services.update_post(user=request.user, post_id=str(pk), status="published")
        except ToolError as exc:
            failures.append(f"Post #{pk}: {exc.message}")
            continue
        done += 1
    _report(
        modeladmin,
        request,
        ngettext("Marked %d post as published.", "Marked %d posts as published.", done) % done
        if done
        else None,
        failures,
        ngettext("%d post was already published.", "%d posts were already published.", skipped)
        % skipped
        if skipped
        else None,
    )
