"""Civitai post and image references in the forms people actually paste.

Users copy URLs from the address bar (with ``/edit``, query strings, fragments,
``www.``, the green/red mirrors, odd host casing) or just type the number. Every
entry point that takes a Civitai reference parses it here, so a reference is
either turned into a checked id or refused with one message that lists what is
accepted. Query parameters such as ``postId=`` on an image URL describe the
viewing context, not the image, so they are never used as ids.

CDN media URLs (``https://image.civitai.com/...``) carry no reliable id and are
refused rather than guessed at.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tracking.errors import InvalidInput

CIVITAI_HOSTS = frozenset({"civitai.com", "civitai.green", "civitai.red"})
MAX_CIVITAI_ID = 2_147_483_647  # the site API refuses ids above int32
CANONICAL_BASE = "https://civitai.com"

_BARE_ID = re.compile(r"^\d{1,10}$")
# The kind segment may follow a locale-like prefix; anchor on the segment, not on "/".
_PATH = re.compile(r"/(images|posts)/(\d{1,10})(?:/|$)", re.IGNORECASE)

_KIND_WORD = {"posts": "post", "images": "image"}


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def _accepted_forms(kind: str) -> str:
    plural = f"{kind}s"
    return (
        f"a Civitai {kind} id (1 to {MAX_CIVITAI_ID}) or {_a(kind)} URL such as "
        f"https://civitai.com/{plural}/123456 (also http://, www., civitai.green, civitai.red, "
        f"a trailing /edit, query string or #fragment)"
    )


def _refuse(text: str, kind: str, field: str, reason: str) -> InvalidInput:
    shown = text if len(text) <= 120 else text[:117] + "..."
    return InvalidInput(
        f"{field} must be a valid integer ID or {_a('Civitai')} {kind} URL; "
        f"got {shown!r} ({reason}). Accepted: {_accepted_forms(kind)}"
    )


def _checked(digits: str, text: str, kind: str, field: str) -> int:
    value = int(digits)
    if value < 1 or value > MAX_CIVITAI_ID:
        raise _refuse(text, kind, field, f"the id must be between 1 and {MAX_CIVITAI_ID}")
    return value


def _parse(text: object, kind: str, field: str) -> int:
    if isinstance(text, bool) or text is None:
        raise _refuse(repr(text), kind, field, "no value")
    if isinstance(text, int):
        return _checked(str(text), str(text), kind, field)
    if not isinstance(text, str):
        raise _refuse(repr(text), kind, field, "not a string")
    value = text.strip()
    if not value:
        raise _refuse(text, kind, field, "empty")
    if _BARE_ID.match(value):
        return _checked(value, value, kind, field)
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        port = parts.port  # raises ValueError on a garbage port
    except ValueError:
        raise _refuse(value, kind, field, "not a URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _refuse(value, kind, field, "not an http(s) URL or a number")
    if port is not None or parts.username or parts.password:
        raise _refuse(value, kind, field, "unexpected port or credentials in the URL")
    if host.startswith("www."):
        host = host[4:]
    if host not in CIVITAI_HOSTS:
        raise _refuse(value, kind, field, f"{host or 'no host'} is not a Civitai site host")
    match = _PATH.search(parts.path)
    if not match:
        raise _refuse(value, kind, field, f"no /{kind}s/<id> in the path")
    found_kind = _KIND_WORD[match.group(1).lower()]
    if found_kind != kind:
        raise _refuse(value, kind, field, f"this is {_a(found_kind)} URL, not {_a(kind)} URL")
    return _checked(match.group(2), value, kind, field)


def parse_post_ref(text: str | int, *, field: str = "post") -> int:
    """The Civitai post id in a pasted post URL or bare id; ``InvalidInput`` otherwise."""
    return _parse(text, "post", field)


def parse_image_ref(text: str | int, *, field: str = "image") -> int:
    """The Civitai image id in a pasted image URL or bare id; ``InvalidInput`` otherwise."""
    return _parse(text, "image", field)


def post_url(post_id: int) -> str:
    """Canonical page URL of a Civitai post (what we store as ``Post.civitai_url``)."""
    return f"{CANONICAL_BASE}/posts/{int(post_id)}"


def image_url(image_id: int) -> str:
    """Canonical page URL of a Civitai image (what we store as ``Asset.civitai_url``)."""
    return f"{CANONICAL_BASE}/images/{int(image_id)}"


_EXAMPLES = {
    "post": "https://civitai.com/posts/23602354",
    "image": "https://civitai.com/images/106433016",
}


def page_url_id(url: object, kind: str, *, field: str = "civitai_url") -> int:
    """The id in a Civitai post/image page URL stored on a record (a URL, not a bare id)."""
    message = f"{field} must be a Civitai {kind} URL like {_EXAMPLES[kind]}"
    if not isinstance(url, str) or len(url) > 500 or _BARE_ID.match(url.strip()):
        raise InvalidInput(message)
    try:
        return _parse(url, kind, field)
    except InvalidInput:
        raise InvalidInput(message) from None


def check_page_url(url: str | None, civitai_id: int | None, kind: str) -> None:
    """A record's ``civitai_url`` must name the same post/image as its ``civitai_id``."""
    if url is None:
        return
    url_id = page_url_id(url, kind)
    if civitai_id is None:
        raise InvalidInput(
            f"civitai_url points to {kind} {url_id} but civitai_id is not set;"
            f' send civitai_id "{url_id}" with it'
        )
    if url_id != civitai_id:
        raise InvalidInput(f"civitai_url points to {kind} {url_id} but civitai_id is {civitai_id}")
