"""The agents' guides: the recording workflow and the media engagement guide.

Served as MCP prompts (under civitrack's names and the original civitai-records
server's) and, for clients without prompt support, as the tools
``get_workflow_guide`` and ``get_media_engagement_guide``. The texts live in
``tracking/docs/`` so they read as documents in the repository too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent / "docs"


@dataclass(frozen=True)
class Guide:
    key: str
    file: str
    title: str
    description: str
    prompt_names: tuple[str, ...]  # the MCP prompt names it is offered under


GUIDES = {
    "recording": Guide(
        "recording",
        "recording-guide.md",
        "Civitai content recording workflow",
        "How to record prompts, assets and Civitai posts with these tools, step by step",
        ("recording-guide", "record_civitai_workflow"),
    ),
    "engagement": Guide(
        "engagement",
        "engagement-guide.md",
        "Civitai media engagement",
        "How to fetch live post assets, store engagement snapshots and read their history",
        ("civitai_media_engagement",),
    ),
}


def text(key: str) -> str:
    return (DOCS / GUIDES[key].file).read_text(encoding="utf-8")


def by_prompt_name(name: str) -> Guide | None:
    return next((g for g in GUIDES.values() if name in g.prompt_names), None)
