"""Which media URLs a page may put in ``src``: shared by the tracking admin and the staff pages.

Only absolute http(s) URLs with a host, or same-origin paths under ``STATIC_URL`` (the
demo media shipped with the app), ever reach a page; ``javascript:``, ``data:``,
``s3://``, local paths and protocol-relative ``//host`` URLs never do.
"""

from urllib.parse import urlsplit

from django.conf import settings


def static_prefix() -> str:
    """``STATIC_URL`` as an absolute path with both slashes (``/static/``)."""
    return "/" + settings.STATIC_URL.strip("/") + "/"


def is_http_url(url: str | None) -> bool:
    """True for an absolute http(s) URL with a host."""
    if not url:
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def is_local_static_url(url: str | None) -> bool:
    """True for a same-origin path under STATIC_URL (demo media shipped with the app)."""
    if not url or not url.startswith("/") or url.startswith("//"):
        return False
    return url.startswith(static_prefix()) and ".." not in url and "\\" not in url


def is_renderable_media_url(url: str | None) -> bool:
    return is_http_url(url) or is_local_static_url(url)
