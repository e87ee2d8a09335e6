"""The Chinese catalogs stay complete and in step with the code.

- no entry is untranslated or fuzzy (django.po and djangojs.po);
- running ``scripts/messages`` (makemessages) on the code would not change the set of
  message ids: a new string in the code without a translation fails here;
- the committed ``.mo`` files say what the ``.po`` files say (they are committed so a
  fresh clone needs no gettext; ``scripts/messages`` compiles them).

The makemessages check needs GNU gettext (``xgettext``): ``.ci/run`` installs it; a
machine without it skips that one test unless ``CIVITRACK_REQUIRE_GETTEXT`` is set.
"""

from __future__ import annotations

import gettext
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from civitrack.pofile import parse

ROOT = Path(settings.BASE_DIR)
LC = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"
DOMAINS = ["django", "djangojs"]


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_entry_is_translated_and_none_is_fuzzy(domain):
    entries = parse(LC / f"{domain}.po")
    header, entries = entries[0], entries[1:]
    assert header.msgid == "" and not header.fuzzy, "the catalog header is still fuzzy"
    assert entries, f"{domain}.po is empty"
    bad = [e.msgid for e in entries if e.fuzzy or not e.translated]
    assert not bad, f"untranslated or fuzzy in {domain}.po: {bad}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_committed_mo_files_match_the_po_files(domain):
    with open(LC / f"{domain}.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    expected = {}
    for e in parse(LC / f"{domain}.po")[1:]:
        key = f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt else e.msgid
        if e.msgid_plural is None:
            expected[key] = e.msgstr[0]
        else:
            for i, text in enumerate(e.msgstr):
                expected[(key, i)] = text
    compiled = {k: v for k, v in compiled.items() if k != ""}
    assert compiled == expected, "the .mo files are stale: run scripts/messages compile"


def _copy_of_the_code(target: Path) -> None:
    ignore = shutil.ignore_patterns(
        ".git",
        ".venv",
        "__pycache__",
        "*.sqlite3*",
        "staticfiles",
        "media",
        "test-artifacts",
        "node_modules",
        ".pytest_cache",
        ".ruff_cache",
        "*.mo",
    )
    shutil.copytree(ROOT, target, ignore=ignore, symlinks=True)


def test_makemessages_would_not_change_the_catalogs(tmp_path):
    if not shutil.which("xgettext") or not shutil.which("msgmerge"):
        if os.environ.get("CIVITRACK_REQUIRE_GETTEXT"):
            pytest.fail("GNU gettext is not installed (apt-get install gettext)")
        pytest.skip("GNU gettext is not installed (apt-get install gettext)")
    copy = tmp_path / "code"
    _copy_of_the_code(copy)
    env = {**os.environ, "PY": sys.executable, "DEBUG": "true"}
    subprocess.run(
        ["bash", "scripts/messages", "update-only"], cwd=copy, env=env, check=True, timeout=240
    )
    for domain in DOMAINS:
        before = {e.key for e in parse(LC / f"{domain}.po")[1:]}
        after = {e.key for e in parse(copy / "locale/zh_Hans/LC_MESSAGES" / f"{domain}.po")[1:]}
        assert before == after, (
            f"{domain}.po is out of step with the code; run scripts/messages and translate. "
            f"New in the code: {sorted(map(str, after - before))}; "
            f"gone from the code: {sorted(map(str, before - after))}"
        )
