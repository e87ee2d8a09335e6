"""Presentation helpers for upstream JSON shown to staff."""

from __future__ import annotations

import json
import re
from typing import Any

URL_HIDDEN = "[url hidden]"
_URL_RE = re.compile(r"^\s*[a-zA-Z][a-zA-Z0-9+.\-]*://")
_URL_KEYS = {"url", "bloburl", "previewurl", "traceurl", "location"}


def _redact(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v, key) for v in value]
    if isinstance(value, str) and (key.lower() in _URL_KEYS or _URL_RE.match(value)):
        return URL_HIDDEN if value else value
    return value


def redact_urls(data: Any) -> str:
    """Pretty JSON of ``data`` with every URL replaced.

    Raw API JSON carries signed media URLs, including those of withheld (CSAM-flagged
    or blocked) blobs; pages show the JSON for context but must never carry those
    URLs, so all of them are hidden. Media is only reached through the blob media
    endpoint, which applies the safety rule.
    """
    return json.dumps(_redact(data), indent=2, sort_keys=True, ensure_ascii=False, default=str)
