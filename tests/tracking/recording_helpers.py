"""Small builders shared by the recording-tool tests (not fixtures, so no conftest needed)."""

from __future__ import annotations

import hashlib
import itertools
import json

from django.urls import reverse

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


_urls = itertools.count(1)


def asset(user, **extra) -> dict:
    # A new URL each time: without a sha256, the same asset_url twice is a duplicate.
    params = {
        "asset_url": f"s3://bucket/asset-{next(_urls)}.png",
        "asset_type": "image",
        "asset_source": "generated",
    }
    params.update(extra)
    return services.create_asset(user=user, **params)["asset"]


def prompt(user, text: str = "A serene mountain landscape", **extra) -> dict:
    return services.create_prompt(user=user, prompt_text=text, **extra)["prompt"]


def call_over_http(client, token: str, name: str, body: dict):
    """``POST /api/v1/tools/<name>`` with ``body`` as JSON and a bearer token."""
    return client.post(
        reverse("api:tool", args=[name]),
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


# Prompts the words of the search tests are rare in, so every engine ranks as it does on
# a real table (in BM25 a word found in most rows carries almost no weight).
SEARCH_FILLER = [
    "masterpiece, best quality, mountain lake at dawn",
    "portrait of an old sailor, oil painting",
    "city street at night, neon, rain",
    "still life with apples and a jug",
    "a castle on a hill, watercolor",
    "desert dunes under a starry sky",
]
