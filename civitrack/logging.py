"""Logging filter that keeps secrets out of every log line.

Tokens reach logs in surprising ways (a URL with ``?token=``, an exception
message quoting a header), so the filter scrubs the final rendered message as
well as the known secret values from settings.
"""

import logging
import re

from django.conf import settings

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_TOKEN_PARAM = re.compile(r"(?i)([?&](?:token|api_key|apikey)=)[^&\s]+")
REDACTED = "[redacted]"


def known_secrets() -> list[str]:
    """The secret values configured for this process, longest first."""
    values = [
        getattr(settings, "CIVITAI_API_TOKEN", None),
        getattr(settings, "CIVITAI_SITE_TOKEN", None),
        getattr(settings, "SECRET_KEY", None),
    ]
    return sorted({v for v in values if v and len(v) >= 4}, key=len, reverse=True)


def redact(text: str, extra: list[str] | tuple[str, ...] = ()) -> str:
    """Return ``text`` with bearer tokens, token query parameters and known secrets removed."""
    for secret in [*extra, *known_secrets()]:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
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
