"""The rows of an admin changelist, the same HTML as Django's ``result_list``, in less time.

On a 100-row page whose queries take 2-3 ms, most of the request is Django's
``items_for_result``: for every cell it looks the column up again (``lookup_field``),
walks ``display_for_field``'s type tests, formats through ``format_html``, reads the
empty-value display, and reverses the change URL of every row; then the template loops
over every cell (cProfile of the workflow changelist at 1M rows: about two-thirds of the
request). What a cell does depends on its column, not on its row, so ``render_rows``
decides it once per column and then only formats values:

- a model field's column gets a formatter for its field type, chosen by the same tests
  in the same order as ``display_for_field`` (choices, booleans, empty values, dates,
  numbers, text); a value of an unexpected type, and every field type it does not
  specialise (files, URLs, JSON, decimals, dates without times, passwords), goes
  through Django's own ``display_for_field``;
- an admin method or callable column calls it and treats the value as
  ``display_for_value`` does; a property or method of the model, a ``__`` path, and
  anything else goes through Django's own per-cell code (``_django_cell``);
- the change link is reversed once for a placeholder key and the row's integer key
  put in its place (admin ``quote()`` and URL quoting leave digits alone); other keys
  reverse per row as Django does.

Each row is handed to Django's ``change_list_results.html`` as a single cell holding
the row's HTML, so the template (and any per-model override of it) writes the table
as before. Lists with an editable formset, popups, or a ``ChangeList`` whose
``url_for_result`` is overridden get Django's ``results`` unchanged.
``tests/test_result_rows.py`` compares the output with Django's, byte for byte, for
every registered admin in English and Chinese, with hostile values.
"""

from __future__ import annotations

import contextlib
import datetime
from html import escape

from django.conf import settings
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.templatetags import admin_list
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import (
    FieldIsAForeignKeyColumnName,
    _get_non_gfk_field,
    display_for_field,
    display_for_value,
    get_fields_from_path,
    lookup_field,
)
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import FieldDoesNotExist, ObjectDoesNotExist
from django.db import models
from django.db.models.constants import LOOKUP_SEP
from django.urls import NoReverseMatch, reverse
from django.utils import dateformat, formats, timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

# A key no real row has, reversed once to find where a row's key goes in its URL.
_MARKER = 987654321987654321

# Field types display_for_field formats itself before its final display_for_value.
_OWN_DISPLAY = (
    models.BooleanField,
    models.DateTimeField,
    models.DateField,
    models.TimeField,
    models.DecimalField,
    models.IntegerField,
    models.FloatField,
    models.FileField,
    models.URLField,
    models.JSONField,
)


def result_list(cl) -> dict:
    """The context of Django's ``result_list`` tag, with the rows from ``render_rows``."""
    if not supports(cl):
        return admin_list.result_list(cl)
    headers = list(admin_list.result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": [],  # only an editable formset has any
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        "results": [admin_list.ResultList(None, [row]) for row in render_rows(cl)],
    }


def supports(cl) -> bool:
    """Whether ``render_rows`` writes this list (otherwise Django's ``results`` does)."""
    return (
        not cl.formset and not cl.is_popup and type(cl).url_for_result is ChangeList.url_for_result
    )


def render_rows(cl) -> list[SafeString]:
    """Each result's ``<td>``/``<th>`` cells, as ``items_for_result`` writes them, joined."""
    cells = list(_columns(cl))
    return [SafeString("".join([cell(obj) for cell in cells])) for obj in cl.result_list]


def _columns(cl):
    """One function per column, obj -> the cell's HTML, with ``items_for_result``'s
    choice of link column and ``<th>`` for the first link."""
    first = True
    for index, field_name in enumerate(cl.list_display):
        link = _link_in_col(first, field_name, cl)
        tag = "th" if link and first else "td"
        if link:
            first = False
        yield _column(cl, index, field_name, link, tag)


def _link_in_col(is_first, field_name, cl) -> bool:
    if cl.list_display_links is None:
        return False
    if is_first and not cl.list_display_links:
        return True
    return field_name in cl.list_display_links


