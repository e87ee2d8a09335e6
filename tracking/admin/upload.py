"""The admin's "Upload a file" page for assets (tracking/uploads.py does the work).

The page previews the chosen file in the browser before it is sent
(``static/tracking/upload-preview.js``; nothing leaves the machine for that), then the
server hashes it while it arrives, refuses a duplicate naming and linking the asset
that has the same bytes (nothing stored), and otherwise stores and records it and
opens the new asset, with a warning listing near-duplicates (perceptual hashes).

The upload handler must be installed before anything reads the request body, and
Django's CSRF check reads it; so the view is CSRF-exempt on the outside and protected
inside, after the handler is in place (Django's documented pattern).
"""

from __future__ import annotations

from django import forms
from django.apps import apps as django_apps
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from tracking import uploads
from tracking.admin.duplicates import existing_record_link
from tracking.errors import ToolError
from tracking.models import Asset


class UploadAssetForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("An image or video (%(formats)s), at most HASH_MAX_BYTES.")
        % {"formats": uploads.KNOWN_FORMATS},
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,video/*"}),
    )
    asset_source = forms.ChoiceField(
        label=capfirst(_("asset source")), choices=Asset.Source.choices, initial=Asset.Source.UPLOAD
    )


@csrf_exempt
def upload_asset_view(request):
    """``/admin/tracking/asset/upload/``: needs the add-asset permission."""
    if not request.user.has_perm("tracking.add_asset"):
        raise PermissionDenied
    handler = None
    if request.method == "POST":
        length = request.META.get("CONTENT_LENGTH")
        refused = uploads.body_too_large(int(length) if length and length.isdigit() else None)
        if refused:
            # Answered before one byte of the body is read.
            return _page(request, UploadAssetForm(), refused=refused, status=413)
        handler = uploads.HashingUploadHandler(request)
        request.upload_handlers = [handler]
    return _upload(request, handler)


@csrf_protect
def _upload(request, handler):
    if request.method != "POST":
        return _page(request, UploadAssetForm())
    form = UploadAssetForm(request.POST, request.FILES)
    received = handler.received if handler else None
    try:
        if handler and handler.error:
            form.is_valid()
            form.errors.pop("file", None)
            form.add_error("file", handler.error)
            return _page(request, form, status=400)
        if not form.is_valid() or received is None:
            return _page(request, form, status=400)
        try:
            recorded = uploads.record_upload(
                user=request.user,
                received=received,
                absolute_url=request.build_absolute_uri,
                asset_source=form.cleaned_data["asset_source"],
            )
        except uploads.DuplicateUpload as exc:
            form.add_error(
                "file",
                forms.ValidationError(
                    format_html(
                        "{} {}",
                        gettext("This file is already recorded:"),
                        existing_record_link(exc.existing),
                    ),
                    code="duplicate",
                ),
            )
            return _page(request, form, duplicate=exc.existing, status=409)
        except ToolError as exc:
            form.add_error("file", exc.message)
            return _page(request, form, status=exc.status)
    finally:
        if received is not None:
            received.file.close()
    asset_id = int(recorded.result["asset_id"])
    messages.success(
        request,
        gettext("Stored %(name)s (%(size)s bytes, sha256 %(sha)s…) and recorded it.")
        % {
            "name": received.name,
            "size": received.size,
            "sha": received.sha256sum[:12],
        },
    )
    if recorded.similar:
        messages.warning(
            request,
            format_html(
                "{} {}",
                ngettext(
                    "It looks like %(count)d asset recorded before (perceptual hash):",
                    "It looks like %(count)d assets recorded before (perceptual hash):",
                    len(recorded.similar),
                )
                % {"count": len(recorded.similar)},
                format_html_join(
                    ", ", "{}", ((existing_record_link(a),) for a in recorded.similar)
                ),
            ),
        )
    return redirect("admin:tracking_asset_change", asset_id)


def _page(request, form, *, refused: str = "", duplicate=None, status: int = 200):
    from tracking.admin.records import media_preview  # records imports this module

    opts = Asset._meta
    context = {
        **admin.site.each_context(request),
        "title": gettext("Upload an asset file"),
        "opts": opts,
        "tracking_app_name": django_apps.get_app_config("tracking").verbose_name,
        "changelist_url": reverse("admin:tracking_asset_changelist"),
        "form": form,
        "refused": refused,
        "duplicate": duplicate,
        "duplicate_link": existing_record_link(duplicate) if duplicate else "",
        "duplicate_preview": media_preview(duplicate, size=240) if duplicate else "",
    }
    return render(request, "admin/tracking/asset/upload.html", context, status=status)
