"""Services that read Civitai's public API and record what it says: import a post, refresh stats.

Same habits as the recording services (docs/contract.md, "Recording tools"): keyword arguments, the
acting ``user`` recorded as ``created_by``, one ``transaction.atomic()`` per call,
contract-shaped dicts out, ``tracking.errors`` raised. The Civitai client has
already checked every answer against the request (right ids, right post, typed
fields); these functions only ever write what it returned.

Upstream errors map once, here: "not found" (HTTP 404 or an empty answer) becomes
``RecordNotFound`` (404), everything else (rate limiting after retries, 5xx, HTML
or truncated bodies, mismatched ids) ``UpstreamFailure`` (502), each keeping the
client's message, which names the ids involved and never contains a token.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from civitrack import http
from tracking import generation
from tracking.civitai_site import CivitaiSiteClient, SiteImage, SitePost
from tracking.civitai_urls import image_url, parse_post_ref, post_url
from tracking.errors import Duplicate, InvalidInput, RecordNotFound, UpstreamFailure
from tracking.models import Asset, AssetStatsSnapshot, Post, Prompt
from tracking.permissions import OPERATOR, check_can_change, recorded_user
from tracking.serializers import asset_dict, iso, post_dict, prompt_dict

PROMPT_PURPOSE = "civitai_import"
# Civitai stats key -> AssetStatsSnapshot field
STAT_FIELDS = {
    "likeCount": "like_count",
    "heartCount": "heart_count",
    "laughCount": "laugh_count",
    "cryCount": "cry_count",
    "dislikeCount": "dislike_count",
    "commentCount": "comment_count",
}
# Keys of Civitai's meta that may name the LLM that wrote a prompt. Civitai's meta
# usually describes the image generator, not a prompt writer, so these are rarely set.
_LLM_PROVIDER_KEYS = ("llmModelProvider", "llm_model_provider")
_LLM_MODEL_KEYS = ("llmModel", "llm_model")


def site_client() -> CivitaiSiteClient:
    """The public API client configured from settings (a function so callers share one place)."""
    return CivitaiSiteClient()


@contextlib.contextmanager
def upstream_errors() -> Iterator[None]:
    """Translate civitrack.http errors into the service error family, keeping the message."""
    try:
        yield
    except http.NotFound as exc:
        raise RecordNotFound(str(exc)) from None
    except http.UpstreamError as exc:
        raise UpstreamFailure(str(exc)) from None


def stats_fields(image: SiteImage) -> dict[str, int]:
    """The image's engagement counts under our snapshot field names."""
    return {ours: image.stat(theirs) for theirs, ours in STAT_FIELDS.items()}


# -- import ------------------------------------------------------------------------


@dataclass
class _AssetPlan:
    image: SiteImage
    asset: Asset
    action: str  # "create" | "update"
    changed: bool
    prompt: Prompt | None = None  # the prompt to link (new or existing)
    prompt_changed: bool = False
    prompt_created: bool = False


@dataclass
class _Plan:
    post: Post
    post_action: str
    post_changed: bool
    assets: list[_AssetPlan] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def _snapshot(obj, names: tuple[str, ...]) -> tuple:
    return tuple(getattr(obj, n) for n in names)


_POST_FIELDS = ("civitai_url", "status", "title", "description", "metadata")
_ASSET_FIELDS = ("asset_url", "asset_type", "civitai_url", "post_id", "metadata")
_PROMPT_FIELDS = ("prompt_text", "llm_model_provider", "llm_model", "metadata")


def _post_metadata(site_post: SitePost) -> dict[str, Any]:
    """The raw post payload; its ``images`` (kept on each asset) are reduced to their ids."""
    raw = dict(site_post.raw)
    images = raw.get("images")
    if isinstance(images, list):
        raw["images"] = [i.get("id") for i in images if isinstance(i, dict)]
    return raw


def _prompt_values(image: SiteImage) -> dict[str, Any]:
    meta = image.meta

    def first_str(keys: tuple[str, ...]) -> str | None:
        for key in keys:
            value = meta.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:200]
        return None

    recipe = {k: v for k, v in meta.items() if k not in ("prompt", "negativePrompt")}
    return {
        "prompt_text": image.prompt,
        "llm_model_provider": first_str(_LLM_PROVIDER_KEYS),
        "llm_model": first_str(_LLM_MODEL_KEYS),
        "metadata": {
            "source": "civitai",
            "civitai_image_id": image.id,
            "negative_prompt": image.negative_prompt,
            "generation": recipe,
        },
    }


