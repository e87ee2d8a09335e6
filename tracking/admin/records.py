"""The admin: civitrack's main screen for prompts, assets and posts.

Every changelist reads a fixed number of queries whatever the page size: related
rows come through ``list_select_related`` and counts through annotations, never
per-row lookups. Media previews render only http(s) URLs (or our own static
files) and are lazy-loaded so a page of 100 videos does not download 100 videos.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ORDER_VAR
from django.db.models import Count, IntegerField, JSONField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import path, reverse
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from civitrack.listing import ScaledAdminMixin
from civitrack.media import is_renderable_media_url
from tracking.admin.civitai import (
    import_again_action,
    import_post_view,
    latest_stats_for_asset,
    stats_for_post,
    sync_stats_action,
)
from tracking.admin.duplicates import DuplicateLinkForm, duplicate_error
from tracking.admin.tools import compute_sha256_action, mark_published_action
from tracking.admin.upload import upload_asset_view
from tracking.errors import InvalidInput
from tracking.models import Asset, AssetInput, AssetStatsSnapshot, Post, Prompt
from tracking.search import as_id, search_assets, search_posts
from workspace.engagement import compare_action, compare_view
from workspace.exports import ExportMixin

# The engagement chart on the Asset and Post pages (workspace/engagement.py).
ENGAGEMENT_MEDIA = forms.Media(
    js=["vendor/chartjs/chart.umd.min.js", "workspace/engagement-chart.js"],
    css={"all": ["workspace/engagement.css"]},
)


def media_preview(asset: Asset, *, size: int = 320) -> str:
    """``<img>``/``<video>`` for an asset, lazy; a short note when it cannot be shown."""
    url = asset.asset_url
    if asset.pk is None:
        # An unsaved asset (the add form shown again after an error): its URL has not
        # been checked yet, so nothing is loaded from it.
        return format_html('<span class="quiet">{}</span>', _("preview once the asset is saved"))
    if not is_renderable_media_url(url):
        return format_html(
            '<span class="quiet">{}</span>',
            gettext("no preview (%(url)s)") % {"url": asset.asset_url[:40]},
        )
    if asset.asset_type == Asset.Type.VIDEO:
        return format_html(
            '<video src="{}" controls muted preload="none" style="max-width:{}px;max-height:{}px">'
            "</video>",
            url,
            size,
            size,
        )
    return format_html(
        '<img src="{}" loading="lazy" alt="{}" style="max-width:{}px;max-height:{}px">',
        url,
        gettext("asset #%(id)s") % {"id": asset.pk},
        size,
        size,
    )


class JSONHistoryHelper(HistoricalRecordContextHelper):
    """History shows JSON fields (``metadata``) as JSON, not as a Python dict's repr."""

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if isinstance(field, JSONField) and value is not None:
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        return super().prepare_delta_change_value(change, value)


class HistoryAdmin(SimpleHistoryAdmin):
    """SimpleHistoryAdmin whose history page renders JSON fields as JSON."""

    def get_historical_record_context_helper(self, request, historical_record):
        return JSONHistoryHelper(self.model, historical_record)


def count_of(model, fk: str):
    """The number of ``model`` rows pointing at each row, as a correlated subquery.

    ``annotate(Count(...))`` would JOIN and GROUP BY the whole related table in every
    query of the changelist (the count, each list filter, the date hierarchy): over a
    second per page at 100k assets. A subquery is evaluated only for the rows shown and
    is dropped from ``count()``.
    """
    related = (
        model.objects.filter(**{fk: OuterRef("pk")})
        .order_by()
        .values(fk)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(related, output_field=IntegerField()), 0)


def admin_link(obj, label: str | None = None) -> str:
    if obj is None:
        return "—"
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label or str(obj))


class HasValueFilter(admin.SimpleListFilter):
    """Yes/No filter on whether a nullable field is set."""

    field_name = ""

    def lookups(self, request, model_admin):
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(**{f"{self.field_name}__isnull": False})
        if self.value() == "no":
            return queryset.filter(**{f"{self.field_name}__isnull": True})
        return queryset


class HasSha256Filter(HasValueFilter):
    title = _("has sha256")
    parameter_name = "has_sha256"
    field_name = "sha256sum"


