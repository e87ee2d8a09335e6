"""Admin search that PostgreSQL can answer from indexes at 100k+ rows.

Django's default admin search ORs one condition per search field. Two things in it
defeat the indexes on PostgreSQL:

- ``=field`` means ``iexact``, rendered ``UPPER("col"::text) = UPPER('x')``: the unique
  B-trees on ``sha256sum`` and ``civitai_id`` cannot serve it, so an id or hash search
  read the whole table. Ids are matched with ``exact`` on integers (terms that are not
  integers skip the condition) and hashes with ``exact`` on the lower-cased term, which
  is how they are stored.
- A field across a relation (``input_prompt__prompt_text``) adds a LEFT JOIN, and an OR
  that spans two tables can only be evaluated row by row after joining everything
  (a sequential scan of both tables, ~0.5 s at 100k assets). The related condition is
  rewritten as ``input_prompt_id = ANY(ARRAY(SELECT id FROM prompt WHERE ...))``: the
  array is computed once (an InitPlan using the prompt trigram index) and the outer
  OR becomes a BitmapOr of index scans on the asset table alone. ``IN (subquery)``
  would not do: under an OR, PostgreSQL turns it into a hashed SubPlan checked on
  every row of a sequential scan.

Text columns get GIN trigram indexes on ``UPPER(col::text)`` in migration
``0002_search_trigram_indexes`` (PostgreSQL only). See docs/benchmarks.md for plans.
"""

from __future__ import annotations

import re

from django.db.models import Lookup, Q, QuerySet
from django.utils.text import smart_split, unescape_string_literal

SHA256_TERM = re.compile(r"^[0-9a-fA-F]{64}$")
SHA256_PREFIX = re.compile(r"^[0-9a-fA-F]{8,63}$")
MAX_ID = 2**63 - 1  # BigIntegerField


class InSubquery(Lookup):
    """``lhs IN (subquery)``, written so an enclosing OR can still use the lhs index.

    On PostgreSQL it renders ``lhs = ANY(ARRAY(subquery))``; elsewhere plain
    ``lhs IN (subquery)``. Build it directly: ``InSubquery(F("post_id"), queryset)``.
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
    """The term as a database id, or None when it cannot be one."""
    if term.isascii() and term.isdigit() and 0 < int(term) <= MAX_ID:
        return int(term)
    return None


def sha256_prefix_range(term: str) -> Q:
    """Hashes starting with ``term`` as a range (``>= prefix`` and ``< prefix + 1``).

    ``startswith`` renders ``LIKE 'f619aeb4%'``, which the unique B-tree on
    ``sha256sum`` serves only under the C collation; a range on the same lower-case hex
    is served by it under any collation, so no second index is needed.
    """
    prefix = term.lower()
    upper = int(prefix, 16) + 1
    if upper >= 16 ** len(prefix):  # ffff…: everything from the prefix on
        return Q(sha256sum__gte=prefix)
    return Q(sha256sum__gte=prefix, sha256sum__lt=f"{upper:0{len(prefix)}x}")


def civitai_page_id(term: str, kind: str) -> int | None:
    """The id in a pasted Civitai post/image page URL, or None when the term is not one."""
    from tracking.civitai_urls import page_url_id
    from tracking.errors import InvalidInput

    if "/" not in term:
        return None
    try:
        return page_url_id(term, kind)
    except InvalidInput:
        return None


def search_assets(queryset: QuerySet, search_term: str) -> QuerySet:
    """Assets matching every word: in the URL, the Civitai URL, the generating prompt's
    text, or exactly the sha256, the Civitai image id, the Civitai post id or the
    civitai-records id (``legacy_id``, so ids in old notes still find the asset); a
    sha256 prefix of 8 or more hex digits, a Civitai post URL or a Civitai image URL."""
    from django.db.models import F

    from tracking.models import Post, Prompt

    for term in search_terms(search_term):
        prompts = Prompt.objects.filter(prompt_text__icontains=term).order_by().values("pk")
        condition = (
            Q(asset_url__icontains=term)
            | Q(civitai_url__icontains=term)
            | Q(InSubquery(F("input_prompt_id"), prompts))
        )
        if SHA256_TERM.match(term):
            condition |= Q(sha256sum=term.lower())
        elif SHA256_PREFIX.match(term):
            condition |= sha256_prefix_range(term)
        if (number := as_id(term)) is not None:
            posts = Post.objects.filter(civitai_id=number).order_by().values("pk")
            condition |= (
                Q(civitai_id=number) | Q(legacy_id=number) | Q(InSubquery(F("post_id"), posts))
            )
        if (post_id := civitai_page_id(term, "post")) is not None:
            posts = Post.objects.filter(civitai_id=post_id).order_by().values("pk")
            condition |= Q(InSubquery(F("post_id"), posts))
        if (image_id := civitai_page_id(term, "image")) is not None:
            condition |= Q(civitai_id=image_id)
        queryset = queryset.filter(condition)
    return queryset
