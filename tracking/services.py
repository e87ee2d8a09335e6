"""The recording operations: one function per tool (contract §3).

Every adapter (MCP, HTTP, admin actions, commands) calls these and nothing else for
writes. Each function takes keyword arguments exactly as the tool's parameters plus
``user`` (the acting Django user, recorded as ``created_by``), validates its input
before touching the database, writes inside ``transaction.atomic()`` and returns the
contract's JSON-ready dict. Failures raise the ``tracking.errors`` family with the
contract's phrases; an error leaves the database as it was.

IDs are accepted as strings of digits (the contract) and, for convenience of callers
that decode JSON numbers, as non-negative JSON integers; they are always returned as
strings. Booleans are never taken for integers.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from tracking import hashing
from tracking.civitai_urls import check_page_url
from tracking.errors import Duplicate, InvalidInput, RecordNotFound, ToolError
from tracking.models import ON_BEHALF_OF_MAX_LENGTH, Asset, Post, Prompt
from tracking.permissions import check_can_change
from tracking.serializers import asset_dict, post_dict, posts_with_details, prompt_dict

logger = logging.getLogger(__name__)


class _Unset:
    """Marks a parameter the caller left out (as opposed to sending ``null``)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()

MAX_ID = 2**63 - 1  # BigAutoField / BigIntegerField upper bound on every backend
ISO_HINT = "must be an ISO 8601 timestamp (e.g. 2025-01-15T10:00:00Z)"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_DIGITS = re.compile(r"[0-9]+")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


# --- validation helpers ---------------------------------------------------------


def refuse_unknown(tool: str, unknown: Iterable[str], allowed: Iterable[str]) -> None:
    """Refuse parameters the tool does not take, naming them and the ones it does."""
    unknown = sorted(unknown)
    if unknown:
        names = ", ".join(unknown)
        noun = "parameter" if len(unknown) == 1 else "parameters"
        raise InvalidInput(
            f"Unknown {noun} for {tool}: {names}. Allowed: {', '.join(sorted(allowed))}"
        )


def _is_text(value: str) -> bool:
    """True unless ``value`` holds a lone surrogate (``"\\ud800"`` in JSON), which no
    database, log or response encoder can write as UTF-8."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refuse_invalid_unicode(arguments: dict[str, Any]) -> None:
    """Refuse any key or string, at any depth, that is not valid Unicode, naming the parameter.

    JSON lets a client send a lone surrogate escape; left in, it fails deep inside the
    database driver or the URL library instead of as a clear ``InvalidInput``.
    """
    for name, value in arguments.items():
        if not isinstance(name, str) or not _is_text(name):
            raise InvalidInput("Parameter names must be valid Unicode text")
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                bad = not _is_text(item)
            elif isinstance(item, dict):
                bad = any(not _is_text(k) for k in item)
                stack.extend(item.values())
            elif isinstance(item, list):
                bad = False
                stack.extend(item)
            else:
                bad = False
            if bad:
                raise InvalidInput(
                    f"{name} must be valid Unicode text (it contains a lone surrogate)"
                )


def tool_function(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """Make a service refuse keyword arguments it does not take with a clear ``InvalidInput``.

    The parameter names come from the signature (minus ``user``) and are exposed as
    ``fn.parameters`` so the tool registry can check its schemas against them.
    """
    signature = inspect.signature(fn).parameters
    parameters = tuple(name for name in signature if name != "user")
    # Parameters without a default would otherwise fail as a TypeError (a 500), not a 400.
    required = tuple(
        name for name in parameters if signature[name].default is inspect.Parameter.empty
    )

    @functools.wraps(fn)
    def wrapper(*, user, **kwargs: Any) -> dict[str, Any]:
        refuse_unknown(fn.__name__, set(kwargs) - set(parameters), parameters)
        for name in required:
            if name not in kwargs:
                raise InvalidInput(f"{name} is required")
        return fn(user=user, **kwargs)

    wrapper.parameters = parameters  # type: ignore[attr-defined]
    return wrapper


def parse_id(field: str, value: Any) -> int:
    """An id given as a string of digits (or a JSON integer) → int, else the contract's error."""
    if isinstance(value, bool):
        raise InvalidInput(f"{field} must be a valid integer ID")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value) and len(value) <= 19:
        number = int(value)
    else:
        raise InvalidInput(f"{field} must be a valid integer ID")
    if not 0 < number <= MAX_ID:
        raise InvalidInput(f"{field} must be a valid integer ID")
    return number


def _required(field: str, value: Any) -> Any:
    if value is UNSET or value is None:
        raise InvalidInput(f"{field} is required")
    return value