class HasPostFilter(HasValueFilter):
    title = _("in a post")
    parameter_name = "has_post"
    field_name = "post"


class OnCivitaiFilter(HasValueFilter):
    title = _("on Civitai")
    parameter_name = "on_civitai"
    field_name = "civitai_id"


class AssetInline(admin.TabularInline):
    model = Asset
    fk_name = "post"
    extra = 0
    fields = ["preview", "asset_link", "asset_type", "asset_source", "civitai_link", "sha256sum"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False
    verbose_name_plural = _("Assets in this post")

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("id")

    @admin.display(description=_("preview"))
    def preview(self, obj):
        return media_preview(obj, size=96)

    @admin.display(description=_("asset"))
    def asset_link(self, obj):
        return admin_link(obj, f"#{obj.pk}")

    @admin.display(description=_("Civitai"))
    def civitai_link(self, obj):
        return civitai_anchor(obj.civitai_url, obj.civitai_id)


def civitai_anchor(url: str | None, civitai_id: int | None) -> str:
    if not civitai_id:
        return "—"
    if url and url.startswith("https://"):
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>', url, civitai_id
        )
    return str(civitai_id)


# The fields every Recorded model has, shown last on each change form.
RECORDED_FIELDSET = (
    _("More"),
    {"fields": ["metadata", "created_by", "on_behalf_of", "created_at", "updated_at", "legacy_id"]},
)


class RecordedAdmin(ScaledAdminMixin, ExportMixin, HistoryAdmin):
    """What the Prompt, Post and Asset admins share: a new record is attributed to the
    signed-in user (``Recorded.attribute_to``, as the tools do), and who recorded it and
    for whom cannot be typed over. Their lists cost the same at 10k and 1M rows
    (``ScaledAdminMixin``: capped counts, index-served filters and searches), which is
    also why none has a ``date_hierarchy``: its year list reads every row, and the
    created-at filter offers the same slices for free."""

    engagement_chart = False  # True where the change page shows the engagement chart

    def render_change_form(self, request, context, *args, **kwargs):
        # Only the change pages of posts and assets draw charts: the lists do not load
        # Chart.js.
        if self.engagement_chart:
            context["media"] = context["media"] + ENGAGEMENT_MEDIA
        return super().render_change_form(request, context, *args, **kwargs)

    def compare_urls(self, kind: str) -> list:
        """The "Compare engagement" page of this model (``?ids=…``, bookmarkable)."""
        return [
            path(
                "compare/",
                self.admin_site.admin_view(lambda request: compare_view(request, kind)),
                name=f"tracking_{kind}_compare",
            )
        ]

    def save_model(self, request, obj, form, change):
        if not change and obj.created_by_id is None:
            obj.attribute_to(request.user, obj.on_behalf_of)
        super().save_model(request, obj, form, change)


