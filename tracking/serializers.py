"""Records to the contract's JSON shapes (docs/contract.md, "Shapes").

All keys are always present; absent values are ``None``. Ids travel as strings of
digits and timestamps as ISO 8601 with zone. The ``*_dict`` functions read only what
the caller loaded: pass querysets built with ``select_related`` to keep listings at a
fixed number of queries. ``posts_page`` builds the same shapes from plain rows
for the big listing.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    OuterRef,
    QuerySet,
    StringAgg,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Cast

from civitrack.compiled import CompiledValues
from tracking.models import Asset, Post, Prompt


def id_str(value: int | None) -> str | None:
    return None if value is None else str(value)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def username(user) -> str | None:
    return None if user is None else user.get_username()


def prompt_dict(prompt: Prompt) -> dict[str, Any]:
    return {
        "prompt_id": id_str(prompt.pk),
        "prompt_text": prompt.prompt_text,
        "llm_model_provider": prompt.llm_model_provider,
        "llm_model": prompt.llm_model,
        "purpose": prompt.purpose,
        "metadata": prompt.metadata,
        "created_by": username(prompt.created_by),
        "on_behalf_of": prompt.on_behalf_of,
        "created_at": iso(prompt.created_at),
        "updated_at": iso(prompt.updated_at),
    }


def asset_dict(asset: Asset, *, input_asset_ids: list[int] | None = None) -> dict[str, Any]:
    """The Asset shape. ``input_asset_ids`` may be given to skip reading the M2M."""
    if input_asset_ids is None:
        input_asset_ids = sorted(a.pk for a in asset.input_assets.all())
    return {
        "asset_id": id_str(asset.pk),
        "asset_url": asset.asset_url,
        "asset_type": asset.asset_type,
        "asset_source": asset.asset_source,
        "sha256sum": asset.sha256sum,
        "civitai_id": id_str(asset.civitai_id),
        "civitai_url": asset.civitai_url,
        "post_id": id_str(asset.post_id),
        "input_prompt_id": id_str(asset.input_prompt_id),
        "output_prompt_id": id_str(asset.output_prompt_id),
        "input_asset_ids": [str(pk) for pk in input_asset_ids],
        "metadata": asset.metadata,
        "created_by": username(asset.created_by),
        "on_behalf_of": asset.on_behalf_of,
        "created_at": iso(asset.created_at),
        "updated_at": iso(asset.updated_at),
    }


def asset_with_links(asset: Asset) -> dict[str, Any]:
    """The Asset shape with ``input_prompt``, ``output_prompt`` and ``post`` nested (or null).

    What ``find_asset`` returns: the original civitai-records server nested the same
    three, and agents written for it read them. Load the asset with those relations
    (and their creators) selected.
    """
    return asset_dict(asset) | {
        "input_prompt": prompt_dict(asset.input_prompt) if asset.input_prompt else None,
        "output_prompt": prompt_dict(asset.output_prompt) if asset.output_prompt else None,
        "post": post_dict(asset.post) if asset.post else None,
    }


def post_dict(post: Post) -> dict[str, Any]:
    data = {
        "post_id": id_str(post.pk),
        "civitai_id": id_str(post.civitai_id),
        "civitai_url": post.civitai_url,
        "civitai_account": post.civitai_account,
        "status": post.status,
        "title": post.title,
        "description": post.description,
        "metadata": post.metadata,
        "created_by": username(post.created_by),
        "on_behalf_of": post.on_behalf_of,
        "created_at": iso(post.created_at),
        "updated_at": iso(post.updated_at),
    }
    return data


# --- the details listing, from rows ------------------------------------------------------
#
# ``list_civitai_posts(include_details=True)`` returns up to 100 posts with every asset
# and both prompts of each. Built from prefetched model instances, two thirds of its
# time went to instantiating models and the per-object prefetch managers, not to the
# queries (docs/benchmarks.md, which still times that path as "before"). These read
# ``values()`` rows instead, two queries (the lineage ids aggregated in the asset query),
# and must give exactly what ``post_dict``/``asset_dict``/``prompt_dict`` give
# (tests/tracking/test_list_civitai_posts.py checks every nested record against them).

_PROMPT_COLUMNS = ("id", "prompt_text", "llm_model_provider", "llm_model", "purpose", "metadata")
_PROMPT_COLUMNS += ("on_behalf_of", "created_at", "updated_at")
_ASSET_COLUMNS = ("id", "asset_url", "asset_type", "asset_source", "sha256sum", "civitai_id")
_ASSET_COLUMNS += ("civitai_url", "post_id", "input_prompt_id", "output_prompt_id", "metadata")
_ASSET_COLUMNS += ("on_behalf_of", "created_at", "updated_at")
_POST_COLUMNS = ("id", "civitai_id", "civitai_url", "civitai_account", "status", "title")
_POST_COLUMNS += ("description", "metadata", "on_behalf_of", "created_at", "updated_at")


@functools.cache
def _keys(prefix: str, user_field: str) -> SimpleNamespace:
    """The row keys of one relation's columns (``input_prompt__llm_model``...), built once.

    A listing of 100 posts reads some 50,000 values; formatting each key anew took a
    measurable share of its time (docs/benchmarks.md, list_civitai_posts).
    """
    columns = {*_PROMPT_COLUMNS, *_ASSET_COLUMNS, *_POST_COLUMNS}
    keys = {c: f"{prefix}{c}" for c in columns}
    return SimpleNamespace(**keys, creator=f"{prefix}created_by__{user_field}")


def _prompt_from_row(row: dict[str, Any], prefix: str, user_field: str) -> dict[str, Any] | None:
    k = _keys(prefix, user_field)
    pk = row[k.id]
    if pk is None:
        return None
    return {
        "prompt_id": str(pk),
        "prompt_text": row[k.prompt_text],
        "llm_model_provider": row[k.llm_model_provider],
        "llm_model": row[k.llm_model],
        "purpose": row[k.purpose],
        "metadata": row[k.metadata],
        "created_by": row[k.creator],
        "on_behalf_of": row[k.on_behalf_of],
        "created_at": iso(row[k.created_at]),
        "updated_at": iso(row[k.updated_at]),
    }


def _asset_from_row(row: dict[str, Any], inputs: list[int], user_field: str) -> dict[str, Any]:
    # Keys added to the one dict rather than merged into a second: a details page
    # builds some 400 of these.
    data = _plain_asset_from_row(row, inputs, user_field)
    data["input_prompt"] = _prompt_from_row(row, "input_prompt__", user_field)
    data["output_prompt"] = _prompt_from_row(row, "output_prompt__", user_field)
    return data


def _plain_asset_from_row(
    row: dict[str, Any], inputs: list[int], user_field: str
) -> dict[str, Any]:
    """The Asset shape (``asset_dict``) from a ``values()`` row."""
    return {
        "asset_id": str(row["id"]),
        "asset_url": row["asset_url"],
        "asset_type": row["asset_type"],
        "asset_source": row["asset_source"],
        "sha256sum": row["sha256sum"],
        "civitai_id": id_str(row["civitai_id"]),
        "civitai_url": row["civitai_url"],
        "post_id": id_str(row["post_id"]),
        "input_prompt_id": id_str(row["input_prompt_id"]),
        "output_prompt_id": id_str(row["output_prompt_id"]),
        "input_asset_ids": [str(pk) for pk in sorted(inputs)],
        "metadata": row["metadata"],
        "created_by": row[_keys("", user_field).creator],
        "on_behalf_of": row["on_behalf_of"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def _lineage_ids() -> Subquery:
    """The ids of an asset's input assets as one ``"12,7"`` string, computed in the row's query.

    A correlated subquery rather than a separate query over the link table: one round
    trip less, measurably (docs/benchmarks.md). Unordered; callers sort.
    """
    links = Asset.input_assets.through.objects.filter(from_asset_id=OuterRef("pk"))
    return Subquery(
        links.values("from_asset_id")
        .annotate(ids=StringAgg(Cast("to_asset_id", TextField()), Value(",")))
        .values("ids")
    )


def asset_dicts(assets: QuerySet[Asset]) -> list[dict[str, Any]]:
    """Asset shapes of ``assets`` in one query: the creator joined, the lineage aggregated.

    A prefetch of ``input_assets`` would be a second query, and only when some asset
    has inputs: the count would depend on the data. Built from ``values()`` rows, as
    ``posts_page`` is, rather than model instances: instantiating the assets and
    their creators was the largest single cost of a ``search_prompts`` page
    (docs/prompt-search.md, "Cost"); the shapes are the same as ``asset_dict``'s
    (tests/tracking/test_search_prompts.py compares them).
    """
    user_field = get_user_model().USERNAME_FIELD
    rows = assets.annotate(lineage_ids=_lineage_ids()).values(
        *_ASSET_COLUMNS, f"created_by__{user_field}", "lineage_ids"
    )
    return [
        _plain_asset_from_row(
            row,
            [int(pk) for pk in row["lineage_ids"].split(",")] if row["lineage_ids"] else [],
            user_field,
        )
        for row in rows
    ]


def prompt_hits(prompts: QuerySet[Prompt]) -> dict[int, dict[str, Any]]:
    """The Prompt shape with ``rank`` and ``snippet`` of each prompt of a search
    (``Prompt.objects.search``), by id, from ``values()`` rows in one query."""
    from tracking.prompt_search import snippet_html

    user_field = get_user_model().USERNAME_FIELD
    rows = prompts.values(
        *_PROMPT_COLUMNS, f"created_by__{user_field}", "search_rank", "search_headline"
    )
    return {
        row["id"]: _prompt_from_row(row, "", user_field)
        | {
            "rank": float(row["search_rank"] or 0.0),
            "snippet": snippet_html(row["search_headline"]),
        }
        for row in rows
    }


# The most posts one details page holds (``list_civitai_posts``' ``limit``).
_DETAILS_MAX_POSTS = 100


def _assets_of_posts_query(**post_ids: int) -> QuerySet[Asset]:
    """The assets of the given posts joined to both prompts and the three creators, with
    their lineage ids aggregated per row (``posts_page``)."""
    user_field = get_user_model().USERNAME_FIELD
    creator = f"created_by__{user_field}"
    prompt_columns = [
        f"{side}__{column}"
        for side in ("input_prompt", "output_prompt")
        for column in (*_PROMPT_COLUMNS, creator)
    ]
    return (
        Asset.objects.filter(post_id__in=list(post_ids.values()))
        .annotate(lineage_ids=_lineage_ids())
        .order_by("id")
        .values(*_ASSET_COLUMNS, creator, *prompt_columns, "lineage_ids")
    )


# Compiled once per number of posts on a page (at most 100 shapes): building and
# compiling this 40-column, seven-join query took about a tenth of a details page's
# time, as it did for find_asset's (civitrack.compiled).
_ASSETS_OF_POSTS = CompiledValues(
    _assets_of_posts_query, {f"post{i}": int for i in range(_DETAILS_MAX_POSTS)}
)


def posts_page(
    page: QuerySet[Post], *, include_details: bool
) -> tuple[list[dict[str, Any]], int | None]:
    """The posts of ``page`` (ordered, sliced, annotated with ``total``, see
    ``civitrack.listing.matching_count``) as Post shapes, with ``assets`` if
    ``include_details``, and that total: one query, two with details. The total is None for an empty page (no row
    carried it); the caller counts then."""
    user_field = get_user_model().USERNAME_FIELD
    rows = list(page.values(*_POST_COLUMNS, f"created_by__{user_field}", "total"))
    if not rows:
        return [], None
    if include_details:
        posts = _posts_with_assets(rows, user_field)
    else:
        posts = [_post_from_row(row, "", user_field) for row in rows]
    return posts, rows[0]["total"]


def _posts_with_assets(posts: list[dict[str, Any]], user_field: str) -> list[dict[str, Any]]:
    """Post shapes with ``assets`` from the posts' ``values()`` rows; one query."""
    post_ids = {f"post{i}": p["id"] for i, p in enumerate(posts)}
    if len(posts) <= _DETAILS_MAX_POSTS:
        assets = _ASSETS_OF_POSTS.rows(**post_ids)
    else:
        assets = _assets_of_posts_query(**post_ids)
    by_post: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in assets:
        inputs = [int(pk) for pk in row["lineage_ids"].split(",")] if row["lineage_ids"] else []
        by_post[row["post_id"]].append(_asset_from_row(row, inputs, user_field))
    details = []
    for row in posts:
        data = _post_from_row(row, "", user_field)
        data["assets"] = by_post.get(row["id"], [])
        details.append(data)
    return details


