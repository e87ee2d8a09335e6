"""Lists whose cost does not grow with the table: capped counts, index-served filters
and searches (issue 17).

Three things made every admin changelist and staff list slower as the tables grew,
whatever the page shows:

- **Counting.** Django's paginator runs ``COUNT(*)`` over every matching row (and the
  admin a second one over the whole table unless ``show_full_result_count = False``):
  a million index entries per page view. ``CappedPaginator`` counts at most
  ``COUNT_CAP + 1`` rows (``SELECT COUNT(*) FROM (SELECT … LIMIT 10001)``), so the
  cost stops growing at ten thousand; beyond that the page says "more than 10,000"
  instead of a number it did not read (``templates/admin/pagination.html``,
  ``templates/orchestration/_pagination.html``). Pages past the cap are not offered:
  at that depth a search or filter is the way in.
- **List-filter choices.** ``AllValuesFieldListFilter`` lists a column's values with
  ``SELECT DISTINCT``: a full scan. ``IndexedValuesFilter`` walks the column's B-tree
  one value at a time on PostgreSQL (a recursive "skip scan", one index probe per
  distinct value), capped at ``MAX_FILTER_VALUES``.
- **Searches across relations.** A search field through a foreign key
  (``workflow__civitai_id``) adds a JOIN and an OR spanning two tables, which no single
  index serves: the planner reads both tables. ``indexed_search`` writes each such
  condition as ``fk_id = ANY(ARRAY(SELECT id FROM related WHERE …))`` (``InSubquery``),
  so the OR stays on one table and becomes a BitmapOr of index scans, and no DISTINCT
  is needed. Integer fields are searched only with terms that are integers.

``ScaledAdminMixin`` applies all three to a ``ModelAdmin``. docs/benchmarks.md has the
figures and plans.
"""

from __future__ import annotations

from functools import cached_property

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connection, models
from django.db.models import BigIntegerField, F, Func, Lookup, Q, QuerySet, Subquery
from django.utils.html import format_html
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext

COUNT_CAP = 10_000
MAX_FILTER_VALUES = 200
MAX_BIGINT = 2**63 - 1


class CappedPaginator(Paginator):
    """A paginator that counts at most ``cap + 1`` rows.

    ``count`` is exact up to ``cap``; above it ``capped`` is true, ``count`` is
    ``cap + 1`` and the templates say "more than {cap}". The rows of every page it
    offers are exactly those an uncapped paginator would show.
    """

    cap = COUNT_CAP

    @cached_property
    def count(self) -> int:
        items = self.object_list
        if isinstance(items, QuerySet):
            # Only the keys: no per-row annotations (counts, flags) or joins for rows
            # that are counted and never shown, and no ORDER BY.
            return items.order_by().values("pk")[: self.cap + 1].count()
        return min(len(items), self.cap + 1)

    @property
    def capped(self) -> bool:
        return self.count > self.cap


class AtLeast(int):
    """A count that stopped at the cap: compares as the number counted, prints as
    "more than {cap}" so that a page never shows a number nobody read."""

    capped = True

    def __str__(self) -> str:
        from django.utils.translation import gettext

        return gettext("more than %(cap)s") % {"cap": int(self) - 1}


def capped_count(queryset: QuerySet, cap: int | None = None) -> int:
    """``queryset.count()`` reading at most ``cap + 1`` rows; above the cap an ``AtLeast``.

    The cost is bounded by the cap whatever the table size, as long as an index yields
    the matching rows (or most rows match).
    """
    cap = COUNT_CAP if cap is None else cap
    n = queryset.order_by().values("pk")[: cap + 1].count()
    return AtLeast(n) if n > cap else n


class InSubquery(Lookup):
    """``lhs IN (subquery)``, written so an enclosing OR can still use the lhs index.

    On PostgreSQL it renders ``lhs = ANY(ARRAY(subquery))``: the array is computed once
    (an InitPlan) and the outer condition is an index-served equality. Plain
    ``IN (subquery)`` under an OR becomes a hashed SubPlan checked on every row of a
    sequential scan. Build it directly: ``InSubquery(F("post_id"), queryset)``.
    """

    lookup_name = "in_subquery"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return value, ()

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} IN {rhs}", (*lhs_params, *rhs_params)

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", (*lhs_params, *rhs_params)