@admin.register(Prompt)
class PromptAdmin(RecordedAdmin):
    list_display = [
        "id",
        "excerpt",
        "purpose",
        "llm_model_provider",
        "llm_model",
        "generated_count",
        "created_by",
        "created_at",
    ]
    list_display_links = ["id", "excerpt"]
    list_select_related = ["created_by"]

    class Media:
        css = {"all": ["tracking/admin.css"]}

    list_filter = ["purpose", "llm_model_provider", "created_by", "created_at"]
    # Searched by get_search_results: the text by full-text search (migration 0009), the
    # model by its trigram index (0002), the civitai-records id exactly. purpose is a
    # sidebar filter, not searched. (search_fields only shows the search box.)
    search_fields = ["prompt_text", "llm_model", "legacy_id__exact"]
    search_help_text = _(
        'Words in the prompt (all required; "a phrase", -word to exclude, or), a model'
        " name, or a civitai-records id. Best matches first."
    )
    list_per_page = 50
    readonly_fields = [
        "created_at",
        "updated_at",
        "created_by",
        "generated_assets",
        "derived_assets",
        "legacy_id",
    ]
    fieldsets = [
        (None, {"fields": ["prompt_text", "purpose", "llm_model_provider", "llm_model"]}),
        (_("Links"), {"fields": ["generated_assets", "derived_assets"]}),
        RECORDED_FIELDSET,
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_generated=count_of(Asset, "input_prompt"))

    def get_search_results(self, request, queryset, search_term):
        """The prompt search: full text, best matches first (``Prompt.objects.search``),
        or the model name or civitai-records id. A clicked column orders instead of the
        rank. A query with no word to look for is explained in a message, and only the
        model name and id are searched."""
        term = search_term.strip()
        if not term:
            return queryset, False
        also = Q(llm_model__icontains=term)
        if (number := as_id(term)) is not None:
            also |= Q(legacy_id=number)
        try:
            found = queryset.search(term, also=also)
        except InvalidInput as exc:
            # The reason stays in English, as the tools word it (docs/contract.md).
            message = gettext("The text was not searched: %(reason)s") % {"reason": exc.message}
            self.message_user(request, message, messages.WARNING)
            return queryset.filter(also), False
        if request.GET.get(ORDER_VAR):
            found = found.order_by(*queryset.query.order_by)  # the changelist's, as clicked
        return found, False

    @admin.display(description=_("prompt"), ordering="prompt_text")
    def excerpt(self, obj):
        """While searching, the search's snippet with the matches marked (escaped HTML
        from ``Prompt.search_snippet``); otherwise the text's beginning."""
        if getattr(obj, "search_headline", None):
            return obj.search_snippet
        text = " ".join(obj.prompt_text.split())
        return text[:90] + ("…" if len(text) > 90 else "")

    @admin.display(description=_("assets generated"), ordering="_generated")
    def generated_count(self, obj):
        return obj._generated

    @admin.display(description=_("assets generated by this prompt"))
    def generated_assets(self, obj):
        return _asset_links(obj.generated_assets.all())

    @admin.display(description=_("assets this prompt was derived from"))
    def derived_assets(self, obj):
        return _asset_links(obj.derived_from_assets.all())


def _asset_links(assets) -> str:
    assets = list(assets.order_by("id")[:50])
    if not assets:
        return "—"
    return format_html_join(
        ", ",
        '<a href="{}">#{} ({})</a>',
        ((_change_url(a), a.pk, a.get_asset_type_display()) for a in assets),
    )


def _similar_links(asset: Asset) -> str:
    """Links to the recorded near-duplicates of ``asset`` with their distances, or ""."""
    from tracking.services import similar_assets

    found = similar_assets(asset.phash, asset_type=asset.asset_type, exclude=asset.pk)
    return format_html_join(
        ", ",
        '<a href="{}">#{}</a> ({})',
        (
            (
                reverse("admin:tracking_asset_change", args=[s["asset_id"]]),
                s["asset_id"],
                gettext("distance %(distance)s") % {"distance": s["distance"]},
            )
            for s in found
        ),
    )


def _blob_links(asset: Asset) -> str:
    """The Orchestration results with the asset's file: workflow, step, job, prompt, scan."""
    from orchestration.trace import trace_for_sha  # the tracking app must not need it

    rows = trace_for_sha(asset.sha256sum)[:20] if asset.sha256sum else []
    if not rows:
        return "—"

    def scan_text(scan) -> str:
        if scan is None:
            return str(_("not scanned"))
        parts = [
            gettext("CSAM max %(score)s") % {"score": scan["csam_score_max"]}
            if scan["csam_score_max"] is not None
            else ""
        ]
        parts += [str(_("blocked")) if scan["is_blocked"] else "", scan["nsfw_level"] or ""]
        return ", ".join(p for p in parts if p) or str(_("clean"))

    return format_html(
        '<table class="trace"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>'
        "<th>{}</th></tr></thead><tbody>{}</tbody></table>",
        _("Workflow"),
        _("Step"),
        _("Job"),
        _("Prompt"),
        _("Scan"),
        format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("orchestration:workflow_detail", args=[r["workflow"]["workflow_id"]]),
                    r["workflow"]["workflow_id"],
                    f"{r['step']['name']} ({r['step']['step_type']})" if r["step"] else "—",
                    format_html(
                        '<a href="{}">{}</a>',
                        reverse("orchestration:job_detail", args=[r["job"]["job_id"]]),
                        r["job"]["job_id"],
                    )
                    if r["job"]
                    else "—",
                    (r["prompt"] or "—")[:200],
                    scan_text(r["scan"]),
                )
                for r in rows
                if r["workflow"]
            ),
        ),
    )


