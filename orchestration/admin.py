"""Admin for the Orchestration mirror (read-only: the API is the source) and our decisions.

Review decisions and reveal logs are an audit trail: they can be read here but not
added, changed or deleted (decisions are recorded on the job page, which enforces
claims and supersession). Raw JSON is shown with URLs hidden, because it carries the
signed media URLs of withheld blobs.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from civitrack.listing import ScaledAdminMixin
from orchestration.media import redact_urls
from orchestration.models import Blob, Job, RevealLog, ReviewDecision, ScanResult, Step, Workflow
from workspace.exports import ExportMixin


class ReadOnlyMirrorAdmin(ScaledAdminMixin, ExportMixin, admin.ModelAdmin):
    """Mirrored rows change only through a sync; staff may look, and delete stale rows."""

    exclude = ("raw",)
    list_defer = ("raw",)
    # Exports leave out what the pages hide too: signed media URLs and the raw API JSON
    # (which carries them).
    export_exclude = ("raw", "context", "url", "preview_url")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Raw JSON (URLs hidden)"))
    def raw_json(self, obj):
        return format_html("<pre>{}</pre>", redact_urls(obj.raw))


class StepInline(admin.TabularInline):
    model = Step
    fields = ("position", "name", "step_type", "status", "prompt")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Workflow)
class WorkflowAdmin(ReadOnlyMirrorAdmin):
    list_display = ("civitai_id", "created_at", "status", "tags", "cost_total", "page_link")
    # No date_hierarchy: its year list is a DISTINCT over every row (civitrack/listing.py);
    # the created-at filter offers the same slices without reading the table.
    list_filter = ("status", "nsfw_level", "created_at")
    search_fields = ("civitai_id", "tag_index", "prompt")
    readonly_fields = (
        "civitai_id",
        "status",
        "tags",
        "prompt",
        "nsfw_level",
        "cost_total",
        "created_at",
        "started_at",
        "completed_at",
        "synced_at",
        "raw_json",
    )
    exclude = ("raw", "tag_index")
    inlines = [StepInline]

    @admin.display(description=_("Page"))
    def page_link(self, obj):
        url = reverse("orchestration:workflow_detail", args=[obj.civitai_id])
        return format_html('<a href="{}">{}</a>', url, _("open"))


@admin.register(Step)
class StepAdmin(ReadOnlyMirrorAdmin):
    list_display = ("workflow", "name", "step_type", "status", "started_at")
    list_filter = ("step_type", "status")
    # Meta.ordering sorts by the workflow's own order, a join over every step; the
    # workflow key keeps steps grouped, newest synced first, from the key's index.
    ordering = ("-workflow_id", "position", "id")
    list_select_related = ("workflow",)
    list_defer = ("raw", "workflow__raw")
    search_fields = ("workflow__civitai_id", "prompt")
    raw_id_fields = ("workflow",)
    readonly_fields = (
        "workflow",
        "name",
        "position",
        "step_type",
        "status",
        "priority",
        "prompt",
        "negative_prompt",
        "started_at",
        "completed_at",
        "synced_at",
        "raw_json",
    )


class ScanInline(admin.StackedInline):
    model = ScanResult
    exclude = ("raw", "context")
    readonly_fields = (
        "state",
        "csam_scores",
        "csam_score_max",
        "csam_score_unparsed",
        "vlm_summary",
        "blocked_reason",
        "is_blocked",
        "nsfw_level",
        "nsfw_rank",
        "prompt_sexual",
        "prompt_young",
        "prompt_cr",
        "prompt_scan",
        "prompt_flagged",
        "prompt",
        "negative_prompt",
        "event_type",
        "fetched_at",
    )
    can_delete = False


@admin.register(Job)
class JobAdmin(ReadOnlyMirrorAdmin):
    list_display = (
        "civitai_id",
        "workflow",
        "status",
        "review_status",
        "csam_max",
        "claimed_by",
        "page_link",
    )
    list_filter = (
        "review_status",
        "status",
        "scan__state",
        "scan__is_blocked",
        "scan__prompt_flagged",
    )
    list_select_related = ("workflow", "scan", "claimed_by")
    list_defer = ("raw", "workflow__raw", "scan__raw", "scan__context")
    search_fields = ("civitai_id", "workflow__civitai_id")
    readonly_fields = (
        "civitai_id",
        "workflow",
        "step",
        "status",
        "job_type",
        "cost",
        "created_at",
        "started_at",
        "completed_at",
        "review_status",
        "claimed_by",
        "claimed_at",
        "synced_at",
        "raw_json",
    )
    inlines = [ScanInline]

    def has_delete_permission(self, request, obj=None):
        return False  # decisions point at jobs and are never erased

    @admin.display(description=_("CSAM max"), ordering="scan__csam_score_max")
    def csam_max(self, obj):
        scan = obj.scan_or_none
        return None if scan is None else scan.csam_score_max

    @admin.display(description=_("Page"))
    def page_link(self, obj):
        url = reverse("orchestration:job_detail", args=[obj.civitai_id])
        return format_html('<a href="{}">{}</a>', url, _("open"))


@admin.register(Blob)
class BlobAdmin(ReadOnlyMirrorAdmin):
    list_display = ("civitai_id", "kind", "available", "nsfw_level", "blocked_reason", "workflow")
    list_filter = ("kind", "available", "nsfw_level")
    ordering = ("-workflow_id", "step_id", "position", "id")  # as StepAdmin: no join to sort
    list_select_related = ("workflow",)
    list_defer = ("raw", "workflow__raw")
    search_fields = ("civitai_id", "sha256", "workflow__civitai_id", "job__civitai_id")
    # No URL fields: media is reached only through the pages, which apply the safety rule.
    readonly_fields = (
        "civitai_id",
        "workflow",
        "step",
        "job",
        "kind",
        "available",
        "nsfw_level",
        "blocked_reason",
        "width",
        "height",
        "csam_score",
        "sha256",
        "url_expires_at",
        "synced_at",
        "raw_json",
    )
    exclude = ("raw", "url", "preview_url")

    def has_delete_permission(self, request, obj=None):
        return False  # reveal logs point at blobs and are kept


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(ScaledAdminMixin, ExportMixin, admin.ModelAdmin):
    list_display = ("job", "decision", "decided_by", "decided_at", "supersedes")
    list_filter = ("decision", "decided_at")
    list_select_related = ("job", "decided_by", "supersedes")
    search_fields = ("job__civitai_id", "note", "decided_by__username")
    readonly_fields = ("job", "decision", "note", "decided_by", "decided_at", "supersedes")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RevealLog)
class RevealLogAdmin(ScaledAdminMixin, admin.ModelAdmin):
    # The export admins' template extends this one; here it is the whole template.
    change_list_template = "admin/scaled_change_list.html"
    list_display = ("blob", "user", "revealed_at")
    list_filter = ("revealed_at",)
    list_select_related = ("blob", "user")
    search_fields = ("blob__civitai_id", "user__username")
    readonly_fields = ("blob", "user", "revealed_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