def _text(field: str, value: Any, *, max_length: int | None = None, required: bool = False):
    """A string parameter; ``None``/unset stays ``None`` unless required. Blank counts as empty."""
    if value is UNSET or value is None:
        if required:
            raise InvalidInput(f"{field} is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string")
    if "\x00" in value:  # PostgreSQL text cannot hold NUL; refuse it on every backend
        raise InvalidInput(f"{field} must not contain NUL characters")
    if required and not value.strip():
        raise InvalidInput(f"{field} must not be empty")
    if max_length is not None and len(value) > max_length:
        raise InvalidInput(f"{field} must be at most {max_length} characters")
    return value


def _choice(field: str, value: Any, choices: tuple[str, ...], message: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise InvalidInput(message)
    return value


def _asset_type(value: Any) -> str:
    return _choice("asset_type", value, ("image", "video"), 'asset_type must be "image" or "video"')


def _asset_source(value: Any) -> str:
    return _choice(
        "asset_source",
        value,
        ("generated", "upload"),
        'asset_source must be "generated" or "upload"',
    )


def _status(value: Any) -> str:
    return _choice(
        "status",
        value,
        ("pending", "published", "failed"),
        'status must be "pending", "published" or "failed"',
    )


def parse_timestamp(field: str, value: Any) -> datetime:
    """ISO 8601 with a zone (``Z`` or ``+hh:mm``); a zoneless time is refused, not guessed."""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} {ISO_HINT}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field} {ISO_HINT}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InvalidInput(f"{field} {ISO_HINT} with a time zone")
    return parsed


def parse_sha256(value: Any) -> str:
    """64 hexadecimal characters in any case → stored lower-case."""
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise InvalidInput("sha256sum must be 64 hexadecimal characters")
    return value.lower()


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _metadata(value: Any) -> dict:
    if value is UNSET or value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("metadata must be a JSON object")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidInput("metadata must be a JSON object of JSON values") from None
    if _has_nul(value):  # PostgreSQL jsonb refuses NUL characters
        raise InvalidInput("metadata must not contain NUL characters")
    return value


def _id_list(field: str, value: Any) -> list[int]:
    if value is UNSET or value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{field} must be a list of integer IDs")
    return sorted({parse_id(field, item) for item in value})


def _on_behalf_of(value: Any) -> str | None:
    return _text("on_behalf_of", value, max_length=ON_BEHALF_OF_MAX_LENGTH)


def _get(model, field: str, pk: int, *, lock: bool = False):
    """The record with ``pk`` or ``RecordNotFound`` naming the parameter as the caller sent it."""
    qs = model.objects.all()
    if lock:
        qs = qs.select_for_update()
    try:
        return qs.get(pk=pk)
    except model.DoesNotExist:
        raise RecordNotFound(f"Record not found: {field} {pk}") from None


def _existing_assets(ids: list[int]) -> list[Asset]:
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
    """Name ``user`` in the record's history entry, whichever adapter made the change."""
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


def _username(user) -> str | None:
    return None if user is None else user.get_username()


# --- tools ----------------------------------------------------------------------


@tool_function
def calculate_sha256(*, user, path: Any = UNSET) -> dict[str, Any]:
    """sha256 and size of an http(s) URL or a file under ``HASH_ALLOWED_ROOTS``; writes nothing."""
    path = _text("path", path, max_length=2000, required=True)
    result = hashing.hash_path(path)
    return {"sha256sum": result.sha256sum, "size_bytes": result.size_bytes}


@tool_function
def create_prompt(
    *,
    user,
    prompt_text: Any = UNSET,
    llm_model_provider: Any = None,
    llm_model: Any = None,
    purpose: Any = None,
    metadata: Any = None,
    on_behalf_of: Any = None,
) -> dict[str, Any]:
    """Record a prompt (what generated an asset, or a caption derived from one)."""
    prompt = Prompt(
        prompt_text=_text("prompt_text", prompt_text, required=True),
        llm_model_provider=_text("llm_model_provider", llm_model_provider, max_length=100),
        llm_model=_text("llm_model", llm_model, max_length=200),
        purpose=_text("purpose", purpose, max_length=100),
        metadata=_metadata(metadata),
    )
    prompt.attribute_to(user, _on_behalf_of(on_behalf_of))
    _attribute(prompt, user)
    with transaction.atomic():
        prompt.save()
    return {"prompt_id": str(prompt.pk), "prompt": prompt_dict(prompt)}