PROMPT_SHOWN = 4000  # characters of a prompt shown on the asset page
GENERATION_SOURCES = {
    "a1111": _("A1111 parameters in the file"),
    "comfyui": _("ComfyUI graph in the file"),
    "civitai": _("Civitai's generation data"),
}


def _shown(value, limit: int = 300) -> str:
    # Promise: a lazily translated label; anything else a caller stored, as JSON.
    lazy_or_text = isinstance(value, str | Promise)
    text = str(value) if lazy_or_text else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def generation_block(metadata) -> str:
    """``metadata["generation"]`` (``tracking.generation``) as a compact table, escaped.

    The record may have been sent by any caller as plain metadata, so nothing about
    its types is assumed: every value is shown as text, long ones cut.
    """
    gen = metadata.get("generation") if isinstance(metadata, dict) else None
    if not isinstance(gen, dict):
        return "—"

    def value(key: str):
        found = gen.get(key)
        return None if found in (None, "", [], {}) else found

    size = (
        f"{gen.get('width')} \u00d7 {gen.get('height')}"
        if value("width") is not None and value("height") is not None
        else None
    )
    model = value("model")
    if value("model_hash") is not None:
        model = f"{model or '—'} ({_shown(gen['model_hash'], 40)})"
    loras = gen.get("loras") if isinstance(gen.get("loras"), list) else []
    lora_text = ", ".join(
        _shown(lora.get("name"), 100)
        + (f" {_shown(lora['weight'], 20)}" if lora.get("weight") is not None else "")
        for lora in loras[:50]
        if isinstance(lora, dict)
    )
    extra = gen.get("extra") if isinstance(gen.get("extra"), dict) else {}
    source = gen.get("source")
    rows = [
        (_("Read from"), GENERATION_SOURCES.get(source, _shown(source or "—", 40))),
        (_("Prompt"), value("prompt"), PROMPT_SHOWN),
        (_("Negative prompt"), value("negative_prompt"), PROMPT_SHOWN),
        (_("Steps"), value("steps")),
        (_("Sampler"), value("sampler")),
        (_("CFG scale"), value("cfg_scale")),
        (_("Seed"), value("seed")),
        (_("Size"), size),
        (_("Model"), model),
        (_("LoRAs"), lora_text or None),
        *((_shown(key, 60), val) for key, val in list(extra.items())[:40]),
    ]
    return format_html(
        '<table class="generation">{}</table>',
        format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td></tr>",
            ((row[0], _shown(row[1], *row[2:])) for row in rows if row[1] is not None),
        ),
    )


def _change_url(obj) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


class PostForm(DuplicateLinkForm):
    class Meta:
        model = Post
        fields = "__all__"  # the admin fieldsets choose what is shown


@admin.register(Post)
class PostAdmin(RecordedAdmin):
    form = PostForm
    engagement_chart = True
    list_display = [
        "civitai_id",
        "title",
        "status",
        "civitai_account",
        "asset_count",
        "civitai_link",
        "created_by",
        "created_at",
    ]
    list_display_links = ["civitai_id", "title"]
    list_select_related = ["created_by"]
    list_filter = ["status", "civitai_account", "created_by", "created_at"]
    # civitai_id__exact (not "=", i.e. iexact) uses the unique B-tree and is skipped for
    # terms that are not integers; the text columns have trigram indexes (migration 0002).
    search_fields = ["civitai_id__exact", "legacy_id__exact", "civitai_url", "title", "description"]
    list_per_page = 50
    readonly_fields = [
        "created_at",
        "updated_at",
        "created_by",
        "civitai_link",
        "engagement",
        "legacy_id",
    ]
    inlines = [AssetInline]
    actions = [
        mark_published_action,
        sync_stats_action,
        import_again_action,
        compare_action("post"),
    ]
    change_list_template = "admin/tracking/post/change_list.html"
    fieldsets = [
        (
            None,
            {"fields": ["civitai_id", "civitai_url", "civitai_link", "status", "civitai_account"]},
        ),
        (_("Content"), {"fields": ["title", "description"]}),
        (_("Engagement on Civitai"), {"fields": ["engagement"]}),
        RECORDED_FIELDSET,
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_assets=count_of(Asset, "post"))

    def get_search_results(self, request, queryset, search_term):
        if not search_term:
            return queryset, False
        return search_posts(queryset, search_term), False

    @admin.display(description=_("assets"), ordering="_assets")
    def asset_count(self, obj):
        return obj._assets

    @admin.display(description=_("on Civitai"))
    def civitai_link(self, obj):
        return civitai_anchor(obj.civitai_url, obj.civitai_id)

    @admin.display(description=_("reactions over time"))
    def engagement(self, obj):
        return stats_for_post(obj) if obj.pk else "—"

    def get_urls(self):
        import_url = path(
            "import/",
            self.admin_site.admin_view(import_post_view),
            name="tracking_post_import",
        )
        return [import_url, *self.compare_urls("post"), *super().get_urls()]


