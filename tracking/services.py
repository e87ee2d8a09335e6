"""The recording operations: one function per tool (docs/contract.md, "Recording tools").

Every adapter (MCP, HTTP, admin actions, commands) calls these and nothing else for
writes. Each function's input is declared once in ``tracking.inputs`` (``@takes``):
callers pass the tool's parameters as keyword arguments plus ``user`` (the acting
Django user, recorded as ``created_by``), and the body receives the checked
``params``. Each writes inside ``transaction.atomic()`` and returns the contract's
JSON-ready dict. Failures raise the ``tracking.errors`` family with the contract's
phrases; an error leaves the database as it was.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Window

from civitrack.listing import matching_count
from tracking import civitai_import, file_facts, guides, hashing, inputs, media_types, perceptual
from tracking.civitai_urls import check_page_url, parse_image_ref
from tracking.errors import Duplicate, InvalidInput, RecordNotFound, ToolError
from tracking.file_facts import FileFacts
from tracking.models import Asset, NearDuplicateDecision, Post, Prompt, canonical_pair
from tracking.permissions import check_can_change, recorded_user
from tracking.serializers import (
    asset_dict,
    asset_dicts,
    first_asset_with_links,
    post_dict,
    posts_page,
    prompt_dict,
    prompt_hits,
)

logger = logging.getLogger(__name__)

_BIGINT_MAX = 2**63 - 1


def takes(model: type[inputs.ToolInput]):
    """Declare the input of a service: its keyword arguments are checked against ``model``.

    The service body receives ``params``, an instance of the declaration. Callers pass
    the tool's parameters as keyword arguments (the admin, commands, tests) or a
    ``params`` the tool registry already checked (so a tool call is validated once).
    """

    def decorate(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(fn)
        def wrapper(*, user, params: inputs.ToolInput | None = None, **kwargs: Any):
            if params is None:
                params = inputs.validate(model, kwargs, fn.__name__)
            elif kwargs:
                raise TypeError("pass either params or keyword arguments, not both")
            return fn(user=user, params=params)

        wrapper.input_model = model  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _get(model, field: str, pk: int, *, lock: bool = False):
    """The record with ``pk`` or ``RecordNotFound`` naming the parameter as the caller sent it."""
    qs = model.objects.all()
    if lock:
        qs = qs.select_for_update()
    try:
        return qs.get(pk=pk)
    except model.DoesNotExist:
        raise RecordNotFound(f"Record not found: {field} {pk}") from None


def _get_or_none(model, field: str, pk: int | None):
    return None if pk is None else _get(model, field, pk)


def _existing_assets(ids: list[int]) -> list[Asset]:
    if not ids:  # most creates link nothing; building the empty query cost ~0.5 ms
        return []
    found = {a.pk: a for a in Asset.objects.filter(pk__in=ids).only("id")}
    for pk in ids:
        if pk not in found:
            raise RecordNotFound(f"Record not found: input_asset_ids {pk}")
    return [found[pk] for pk in ids]


def _asset_duplicate(sha256sum: str | None, civitai_id: int | None, exclude: int | None = None):
    """The ``Duplicate`` error for whichever unique asset value is already taken, or None."""
    qs = Asset.objects.all()
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    if sha256sum:
        pk = qs.filter(sha256sum=sha256sum).values_list("pk", flat=True).first()
        if pk is not None:
            return Duplicate(f"An asset with this sha256sum already exists (asset_id {pk})")
    if civitai_id is not None:
        pk = qs.filter(civitai_id=civitai_id).values_list("pk", flat=True).first()
        if pk is not None:
            return Duplicate(f"An asset with this civitai_id already exists (asset_id {pk})")
    return None


def _attribute(record, user) -> None:
    """Name ``user`` in the record's history entry, whichever adapter made the change.

    The shell operator (a command without ``--user``) is no account: history names nobody.
    """
    user = recorded_user(user)
    if user is not None:
        record._history_user = user


def _save_asset(asset: Asset, user) -> None:
    """Save inside a savepoint; a unique clash (even a concurrent one) becomes ``Duplicate``."""
    _attribute(asset, user)
    try:
        with transaction.atomic():
            asset.save()
    except IntegrityError:
        error = _asset_duplicate(asset.sha256sum, asset.civitai_id, exclude=asset.pk)
        if error is None:
            raise
        raise error from None


# --- tools ----------------------------------------------------------------------


@takes(inputs.CalculateSha256Input)
def calculate_sha256(*, user, params: inputs.CalculateSha256Input) -> dict[str, Any]:
    """sha256 and size of an http(s) URL or a file under ``HASH_ALLOWED_ROOTS``; writes nothing."""
    result = hashing.hash_path(params.path)
    return {"sha256sum": result.sha256sum, "size_bytes": result.size_bytes}


@takes(inputs.CreatePromptInput)
def create_prompt(*, user, params: inputs.CreatePromptInput) -> dict[str, Any]:
    """Record a prompt (what generated an asset, or a caption derived from one)."""
    prompt = Prompt(
        prompt_text=params.prompt_text,
        llm_model_provider=params.llm_model_provider,
        llm_model=params.llm_model,
        purpose=params.purpose,
        metadata=params.metadata or {},
    )
    prompt.attribute_to(user, params.on_behalf_of)
    _attribute(prompt, user)
    with transaction.atomic():
        prompt.save()
    return {"prompt_id": str(prompt.pk), "prompt": prompt_dict(prompt)}


def _hash_for_create(url: str, asset_type: str) -> tuple[str | None, FileFacts | None]:
    """The sha256 of ``asset_url`` when it can be read, checking its bytes match
    ``asset_type``, and what the file readers found in the same bytes.

    Unreadable (other schemes such as ``s3://``, a refused address, a failed download):
    (None, None), and the asset is still recorded. Readable but holding the other kind
    of media than ``asset_type`` says: refused, naming what the bytes are.
    """
    if not hashing.can_hash(url):
        return None, None
    try:
        result, facts = file_facts.facts_of_path(url, asset_type)
    except ToolError as exc:
        logger.warning("create_asset: could not hash asset_url, sha256sum left null: %s", exc)
        return None, None
    found = media_types.sniff(result.head)
    if found is not None and found.kind != asset_type:
        raise InvalidInput(
            f'asset_type is "{asset_type}" but the file at asset_url is {found.label}'
            f' ({found.kind}): send asset_type "{found.kind}"'
        )
    return result.sha256sum, facts


def similar_assets(
    phash: int | None,
    *,
    asset_type: str | None = None,
    exclude: int | None = None,
    max_distance: int = perceptual.DEFAULT_MAX_DISTANCE,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """``[{asset_id, distance}]`` of the assets near ``phash``, nearest first ([] without one)."""
    if phash is None:
        return []
    qs = Asset.objects.near(phash, max_distance)
    if asset_type is not None:
        qs = qs.filter(asset_type=asset_type)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return [
        {"asset_id": str(pk), "distance": distance}
        for pk, distance in qs.values_list("pk", "distance")[:limit]
    ]


FILE_PROMPT_PURPOSE = "file_metadata"


def _prompt_from_file(found: dict[str, Any] | None, user, on_behalf_of: str | None):
    """An unsaved input Prompt made from the prompt a file carried, or None.

    Each asset gets a prompt of its own, as ``create_prompt`` always records a new one
    (the project has no rule merging identical prompts). ``purpose`` says where the
    text came from; the negative prompt and the reader's source go in its metadata.
    """
    text = found.get("prompt") if isinstance(found, dict) else None
    if not isinstance(text, str) or not text.strip():
        return None
    prompt = Prompt(
        prompt_text=text,
        purpose=FILE_PROMPT_PURPOSE,
        metadata={
            "source": found.get("source"),
            "read_from": found.get("read_from"),
            "negative_prompt": found.get("negative_prompt"),
        },
    )
    prompt.attribute_to(user, on_behalf_of)
    _attribute(prompt, user)
    return prompt


@takes(inputs.CreateAssetInput)
def create_asset(*, user, params: inputs.CreateAssetInput) -> dict[str, Any]:
    """Record an image or video, refusing a second asset with the same sha256sum or civitai_id.

    Without ``sha256sum`` the file at ``asset_url`` is hashed when it can be read (an
    http(s) URL or a file under ``HASH_ALLOWED_ROOTS``), and its first bytes must be
    the kind of media ``asset_type`` names. When no sha256 can be had, the same
    ``asset_url`` recorded twice is the duplicate instead. Hashing happens before the
    transaction opens so a slow download never holds database locks.

    The same read yields the generation metadata the file carries (``tracking.generation``),
    stored as ``metadata["generation"]`` unless the caller sent one; with no
    ``input_prompt_id`` the file's prompt becomes the input prompt, written in the
    same transaction (``input_prompt_created``).
    """
    check_page_url(params.civitai_url, params.civitai_id, "image")
    sha, facts = params.sha256sum, None
    if sha is None:
        sha, facts = _hash_for_create(params.asset_url, params.asset_type)
    return _record_asset(user, params, sha, facts)


def create_uploaded_asset(*, user, facts: FileFacts | None, **tool_params: Any) -> dict[str, Any]:
    """``create_asset`` for a file civitrack received itself (the admin upload,
    tracking/uploads.py): the same declared input, checks and duplicates, with the sha256
    and the file readers' findings taken from the upload instead of a second read."""
    params = inputs.validate(inputs.CreateAssetInput, tool_params, "create_asset")
    if params.sha256sum is None:
        raise InvalidInput("an uploaded asset needs the sha256sum of its bytes")
    check_page_url(params.civitai_url, params.civitai_id, "image")
    return _record_asset(user, params, params.sha256sum, facts)


def _record_asset(user, params: inputs.CreateAssetInput, sha: str | None, facts) -> dict[str, Any]:
    """The write both ``create_asset`` and ``create_uploaded_asset`` end in.

    A unique clash (even with a concurrent create) rolls the whole transaction back and
    becomes ``Duplicate`` after it, as ``_save_asset`` does inside a savepoint for
    updates: nothing else was written that should be kept, and the savepoint's two
    round trips were a fifth of a ``create_asset`` request's statements.
    """
    inputs_ids = params.input_asset_ids or []
    try:
        asset, created_prompt, similar = _write_asset(user, params, sha, facts, inputs_ids)
    except IntegrityError:
        error = _asset_duplicate(sha and sha.lower(), params.civitai_id)
        if error is None:
            raise
        raise error from None
    return {
        "asset_id": str(asset.pk),
        "sha256sum": asset.sha256sum,
        "asset": asset_dict(asset, input_asset_ids=inputs_ids),
        "similar_assets": similar,
        "input_prompt_created": created_prompt is not None,
        "input_prompt_id": None if created_prompt is None else str(created_prompt.pk),
    }


def _write_asset(user, params: inputs.CreateAssetInput, sha: str | None, facts, inputs_ids):
    """``_record_asset``'s writes: the asset, the prompt read from its file, links.

    The reads come first (each its own statement; under READ COMMITTED a transaction
    around them would see no more than they do), then the writes. When the asset is
    the only write and ``insert_new`` writes it and its history in one statement, that
    statement is the transaction: no BEGIN/COMMIT round trips. A caller's open
    transaction gets a savepoint, as before, so a unique clash leaves it usable.
    """
    if sha is None:
        pk = Asset.objects.filter(asset_url=params.asset_url).values_list("pk", flat=True).first()
        if pk is not None:
            raise Duplicate(f"An asset with this asset_url already exists (asset_id {pk})")
    asset = Asset(
        asset_url=params.asset_url,
        asset_type=params.asset_type,
        asset_source=params.asset_source,
        sha256sum=sha,
        civitai_id=params.civitai_id,
        civitai_url=params.civitai_url,
        input_prompt=_get_or_none(Prompt, "input_prompt_id", params.input_prompt_id),
        output_prompt=_get_or_none(Prompt, "output_prompt_id", params.output_prompt_id),
        post=_get_or_none(Post, "post_id", params.post_id),
        metadata=dict(params.metadata or {}),
    )
    found = facts.extra.get("generation") if facts is not None else None
    if found is not None:
        asset.metadata.setdefault("generation", found)
    created_prompt = None
    if params.input_prompt_id is None:
        created_prompt = _prompt_from_file(found, user, params.on_behalf_of)
    if facts is not None:
        asset.set_perceptual(facts)
    asset.attribute_to(user, params.on_behalf_of)
    linked = _existing_assets(inputs_ids)
    # Near-duplicates warn, they do not refuse (a variation is a new work).
    similar = similar_assets(asset.phash, asset_type=asset.asset_type)
    _attribute(asset, user)
    if (
        created_prompt is None
        and not linked
        and not transaction.get_connection().in_atomic_block
        and asset.inserts_in_one_statement()
    ):
        asset.insert_new()
        return asset, created_prompt, similar
    with transaction.atomic():
        if created_prompt is not None:
            created_prompt.save()
            asset.input_prompt = created_prompt
        asset.insert_new()
        if linked:
            asset.input_assets.set(linked)
    return asset, created_prompt, similar


@takes(inputs.CreateCivitaiPostInput)
def create_civitai_post(*, user, params: inputs.CreateCivitaiPostInput) -> dict[str, Any]:
    """Record a Civitai post; ``civitai_url`` must be the post URL of ``civitai_id``."""
    check_page_url(params.civitai_url, params.civitai_id, "post")
    post = Post(
        civitai_id=params.civitai_id,
        civitai_url=params.civitai_url,
        status=params.status or Post.Status.PUBLISHED,
        title=params.title,
        description=params.description,
        metadata=params.metadata or {},
    )
    post.attribute_to(user, params.on_behalf_of)
    _attribute(post, user)
    with transaction.atomic():
        try:
            with transaction.atomic():
                post.save()
        except IntegrityError:
            pk = (
                Post.objects.filter(civitai_id=params.civitai_id)
                .values_list("pk", flat=True)
                .first()
            )
            if pk is None:
                raise
            raise Duplicate(f"A post with this civitai_id already exists (post_id {pk})") from None
    return {"post_id": str(post.pk), "post": post_dict(post)}


@takes(inputs.UpdateAssetInput)
def update_asset(*, user, params: inputs.UpdateAssetInput) -> dict[str, Any]:
    """Change an asset's links and Civitai fields: omitted keeps, ``null`` clears, a value sets.

    ``metadata`` sent as ``null`` becomes ``{}`` and ``input_asset_ids`` as ``null``
    becomes ``[]`` (neither is nullable). Every referenced record must exist, and the
    resulting ``civitai_url``/``civitai_id`` pair must agree; otherwise nothing changes.
    Only the asset's creator or staff allowed to change assets may change it.
    """
    pk = params.asset_id
    sent = params.sent
    with transaction.atomic():
        asset = _get(Asset, "asset_id", pk, lock=True)
        check_can_change(user, asset, field="asset_id")
        if sent("input_asset_ids"):
            asset.check_inputs(params.input_asset_ids or [])
        if sent("post_id"):
            asset.post = _get_or_none(Post, "post_id", params.post_id)
        if sent("input_prompt_id"):
            asset.input_prompt = _get_or_none(Prompt, "input_prompt_id", params.input_prompt_id)
        if sent("output_prompt_id"):
            asset.output_prompt = _get_or_none(Prompt, "output_prompt_id", params.output_prompt_id)
        for field in ("civitai_id", "civitai_url", "on_behalf_of"):
            if sent(field):
                setattr(asset, field, getattr(params, field))
        if sent("civitai_id") or sent("civitai_url"):
            check_page_url(asset.civitai_url, asset.civitai_id, "image")
        if sent("metadata"):
            asset.metadata = params.metadata or {}
        linked = _existing_assets(params.input_asset_ids or []) if sent("input_asset_ids") else None
        _save_asset(asset, user)
        if linked is not None:
            asset.input_assets.set(linked)
    asset = Asset.objects.select_related("created_by").get(pk=pk)
    return {"asset": asset_dict(asset)}


@takes(inputs.UpdatePostInput)
def update_post(*, user, params: inputs.UpdatePostInput) -> dict[str, Any]:
    """Change a post's status, title, description or metadata (omitted keeps, null clears).

    Only the post's creator or staff allowed to change posts may change it
    (``tracking.permissions``): an agent acting for one user cannot, for instance,
    mark another user's pending post as published.
    """
    pk = params.post_id
    with transaction.atomic():
        post = _get(Post, "post_id", pk, lock=True)
        check_can_change(user, post, field="post_id")
        for field in ("status", "title", "description"):
            if params.sent(field):
                setattr(post, field, getattr(params, field))
        if params.sent("metadata"):
            post.metadata = params.metadata or {}
        _attribute(post, user)
        post.save()
    post = Post.objects.select_related("created_by").get(pk=pk)
    return {"post": post_dict(post)}


@takes(inputs.FindAssetInput)
def find_asset(*, user, params: inputs.FindAssetInput) -> dict[str, Any]:
    """Look an asset up by any of its keys (all given must match); absence is not an error.

    The found asset carries its input and output prompts and its post, nested. By
    ``post_id`` it is the post's first asset (lowest id), and ``post_asset_count`` says
    how many the post has. ``civitai_url`` is matched by the image id it names, so any
    form of a Civitai image URL finds the asset.
    """
    asset = first_asset_with_links(
        pk=params.asset_id,
        sha256sum=params.sha256sum,
        civitai_id=params.civitai_id,
        civitai_url_id=(
            None
            if params.civitai_url is None
            else parse_image_ref(params.civitai_url, field="civitai_url")
        ),
        post_id=params.post_id,
    )
    result: dict[str, Any] = {"found": asset is not None}
    if asset is not None:
        result["asset"] = asset
    if params.post_id is not None:
        result["post_asset_count"] = Asset.objects.filter(post_id=params.post_id).count()
    return result


@takes(inputs.ListCivitaiPostsInput)
def list_civitai_posts(*, user, params: inputs.ListCivitaiPostsInput) -> dict[str, Any]:
    """Posts newest first, filtered and paged; ``include_details`` nests assets and prompts.

    ``start_time``/``end_time`` bound ``created_at`` inclusively. ``created_by`` is a
    username and ``on_behalf_of`` a name, both matched without regard to case (agents
    of the original server send them as they were typed); an unknown one matches
    nothing. The query count is fixed whatever the page size: one (the page carries the
    total, ``matching_count``), two with details; an empty page counts separately.
    """
    page_size = inputs.DEFAULT_LIMIT if params.limit is None else params.limit
    start = params.offset or 0

    qs = Post.objects.all()
    if params.civitai_id is not None:
        qs = qs.filter(civitai_id=params.civitai_id)
    if params.status is not None:
        qs = qs.filter(status=params.status)
    if params.created_by is not None:
        field = get_user_model().USERNAME_FIELD
        qs = qs.filter(**{f"created_by__{field}__iexact": params.created_by})
    if params.on_behalf_of is not None:
        qs = qs.filter(on_behalf_of__iexact=params.on_behalf_of)
    if params.start_time:
        qs = qs.filter(created_at__gte=params.start_time)
    if params.end_time:
        qs = qs.filter(created_at__lte=params.end_time)

    if start + page_size > _BIGINT_MAX:
        # An offset past any table: answer without sending it to the database, where
        # it overflows the 64-bit OFFSET (a 500 on both backends).
        posts, total = [], None
    else:
        page = qs.annotate(total=matching_count(qs)).order_by("-created_at", "-id")
        posts, total = posts_page(
            page[start : start + page_size], include_details=bool(params.include_details)
        )
    if total is None:
        total = qs.count()
    return {
        "posts": posts,
        "total": total,
        "limit": page_size,
        "offset": start,
    }


@takes(inputs.FetchCivitaiPostAssetsInput)
def fetch_civitai_post_assets(
    *, user, params: inputs.FetchCivitaiPostAssetsInput
) -> dict[str, Any]:
    """The live, validated images of a Civitai post (see ``civitai_import``); writes nothing."""
    return civitai_import.fetch_civitai_post_assets(
        post_id=params.post_id,
        limit=params.limit or inputs.FETCH_DEFAULT_LIMIT,
        page=params.page or 1,
    )


@takes(inputs.ImportCivitaiPostInput)
def import_civitai_post(*, user, params: inputs.ImportCivitaiPostInput) -> dict[str, Any]:
    """Record a Civitai post and its images (see ``civitai_import``)."""
    return civitai_import.import_civitai_post(
        post=params.post, dry_run=bool(params.dry_run), user=user
    )


@takes(inputs.SyncPostAssetStatsInput)
def sync_post_asset_stats(*, user, params: inputs.SyncPostAssetStatsInput) -> dict[str, Any]:
    """Refresh the engagement snapshots of a recorded post's assets, by either id.

    ``post_id`` is civitrack's record id, ``civitai_post_id`` Civitai's (the original
    server's spelling); both given must name the same post.
    """
    return civitai_import.sync_post_asset_stats(
        post_id=params.post_id, civitai_post_id=params.civitai_post_id, user=user
    )


@takes(inputs.TraceAssetInput)
def trace_asset(*, user, params: inputs.TraceAssetInput) -> dict[str, Any]:
    """The Orchestration results that produced a file (``orchestration.trace``).

    Imported when called: the tracking app does not need orchestration to load.
    """
    from orchestration.trace import trace_asset as trace

    return trace(asset_id=params.asset_id, sha256sum=params.sha256sum)


@takes(inputs.FindSimilarAssetsInput)
def find_similar_assets(*, user, params: inputs.FindSimilarAssetsInput) -> dict[str, Any]:
    """Recorded assets that look like an asset (by id or sha256) or a file (by path).

    Read-only. A ``path`` is read under the hashing rules (``tracking.hashing``) and
    the file readers (``tracking.file_facts``); a file that cannot be hashed
    perceptually is an ``InvalidInput`` naming why. A recorded asset without a
    perceptual hash yet (not backfilled, not an image or video it could decode) gives
    an empty answer with a ``note``. Only assets of the same type are compared.
    """
    k = perceptual.DEFAULT_MAX_DISTANCE if params.max_distance is None else params.max_distance
    limit = params.limit or inputs.DEFAULT_LIMIT
    source, note = None, None
    if params.path is not None:
        result, facts = file_facts.facts_of_path(params.path)
        if facts.phash is None:
            why = "; ".join(facts.problems) or "it is not an image or video civitrack can decode"
            raise InvalidInput(f"Cannot hash {hashing.display(params.path)} perceptually: {why}")
        sha, kind, phash = result.sha256sum, facts.kind, facts.phash
        source = Asset.objects.filter(sha256sum=sha).values_list("pk", flat=True).first()
    else:
        if params.asset_id is not None:
            asset = _get(Asset, "asset_id", params.asset_id)
        else:
            asset = Asset.objects.filter(sha256sum=params.sha256sum).first()
            if asset is None:
                raise RecordNotFound(f"Record not found: sha256sum {params.sha256sum}")
        source, sha, kind, phash = asset.pk, asset.sha256sum, asset.asset_type, asset.phash
        if phash is None:
            note = (
                f"asset_id {asset.pk} has no perceptual hash yet: its file was not read"
                " (run hash_perceptual) or could not be decoded"
            )
    found = []
    if phash is not None:
        qs = Asset.objects.near(phash, k).filter(asset_type=kind).prefetch_related("input_assets")
        qs = qs.select_related("created_by")
        if source is not None:
            qs = qs.exclude(pk=source)
        found = [
            {"asset_id": str(a.pk), "distance": a.distance, "asset": asset_dict(a)}
            for a in qs[:limit]
        ]
    return {
        "asset_id": None if source is None else str(source),
        "sha256sum": sha,
        "asset_type": kind,
        "phash": None if phash is None else f"{perceptual.to_unsigned(phash):016x}",
        "max_distance": k,
        "similar_assets": found,
        "note": note,
    }


@takes(inputs.MatchPostAssetsInput)
def match_post_assets(*, user, params: inputs.MatchPostAssetsInput) -> dict[str, Any]:
    """Propose links from recorded assets to a Civitai post's images (``post_matching``).

    Read-only unless ``apply``; applying writes each link through ``update_asset``.
    """
    from tracking import post_matching

    return post_matching.match_post_assets(
        post=params.post,
        user=user,
        apply=bool(params.apply),
        max_distance=inputs.MATCH_DEFAULT_DISTANCE
        if params.max_distance is None
        else params.max_distance,
        asset_ids=params.asset_ids,
    )


@takes(inputs.SearchPromptsInput)
def search_prompts(*, user, params: inputs.SearchPromptsInput) -> dict[str, Any]:
    """Prompts ranked by full-text search (``Prompt.objects.search``), each with its
    highlighted ``snippet`` (HTML) and the assets it generated; writes nothing.

    Three queries whatever the page size: the page's ids in rank order with the number
    of matches beside them (a window count over the same scan, so the matches are read
    once: ranking has to read each of them anyway), the page's prompts with rank and
    snippet (computed for the page only, not for every match), and their assets with
    lineage, both as ``values()`` rows. A page past the end finds no ids and counts the
    matches instead (two queries); no match at all is one query.
    """
    page_size = inputs.DEFAULT_LIMIT if params.limit is None else params.limit
    start = params.offset or 0
    found = Prompt.objects.search(params.query)
    if start > _MAX_OFFSET:  # as in list_civitai_posts: a huge OFFSET would overflow
        return _search_answer(params, [], total=found.count(), limit=page_size, offset=start)
    ranked = list(
        found.annotate(matches=Window(Count("pk"))).values_list("pk", "matches")[
            start : start + page_size
        ]
    )
    if not ranked:
        total = found.count() if start else 0
        return _search_answer(params, [], total=total, limit=page_size, offset=start)
    ids = [pk for pk, _matches in ranked]
    page = prompt_hits(Prompt.objects.filter(pk__in=ids).search(params.query))
    generated: dict[int, list[dict[str, Any]]] = {pk: [] for pk in ids}
    for shaped in asset_dicts(Asset.objects.filter(input_prompt_id__in=ids).order_by("id")):
        generated[int(shaped["input_prompt_id"])].append(shaped)
    hits = [
        page[pk] | {"assets": generated[pk]}
        for pk in ids
        if pk in page  # deleted between the two queries
    ]
    return _search_answer(params, hits, total=ranked[0][1], limit=page_size, offset=start)


# PostgreSQL's OFFSET is a bigint; no table holds more rows than that.
_MAX_OFFSET = 2**63 - 1


def _search_answer(
    params: inputs.SearchPromptsInput,
    hits: list[dict[str, Any]],
    *,
    total: int,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    return {
        "query": params.query,
        "prompts": hits,
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@takes(inputs.NoInput)
def get_workflow_guide(*, user, params: inputs.NoInput) -> dict[str, Any]:
    """The recording workflow guide, for MCP clients that do not support prompts."""
    return {"name": "record_civitai_workflow", "guide": guides.text("recording")}


@takes(inputs.NoInput)
def get_media_engagement_guide(*, user, params: inputs.NoInput) -> dict[str, Any]:
    """The media engagement guide, for MCP clients that do not support prompts."""
    return {"name": "civitai_media_engagement", "guide": guides.text("engagement")}


# --- helpers for the admin and commands (not tools) -----------------------------


def fill_asset_sha256(*, user, asset_id: int | str) -> dict[str, Any]:
    """Hash an existing asset's ``asset_url`` and store the result if it has none yet.

    Used by the admin action. Refuses an asset whose URL cannot be read
    (``InvalidInput``) and a hash another asset already has (``Duplicate``).
    """
    pk = inputs.parse_id("asset_id", asset_id)
    asset = _get(Asset, "asset_id", pk)
    check_can_change(user, asset, field="asset_id")  # before the (slow) download too
    if asset.sha256sum:
        return {"asset": asset_dict(asset), "changed": False}
    if not hashing.can_hash(asset.asset_url):
        raise InvalidInput(
            f"asset_url of asset_id {pk} cannot be hashed: it is not an http(s) URL"
            " or a file under HASH_ALLOWED_ROOTS"
        )
    result, facts = file_facts.facts_of_path(asset.asset_url, asset.asset_type)
    with transaction.atomic():
        asset = _get(Asset, "asset_id", pk, lock=True)
        check_can_change(user, asset, field="asset_id")
        changed = asset.sha256sum is None
        if changed:
            asset.sha256sum = result.sha256sum
            if asset.phash is None:  # the same read gives the perceptual hashes
                asset.set_perceptual(facts)
            _save_asset(asset, user)
    return {"asset": asset_dict(asset), "changed": changed}


def decide_near_duplicate(
    *,
    user,
    asset_id: int,
    other_asset_id: int,
    verdict: str,
    distance: int | None = None,
) -> dict[str, Any]:
    """Record staff's verdict on a near-duplicate pair (the admin's pairs page).

    Both assets must exist and the user must be allowed to change both (the ownership
    rule): saying two works are one is a statement about each of them. The pair is
    stored once whichever order it is named in; deciding again replaces the verdict.
    """
    low, high = canonical_pair(
        inputs.parse_id("asset_id", asset_id), inputs.parse_id("other_asset_id", other_asset_id)
    )
    with transaction.atomic():
        found = {a.pk: a for a in Asset.objects.filter(pk__in=[low, high])}
        for pk, field in ((low, "asset_id"), (high, "other_asset_id")):
            if pk not in found:
                raise RecordNotFound(f"Record not found: {field} {pk}")
            check_can_change(user, found[pk], field="asset_id")
        decision = NearDuplicateDecision.decide(
            recorded_user(user), low, high, verdict, distance=distance
        )
    return {
        "low_asset_id": str(low),
        "high_asset_id": str(high),
        "verdict": decision.verdict,
        "distance": decision.distance,
        "decided_at": decision.decided_at.isoformat(),
    }
