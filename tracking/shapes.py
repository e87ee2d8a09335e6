"""What every recording tool returns: one pydantic model per result, and the record shapes.

These declare the JSON the services build (``tracking.serializers``): ``openapi.json``
publishes them as response schemas and ``docs/recording-tools.md`` lists them. They
are not run on every call; ``tests/tracking/test_shapes.py`` checks real results
against them, so a shape changed in one place fails until the other follows.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """A result whose inner records are documented in prose (live Civitai data)."""

    model_config = ConfigDict(extra="allow")


Id = str  # a string of digits
Timestamp = str  # ISO 8601 with zone


class PromptShape(Shape):
    prompt_id: Id
    prompt_text: str
    llm_model_provider: str | None
    llm_model: str | None
    purpose: str | None
    metadata: dict[str, Any]
    created_by: str | None
    on_behalf_of: str | None
    created_at: Timestamp
    updated_at: Timestamp


class AssetShape(Shape):
    asset_id: Id
    asset_url: str
    asset_type: str
    asset_source: str
    sha256sum: str | None
    civitai_id: Id | None
    civitai_url: str | None
    post_id: Id | None
    input_prompt_id: Id | None
    output_prompt_id: Id | None
    input_asset_ids: list[Id]
    metadata: dict[str, Any]
    created_by: str | None
    on_behalf_of: str | None
    created_at: Timestamp
    updated_at: Timestamp


class PostShape(Shape):
    post_id: Id
    civitai_id: Id
    civitai_url: str
    civitai_account: str
    status: str
    title: str | None
    description: str | None
    metadata: dict[str, Any]
    created_by: str | None
    on_behalf_of: str | None
    created_at: Timestamp
    updated_at: Timestamp


class AssetWithPrompts(AssetShape):
    input_prompt: PromptShape | None
    output_prompt: PromptShape | None


class AssetWithLinks(AssetWithPrompts):
    post: PostShape | None


class PostWithAssets(PostShape):
    assets: list[AssetWithPrompts] | None = None


class CalculateSha256Result(Shape):
    sha256sum: str
    size_bytes: int


class CreatePromptResult(Shape):
    prompt_id: Id
    prompt: PromptShape


class SimilarAsset(Shape):
    """A near-duplicate: an asset whose perceptual hash is ``distance`` bits away."""

    asset_id: Id
    distance: int


class SimilarAssetWithRecord(SimilarAsset):
    asset: AssetShape


class FindSimilarAssetsResult(Shape):
    """What ``find_similar_assets`` compared and what it found."""

    asset_id: Id | None  # the recorded asset compared (null for a path not recorded)
    sha256sum: str | None
    asset_type: str | None
    phash: str | None  # 16 hex digits; null when the file has no perceptual hash
    max_distance: int
    similar_assets: list[SimilarAssetWithRecord]
    note: str | None  # why nothing could be compared, when so


class CreateAssetResult(Shape):
    asset_id: Id
    sha256sum: str | None
    asset: AssetShape
    # Near-duplicates already recorded (a warning: the asset was still created).
    similar_assets: list[SimilarAsset]
    # True when no input_prompt_id was given and the file carried a prompt
    # (metadata.generation, docs/generation-metadata.md): a Prompt was recorded from it,
    # linked as the asset's input prompt, and input_prompt_id names it.
    input_prompt_created: bool
    input_prompt_id: Id | None


class CreateCivitaiPostResult(Shape):
    post_id: Id
    post: PostShape


class UpdateAssetResult(Shape):
    asset: AssetShape


class UpdatePostResult(Shape):
    post: PostShape


class FindAssetResult(Shape):
    found: bool
    asset: AssetWithLinks | None = None
    post_asset_count: int | None = None


class ListCivitaiPostsResult(Shape):
    posts: list[PostWithAssets]
    total: int
    limit: int
    offset: int


class FetchCivitaiPostAssetsResult(Open):
    post_id: Id
    civitai_url: str
    assets: list[dict[str, Any]]
    total: int
    limit: int
    page: int
    has_more: bool


class ImportCivitaiPostResult(Open):
    dry_run: bool
    post: dict[str, Any]
    assets: list[dict[str, Any]]


class SyncPostAssetStatsResult(Open):
    post_id: Id
    civitai_id: Id
    captured_at: Timestamp
    snapshots_created: int
    assets: list[dict[str, Any]]
    missing_on_civitai: list[Id]
    not_recorded: list[Id]


class PromptSearchHit(PromptShape):
    rank: float
    snippet: str
    assets: list[AssetShape]


class SearchPromptsResult(Shape):
    query: str
    prompts: list[PromptSearchHit]
    total: int
    limit: int
    offset: int


class GuideResult(Shape):
    name: str
    guide: str


class TraceWorkflow(Shape):
    workflow_id: str
    status: str
    tags: list[str]
    created_at: Timestamp | None


class TraceStep(Shape):
    name: str
    step_type: str
    status: str


class TraceJob(Shape):
    job_id: str
    status: str


class TraceScan(Shape):
    state: str
    csam_score_max: float | None
    is_blocked: bool | None
    blocked_reason: str | None
    nsfw_level: str | None
    prompt_flagged: bool | None
    fetched_at: Timestamp | None


class TraceResult(Shape):
    """One mirrored Orchestration blob whose content hash is the file's."""

    blob_id: str
    workflow: TraceWorkflow | None
    step: TraceStep | None
    job: TraceJob | None
    prompt: str | None
    negative_prompt: str | None
    scan: TraceScan | None


class TraceAssetResult(Shape):
    sha256sum: str | None
    found: bool
    asset: AssetShape | None
    post: PostShape | None
    orchestration: list[TraceResult]


class MatchCandidate(Shape):
    asset_id: Id
    asset_url: str
    match: str
    distance: int


class MatchedImage(Shape):
    """One image of the post and what became of it (``status``)."""

    civitai_id: Id
    civitai_url: str
    image_url: str
    asset_type: str
    sha256sum: str | None
    status: (
        str  # applied, proposed, ambiguous, refused, no_match, already_linked, unreadable, skipped
    )
    reason: str | None
    asset_id: Id | None
    match: str | None  # "sha256" (identical bytes) or "perceptual"
    distance: int | None
    alternatives: list[MatchCandidate]


class MatchPost(Shape):
    civitai_id: Id
    civitai_url: str
    post_id: Id | None


class MatchPostAssetsResult(Shape):
    post: MatchPost
    apply: bool
    max_distance: int
    images: list[MatchedImage]
    counts: dict[str, int]
