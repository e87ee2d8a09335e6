"""README.zh-Hans.md is the whole README in Chinese: it is linked from the top of
README.md and lists the same commands, make targets and settings."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
ENGLISH = (ROOT / "README.md").read_text(encoding="utf-8")
CHINESE = (ROOT / "README.zh-Hans.md").read_text(encoding="utf-8")


def commands(text: str) -> set[str]:
    """Every command line of the code blocks (indented or fenced), comments dropped."""
    found = set()
    in_fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
            continue
        if in_fence or line.startswith("    "):
            command = re.sub(r"\s+#.*$", "", line.strip())
            if re.match(
                r"(make|python|gunicorn|pip|curl|export|DATABASE_URL|TOKEN|web:|worker:|scheduler:)",
                command,
            ):
                found.add(" ".join(command.split()))
    return found


def inline(text: str, pattern: str) -> set[str]:
    return set(re.findall(pattern, text))


def test_the_english_readme_links_the_chinese_one_at_the_top():
    assert "(README.zh-Hans.md)" in "\n".join(ENGLISH.splitlines()[:5])
    assert "(README.md)" in "\n".join(CHINESE.splitlines()[:5])


def test_both_readmes_list_the_same_commands():
    assert commands(ENGLISH) == commands(CHINESE)
    assert len(commands(ENGLISH)) > 20


def test_both_readmes_name_the_same_make_targets():
    pattern = r"`make ([a-z]+)`"
    assert inline(ENGLISH, pattern) == inline(CHINESE, pattern)


def test_both_readmes_name_the_same_settings():
    pattern = r"`([A-Z][A-Z0-9_]{2,})`"
    assert inline(ENGLISH, pattern) == inline(CHINESE, pattern)


def test_both_readmes_name_the_same_manage_py_commands():
    pattern = r"manage\.py ([a-z_]+)"
    assert inline(ENGLISH, pattern) == inline(CHINESE, pattern)
