"""Client for Civitai's public site API (``CIVITAI_SITE_URL`` + ``/api/v1``), every answer checked.

Civitai has answered a lookup for image 96712457 with image 9173928 (its search
path ignores ``imageId`` and returns the global feed), and a ``postId`` listing with
another post's images. Nothing this client returns has not been checked against
the request: the id asked for is the id returned, every image of post P has
``postId == P``, required fields are present and typed. Anything else raises one
of the typed errors of :mod:`civitrack.http` whose message names both ids, so a
caller never records or acts on another image's metadata.

Decisions (see docs/civitai-import.md):

- A listing for post P that contains an image of another post raises
  ``ResponseMismatch`` instead of silently dropping the item: once the API has
  mixed posts, we cannot tell whether the remaining items are complete either.
- An empty answer is ``NotFound`` with the reason spelled out (deleted,
  restricted or never existed); Civitai does not distinguish these.
- Image queries send ``browsingLevel=31`` (every level): without it the API
  answers PG only and mature images of our own posts would look deleted.
- ``/images/{id}`` is not a route; single images are looked up with ``imageId``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime

from civitrack.http import (
    BadResponse,
    ErrorMeanings,
    NotFound,
    ResponseMismatch,
    build_session,
    request_json,
)
from civitrack.logging import known_secrets, replace_secrets

log = logging.getLogger(__name__)

MEDIA_TYPES = ("image", "video", "audio")
ALL_BROWSING_LEVELS = 31  # PG|PG13|R|X|XXX: everything visible (civitai-api.md §2.5)
PAGE_SIZE = 100
MAX_PAGES = 50
STAT_KEYS = ("likeCount", "heartCount", "laughCount", "cryCount", "dislikeCount", "commentCount")

SITE_MEANINGS = ErrorMeanings(
    unauthorized="Civitai refused CIVITAI_SITE_TOKEN (invalid or expired)",
    forbidden="not allowed with CIVITAI_SITE_TOKEN",
    not_found="not found (it may be deleted, restricted or never existed)",
    invalid="Civitai refused the request parameters",
    rate_limited="rate limited by Civitai, wait before retrying",
)


def gone_message(kind: str, ident: int) -> str:
    return (
        f"Civitai {kind} {ident} not found: it may have been deleted, be restricted "
        f"(unpublished, private, mature or still being scanned) or never have existed"
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def redact_payload(value: Any, secrets: tuple[str, ...]) -> Any:
    """A deep copy of a JSON value with every occurrence of a secret replaced.

    Only exact secret values are replaced (not "bearer ..." patterns) so prompts
    stay intact word for word.
    """
    if isinstance(value, str):
        return replace_secrets(value, secrets)
    if isinstance(value, dict):
        return {redact_payload(k, secrets): redact_payload(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_payload(v, secrets) for v in value]
    return value


@dataclass(frozen=True)
class SiteImage:
    """One validated image (or video/audio) item of the public API."""

    id: int
    post_id: int
    url: str
    type: str
    width: int | None
    height: int | None
    nsfw_level: str | None
    created_at: datetime | None
    username: str | None
    stats: dict[str, int]
    meta: dict[str, Any]
    raw: dict[str, Any] = field(repr=False)

    @property
    def prompt(self) -> str | None:
        value = self.meta.get("prompt")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def negative_prompt(self) -> str | None:
        value = self.meta.get("negativePrompt")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def thumbnail_url(self) -> str | None:
        thumb = self.raw.get("thumbnail")
        if isinstance(thumb, dict) and isinstance(thumb.get("url"), str):
            return thumb["url"]
        return None

    def stat(self, key: str) -> int:
        return self.stats.get(key, 0)


@dataclass(frozen=True)
class SitePost:
    """One validated post of ``/posts/{id}``."""

    id: int
    title: str | None
    detail: str | None
    nsfw_level: int | None
    published_at: datetime | None
    user_id: int | None
    username: str | None
    model_version_id: int | None
    tags: list[str]
    raw: dict[str, Any] = field(repr=False)


class CivitaiSiteClient:
    """The public API, answers checked before they are returned.

    Built on :func:`civitrack.http.build_session` (timeouts, bounded retries on
    429/5xx honouring ``Retry-After``); the optional ``CIVITAI_SITE_TOKEN`` is
    sent as a bearer token and redacted from every message and payload.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        page_size: int = PAGE_SIZE,
        max_pages: int = MAX_PAGES,
    ):
        base = (base_url or settings.CIVITAI_SITE_URL).rstrip("/")
        self.api = f"{base}/api/v1"
        self.token = token if token is not None else settings.CIVITAI_SITE_TOKEN
        self.page_size = page_size
        self.max_pages = max_pages
        self.session = build_session(token=self.token)

    @property
    def secrets(self) -> tuple[str, ...]:
        values = [self.token, *known_secrets()]
        return tuple(sorted({v for v in values if v}, key=len, reverse=True))

    def _get(self, path: str, *, what: str, params: dict[str, Any] | None = None) -> Any:
        _status, body = request_json(
            self.session,
            "GET",
            f"{self.api}{path}",
            params=params,
            what=what,
            meanings=SITE_MEANINGS,
            secrets=self.secrets,
        )
        return body

    def _bad(self, what: str, problem: str) -> BadResponse:
        return BadResponse(
            f"{what}: unexpected answer from Civitai ({problem})", secrets=self.secrets
        )

    # -- images ------------------------------------------------------------------

    def get_image(self, image_id: int) -> SiteImage:
        """Image ``image_id`` with its generation meta; its id is checked against the request."""
        what = f"Civitai image {image_id}"
        body = self._get(
            "/images",
            what=what,
            params={
                "imageId": image_id,
                "withMeta": "true",
                "browsingLevel": ALL_BROWSING_LEVELS,
            },
        )
        items, _cursor = self._page(body, what)
        if not items:
            raise NotFound(gone_message("image", image_id), secrets=self.secrets)
        images = [self._image(item, what) for item in items]
        for image in images:
            if image.id != image_id:
                raise ResponseMismatch(
                    f"Civitai returned image {image.id} for requested image {image_id}",
                    secrets=self.secrets,
                )
        log.debug("Requested image %s, received image %s", image_id, images[0].id)
        return images[0]

    def iter_post_image_pages(self, post_id: int) -> Iterator[list[SiteImage]]:
        """Pages of the images of post ``post_id``, each checked, following ``nextCursor``.

        An empty page that carries a cursor is not the end. Paging stops when the
        cursor is absent or repeats (a loop); more than ``max_pages`` pages is an error
        rather than a silently partial answer.
        """
        what = f"Civitai images of post {post_id}"
        params: dict[str, Any] = {
            "postId": post_id,
            "withMeta": "true",
            "limit": self.page_size,
            "browsingLevel": ALL_BROWSING_LEVELS,
        }
        seen_cursors: set[str] = set()
        for _page_no in range(self.max_pages):
            body = self._get("/images", what=what, params=params)
            items, cursor = self._page(body, what)
            page = [self._image(item, what) for item in items]
            for image in page:
                if image.post_id != post_id:
                    raise ResponseMismatch(
                        f"Civitai returned image {image.id} of post {image.post_id} "
                        f"for requested post {post_id}",
                        secrets=self.secrets,
                    )
            yield page
            if cursor is None:
                return
            if cursor in seen_cursors:
                log.warning("%s: cursor %s repeated; stopping", what, cursor)
                return
            seen_cursors.add(cursor)
            params["cursor"] = cursor
        raise BadResponse(
            f"{what}: still more pages after {self.max_pages} pages; refusing a partial answer",
            secrets=self.secrets,
        )

    def get_post_images(self, post_id: int) -> list[SiteImage]:
        """Every image of post ``post_id`` (all pages), each one checked to belong to it."""
        images: list[SiteImage] = []
        seen: set[int] = set()
        for page in self.iter_post_image_pages(post_id):
            for image in page:
                if image.id not in seen:  # pages may overlap at their edges
                    seen.add(image.id)
                    images.append(image)
        if not images:
            raise NotFound(
                f"Civitai returned no images for post {post_id}: they may have been deleted, "
                f"be restricted or never have existed",
                secrets=self.secrets,
            )
        return images

    # -- posts -------------------------------------------------------------------

    def get_post(self, post_id: int) -> SitePost:
        """Post ``post_id`` (title, description, author); its id is checked against the request."""
        what = f"Civitai post {post_id}"
        body = self._get(f"/posts/{post_id}", what=what)
        if body is None:
            raise NotFound(gone_message("post", post_id), secrets=self.secrets)
        if not isinstance(body, dict):
            raise self._bad(what, f"expected an object, got {type(body).__name__}")
        returned = body.get("id")
        if not _is_int(returned):
            raise self._bad(what, "post id missing or not an integer")
        if returned != post_id:
            raise ResponseMismatch(
                f"Civitai returned post {returned} for requested post {post_id}",
                secrets=self.secrets,
            )
        title = self._opt_str(body, "title", what)
        detail = self._opt_str(body, "detail", what)
        user = body.get("user") if isinstance(body.get("user"), dict) else {}
        tags = [
            t["name"]
            for t in body.get("tags") or []
            if isinstance(t, dict) and isinstance(t.get("name"), str)
        ]
        return SitePost(
            id=returned,
            title=title,
            detail=detail,
            nsfw_level=body["nsfwLevel"] if _is_int(body.get("nsfwLevel")) else None,
            published_at=self._datetime(body.get("publishedAt")),
            user_id=user.get("id") if _is_int(user.get("id")) else None,
            username=user.get("username") if isinstance(user.get("username"), str) else None,
            model_version_id=body["modelVersionId"]
            if _is_int(body.get("modelVersionId"))
            else None,
            tags=tags,
            raw=redact_payload(body, self.secrets),
        )

    # -- validation --------------------------------------------------------------

    def _page(self, body: Any, what: str) -> tuple[list[Any], str | None]:
        if body is None:
            return [], None
        if not isinstance(body, dict):
            raise self._bad(what, f"expected an object, got {type(body).__name__}")
        items = body.get("items")
        if not isinstance(items, list):
            raise self._bad(what, "no 'items' list")
        metadata = body.get("metadata")
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict):
            raise self._bad(what, "'metadata' is not an object")
        cursor = metadata.get("nextCursor")
        if cursor in (None, ""):
            return items, None
        if not isinstance(cursor, str | int) or isinstance(cursor, bool):
            raise self._bad(what, "'metadata.nextCursor' is not a string")
        return items, str(cursor)

    def _image(self, item: Any, what: str) -> SiteImage:
        if not isinstance(item, dict):
            raise self._bad(what, "an item is not an object")
        image_id = item.get("id")
        if not _is_int(image_id) or image_id < 1:
            raise self._bad(what, "an item has no integer 'id'")
        label = f"image {image_id}"
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise self._bad(what, f"{label} has no http(s) 'url'")
        media_type = item.get("type")
        if media_type not in MEDIA_TYPES:
            raise self._bad(what, f"{label} has 'type' {media_type!r}, not image/video/audio")
        post_id = item.get("postId")
        if not _is_int(post_id):
            raise self._bad(what, f"{label} has no integer 'postId'")
        stats = item.get("stats")
        if not isinstance(stats, dict):
            raise self._bad(what, f"{label} has no 'stats' object")
        for key, value in stats.items():
            if not _is_int(value) or value < 0:
                raise self._bad(what, f"{label} has a non-integer stats.{key}")
        for key in ("width", "height"):
            if item.get(key) is not None and not _is_int(item.get(key)):
                raise self._bad(what, f"{label} has a non-integer '{key}'")
        nsfw = item.get("nsfwLevel")
        username = item.get("username")
        return SiteImage(
            id=image_id,
            post_id=post_id,
            url=url,
            type=media_type,
            width=item.get("width"),
            height=item.get("height"),
            nsfw_level=str(nsfw) if isinstance(nsfw, str | int) else None,
            created_at=self._datetime(item.get("createdAt")),
            username=username if isinstance(username, str) else None,
            stats=dict(stats),
            meta=redact_payload(self._meta(item.get("meta")), self.secrets),
            raw=redact_payload(item, self.secrets),
        )

    @staticmethod
    def _meta(meta: Any) -> dict[str, Any]:
        """Generation meta, unwrapping the DB path's ``{"id": n, "meta": {...}}`` nesting."""
        if not isinstance(meta, dict):
            return {}
        if _is_int(meta.get("id")) and "meta" in meta:
            inner = meta.get("meta")
            return dict(inner) if isinstance(inner, dict) else {}
        return dict(meta)

    @staticmethod
    def _datetime(value: Any) -> datetime | None:
        if not isinstance(value, str):
            return None
        try:
            return parse_datetime(value)
        except ValueError:
            return None

    def _opt_str(self, body: dict[str, Any], key: str, what: str) -> str | None:
        value = body.get(key)
        if value is not None and not isinstance(value, str):
            raise self._bad(what, f"'{key}' is not a string")
        return value