def search_terms(search_term: str) -> list[str]:
    """The words of a search box, as Django's admin splits them (quotes keep phrases)."""
    terms = []
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if bit:
            terms.append(bit)
    return terms


def as_id(term: str) -> int | None:
    """The term as a database id (a positive big integer), or None when it cannot be one."""
    if term.isascii() and term.isdigit() and 0 < int(term) <= MAX_BIGINT:
        return int(term)
    return None


PREFIX_LOOKUPS = {"^": "istartswith", "=": "iexact", "@": "search"}
INTEGER_FIELDS = (models.IntegerField, models.AutoField)


def _field_condition(model, path: str, term: str) -> Q | None:
    """One search field's condition for one term, on ``model``'s own table, or None.

    ``path`` is a ``search_fields`` entry. A path through a foreign key becomes an
    ``InSubquery`` on the key column; an integer field is compared exactly, and only
    with integer terms; ``=`` on a text field stays ``iexact``.
    """
    lookup = "icontains"
    if path[:1] in PREFIX_LOOKUPS:
        lookup, path = PREFIX_LOOKUPS[path[0]], path[1:]
    parts = path.split("__")
    opts = model._meta
    field = opts.get_field(parts[0])
    if field.is_relation and len(parts) > 1:
        related = field.related_model
        inner = _field_condition(related, _with_prefix(lookup, "__".join(parts[1:])), term)
        if inner is None:
            return None
        ids = related._default_manager.filter(inner).order_by().values("pk")
        return Q(InSubquery(F(field.attname), ids))
    if len(parts) > 1 and parts[-1] not in ("exact", "iexact", "icontains", "istartswith"):
        raise ValueError(f"unsupported search path {path!r}")
    if len(parts) > 1:
        lookup = parts[-1]
    if isinstance(field, INTEGER_FIELDS):
        number = as_id(term)
        return None if number is None else Q(**{f"{field.name}__exact": number})
    return Q(**{f"{field.name}__{lookup}": term})


def _with_prefix(lookup: str, path: str) -> str:
    prefix = {v: k for k, v in PREFIX_LOOKUPS.items()}.get(lookup, "")
    return prefix + path


def indexed_search(queryset: QuerySet, search_fields, search_term: str) -> QuerySet:
    """Rows matching every word in at least one of ``search_fields``, without joins.

    The same rows as Django's admin search for the same fields (an integer field only
    ever matched integer terms there too), but each condition is on the listed table,
    so an index serves it and no DISTINCT is needed.
    """
    for term in search_terms(search_term):
        condition = Q()
        matched = False
        for path in search_fields:
            part = _field_condition(queryset.model, path, term)
            if part is not None:
                condition |= part
                matched = True
        queryset = queryset.filter(condition) if matched else queryset.none()
    return queryset


def matching_count(queryset: QuerySet) -> Subquery:
    """How many rows ``queryset`` (filtered, unsliced) holds, as a scalar subquery.

    Annotated on a page of the same rows (``list_civitai_posts``), it sends the total
    with the page: one round trip instead of a ``count()`` before the page; added to the
    job's own row (``review_flow.queue_position``), it is counted only if that row is
    found. Uncorrelated, so the database counts once per statement, not once per row,
    from the same snapshot as the rest of the statement. ``COUNT(*)`` is written as a
    plain function so the ORM adds no GROUP BY (an aggregate would group the subquery by
    the row's columns).
    """
    count = Func(template="COUNT(*)", output_field=BigIntegerField())
    return Subquery(queryset.order_by().annotate(matching=count).values("matching"))


