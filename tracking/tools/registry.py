"""The tool registry: one entry per recording tool, from which every adapter is generated.

Each ``ToolSpec`` names a tool, describes it (the recording guide's words), and points
at the service that implements it; the service's input declaration
(``tracking.inputs``, via ``@services.takes``) gives the parameters, their checks and
the JSON Schema, and ``result_model`` (``tracking.shapes``) the answer's shape. The
MCP server lists and calls tools from here, the HTTP API routes
``POST /api/v1/tools/<name>`` through here, and ``openapi.json`` and the parameter
table of ``docs/recording-tools.md`` are generated from here. Adding a tool is one
``register(ToolSpec(...))`` call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from tracking import inputs, services, shapes
from tracking.errors import RecordNotFound


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    function: Callable[..., dict[str, Any]]
    result_model: type[BaseModel] | None = None
    success_status: int = 200
    title: str | None = None
    annotations: Mapping[str, Any] = field(default_factory=dict)

    @property
    def input_model(self) -> type[inputs.ToolInput]:
        return self.function.input_model  # type: ignore[attr-defined]

    @functools.cached_property
    def input_schema(self) -> dict[str, Any]:
        return inputs.input_schema(self.input_model)

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(self.input_model.model_fields)

    def call(self, *, user, arguments: Any) -> dict[str, Any]:
        """Check ``arguments`` against the declaration once, then run the service."""
        inputs.refuse_invalid_unicode(arguments)
        params = inputs.validate(self.input_model, arguments, self.name)
        return self.function(user=user, params=params)


TOOLS: dict[str, ToolSpec] = {}


def register(spec: ToolSpec) -> ToolSpec:
    """Add a tool to the registry (names are unique)."""
    if spec.name in TOOLS:
        raise ValueError(f"Tool {spec.name} is already registered")
    TOOLS[spec.name] = spec
    return spec


def get_tool(name: str) -> ToolSpec:
    try:
        return TOOLS[name]
    except KeyError:
        raise RecordNotFound(f"Unknown tool: {name}") from None


def call_tool(name: str, *, user, arguments: Any) -> dict[str, Any]:
    """Look the tool up and run it: the one path of every adapter."""
    return get_tool(name).call(user=user, arguments=arguments)


# --- the tools ------------------------------------------------------------------

register(
    ToolSpec(
        name="calculate_sha256",
        title="Calculate SHA256",
        description=(
            "Calculate the SHA256 hash of a file or URL before creating an asset, to check for"
            " duplicates. Returns sha256sum (use it with find_asset and create_asset) and"
            " size_bytes. path is an http(s) URL or a file under the server's"
            " HASH_ALLOWED_ROOTS."
        ),
        function=services.calculate_sha256,
        result_model=shapes.CalculateSha256Result,
        annotations={"readOnlyHint": True},
    )
)


register(
    ToolSpec(
        name="create_prompt",
        title="Record a prompt",
        description=(
            "Record a text prompt, before generating content or whenever there is a prompt to"
            " save. Returns prompt_id: link it as input_prompt_id (the prompt that GENERATED"
            " an asset) or output_prompt_id (a prompt derived FROM an asset, e.g. a caption)."
        ),
        function=services.create_prompt,
        result_model=shapes.CreatePromptResult,
        success_status=201,
    )
)


register(
    ToolSpec(
        name="create_asset",
        title="Record an asset",
        description=(
            "Record an image or video after generating or uploading it. Returns asset_id."
            " input_prompt_id: the prompt that GENERATED this asset; output_prompt_id: a"
            " prompt derived FROM it (e.g. a caption); post_id: the Civitai post it belongs"
            " to; civitai_id/civitai_url: the Civitai image (https://civitai.com/images/<id>)."
            ' asset_source is "generated" for AI-generated media, "upload" for user uploads.'
            " Without sha256sum the server hashes asset_url when it can read it, and reads"
            " the generation parameters the file carries (A1111, ComfyUI) into"
            " metadata.generation; with no input_prompt_id, the file's prompt is recorded"
            " and linked (input_prompt_created: true, input_prompt_id). A second"
            " asset with the same sha256sum or civitai_id is refused, naming the existing"
            " asset_id: check with find_asset first. When the server reads the file it also"
            " compares it by perceptual hash: similar_assets lists recorded near-duplicates"
            " (re-encoded, resized or cropped copies) with their distance, nearest first. That"
            " is a warning: the asset is recorded anyway (see find_similar_assets)."
        ),
        function=services.create_asset,
        result_model=shapes.CreateAssetResult,
        success_status=201,
    )
)


register(
    ToolSpec(
        name="create_civitai_post",
        title="Record a Civitai post",
        description=(
            "Record a post after publishing content to Civitai. Returns post_id, to link"
            " assets with update_asset (assets point to posts). civitai_id is the number in"
            ' the post URL: https://civitai.com/posts/23602354 → "23602354". The account'
            " is set from CIVITAI_ACCOUNT. A second post with the same civitai_id is refused."
        ),
        function=services.create_civitai_post,
        result_model=shapes.CreateCivitaiPostResult,
        success_status=201,
    )
)


register(
    ToolSpec(
        name="update_asset",
        title="Update an asset",
        description=(
            "Update an asset's links and Civitai metadata, e.g. link an existing asset to a"
            " post. Leave a key out to keep its value, send null to clear it, or a value to"
            " set it. Linking to a record that does not exist is refused and changes nothing."
        ),
        function=services.update_asset,
        result_model=shapes.UpdateAssetResult,
    )
)


register(
    ToolSpec(
        name="update_post",
        title="Update a Civitai post record",
        description=(
            "Change a post record's status, title, description or metadata (e.g. pending →"
            " published). Leave a key out to keep it, send null to clear title, description"
            " or metadata. Only the post's creator or staff may change a post."
        ),
        function=services.update_post,
        result_model=shapes.UpdatePostResult,
    )
)


register(
    ToolSpec(
        name="find_asset",
        title="Find an asset",
        description=(
            "Find an asset by asset_id, sha256sum, civitai_id, civitai_url (the Civitai image"
            " page) or post_id; several given must all match. Check whether a file is already"
            " recorded before creating it, or fetch an asset's details: the answer nests its"
            " input_prompt, output_prompt and post. By post_id it is the post's first asset,"
            " and post_asset_count says how many the post has. Returns {found: true, asset}"
            " or {found: false}."
        ),
        function=services.find_asset,
        result_model=shapes.FindAssetResult,
        annotations={"readOnlyHint": True},
    )
)


register(
    ToolSpec(
        name="list_civitai_posts",
        title="List Civitai posts",
        description=(
            "List recorded posts, newest first. Filters: civitai_id, status, created_by"
            " (username) and on_behalf_of, both in any case,"
            " start_time and end_time (ISO 8601 with zone, bounding created_at)."
            " Pagination: limit (1-100, default 20), offset. include_details: true nests each"
            " post's assets with their input and output prompts."
        ),
        function=services.list_civitai_posts,
        result_model=shapes.ListCivitaiPostsResult,
        annotations={"readOnlyHint": True},
    )
)


register(
    ToolSpec(
        name="fetch_civitai_post_assets",
        title="Fetch a Civitai post's images (live)",
        description=(
            "The live images and videos of a Civitai post from Civitai's public API, each"
            " checked to belong to that post, with engagement counts (likes, hearts, laughs,"
            " cries, dislikes, comments) and generation metadata. Writes nothing."
            " recorded_asset_id tells which are already recorded."
        ),
        function=services.fetch_civitai_post_assets,
        result_model=shapes.FetchCivitaiPostAssetsResult,
        annotations={"readOnlyHint": True},
    )
)


register(
    ToolSpec(
        name="import_civitai_post",
        title="Import a Civitai post",
        description=(
            "Record a Civitai post and every image/video in it, from Civitai's public API, in"
            " one transaction: the post, one asset per image (asset_url = the media file,"
            " civitai_id/civitai_url = the image page) and the generation prompt as the"
            " asset's input prompt. Every answer is checked against what was asked; a wrong"
            " answer writes nothing. Re-importing updates in place. dry_run: true shows what"
            " would be recorded and writes nothing."
        ),
        function=services.import_civitai_post,
        result_model=shapes.ImportCivitaiPostResult,
    )
)


register(
    ToolSpec(
        name="sync_post_asset_stats",
        title="Refresh engagement stats of a post's assets",
        description=(
            "Fetch the current engagement counts of a recorded post's assets from Civitai"
            " and store them as a time-stamped snapshot per asset (history is kept)."
            " Name the post by post_id (civitrack's id, from create_civitai_post) or"
            " civitai_post_id (Civitai's id, the number in its URL)."
        ),
        function=services.sync_post_asset_stats,
        result_model=shapes.SyncPostAssetStatsResult,
    )
)


register(
    ToolSpec(
        name="get_workflow_guide",
        title="The recording workflow guide",
        description=(
            "The step-by-step guide to recording prompts, assets and Civitai posts with these"
            " tools, as text: the same as the prompt record_civitai_workflow, for clients"
            " that do not support MCP prompts."
        ),
        function=services.get_workflow_guide,
        result_model=shapes.GuideResult,
        annotations={"readOnlyHint": True},
    )
)


register(
    ToolSpec(
        name="get_media_engagement_guide",
        title="The media engagement guide",
        description=(
            "How to read engagement on Civitai: fetch a post's live images and counts, store"
            " snapshots with sync_post_asset_stats and read their history. The same as the"
            " prompt civitai_media_engagement, for clients that do not support MCP prompts."
        ),
        function=services.get_media_engagement_guide,
        result_model=shapes.GuideResult,
        annotations={"readOnlyHint": True},
    )
)


register(
    ToolSpec(
        name="trace_asset",
        title="Trace an asset to the Orchestration job that made it",
        description=(
            "Given an asset_id or a sha256sum (or both, which must match), return the"
            " Orchestration workflow, step, job, prompt and scan whose output has the same"
            " file (matched by content hash), and the Civitai post the asset is in. found is"
            " false when no mirrored result has the file's hash yet."
        ),
        function=services.trace_asset,
        result_model=shapes.TraceAssetResult,
        annotations={"readOnlyHint": True},
    )
)


register(
    ToolSpec(
        name="find_similar_assets",
        title="Find near-duplicates of an asset or a file",
        description=(
            "Recorded assets that look like the given one, by perceptual hash: exactly one of"
            " asset_id, sha256sum (a recorded asset) or path (an http(s) URL or a file under"
            " HASH_ALLOWED_ROOTS, read like calculate_sha256 does). Each match has its"
            " Hamming distance in bits of 64: 0-4 is the same picture re-saved, resized or"
            " recompressed, 5-10 usually a crop or light edit, above ~20 unrelated."
            " max_distance (default 8, at most 15) and limit (default 20) bound the answer."
            " Use it before create_asset to avoid recording a re-encoded copy twice, or to map"
            " a local file to its Civitai image when sha256 differs."
        ),
        function=services.find_similar_assets,
        result_model=shapes.FindSimilarAssetsResult,
        annotations={"readOnlyHint": True},
    )
)


register(
    ToolSpec(
        name="match_post_assets",
        title="Match recorded assets to a Civitai post's images",
        description=(
            "For a Civitai post (URL or id), fetch its images, hash them (sha256 and"
            " perceptual) and propose which recorded asset without a Civitai id each one is:"
            " identical bytes first, then the closest picture within max_distance (differing"
            " bits of a 64-bit pHash; re-encoded copies are a few bits apart). Candidates are"
            " the post's recorded assets and your own, or asset_ids. An image matching two"
            " assets, or an asset matching two images, is reported as ambiguous and never"
            " applied. apply: true writes the unambiguous links (civitai_id, civitai_url,"
            " post_id) like update_asset; the post must be recorded first."
        ),
        function=services.match_post_assets,
        result_model=shapes.MatchPostAssetsResult,
    )
)


register(
    ToolSpec(
        name="search_prompts",
        title="Search prompts (full text)",
        description=(
            "Find recorded prompts by the words in them, best match first, with a"
            " highlighted snippet (HTML: the text escaped, matches in <mark>) and the assets"
            ' each prompt generated. Web-search syntax: words are all required, "a phrase"'
            ' in quotes keeps words together and in order, -word or -"a phrase" excludes,'
            " or separates alternatives (a b or c means both a and b, or c). Words match"
            " whole (no stemming, no prefixes), in any case; Chinese and Japanese match"
            " character by character. Pagination: limit (1-100, default 20), offset."
        ),
        function=services.search_prompts,
        result_model=shapes.SearchPromptsResult,
        annotations={"readOnlyHint": True},
    )
)
