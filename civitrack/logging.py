"""The one redaction of secrets for everything civitrack prints, and the log filter using it.

Tokens reach messages and logs in surprising ways (a URL with ``?access_token=`` or a
signed ``X-Amz-Signature``, ``user:password@`` in a URL, an exception message quoting
a header), so ``redact`` scrubs all of those patterns as well as the known secret
values from settings. Error messages, the CLI's output, URL display in hashing
errors and every log record go through it.
"""

import logging
import re

from django.conf import settings

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
# Query parameters that carry credentials (OAuth, API keys, signed CDN/S3/GCS URLs).
SECRET_PARAMS = (
    r"access_token|refresh_token|id_token|token|auth|authorization|api[_-]?key|apikey|key"
    r"|password|passwd|pwd|secret|client_secret|session|sessionid|code|sig|signature"
    r"|policy|key-pair-id|x-amz-[a-z0-9-]+|x-goog-[a-z0-9-]+"
)
_TOKEN_PARAM = re.compile(rf"(?i)([?&;](?:{SECRET_PARAMS})=)[^&;#\s\"'<>]+")
# ``scheme://user:password@host``: the whole userinfo goes.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/?#\s@\"'<>]+@")
REDACTED = "[redacted]"


def known_secrets() -> list[str]:
    """The secret values configured for this process, longest first."""
    values = [
        getattr(settings, "CIVITAI_API_TOKEN", None),
        getattr(settings, "CIVITAI_SITE_TOKEN", None),
        getattr(settings, "SECRET_KEY", None),
        getattr(settings, "ASSET_S3_SECRET_ACCESS_KEY", None),
    ]
    return sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)


def replace_secrets(text: str, secrets: list[str] | tuple[str, ...] | None = None) -> str:
    """``text`` with each exact secret value (default: the configured ones) replaced.

    For data printed on purpose (raw API JSON, prompts): only the values go, so signed
    media URLs and prompts stay usable word for word. Messages use ``redact``.
    """
    for secret in known_secrets() if secrets is None else secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def redact(text: str, extra: list[str] | tuple[str, ...] = ()) -> str:
    """Return ``text`` with secrets removed: known secret values (settings and ``extra``),
    bearer tokens, credential query parameters and URL userinfo. Works on a bare URL and
    on a message quoting URLs alike."""
    text = replace_secrets(str(text), [*extra, *known_secrets()])
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _USERINFO.sub(lambda m: m.group(1) + REDACTED + "@", text)
    return _TOKEN_PARAM.sub(lambda m: m.group(1) + REDACTED, text)


class RedactSecretsFilter(logging.Filter):
    """Rewrite each record's message (and traceback text) with secrets redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