@tool_function
def create_asset(
    *,
    user,
    asset_url: Any = UNSET,
    asset_type: Any = UNSET,
    asset_source: Any = UNSET,
    input_prompt_id: Any = None,
    output_prompt_id: Any = None,
    post_id: Any = None,
    civitai_id: Any = None,
    civitai_url: Any = None,
    sha256sum: Any = None,
    input_asset_ids: Any = None,
    metadata: Any = None,
    on_behalf_of: Any = None,
) -> dict[str, Any]:
    """Record an image or video, refusing a second asset with the same sha256sum or civitai_id.

    Without ``sha256sum`` the file at ``asset_url`` is hashed when it can be read (an
    http(s) URL or a file under ``HASH_ALLOWED_ROOTS``); if it cannot (other schemes
    such as ``s3://``, a refused address, a failed download) ``sha256sum`` stays null
    and the asset is still recorded. Hashing happens before the transaction opens so a
    slow download never holds database locks.
    """
    url = _text("asset_url", asset_url, max_length=2000, required=True)
    kind = _asset_type(_required("asset_type", asset_type))
    source = _asset_source(_required("asset_source", asset_source))
    in_prompt = None if input_prompt_id is None else parse_id("input_prompt_id", input_prompt_id)
    out_prompt = (
        None if output_prompt_id is None else parse_id("output_prompt_id", output_prompt_id)
    )
    post = None if post_id is None else parse_id("post_id", post_id)
    cid = None if civitai_id is None else parse_id("civitai_id", civitai_id)
    curl = _text("civitai_url", civitai_url, max_length=500)
    check_page_url(curl, cid, "image")
    sha = None if sha256sum is None else parse_sha256(sha256sum)
    inputs = _id_list("input_asset_ids", input_asset_ids)
    meta = _metadata(metadata)
    behalf = _on_behalf_of(on_behalf_of)

    if sha is None and hashing.can_hash(url):
        try:
            sha = hashing.hash_path(url).sha256sum
        except ToolError as exc:
            # Contract: hash when it can be read, otherwise leave it null.
            logger.warning("create_asset: could not hash asset_url, sha256sum left null: %s", exc)

    with transaction.atomic():
        asset = Asset(
            asset_url=url,
            asset_type=kind,
            asset_source=source,
            sha256sum=sha,
            civitai_id=cid,
            civitai_url=curl,
            input_prompt=None if in_prompt is None else _get(Prompt, "input_prompt_id", in_prompt),
            output_prompt=(
                None if out_prompt is None else _get(Prompt, "output_prompt_id", out_prompt)
            ),
            post=None if post is None else _get(Post, "post_id", post),
            metadata=meta,
        )
        asset.attribute_to(user, behalf)
        linked = _existing_assets(inputs)
        _save_asset(asset, user)
        if linked:
            asset.input_assets.set(linked)
    return {
        "asset_id": str(asset.pk),
        "sha256sum": asset.sha256sum,
        "asset": asset_dict(asset, input_asset_ids=inputs),
    }


@tool_function
def create_civitai_post(
    *,
    user,
    civitai_id: Any = UNSET,
    civitai_url: Any = UNSET,
    status: Any = None,
    title: Any = None,
    description: Any = None,
    metadata: Any = None,
    on_behalf_of: Any = None,
) -> dict[str, Any]:
    """Record a Civitai post; ``civitai_url`` must be the post URL of ``civitai_id``."""
    cid = parse_id("civitai_id", _required("civitai_id", civitai_id))
    url = _text("civitai_url", civitai_url, max_length=500, required=True)
    check_page_url(url, cid, "post")
    post = Post(
        civitai_id=cid,
        civitai_url=url,
        status=Post.Status.PUBLISHED if status is None else _status(status),
        title=_text("title", title, max_length=300),
        description=_text("description", description),
        metadata=_metadata(metadata),
    )
    post.attribute_to(user, _on_behalf_of(on_behalf_of))
    _attribute(post, user)
    with transaction.atomic():
        try:
            with transaction.atomic():
                post.save()
        except IntegrityError:
            pk = Post.objects.filter(civitai_id=cid).values_list("pk", flat=True).first()
            if pk is None:
                raise
            raise Duplicate(f"A post with this civitai_id already exists (post_id {pk})") from None
    return {"post_id": str(post.pk), "post": post_dict(post)}