def _column(cl, index, field_name, link: bool, tag: str):
    name = admin_list._coerce_field_name(field_name, index)
    kind = _kind(cl, field_name)
    if kind is None:
        return _django_cell(cl, field_name, name, link, tag)
    if kind[0] == "call":
        return _value_column(cl, field_name, name, link, tag, kind[1], kind[1])
    field = kind[1]
    if field.auto_created:
        return _value_column(cl, field_name, name, link, tag, _attname_getter(field), None)
    empty = cl.model_admin.get_empty_value_display()
    shown_empty = conditional_escape(empty)
    wrap = _link_wrapper(cl) if link else None
    classes = f"field-{name}"
    if isinstance(field, models.DateField | models.TimeField | models.ForeignKey):
        classes += " nowrap"
    if isinstance(field.remote_field, models.ManyToOneRel):

        def formatter(value):
            return shown_empty if value is None else conditional_escape(value)
    else:
        formatter = _field_formatter(field, empty, link)

    def field_cell(obj):
        try:
            value = getattr(obj, field_name)
        except ObjectDoesNotExist:  # a missing related row: the plain class, empty
            cell_classes, html = f"field-{name}", shown_empty
        else:
            cell_classes, html = classes, formatter(value)
        if wrap is not None:
            return f'<{tag} class="{cell_classes}">{wrap(obj, html)}</{tag}>'
        return f'<td class="{cell_classes}">{html}</td>'

    return field_cell


def _kind(cl, field_name):
    """("field", field) for a model field, ("call", function) for an admin method or
    callable, None for what only Django's own per-cell code handles."""
    if not isinstance(field_name, str):
        return ("call", field_name) if callable(field_name) else None
    try:
        field = _get_non_gfk_field(cl.model._meta, field_name)
    except (FieldDoesNotExist, FieldIsAForeignKeyColumnName):
        pass
    else:
        if field.name == "password" and (
            issubclass(field.model, AbstractBaseUser) or issubclass(get_user_model(), field.model)
        ):
            return None
        return ("field", field)
    if LOOKUP_SEP in field_name:
        return None
    if hasattr(cl.model_admin, field_name) and field_name != "__str__":
        attr = getattr(cl.model_admin, field_name)
        if field_name == "action_checkbox" and _is_ours(cl.model_admin):
            return ("call", _fast_checkbox())
        return ("call", attr)
    return None


def _is_ours(model_admin) -> bool:
    from civitrack.listing import ScaledAdminMixin

    return type(model_admin).action_checkbox is ScaledAdminMixin.action_checkbox


def _fast_checkbox():
    """``ScaledAdminMixin.action_checkbox`` with the label's translation looked up once."""
    from civitrack.listing import _ACTION_LABEL

    label = gettext(_ACTION_LABEL)

    def checkbox(obj):
        return SafeString(
            f'<input type="checkbox" name="{ACTION_CHECKBOX_NAME}" value="{escape(str(obj.pk))}"'
            f' class="action-select" aria-label="{label.format(escape(str(obj)))}">'
        )

    return checkbox


def _attname_getter(field):
    name = field.name

    def get(obj):
        return getattr(obj, name)

    return get


def _value_column(cl, field_name, name, link, tag, get, attr):
    """A column whose value ``display_for_value`` formats: an admin method, a callable,
    or an auto-created field (``id``)."""
    empty = cl.model_admin.get_empty_value_display()
    if attr is not None:
        empty = getattr(attr, "empty_value_display", empty)
        if getattr(attr, "boolean", False):
            return _django_cell(cl, field_name, name, link, tag)
    base = "action-checkbox" if field_name == "action_checkbox" else f"field-{name}"
    shown_empty = conditional_escape(empty)
    wrap = _link_wrapper(cl) if link else None

    def value_cell(obj):
        value = get(obj)
        kind = type(value)
        classes = base
        if kind is SafeString:
            html = value if value else shown_empty
        elif kind is str:
            text = value.strip()
            html = escape(text) if text else shown_empty
        elif value is None:
            html = shown_empty
        elif kind is int and not settings.USE_THOUSAND_SEPARATOR:
            html = str(value)
        else:
            html = conditional_escape(display_for_value(value, empty))
            if isinstance(value, datetime.date | datetime.time):
                classes += " nowrap"
        if wrap is not None:
            return f'<{tag} class="{classes}">{wrap(obj, html)}</{tag}>'
        return f'<td class="{classes}">{html}</td>'

    # ObjectDoesNotExist while looking the value up shows Django's default empty value.
    default_empty = conditional_escape(cl.model_admin.get_empty_value_display())

    def guarded(obj):
        try:
            return value_cell(obj)
        except ObjectDoesNotExist:
            html = default_empty
            if wrap is not None:
                return f'<{tag} class="field-{name}">{wrap(obj, html)}</{tag}>'
            return f'<td class="field-{name}">{html}</td>'

    return guarded


