"""Admin search that PostgreSQL answers from indexes at a million rows: routed by the
shape of the term.

Django's default admin search ORs one condition per search field for every word.
Each extra condition is one more index to read, and some defeat indexes altogether:

- ``=field`` means ``iexact``, rendered ``UPPER("col"::text) = UPPER('x')``: the unique
  B-trees on ``sha256sum`` and ``civitai_id`` cannot serve it.
- A field across a relation (``input_prompt__prompt_text``) adds a LEFT JOIN, and an OR
  that spans two tables is evaluated row by row after joining everything. It is
  written as ``input_prompt_id = ANY(ARRAY(SELECT id FROM prompt WHERE ...))``
  (``civitrack.listing.InSubquery``): the array is computed once and the outer OR
  stays on the asset table.
- ORing every kind of condition for every term made an id search read seven indexes
  (two trigram indexes and the prompt subquery included), most of which cannot match
  a number in practice.

So each term is routed by what it looks like (``term_kind``):

- a number: the row id, the Civitai id, the civitai-records id, and for assets the
  Civitai post id (equalities on B-trees);
- 64 hex digits: the sha256, exactly; 8-63 hex digits that are not all digits: a
  sha256 prefix, as a range on the same unique B-tree;
- a URL (has ``/``): a Civitai page URL gives its id; any URL is matched in the URL
  columns (trigram indexes);
- anything else, free text: the URL columns and the generating prompt's text (assets),
  the URL, title and description (posts), on trigram indexes.

Text columns get GIN trigram indexes on ``UPPER(col::text)`` in migration
``0002_search_trigram_indexes`` (PostgreSQL only); terms shorter than three characters
cannot use a trigram index. docs/benchmarks.md has the plans.
"""

from __future__ import annotations

import re

from django.db.models import F, Q, QuerySet

from civitrack.listing import InSubquery, as_id, search_terms

SHA256_TERM = re.compile(r"^[0-9a-fA-F]{64}$")
SHA256_PREFIX = re.compile(r"^[0-9a-fA-F]{8,63}$")


def term_kind(term: str) -> str:
    """``"number"``, ``"sha256"``, ``"sha256_prefix"``, ``"url"`` or ``"text"``."""
    if SHA256_TERM.match(term):  # before numbers: a hash can be all digits
        return "sha256"
    if as_id(term) is not None:
        return "number"
    if SHA256_PREFIX.match(term):
        return "sha256_prefix"
    if "/" in term:
        return "url"
    return "text"


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
    """Assets matching every word, each word routed by its shape (module docstring): a
    number is the asset id, Civitai image id, Civitai post id or civitai-records id
    (``legacy_id``, so ids in old notes still find the asset); a sha256 or a prefix of 8+
    hex digits; a URL in the asset or Civitai URL, or a Civitai post/image page URL;
    free text in the URLs or the generating prompt's text."""
    from tracking.models import Post, Prompt

    for term in search_terms(search_term):
        kind = term_kind(term)
        if kind == "number":
            number = as_id(term)
            posts = Post.objects.filter(civitai_id=number).order_by().values("pk")
            condition = (
                Q(pk=number)
                | Q(civitai_id=number)
                | Q(legacy_id=number)
                | Q(InSubquery(F("post_id"), posts))
            )
        elif kind == "sha256":
            condition = Q(sha256sum=term.lower())
        elif kind == "sha256_prefix":
            condition = sha256_prefix_range(term)
        elif kind == "url":
            condition = Q(asset_url__icontains=term) | Q(civitai_url__icontains=term)
            if (post_id := civitai_page_id(term, "post")) is not None:
                posts = Post.objects.filter(civitai_id=post_id).order_by().values("pk")
                condition |= Q(InSubquery(F("post_id"), posts))
            if (image_id := civitai_page_id(term, "image")) is not None:
                condition |= Q(civitai_id=image_id)
        else:
            prompts = Prompt.objects.filter(prompt_text__icontains=term).order_by().values("pk")
            condition = (
                Q(asset_url__icontains=term)
                | Q(civitai_url__icontains=term)
                | Q(InSubquery(F("input_prompt_id"), prompts))
            )
        queryset = queryset.filter(condition)
    return queryset


def search_posts(queryset: QuerySet, search_term: str) -> QuerySet:
    """Posts matching every word, routed by shape: a number is the post id, the Civitai
    post id or the civitai-records id; a URL is matched in the Civitai URL (a Civitai
    post page URL also by its id); anything else in the URL, title or description."""
    for term in search_terms(search_term):
        kind = term_kind(term)
        if kind == "number":
            number = as_id(term)
            condition = Q(pk=number) | Q(civitai_id=number) | Q(legacy_id=number)
        elif kind == "url":
            condition = Q(civitai_url__icontains=term)
            if (post_id := civitai_page_id(term, "post")) is not None:
                condition |= Q(civitai_id=post_id)
        else:
            condition = (
                Q(civitai_url__icontains=term)
                | Q(title__icontains=term)
                | Q(description__icontains=term)
            )
        queryset = queryset.filter(condition)
    return queryset
