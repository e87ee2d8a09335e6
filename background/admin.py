"""Task runs and schedule slots in the admin: read-only history with progress."""

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from background.models import ScheduleSlot, TaskRun


@admin.register(TaskRun)
class TaskRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "status",
        "progress",
        "attempts",
        "enqueued_by",
        "origin",
        "queued_at",
        "started_at",
        "finished_at",
        "summary_short",
    )
    list_filter = ("status", "kind", "origin")
    list_select_related = ("enqueued_by",)
    search_fields = ("id", "kind", "summary", "error", "engine_id")
    date_hierarchy = "queued_at"
    readonly_fields = [f.name for f in TaskRun._meta.fields] + ["progress"]
    fieldsets = (
        (None, {"fields": ("kind", "status", "progress", "summary", "error", "item_errors")}),
        (
            _("When and who"),
            {
                "fields": (
                    "enqueued_by",
                    "origin",
                    "queued_at",
                    "started_at",
                    "finished_at",
                    "attempts",
                    "engine_id",
                )
            },
        ),
        (_("Input and output"), {"fields": ("arguments", "result")}),
    )

    @admin.display(description=_("progress"))
    def progress(self, run: TaskRun) -> str:
        if run.progress_total is None:
            return str(run.progress_done) if run.progress_done else "—"
        return format_html(
            '<progress max="{}" value="{}"></progress> {} / {}',
            run.progress_total or 1,
            run.progress_done,
            run.progress_done,
            run.progress_total,
        )

    @admin.display(description=_("result"))
    def summary_short(self, run: TaskRun) -> str:
        text = run.summary or run.error.split("\n", 1)[0]
        return text[:120]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ScheduleSlot)
class ScheduleSlotAdmin(admin.ModelAdmin):
    list_display = ("kind", "slot_start", "run", "created_at")
    list_filter = ("kind",)
    list_select_related = ("run",)
    raw_id_fields = ("run",)
    readonly_fields = ("kind", "slot_start", "run", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