def _field_formatter(field, empty, link: bool):
    """value -> escaped HTML, as ``display_for_field`` then ``format_html`` would give."""
    shown_empty = conditional_escape(empty)

    def django(value):
        return conditional_escape(display_for_field(value, field, empty, avoid_link=link))

    if getattr(field, "flatchoices", None):
        try:
            labels = {k: conditional_escape(v) for k, v in dict(field.flatchoices).items()}
        except TypeError:  # list-like choices: Django makes them hashable
            return django

        def choice(value):
            try:
                return labels.get(value, shown_empty)
            except TypeError:
                return django(value)

        return choice
    if isinstance(field, models.BooleanField):
        icons = {v: admin_list._boolean_icon(v) for v in (True, False, None)}

        def boolean(value):
            if value is True or value is False or value is None:
                return icons[value]
            return django(value)

        return boolean
    if isinstance(field, models.DateTimeField):
        # formats.localize of a datetime, with the active language's format looked up once
        fmt = formats.get_format("DATETIME_FORMAT")

        def when(value):
            if value is None:
                return shown_empty
            if isinstance(value, datetime.datetime):
                return escape(dateformat.format(timezone.template_localtime(value), fmt))
            return django(value)

        return when
    if isinstance(field, models.IntegerField | models.FloatField):
        grouping = settings.USE_THOUSAND_SEPARATOR

        def number(value):
            if value is None:
                return shown_empty
            if type(value) is int and not grouping:  # numberformat's own fast case
                return str(value)
            return django(value)

        return number
    if isinstance(field, _OWN_DISPLAY):
        return django

    def text(value):
        if type(value) is str:
            value = value.strip()  # display_for_value strips; "" is empty either way
            return escape(value) if value else shown_empty
        if value is None:
            return shown_empty
        return django(value)

    return text


def _link_wrapper(cl):
    """(obj, html) -> ``<a href="change URL">html</a>`` as ``items_for_result`` writes it."""
    opts = cl.opts
    context = {"preserved_filters": cl.preserved_filters, "opts": opts}
    pk = cl.pk_attname
    url_name = f"admin:{opts.app_label}_{opts.model_name}_change"
    current_app = cl.model_admin.admin_site.name

    def per_row(obj):
        try:
            url = cl.url_for_result(obj)
        except NoReverseMatch:
            return None
        return format_html("{}", add_preserved_filters(context, url))

    try:
        marked = add_preserved_filters(
            context, reverse(url_name, args=(_MARKER,), current_app=current_app)
        )
    except NoReverseMatch:
        parts = None
    else:
        parts = escape(marked).split(str(_MARKER))
        if len(parts) != 2:
            parts = None

    def wrap(obj, html):
        key = getattr(obj, pk)
        if parts is not None and type(key) is int:
            href = f"{parts[0]}{key}{parts[1]}"
        else:
            href = per_row(obj)
            if href is None:
                return html
        return f'<a href="{href}">{html}</a>'

    return wrap


def _django_cell(cl, field_name, name, link, tag):
    """One column of ``items_for_result`` as Django writes it (no editable form)."""
    model_admin = cl.model_admin
    wrap = _link_wrapper(cl) if link else None

    def cell(obj):
        empty_value_display = model_admin.get_empty_value_display()
        row_classes = [f"field-{name}"]
        try:
            f, attr, value = lookup_field(field_name, obj, model_admin)
        except ObjectDoesNotExist:
            result_repr = empty_value_display
        else:
            empty_value_display = getattr(attr, "empty_value_display", empty_value_display)
            if f is None and isinstance(field_name, str) and LOOKUP_SEP in field_name:
                with contextlib.suppress(FieldDoesNotExist):  # e.g. __str__
                    f = get_fields_from_path(cl.model, field_name)[-1]
            if f is None or f.auto_created:
                if field_name == "action_checkbox":
                    row_classes = ["action-checkbox"]
                boolean = getattr(attr, "boolean", False)
                if isinstance(attr, property) and hasattr(attr, "fget"):
                    boolean = getattr(attr.fget, "boolean", False)
                result_repr = display_for_value(value, empty_value_display, boolean)
                if isinstance(value, datetime.date | datetime.time):
                    row_classes.append("nowrap")
            else:
                if isinstance(f.remote_field, models.ManyToOneRel):
                    result_repr = empty_value_display if value is None else value
                else:
                    result_repr = display_for_field(value, f, empty_value_display, avoid_link=link)
                if isinstance(f, models.DateField | models.TimeField | models.ForeignKey):
                    row_classes.append("nowrap")
        html = conditional_escape(result_repr)
        classes = " ".join(row_classes)
        if wrap is not None:
            return f'<{tag} class="{classes}">{wrap(obj, html)}</{tag}>'
        return f'<td class="{classes}">{html}</td>'

    return cell
