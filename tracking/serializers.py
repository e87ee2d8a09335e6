"""Records to the contract's JSON shapes (contract §3).

All keys are always present; absent values are ``None``. Ids travel as strings of
digits and timestamps as ISO 8601 with zone. The functions read only what the
caller loaded: pass querysets built with ``select_related``/``prefetch_related``
(see ``PostQuerySet.with_details``) to keep listings at a fixed number of queries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tracking.models import Asset, Post, Prompt


def id_str(value: int | None) -> str | None:
    return None if value is None else str(value)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def username(user) -> str | None:
    return None if user is None else user.get_username()


def prompt_dict(prompt: Prompt) -> dict[str, Any]:
    return {
        "prompt_id": id_str(prompt.pk),
        "prompt_text": prompt.prompt_text,
        "llm_model_provider": prompt.llm_model_provider,
        "llm_model": prompt.llm_model,
        "purpose": prompt.purpose,
        "metadata": prompt.metadata,
        "created_by": username(prompt.created_by),
        "created_at": iso(prompt.created_at),
        "updated_at": iso(prompt.updated_at),
    }


def asset_dict(asset: Asset, *, input_asset_ids: list[int] | None = None) -> dict[str, Any]:
    """The Asset shape. ``input_asset_ids`` may be given to skip reading the M2M."""
    if input_asset_ids is None:
        input_asset_ids = sorted(a.pk for a in asset.input_assets.all())
    return {
        "asset_id": id_str(asset.pk),
        "asset_url": asset.asset_url,
        "asset_type": asset.asset_type,
        "asset_source": asset.asset_source,
        "sha256sum": asset.sha256sum,
        "civitai_id": id_str(asset.civitai_id),
        "civitai_url": asset.civitai_url,
        "post_id": id_str(asset.post_id),
        "input_prompt_id": id_str(asset.input_prompt_id),
        "output_prompt_id": id_str(asset.output_prompt_id),
        "input_asset_ids": [str(pk) for pk in input_asset_ids],
        "metadata": asset.metadata,
        "created_by": username(asset.created_by),
        "created_at": iso(asset.created_at),
        "updated_at": iso(asset.updated_at),
    }


def asset_detail_dict(asset: Asset) -> dict[str, Any]:
    """Asset plus its nested input and output prompts (for ``include_details``)."""
    data = asset_dict(asset)
    data["input_prompt"] = prompt_dict(asset.input_prompt) if asset.input_prompt else None
    data["output_prompt"] = prompt_dict(asset.output_prompt) if asset.output_prompt else None
    return data


def post_dict(post: Post, *, include_details: bool = False) -> dict[str, Any]:
    data = {
        "post_id": id_str(post.pk),
        "civitai_id": id_str(post.civitai_id),
        "civitai_url": post.civitai_url,
        "civitai_account": post.civitai_account,
        "status": post.status,
        "title": post.title,
        "description": post.description,
        "metadata": post.metadata,
        "created_by": username(post.created_by),
        "created_at": iso(post.created_at),
        "updated_at": iso(post.updated_at),
    }
    if include_details:
        data["assets"] = [asset_detail_dict(a) for a in post.assets.all()]
    return data
