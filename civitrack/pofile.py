"""A small reader and writer of gettext catalogs (.po), enough for our own checks.

The tests use it to find untranslated or fuzzy entries and to compare the message ids
of two catalogs; ``scripts/messages`` runs GNU gettext for everything else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}


def _unquote(text: str) -> str:
    body = text.strip()[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped.replace("\t", "\\t")}"'


@dataclass
class Entry:
    msgid: str
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    comments: list[str] = field(default_factory=list)
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.msgctxt, self.msgid, self.msgid_plural)

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(s.strip() for s in self.msgstr)


def parse(path: Path | str) -> list[Entry]:
    """Every entry of a catalog, the header (msgid "") first."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int] | None = None
    pending_flags: set[str] = set()
    pending_comments: list[str] = []

    def finish():
        nonlocal current
        if current is not None:
            entries.append(current)
        current = None

    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            finish()
            target = None
            continue
        if line.startswith("#,"):
            pending_flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            continue
        if line.startswith("#"):
            pending_comments.append(raw)
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.startswith('"'):
            if current is None or target is None:
                continue
            name, index = target
            value = _unquote(line)
            if name == "msgstr":
                current.msgstr[index] += value
            else:
                setattr(current, name, (getattr(current, name) or "") + value)
            continue
        starts_entry = keyword == "msgctxt" or (
            keyword == "msgid" and (current is None or bool(current.msgstr))
        )
        if starts_entry:
            finish()
            current = Entry(msgid="", flags=pending_flags, comments=pending_comments)
            current.obsolete = obsolete
            pending_flags, pending_comments = set(), []
        if current is None:
            continue
        if keyword == "msgctxt":
            current.msgctxt = _unquote(rest)
            target = ("msgctxt", 0)
        elif keyword == "msgid":
            current.msgid = _unquote(rest)
            target = ("msgid", 0)
        elif keyword == "msgid_plural":
            current.msgid_plural = _unquote(rest)
            target = ("msgid_plural", 0)
        elif keyword == "msgstr":
            current.msgstr = [_unquote(rest)]
            target = ("msgstr", 0)
        elif keyword.startswith("msgstr["):
            index = int(keyword[7:-1])
            while len(current.msgstr) <= index:
                current.msgstr.append("")
            current.msgstr[index] = _unquote(rest)
            target = ("msgstr", index)
    finish()
    return entries


def write(path: Path | str, entries: list[Entry]) -> None:
    """Write entries back (no line wrapping; ``msgmerge`` re-wraps on the next update)."""
    out: list[str] = []
    for e in entries:
        out.extend(c for c in e.comments if not c.startswith("#|"))
        if e.flags:
            out.append("#, " + ", ".join(sorted(e.flags)))
        if e.fuzzy:  # the previous msgid only matters while the entry is fuzzy
            out.extend(c for c in e.comments if c.startswith("#|"))
        if e.msgctxt is not None:
            out.append(f"msgctxt {_quote(e.msgctxt)}")
        out.append(f"msgid {_quote(e.msgid)}")
        if e.msgid_plural is not None:
            out.append(f"msgid_plural {_quote(e.msgid_plural)}")
            for i, s in enumerate(e.msgstr or [""]):
                out.append(f"msgstr[{i}] {_quote(s)}")
        else:
            out.append(f"msgstr {_quote(e.msgstr[0] if e.msgstr else '')}")
        out.append("")
    Path(path).write_text("\n".join(out), encoding="utf-8")