class AssetForm(DuplicateLinkForm):
    class Meta:
        model = Asset
        fields = "__all__"  # the admin fieldsets choose what is shown
        widgets = {"asset_url": forms.TextInput(attrs={"class": "vURLField", "size": 100})}

    def clean_sha256sum(self):
        """Accept a pasted upper-case hash; it is stored lower-case like every other."""
        value = self.cleaned_data.get("sha256sum")
        return value.strip().lower() if value else None

    def clean(self):
        """A new asset without a sha256 whose URL is recorded already is that asset
        (``create_asset``'s rule for files it cannot hash)."""
        cleaned = super().clean()
        url = cleaned.get("asset_url")
        if self.instance.pk is None and url and not cleaned.get("sha256sum"):
            other = self.other_with("asset_url", url)
            if other is not None:
                self.add_error(
                    "asset_url", duplicate_error(other, str(self.fields["asset_url"].label))
                )
        return cleaned


class AssetInputInline(admin.TabularInline):
    """The assets this one was made from. Saved through ``AssetInput``, whose constraint
    (validated by the form) refuses the asset itself as an input."""

    model = AssetInput
    fk_name = "from_asset"
    autocomplete_fields = ["to_asset"]
    extra = 0
    verbose_name = _("input asset (made from)")
    verbose_name_plural = _("input assets (made from)")