def _post_from_row(row: dict[str, Any], prefix: str, user_field: str) -> dict[str, Any] | None:
    k = _keys(prefix, user_field)
    pk = row[k.id]
    if pk is None:
        return None
    return {
        "post_id": str(pk),
        "civitai_id": id_str(row[k.civitai_id]),
        "civitai_url": row[k.civitai_url],
        "civitai_account": row[k.civitai_account],
        "status": row[k.status],
        "title": row[k.title],
        "description": row[k.description],
        "metadata": row[k.metadata],
        "created_by": row[k.creator],
        "on_behalf_of": row[k.on_behalf_of],
        "created_at": iso(row[k.created_at]),
        "updated_at": iso(row[k.updated_at]),
    }


def _first_asset_query(
    pk: int | None = None,
    sha256sum: str | None = None,
    civitai_id: int | None = None,
    civitai_url_id: int | None = None,
    post_id: int | None = None,
) -> QuerySet[Asset]:
    """The lowest-id asset matching every key given, as one ``values()`` row (see below)."""
    assets = Asset.objects.all()
    if pk is not None:
        assets = assets.filter(pk=pk)
    if sha256sum is not None:
        assets = assets.filter(sha256sum=sha256sum)
    if civitai_id is not None:
        assets = assets.filter(civitai_id=civitai_id)
    if civitai_url_id is not None:  # both given: both must match, as two conditions
        assets = assets.filter(civitai_id=civitai_url_id)
    if post_id is not None:
        assets = assets.filter(post_id=post_id)
    user_field = get_user_model().USERNAME_FIELD
    creator = f"created_by__{user_field}"
    related = [
        f"{side}__{column}"
        for side in ("input_prompt", "output_prompt")
        for column in (*_PROMPT_COLUMNS, creator)
    ]
    related += [f"post__{column}" for column in (*_POST_COLUMNS, creator)]
    return (
        assets.order_by("id")
        .annotate(lineage_ids=_lineage_ids())
        .values(*_ASSET_COLUMNS, creator, *related, "lineage_ids")[:1]
    )


