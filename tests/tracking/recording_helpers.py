"""Small builders shared by the recording-tool tests (not fixtures, so no conftest needed)."""

from __future__ import annotations

import hashlib

from tracking import services

SHA_A = hashlib.sha256(b"asset a").hexdigest()
SHA_B = hashlib.sha256(b"asset b").hexdigest()


def post(user, civitai_id: int = 23602354, **extra) -> dict:
    return services.create_civitai_post(
        user=user,
        civitai_id=str(civitai_id),
        civitai_url=f"https://civitai.com/posts/{civitai_id}",
        **extra,
    )["post"]


def asset(user, **extra) -> dict:
    params = {"asset_url": "s3://bucket/a.png", "asset_type": "image", "asset_source": "generated"}
    params.update(extra)
    return services.create_asset(user=user, **params)["asset"]


def prompt(user, text: str = "A serene mountain landscape", **extra) -> dict:
    return services.create_prompt(user=user, prompt_text=text, **extra)["prompt"]
