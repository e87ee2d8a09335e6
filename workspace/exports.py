"""Export any admin list as CSV or JSON Lines, with the list's current filters and search
(issue 14 item 4).

The rows come from the changelist's own queryset (``ChangeList.queryset``: list filters,
date hierarchy, search and ordering as the page shows them) read through
``values_list(...).iterator()``, and the response is streamed, so memory stays flat
whatever the row count: nothing is built per row but the line being written. Related
objects are exported as their ids (``post_id``), never loaded. Text cells of the CSV go
through ``civitrack.spreadsheet.neutralize``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civitrack.spreadsheet import neutralize

CHUNK_SIZE = 2000
FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}


class _Echo:
    """A file-like object whose ``write`` hands the line back (for ``csv.writer``)."""

    def write(self, value: str) -> str:
        return value


def export_columns(
    model, names: Iterable[str] | None = None, exclude: Iterable[str] = ()
) -> list[str]:
    """Column names: ``names`` when given, else every concrete field (FKs as ``x_id``)
    but those named in ``exclude``."""
    if names:
        return list(names)
    skip = set(exclude)
    return [
        f.attname
        for f in model._meta.concrete_fields
        if f.name not in skip and f.attname not in skip
    ]


def _plain(value):
    """A value as JSON can carry it."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def csv_lines(columns: list[str], rows: Iterable[tuple]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, dict | list):
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            elif not isinstance(value, str):
                value = _plain(value)
            cells.append(
                neutralize(value) if isinstance(value, str) else ("" if value is None else value)
            )
        yield writer.writerow(cells)


def jsonl_lines(columns: list[str], rows: Iterable[tuple]) -> Iterator[str]:
    for row in rows:
        record = {c: _plain(v) for c, v in zip(columns, row, strict=True)}
        yield json.dumps(record, ensure_ascii=False) + "\n"


def stream(queryset: models.QuerySet, columns: list[str], fmt: str, name: str):
    """A streamed download of ``columns`` of every row of ``queryset``."""
    rows = queryset.values_list(*columns).iterator(chunk_size=CHUNK_SIZE)
    lines = csv_lines(columns, rows) if fmt == "csv" else jsonl_lines(columns, rows)
    response = StreamingHttpResponse(lines, content_type=FORMATS[fmt])
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


class ExportMixin:
    """ModelAdmin mixin: ``export.csv`` / ``export.jsonl`` beside the changelist.

    ``export_fields`` names the columns (default: every concrete field). Anyone who may
    see the list may export it; the list's querystring is the export's.
    """

    export_fields: list[str] | None = None
    export_exclude: tuple[str, ...] = ()
    change_list_template = "admin/workspace/export_change_list.html"

    def get_urls(self):
        opts = self.model._meta
        urls = [
            path(
                f"export.{fmt}",
                self.admin_site.admin_view(self.export_view),
                {"fmt": fmt},
                name=f"{opts.app_label}_{opts.model_name}_export_{fmt}",
            )
            for fmt in FORMATS
        ]
        return urls + super().get_urls()

    def export_view(self, request, fmt: str):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest(
                _("These filters are not valid for this list."), content_type="text/plain"
            )
        queryset = changelist.queryset
        columns = export_columns(self.model, self.export_fields, self.export_exclude)
        return stream(queryset, columns, fmt, self.model._meta.model_name)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "export_formats": EXPORT_LABELS}
        return super().changelist_view(request, extra_context)


EXPORT_LABELS = [("csv", _("Export CSV")), ("jsonl", _("Export JSON Lines"))]