_FIRST_ASSET = CompiledValues(
    _first_asset_query,
    {"pk": int, "sha256sum": str, "civitai_id": int, "civitai_url_id": int, "post_id": int},
)


def first_asset_with_links(
    *,
    pk: int | None = None,
    sha256sum: str | None = None,
    civitai_id: int | None = None,
    civitai_url_id: int | None = None,
    post_id: int | None = None,
) -> dict[str, Any] | None:
    """The lowest-id asset matching every key given, as ``asset_with_links`` gives it; one query.

    ``find_asset`` is the API's most frequent read. Its instance path (four
    ``select_related`` joins plus a prefetch of the lineage) cost two queries and most
    of its time in building model instances and compiling SQL; this reads one
    ``values()`` row with the lineage ids aggregated in the same query, and compiles
    that query once per combination of keys (``civitrack.compiled``: building and
    compiling it cost more than running it; docs/benchmarks.md, HTTP API). Same
    document: tests/tracking/test_find_asset.py compares it with ``asset_with_links``.
    """
    found = _FIRST_ASSET.rows(
        pk=pk,
        sha256sum=sha256sum,
        civitai_id=civitai_id,
        civitai_url_id=civitai_url_id,
        post_id=post_id,
    )
    if not found:
        return None
    row = found[0]
    user_field = get_user_model().USERNAME_FIELD
    links = row["lineage_ids"]
    inputs = [int(link) for link in links.split(",")] if links else []
    return _asset_from_row(row, inputs, user_field) | {
        "post": _post_from_row(row, "post__", user_field)
    }