@tool_function
def update_asset(
    *,
    user,
    asset_id: Any = UNSET,
    post_id: Any = UNSET,
    civitai_id: Any = UNSET,
    civitai_url: Any = UNSET,
    input_prompt_id: Any = UNSET,
    output_prompt_id: Any = UNSET,
    input_asset_ids: Any = UNSET,
    metadata: Any = UNSET,
    on_behalf_of: Any = UNSET,
) -> dict[str, Any]:
    """Change an asset's links and Civitai fields: omitted keeps, ``null`` clears, a value sets.

    ``metadata`` sent as ``null`` becomes ``{}`` and ``input_asset_ids`` as ``null``
    becomes ``[]`` (neither is nullable). Every referenced record must exist, and the
    resulting ``civitai_url``/``civitai_id`` pair must agree; otherwise nothing changes.
    Only the asset's creator or staff allowed to change assets may change it.
    """
    pk = parse_id("asset_id", _required("asset_id", asset_id))

    def opt_id(field: str, value: Any):
        return value if value is UNSET or value is None else parse_id(field, value)

    post = opt_id("post_id", post_id)
    cid = opt_id("civitai_id", civitai_id)
    in_prompt = opt_id("input_prompt_id", input_prompt_id)
    out_prompt = opt_id("output_prompt_id", output_prompt_id)
    curl = (
        civitai_url if civitai_url is UNSET else _text("civitai_url", civitai_url, max_length=500)
    )
    inputs = UNSET if input_asset_ids is UNSET else _id_list("input_asset_ids", input_asset_ids)
    meta = UNSET if metadata is UNSET else _metadata(metadata)
    behalf = UNSET if on_behalf_of is UNSET else _on_behalf_of(on_behalf_of)

    with transaction.atomic():
        asset = _get(Asset, "asset_id", pk, lock=True)
        check_can_change(user, asset, field="asset_id")
        if post is not UNSET:
            asset.post = None if post is None else _get(Post, "post_id", post)
        if in_prompt is not UNSET:
            asset.input_prompt = (
                None if in_prompt is None else _get(Prompt, "input_prompt_id", in_prompt)
            )
        if out_prompt is not UNSET:
            asset.output_prompt = (
                None if out_prompt is None else _get(Prompt, "output_prompt_id", out_prompt)
            )
        if cid is not UNSET:
            asset.civitai_id = cid
        if curl is not UNSET:
            asset.civitai_url = curl
        if cid is not UNSET or curl is not UNSET:
            check_page_url(asset.civitai_url, asset.civitai_id, "image")
        if meta is not UNSET:
            asset.metadata = meta
        if behalf is not UNSET:
            asset.on_behalf_of = behalf
        if inputs is not UNSET:
            asset.check_inputs(inputs)
        linked = None if inputs is UNSET else _existing_assets(inputs)
        _save_asset(asset, user)
        if linked is not None:
            asset.input_assets.set(linked)
    asset = Asset.objects.select_related("created_by").get(pk=pk)
    return {"asset": asset_dict(asset)}


@tool_function
def update_post(
    *,
    user,
    post_id: Any = UNSET,
    status: Any = UNSET,
    title: Any = UNSET,
    description: Any = UNSET,
    metadata: Any = UNSET,
) -> dict[str, Any]:
    """Change a post's status, title, description or metadata (omitted keeps, null clears).

    Only the post's creator or staff allowed to change posts may change it
    (``tracking.permissions``): an agent acting for one user cannot, for instance,
    mark another user's pending post as published.
    """
    pk = parse_id("post_id", _required("post_id", post_id))
    if status is None:
        raise InvalidInput('status must be "pending", "published" or "failed"')
    new_status = UNSET if status is UNSET else _status(status)
    new_title = UNSET if title is UNSET else _text("title", title, max_length=300)
    new_description = UNSET if description is UNSET else _text("description", description)
    new_meta = UNSET if metadata is UNSET else _metadata(metadata)

    with transaction.atomic():
        post = _get(Post, "post_id", pk, lock=True)
        check_can_change(user, post, field="post_id")
        changes = {
            "status": new_status,
            "title": new_title,
            "description": new_description,
            "metadata": new_meta,
        }
        for field, value in changes.items():
            if value is not UNSET:
                setattr(post, field, value)
        _attribute(post, user)
        post.save()
    post = Post.objects.select_related("created_by").get(pk=pk)
    return {"post": post_dict(post)}


@tool_function
def find_asset(*, user, asset_id: Any = None, sha256sum: Any = None) -> dict[str, Any]:
    """Look an asset up by id, sha256sum or both (both must match); absence is not an error."""
    if asset_id is None and sha256sum is None:
        raise InvalidInput("At least one of asset_id or sha256sum is required")
    qs = Asset.objects.select_related("created_by").prefetch_related("input_assets")
    if asset_id is not None:
        qs = qs.filter(pk=parse_id("asset_id", asset_id))
    if sha256sum is not None:
        qs = qs.filter(sha256sum=parse_sha256(sha256sum))
    asset = qs.first()
    if asset is None:
        return {"found": False}
    return {"found": True, "asset": asset_dict(asset)}