@admin.register(Asset)
class AssetAdmin(RecordedAdmin):
    form = AssetForm
    engagement_chart = True
    actions = [compute_sha256_action, compare_action("asset")]
    change_list_template = "admin/tracking/asset/change_list.html"
    list_display = [
        "id",
        "thumbnail",
        "asset_type",
        "asset_source",
        "post_link",
        "civitai_link",
        "short_sha256",
        "created_by",
        "created_at",
    ]
    list_display_links = ["id", "thumbnail"]
    list_select_related = ["post", "created_by"]
    list_filter = [
        "asset_type",
        "asset_source",
        HasSha256Filter,
        HasPostFilter,
        OnCivitaiFilter,
        "post__status",
        "created_by",
        "created_at",
    ]
    # What the search box matches; get_search_results implements it with index-friendly
    # conditions (see tracking/search.py).
    search_fields = [
        "asset_url",
        "civitai_url",
        "=sha256sum",
        "=civitai_id",
        "=post__civitai_id",
        "=legacy_id",
        "input_prompt__prompt_text",
    ]
    search_help_text = _(
        "URL, Civitai URL or generating prompt text; a sha256 or its first 8+ characters; "
        "a Civitai image or post id, or its page URL; or a civitai-records id."
    )
    list_per_page = 50
    autocomplete_fields = ["post", "input_prompt", "output_prompt"]
    inlines = [AssetInputInline]
    readonly_fields = [
        "preview",
        "links",
        "generation",
        "engagement",
        "created_at",
        "updated_at",
        "created_by",
        "legacy_id",
        "perceptual_hashes",
        "similar",
    ]
    fieldsets = [
        (None, {"fields": ["preview", "asset_url", "asset_type", "asset_source", "sha256sum"]}),
        (_("Civitai"), {"fields": ["civitai_id", "civitai_url", "post"]}),
        (_("Lineage"), {"fields": ["links", "input_prompt", "output_prompt"]}),
        (_("Near-duplicates"), {"fields": ["perceptual_hashes", "similar"]}),
        (_("Generation"), {"fields": ["generation"]}),
        (_("Engagement on Civitai"), {"fields": ["engagement"]}),
        RECORDED_FIELDSET,
    ]

    class Media:
        css = {"all": ["tracking/admin.css"]}

    def get_search_results(self, request, queryset, search_term):
        if not search_term:
            return queryset, False
        return search_assets(queryset, search_term), False

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # The hash identifies the file: it is computed, not typed over.
            fields.append("sha256sum")
        return fields

    @admin.display(description=_("preview"))
    def thumbnail(self, obj):
        return media_preview(obj, size=64)

    def get_urls(self):
        from tracking.admin.near_duplicates import near_duplicates_view

        pairs = path(
            "near-duplicates/",
            self.admin_site.admin_view(near_duplicates_view),
            name="tracking_asset_near_duplicates",
        )
        upload = path(
            "upload/",
            self.admin_site.admin_view(upload_asset_view),
            name="tracking_asset_upload",
        )
        return [pairs, upload, *self.compare_urls("asset"), *super().get_urls()]

    @admin.display(description=_("preview"))
    def preview(self, obj):
        return media_preview(obj, size=480)

    @admin.display(description=_("post"), ordering="post__civitai_id")
    def post_link(self, obj):
        return (
            admin_link(obj.post, gettext("post %(id)s") % {"id": obj.post.civitai_id})
            if obj.post
            else "—"
        )

    @admin.display(description=_("on Civitai"), ordering="civitai_id")
    def civitai_link(self, obj):
        return civitai_anchor(obj.civitai_url, obj.civitai_id)

    @admin.display(description=_("sha256"), ordering="sha256sum")
    def short_sha256(self, obj):
        if not obj.sha256sum:
            return "—"
        return format_html('<code title=_("{}")>{}…</code>', obj.sha256sum, obj.sha256sum[:12])

    @admin.display(description=_("reactions over time"))
    def engagement(self, obj):
        return latest_stats_for_asset(obj) if obj.pk else "—"

    @admin.display(description=_("perceptual hashes"))
    def perceptual_hashes(self, obj):
        from tracking.perceptual import to_unsigned

        if obj.phash is None:
            return _("none yet (the file was not read, or could not be decoded)")
        return format_html(
            "<code>pHash {}</code> <code>dHash {}</code>",
            f"{to_unsigned(obj.phash):016x}",
            f"{to_unsigned(obj.dhash or 0):016x}",
        )

    @admin.display(description=_("similar assets"))
    def similar(self, obj):
        if obj.pk is None or obj.phash is None:
            return "—"
        return _similar_links(obj) or _("none within the default distance")

    def save_model(self, request, obj, form, change):
        """Save, then warn (not refuse) when the file looks like assets already recorded."""
        super().save_model(request, obj, form, change)
        if obj.phash is not None and (links := _similar_links(obj)):
            self.message_user(
                request,
                format_html(
                    "{} {}",
                    gettext("This asset looks like assets already recorded:"),
                    links,
                ),
                messages.WARNING,
            )

    @admin.display(description=_("how it was made"))
    def generation(self, obj):
        return generation_block(obj.metadata)

    @admin.display(description=_("links"))
    def links(self, obj):
        rows = [
            (_("Post"), admin_link(obj.post) if obj.post else "—"),
            (_("Input prompt (generated it)"), admin_link(obj.input_prompt)),
            (_("Output prompt (derived from it)"), admin_link(obj.output_prompt)),
            (_("Made from"), _asset_links(obj.input_assets.all())),
            (_("Used to make"), _asset_links(obj.derived_assets.all())),
            (_("Orchestration results with this file"), _blob_links(obj)),
        ]
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )


@admin.register(AssetStatsSnapshot)
class AssetStatsSnapshotAdmin(ScaledAdminMixin, ExportMixin, admin.ModelAdmin):
    list_display = [
        "asset",
        "captured_at",
        "like_count",
        "heart_count",
        "laugh_count",
        "cry_count",
        "dislike_count",
        "comment_count",
    ]
    list_select_related = ["asset"]
    list_filter = ["captured_at"]
    raw_id_fields = ["asset"]
    search_fields = ["=asset__id", "=asset__civitai_id"]
    # The database's sum of four exported counts, kept for the dashboard's index.
    export_exclude = ("reaction_total",)

    def has_change_permission(self, request, obj=None):
        return False  # snapshots are history: recorded, never edited