def distinct_values(model, column: str, limit: int = MAX_FILTER_VALUES) -> list:
    """The distinct non-null values of ``column``, sorted, at most ``limit``.

    On PostgreSQL a recursive query probes the column's B-tree once per value (a
    "loose index scan"): cost grows with the number of values, not of rows.
    Elsewhere, ``SELECT DISTINCT``.
    """
    field = model._meta.get_field(column)
    if connection.vendor != "postgresql":
        qs = model._default_manager.exclude(**{f"{column}__isnull": True})
        return list(qs.order_by(column).values_list(column, flat=True).distinct()[:limit])
    table = connection.ops.quote_name(model._meta.db_table)
    col = connection.ops.quote_name(field.column)
    # Identifiers come from the model and are quoted; the limit is a parameter.
    sql = f"""
        WITH RECURSIVE v(val, n) AS (
            (SELECT {col}, 1 FROM {table} WHERE {col} IS NOT NULL ORDER BY {col} LIMIT 1)
            UNION ALL
            SELECT (SELECT {col} FROM {table} WHERE {col} > v.val ORDER BY {col} LIMIT 1), v.n + 1
            FROM v WHERE v.val IS NOT NULL AND v.n < %s
        )
        SELECT val FROM v WHERE val IS NOT NULL
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [row[0] for row in cursor.fetchall()]


class IndexedValuesFilter(admin.AllValuesFieldListFilter):
    """``AllValuesFieldListFilter`` whose choices come from ``distinct_values``.

    Needs a B-tree index on the column to be cheap (migration ``0010_scale_indexes``
    adds the missing ones). "Empty" is offered whenever the column is nullable, without
    scanning for a NULL.
    """

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        values = distinct_values(field.model, field.name)
        self.lookup_choices = [*values, None] if field.null else values


def _would_scan_for_values(model, entry) -> bool:
    """Whether a ``list_filter`` entry is a plain field Django would list with DISTINCT."""
    if not isinstance(entry, str) or "__" in entry:
        return False
    field = model._meta.get_field(entry)
    return not (
        field.is_relation
        or field.choices
        or isinstance(field, models.BooleanField | models.DateField)
    )


_ACTION_LABEL = "Select this object for an action - {}"


class DeferringChangeList(ChangeList):
    """A ``ChangeList`` that leaves its admin's ``list_defer`` columns out of the rows."""

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        defer = self.model_admin.list_defer
        return queryset.defer(*defer) if defer else queryset


class ScaledAdminMixin:
    """A ``ModelAdmin`` whose changelist costs the same at 10k and at 1M rows.

    Capped counts (and no second full count), index-served filter choices and
    join-free searches, as described in this module's docstring. Put it before
    ``admin.ModelAdmin`` in the bases. Subclasses with their own search
    (``AssetAdmin``) override ``get_search_results`` as before.
    """

    paginator = CappedPaginator
    show_full_result_count = False
    # "Show all" lists every row on one page; it is offered only for counts under this,
    # which must stay below the cap so that it is never offered for an uncounted list.
    list_max_show_all = 200
    # Columns the changelist never shows, its ``list_select_related`` rows' included
    # (``"workflow__raw"``): not read for its rows. A mirrored row's raw API JSON is
    # several KB upstream, each decoded per row though no column shows it.
    list_defer: tuple[str, ...] = ()

    def get_changelist(self, request, **kwargs):
        return DeferringChangeList

    def action_checkbox(self, obj):
        """The row's selection checkbox, the same HTML as Django's, without a template.

        Django renders a ``CheckboxInput`` through the form renderer for every row: a
        fifth of a 100-row changelist's rendering time in profiles (stock pays it too).
        ``tests/tracking/test_admin_scale.py`` compares this with Django's own output.
        """
        # Django's msgid (and its catalogue's translations); a variable keeps
        # makemessages from copying it into ours.
        label = format_html(gettext(_ACTION_LABEL), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )

    def get_list_filter(self, request):
        return [
            (entry, IndexedValuesFilter) if _would_scan_for_values(self.model, entry) else entry
            for entry in super().get_list_filter(request)
        ]

    def get_search_results(self, request, queryset, search_term):
        fields = self.get_search_fields(request)
        if not search_term or not fields:
            return queryset, False
        if any(f.startswith("@") for f in fields):  # full-text search: Django's own
            return super().get_search_results(request, queryset, search_term)
        return indexed_search(queryset, fields, search_term), False
