"""What a reader sees on a page: its text nodes and the attributes a browser shows."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings

from civitrack.pofile import parse

CATALOG = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
SHOWN_ATTRIBUTES = {"placeholder", "title", "alt", "aria-label"}
HIDDEN_ELEMENTS = {"script", "style", "template", "noscript"}
# Admin rows that show upstream data verbatim (the API's event names, e.g. "Succeeded",
# which happens to equal one of our status labels).
DATA_ROWS = {"field-event_type"}
VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class _Texts(HTMLParser):
    """Collects visible strings; skips scripts and anything in another language (the
    switcher lists each language in its own name, ``lang="zh-hans"`` on an English page)."""

    def __init__(self, page_language: str):
        super().__init__(convert_charrefs=True)
        self.page_language = page_language
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden)
        self.texts: list[str] = []
        self.html_lang: str | None = None

    @property
    def hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.html_lang = attrs.get("lang")
        lang = attrs.get("lang")
        hidden = (
            self.hidden
            or tag in HIDDEN_ELEMENTS
            or (lang is not None and tag != "html" and lang != self.page_language)
            or (tag == "input" and attrs.get("type") == "hidden")
            or bool(DATA_ROWS & set((attrs.get("class") or "").split()))
        )
        if not hidden:
            for name in SHOWN_ATTRIBUTES:
                if attrs.get(name):
                    self.texts.append(attrs[name])
            if tag == "input" and attrs.get("type") in {"submit", "button"} and attrs.get("value"):
                self.texts.append(attrs["value"])
        if tag not in VOID:
            self.stack.append((tag, hidden))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.texts.append(" ".join(data.split()))


def visible_texts(html: str, page_language: str) -> tuple[str | None, list[str]]:
    """``(<html lang>, visible strings)`` of a page."""
    parser = _Texts(page_language)
    parser.feed(html)
    parser.close()
    return parser.html_lang, parser.texts


def _pattern(msgid: str) -> re.Pattern:
    """A msgid as a pattern for a whole text node: placeholders match anything."""
    parts = re.split(r"%\([a-z_]+\)[-#0 +]*\d*(?:\.\d+)?[sdfg]|%[sd]", " ".join(msgid.split()))
    return re.compile(r"\s*" + r".+?".join(re.escape(p) for p in parts) + r"\s*\Z", re.S)


def english_message_ids() -> list[tuple[str, re.Pattern]]:
    """Our msgids whose Chinese differs (a translation equal to the English, like
    ``sha256`` or ``Civitai``, is a decision to keep the word, not a gap)."""
    found = []
    for entry in parse(CATALOG)[1:]:
        if entry.msgstr and entry.msgstr[0].strip() == entry.msgid.strip():
            continue
        for msgid in filter(None, (entry.msgid, entry.msgid_plural)):
            text = re.sub(r"<[^>]+>", "", msgid)  # markup inside a msgid is not visible
            if re.search(r"[A-Za-z]{2,}", re.sub(r"%\([a-z_]+\)\S", "", text)):
                found.append((text, _pattern(text)))
    return found


def untranslated_on_page(texts: list[str], ids) -> list[str]:
    """The visible strings that are one of our English msgids (placeholders filled)."""
    hits = []
    for text in texts:
        for msgid, pattern in ids:
            if pattern.match(text) or (len(msgid) >= 24 and "%(" not in msgid and msgid in text):
                hits.append(f"{text!r} (msgid {msgid!r})")
                break
    return hits
