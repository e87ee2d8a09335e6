"""A small, realistic demo data set for `make run` on an empty database.

Real image files ship in ``static/demo/``; their sha256 sums are computed from the
files, so the duplicate detection and hash search in the admin work on the demo
exactly as on real data.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from civitrack.media import static_prefix
from tracking.models import Asset, AssetStatsSnapshot, Post, Prompt

DEMO_DIR = Path(settings.BASE_DIR) / "static" / "demo"


def _sha256(name: str) -> str:
    return hashlib.sha256((DEMO_DIR / name).read_bytes()).hexdigest()


def is_empty() -> bool:
    return not (Post.objects.exists() or Asset.objects.exists() or Prompt.objects.exists())


@transaction.atomic
def load_demo(user, *, base_url: str = "http://127.0.0.1:8000") -> dict[str, int]:
    """Create three posts, five assets and six prompts linked both ways; return counts."""
    now = timezone.now()

    def url(name: str) -> str:
        return f"{base_url.rstrip('/')}{static_prefix()}demo/{name}"

    def prompt(text, purpose, provider, model, days):
        return Prompt.objects.create(
            prompt_text=text,
            purpose=purpose,
            llm_model_provider=provider,
            llm_model=model,
            created_by=user,
            created_at=now - timedelta(days=days),
        )

    p_lantern = prompt(
        "A paper lantern floating on a dark pond at night, warm glow, soft reflections",
        "image_generation",
        "black-forest-labs",
        "flux-1-dev",
        9,
    )
    p_mountain = prompt(
        "A serene mountain landscape at sunset with vibrant orange and purple skies",
        "image_generation",
        "openai",
        "dall-e-3",
        7,
    )
    p_fox = prompt(
        "Low-poly red fox sitting in a green meadow, flat colours",
        "image_generation",
        "black-forest-labs",
        "flux-1-schnell",
        5,
    )
    p_waves = prompt(
        "Waves at dusk, long exposure, pastel sky",
        "image_generation",
        "openai",
        "dall-e-3",
        3,
    )
    c_lantern = prompt(
        "A glowing orange lantern drifts on still blue water under a night sky.",
        "caption",
        "anthropic",
        "claude-sonnet",
        8,
    )
    c_mountain = prompt(
        "Snow-capped peak silhouetted against a setting sun and violet clouds.",
        "caption",
        "anthropic",
        "claude-sonnet",
        6,
    )

    lanterns = Post.objects.create(
        civitai_id=23602354,
        civitai_url="https://civitai.com/posts/23602354",
        status=Post.Status.PUBLISHED,
        title="Lanterns",
        description="Two tries at a paper lantern on a pond.",
        metadata={"tags": ["still life", "ai-art"], "workflow": "flux-1-dev"},
        created_by=user,
        created_at=now - timedelta(days=8),
    )
    landscapes = Post.objects.create(
        civitai_id=23604281,
        civitai_url="https://civitai.com/posts/23604281",
        status=Post.Status.PUBLISHED,
        title="Sunset Mountain Landscape",
        description="AI-generated mountain scene",
        metadata={"tags": ["landscape", "ai-art"], "workflow": "dall-e-3"},
        created_by=user,
        created_at=now - timedelta(days=6),
    )
    Post.objects.create(
        civitai_id=23610007,
        civitai_url="https://civitai.com/posts/23610007",
        status=Post.Status.PENDING,
        title="Fox study (draft)",
        created_by=user,
        created_at=now - timedelta(days=1),
    )

    def asset(name, prompt_in, post, civitai_id, days, caption=None, source="generated"):
        return Asset.objects.create(
            asset_url=url(name),
            asset_type=Asset.Type.IMAGE,
            asset_source=source,
            sha256sum=_sha256(name),
            civitai_id=civitai_id,
            civitai_url=f"https://civitai.com/images/{civitai_id}" if civitai_id else None,
            post=post,
            input_prompt=prompt_in,
            output_prompt=caption,
            metadata={"file": name},
            created_by=user,
            created_at=now - timedelta(days=days),
        )

    lantern = asset("paper-lantern.png", p_lantern, lanterns, 106433016, 9, c_lantern)
    upscaled = asset("paper-lantern-upscaled.jpg", p_lantern, lanterns, 106433017, 8)
    upscaled.input_assets.add(lantern)
    mountain = asset("mountain-sunset.png", p_mountain, landscapes, 106432973, 7, c_mountain)
    asset("orchestration/fox.png", p_fox, None, None, 5)  # also an Orchestration demo blob
    asset("waves-dusk.jpg", p_waves, None, None, 3)

    snapshots = []
    for days_ago, likes, hearts in [(6, 3, 1), (4, 11, 4), (2, 25, 9), (0, 37, 12)]:
        for target, factor in [(lantern, 1), (upscaled, 2), (mountain, 3)]:
            snapshots.append(
                AssetStatsSnapshot(
                    asset=target,
                    captured_at=now - timedelta(days=days_ago),
                    like_count=likes * factor,
                    heart_count=hearts * factor,
                    laugh_count=factor - 1,
                    comment_count=days_ago % 3,
                )
            )
    AssetStatsSnapshot.objects.bulk_create(snapshots)
    return {
        "posts": Post.objects.count(),
        "assets": Asset.objects.count(),
        "prompts": Prompt.objects.count(),
    }