def _asset_metadata(metadata: dict[str, Any], image: SiteImage) -> dict[str, Any]:
    """The asset's metadata with Civitai's raw item and its ``meta`` as ``generation``.

    What the file itself said (``source`` ``a1111``/``comfyui``, read when the asset was
    recorded) is kept: Civitai's meta is a copy of it at best, so it only fills in a
    missing generation record or refreshes its own.
    """
    metadata = {**metadata, "civitai": image.raw}
    current = metadata.get("generation")
    if not isinstance(current, dict) or current.get("source") in (None, "civitai"):
        found = generation.parse_civitai(image.meta)
        if found is not None:
            metadata["generation"] = found
    return metadata


def _check(obj, what: str) -> None:
    """Field validation (lengths, URL shapes) before anything is written."""
    try:
        obj.full_clean(
            exclude=["post", "input_prompt", "output_prompt", "created_by", "input_assets"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        raise UpstreamFailure(
            f"Civitai returned {what} that cannot be recorded ({problems})"
        ) from None


def _plan(site_post: SitePost, images: list[SiteImage], user, *, lock: bool) -> _Plan:
    """Work out every record the import writes, applying changes to unsaved instances."""
    posts = Post.objects.select_for_update() if lock else Post.objects
    post = posts.filter(civitai_id=site_post.id).first()
    post_action = "update" if post else "create"
    if post is None:
        post = Post(civitai_id=site_post.id)
        post.attribute_to(recorded_user(user))
    else:
        check_can_change(user, post, field="post_id")
    before = _snapshot(post, _POST_FIELDS)
    post.civitai_url = post_url(site_post.id)
    post.status = Post.Status.PUBLISHED
    post.title = (site_post.title or "").strip()[:300] or None
    post.description = site_post.detail
    post.metadata = {**(post.metadata or {}), "civitai": _post_metadata(site_post)}
    _check(post, f"post {site_post.id}")
    plan = _Plan(
        post, post_action, post_action == "create" or before != _snapshot(post, _POST_FIELDS)
    )

    assets_qs = Asset.objects.select_related("post", "input_prompt", "created_by")
    if lock:
        assets_qs = assets_qs.select_for_update(of=("self",))
    existing = {
        a.civitai_id: a
        for a in assets_qs.prefetch_related("input_assets").filter(
            civitai_id__in=[i.id for i in images]
        )
    }
    for image in images:
        if image.type not in Asset.Type.values:
            plan.skipped.append(
                {
                    "civitai_id": str(image.id),
                    "reason": f"{image.type} items are not recorded (assets are images or videos)",
                }
            )
            continue
        asset = existing.get(image.id)
        if asset is not None and asset.post_id is not None and asset.post_id != post.pk:
            raise Duplicate(
                f"Civitai image {image.id} is already recorded as asset_id {asset.pk} "
                f"on post_id {asset.post_id} (Civitai post {asset.post.civitai_id}), "
                f"not on Civitai post {site_post.id}; nothing was imported"
            )
        if asset is None:
            asset = Asset(
                civitai_id=image.id,
                asset_source=Asset.Source.UPLOAD,
                asset_url=image.url,
                asset_type=image.type,
            )
            asset.attribute_to(recorded_user(user))
            action = "create"
        else:
            check_can_change(user, asset, field="asset_id")
            action = "update"
        before = _snapshot(asset, _ASSET_FIELDS)
        if asset.asset_source == Asset.Source.UPLOAD:
            # Generated assets keep the file they were recorded with; the CDN URL
            # stays available in metadata["civitai"]["url"].
            asset.asset_url = image.url
            asset.asset_type = image.type
        asset.civitai_url = image_url(image.id)
        asset.post = post
        asset.metadata = _asset_metadata(asset.metadata or {}, image)
        _check(asset, f"image {image.id}")
        item = _AssetPlan(
            image, asset, action, action == "create" or before != _snapshot(asset, _ASSET_FIELDS)
        )
        if image.prompt:
            prompt = asset.input_prompt if action == "update" else None
            if prompt is None:
                item.prompt = Prompt(purpose=PROMPT_PURPOSE, **_prompt_values(image))
                item.prompt.attribute_to(recorded_user(user))
                item.prompt_changed = item.prompt_created = True
            elif prompt.purpose == PROMPT_PURPOSE:
                check_can_change(user, prompt, field="input_prompt_id")
                before = _snapshot(prompt, _PROMPT_FIELDS)
                for key, value in _prompt_values(image).items():
                    setattr(prompt, key, value)
                item.prompt = prompt
                item.prompt_changed = before != _snapshot(prompt, _PROMPT_FIELDS)
            # else: a prompt someone linked on purpose (e.g. the generating prompt) stays.
            if item.prompt is not None:
                _check(item.prompt, f"the prompt of image {image.id}")
        plan.assets.append(item)
    return plan


def _apply(plan: _Plan) -> None:
    if plan.post_changed:
        plan.post.save()
    for item in plan.assets:
        if item.prompt is not None:
            if item.prompt_changed:
                item.prompt.save()
            if item.asset.input_prompt_id != item.prompt.pk:
                item.asset.input_prompt = item.prompt
                item.changed = True
        if item.asset.post_id != plan.post.pk:  # e.g. an unlinked asset joining a new post
            item.changed = True
        item.asset.post = plan.post
        if item.changed:
            item.asset.save()


def _result(plan: _Plan, *, dry_run: bool) -> dict[str, Any]:
    post = post_dict(plan.post)
    post["action"] = plan.post_action
    assets = []
    for item in plan.assets:
        # New assets have no inputs; existing ones had input_assets prefetched.
        ids = [] if item.action == "create" else None
        data = asset_dict(item.asset, input_asset_ids=ids)
        data["action"] = item.action
        data["input_prompt"] = prompt_dict(item.prompt) if item.prompt is not None else None
        data["input_prompt_created"] = item.prompt_created
        assets.append(data)
    return {
        "post": post,
        "assets": assets,
        "created": sum(1 for a in plan.assets if a.action == "create"),
        "updated": sum(1 for a in plan.assets if a.action == "update"),
        "skipped": plan.skipped,
        "dry_run": dry_run,
    }


def import_civitai_post(*, post: str, dry_run: bool = False, user=OPERATOR) -> dict[str, Any]:
    """Record a Civitai post and every image/video of it, in one transaction.

    ``post`` is a post URL in any form users paste, or the bare id. The post and all
    its images are fetched and validated first; then the Post, one Asset per image
    and, when the image's meta has a prompt, a Prompt (purpose ``civitai_import``)
    linked as the asset's input prompt are written together or not at all.
    Re-importing updates the same records in place (matched by Civitai id) and
    creates no duplicates. ``dry_run`` fetches and validates, returns what would be
    written (each record marked ``create``/``update``) and writes nothing.

    ``created``/``updated`` count assets; ``post["action"]`` tells the post's fate.
    Re-importing a post (or an image already recorded) needs ``user`` to pass the
    ownership rule (``tracking.permissions``); the default is the shell operator, for
    commands and code, while every adapter passes its signed-in or token user.
    """
    if not isinstance(dry_run, bool):
        raise InvalidInput("dry_run must be true or false")
    civitai_id = parse_post_ref(post, field="post")
    client = site_client()
    with upstream_errors():
        site_post = client.get_post(civitai_id)
        images = client.get_post_images(civitai_id)
    if dry_run:
        return _result(_plan(site_post, images, user, lock=False), dry_run=True)
    try:
        with transaction.atomic():
            plan = _plan(site_post, images, user, lock=True)
            _apply(plan)
    except IntegrityError as exc:
        # A unique civitai_id (or sha256sum) taken by a concurrent writer between our
        # read and our write; the transaction rolled back, so nothing was recorded.
        raise Duplicate(
            f"Importing Civitai post {civitai_id} conflicts with a record written at the same "
            f"time ({str(exc).splitlines()[0][:200]}); nothing was imported, try again"
        ) from None
    return _result(plan, dry_run=False)


# -- live reads --------------------------------------------------------------------


def site_image_dict(image: SiteImage, *, recorded_asset_id: int | None = None) -> dict[str, Any]:
    """A live Civitai image as returned by ``fetch_civitai_post_assets``."""
    return {
        "civitai_id": str(image.id),
        "civitai_url": image_url(image.id),
        "post_civitai_id": str(image.post_id),
        "asset_url": image.url,
        "asset_type": image.type,
        "thumbnail_url": image.thumbnail_url,
        "width": image.width,
        "height": image.height,
        "nsfw_level": image.nsfw_level,
        "created_at": iso(image.created_at),
        "username": image.username,
        "stats": stats_fields(image),
        "prompt": image.prompt,
        "negative_prompt": image.negative_prompt,
        "meta": image.meta,
        "recorded_asset_id": None if recorded_asset_id is None else str(recorded_asset_id),
    }


def fetch_civitai_post_assets(
    *, post_id: str | int, limit: int = 20, page: int = 1, user=None
) -> dict[str, Any]:
    """The live, validated images of a Civitai post with their engagement counts; writes nothing.

    ``post_id`` is Civitai's post id (a post URL is accepted too). Civitai ignores
    ``page`` for post listings, so every page is fetched by cursor and ``limit``/``page``
    (1-based, default 20 per page, at most 100) slice the checked result here.
    ``recorded_asset_id`` says which images are already recorded as assets.
    """
    civitai_id = parse_post_ref(post_id, field="post_id")
    with upstream_errors():
        images = site_client().get_post_images(civitai_id)
    window = images[(page - 1) * limit : page * limit]
    recorded = dict(
        Asset.objects.filter(civitai_id__in=[i.id for i in window]).values_list("civitai_id", "id")
    )
    return {
        "post_id": str(civitai_id),
        "civitai_url": post_url(civitai_id),
        "assets": [site_image_dict(i, recorded_asset_id=recorded.get(i.id)) for i in window],
        "total": len(images),
        "limit": limit,
        "page": page,
        "has_more": page * limit < len(images),
    }


def sync_post_asset_stats(
    *, post_id: int | None = None, civitai_post_id: int | None = None, user=OPERATOR
) -> dict[str, Any]:
    """Store a time-stamped engagement snapshot for every recorded asset of one of our posts.

    ``post_id`` is civitrack's Post id, ``civitai_post_id`` Civitai's id of a post
    recorded here (both given must name the same post). The post's images are fetched live and
    validated; each asset of the post whose ``civitai_id`` is listed gets a new
    ``AssetStatsSnapshot`` (history is kept, never overwritten), all with the same
    ``captured_at`` so a post's totals can be summed per sync.
    """
    posts = Post.objects.all()
    if post_id is not None:
        posts = posts.filter(pk=post_id)
    if civitai_post_id is not None:
        posts = posts.filter(civitai_id=civitai_post_id)
    post = posts.first()
    if post is None:
        if post_id is not None:
            raise RecordNotFound(f"Record not found: post_id {post_id}")
        raise RecordNotFound(f"Record not found: civitai_post_id {civitai_post_id}")
    check_can_change(user, post, field="post_id")  # before the upstream calls
    with upstream_errors():
        images = site_client().get_post_images(post.civitai_id)
    by_id = {i.id: i for i in images}
    assets = list(post.assets.filter(civitai_id__isnull=False).order_by("id"))
    captured_at = timezone.now()
    snapshots = [
        AssetStatsSnapshot(asset=a, captured_at=captured_at, **stats_fields(by_id[a.civitai_id]))
        for a in assets
        if a.civitai_id in by_id
    ]
    with transaction.atomic():
        AssetStatsSnapshot.objects.bulk_create(snapshots)
    recorded = {a.civitai_id for a in assets}
    return {
        "post_id": str(post.pk),
        "civitai_id": str(post.civitai_id),
        "captured_at": iso(captured_at),
        "snapshots_created": len(snapshots),
        "assets": [
            {
                "asset_id": str(s.asset_id),
                "civitai_id": str(s.asset.civitai_id),
                **{name: getattr(s, name) for name in STAT_FIELDS.values()},
            }
            for s in snapshots
        ],
        "missing_on_civitai": [str(a.pk) for a in assets if a.civitai_id not in by_id],
        "not_recorded": [str(i.id) for i in images if i.id not in recorded],
    }