def bounded_int(field: str, value: Any, low: int, high: int | None) -> int:
    """A whole number (JSON integer or string of digits) within bounds, else one clear message."""
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value) and len(value) <= 19:
        number = int(value)
    else:
        number = None
    if number is None or number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidInput(f"{field} must be a whole number {bound}")
    return number


@tool_function
def list_civitai_posts(
    *,
    user,
    civitai_id: Any = None,
    status: Any = None,
    created_by: Any = None,
    on_behalf_of: Any = None,
    start_time: Any = None,
    end_time: Any = None,
    limit: Any = None,
    offset: Any = None,
    include_details: Any = None,
) -> dict[str, Any]:
    """Posts newest first, filtered and paged; ``include_details`` nests assets and prompts.

    ``start_time``/``end_time`` bound ``created_at`` inclusively. ``created_by`` is a
    username and ``on_behalf_of`` a name, both matched without regard to case (agents
    of the original server send them as they were typed); an unknown one matches nothing. The query count is fixed (2, or
    3 with details) whatever the page size.
    """
    page_size = DEFAULT_LIMIT if limit is None else bounded_int("limit", limit, 1, MAX_LIMIT)
    start = 0 if offset is None else bounded_int("offset", offset, 0, None)
    if include_details is not None and not isinstance(include_details, bool):
        raise InvalidInput("include_details must be true or false")
    details = bool(include_details)

    qs = Post.objects.all()
    if civitai_id is not None:
        qs = qs.filter(civitai_id=parse_id("civitai_id", civitai_id))
    if status is not None:
        qs = qs.filter(status=_status(status))
    if created_by is not None:
        if not isinstance(created_by, str) or not created_by or "\x00" in created_by:
            raise InvalidInput("created_by must be a username")
        field = get_user_model().USERNAME_FIELD
        qs = qs.filter(**{f"created_by__{field}__iexact": created_by})
    if on_behalf_of is not None:
        if not isinstance(on_behalf_of, str) or not on_behalf_of or "\x00" in on_behalf_of:
            raise InvalidInput("on_behalf_of must be a non-empty string")
        qs = qs.filter(on_behalf_of__iexact=on_behalf_of)
    after = None if start_time is None else parse_timestamp("start_time", start_time)
    before = None if end_time is None else parse_timestamp("end_time", end_time)
    if after and before and after > before:
        raise InvalidInput("start_time must not be after end_time")
    if after:
        qs = qs.filter(created_at__gte=after)
    if before:
        qs = qs.filter(created_at__lte=before)

    total = qs.count()
    if start >= total:
        # An offset past the end matches nothing: answer without sending it to the
        # database, where a huge one overflows the 64-bit OFFSET (a 500 on both backends).
        posts = []
    else:
        page = qs.order_by("-created_at", "-id")[start : start + page_size]
        if details:
            posts = posts_with_details(page)
        else:
            posts = [post_dict(p) for p in page.select_related("created_by")]
    return {
        "posts": posts,
        "total": total,
        "limit": page_size,
        "offset": start,
    }


# --- helpers for the admin and commands (not tools) -----------------------------


def fill_asset_sha256(*, user, asset_id: Any) -> dict[str, Any]:
    """Hash an existing asset's ``asset_url`` and store the result if it has none yet.

    Used by the admin action. Refuses an asset whose URL cannot be read
    (``InvalidInput``) and a hash another asset already has (``Duplicate``).
    """
    pk = parse_id("asset_id", asset_id)
    asset = _get(Asset, "asset_id", pk)
    check_can_change(user, asset, field="asset_id")  # before the (slow) download too
    if asset.sha256sum:
        return {"asset": asset_dict(asset), "changed": False}
    if not hashing.can_hash(asset.asset_url):
        raise InvalidInput(
            f"asset_url of asset_id {pk} cannot be hashed: it is not an http(s) URL"
            " or a file under HASH_ALLOWED_ROOTS"
        )
    sha = hashing.hash_path(asset.asset_url).sha256sum
    with transaction.atomic():
        asset = _get(Asset, "asset_id", pk, lock=True)
        check_can_change(user, asset, field="asset_id")
        changed = asset.sha256sum is None
        if changed:
            asset.sha256sum = sha
            _save_asset(asset, user)
    return {"asset": asset_dict(asset), "changed": changed}
