"""The tool registry: one entry per recording tool, from which every adapter is generated.

Each ``ToolSpec`` holds the tool's name, its description (the recording guide's
words), the JSON Schema of its input, the service function that implements it and
the HTTP status of a success. The MCP server lists and calls tools from here, the
HTTP API routes ``POST /api/v1/tools/<name>`` through here and ``openapi.json`` is
generated from here. Adding a tool is one ``register(ToolSpec(...))`` call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tracking import civitai_import, services
from tracking.errors import InvalidInput, RecordNotFound


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    input_schema: Mapping[str, Any]
    function: Callable[..., dict[str, Any]]
    success_status: int = 200
    title: str | None = None
    annotations: Mapping[str, Any] = field(default_factory=dict)

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(self.input_schema.get("properties", {}))


# --- schema building blocks -----------------------------------------------------


def id_schema(description: str, *, nullable: bool = False) -> dict[str, Any]:
    """An id: a string of digits (preferred) or a positive JSON integer; null if clearable."""
    types = ["string", "integer"] + (["null"] if nullable else [])
    return {"type": types, "pattern": "^[0-9]+$", "minimum": 1, "description": description}


def text_schema(description: str, *, nullable: bool = False, **extra: Any) -> dict[str, Any]:
    return {
        "type": ["string", "null"] if nullable else "string",
        "description": description,
    } | extra


METADATA = {
    "type": "object",
    "description": "Additional information: API responses, engagement metrics, tags, workflow"
    " details or custom tracking fields",
}
SHA256 = {
    "type": "string",
    "pattern": "^[0-9a-fA-F]{64}$",
    "description": "SHA256 of the file, 64 hexadecimal characters (stored lower-case)",
}
TIMESTAMP = "ISO 8601 timestamp with zone, e.g. 2025-01-15T10:00:00Z"
ON_BEHALF_OF = text_schema(
    "Who the record is made for (a person's name or username); defaults to the creator",
    nullable=True,
    maxLength=255,
)


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


# --- the tools ------------------------------------------------------------------

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
    """Validate the argument object's shape against the tool's parameters and run the tool."""
    spec = get_tool(name)
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise InvalidInput("The tool arguments must be a JSON object")
    services.refuse_invalid_unicode(arguments)
    allowed = spec.parameters
    services.refuse_unknown(name, set(arguments) - set(allowed), allowed)
    return spec.function(user=user, **arguments)


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
        input_schema=_object(
            {"path": text_schema("File path (under HASH_ALLOWED_ROOTS) or http(s) URL")},
            ["path"],
        ),
        function=services.calculate_sha256,
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
        input_schema=_object(
            {
                "prompt_text": text_schema("The prompt text", minLength=1),
                "llm_model_provider": text_schema(
                    "Provider of the model, e.g. openai", nullable=True, maxLength=100
                ),
                "llm_model": text_schema("Model name, e.g. dall-e-3", nullable=True, maxLength=200),
                "purpose": text_schema(
                    "What the prompt is for, e.g. image_generation", nullable=True, maxLength=100
                ),
                "metadata": METADATA,
                "on_behalf_of": ON_BEHALF_OF,
            },
            ["prompt_text"],
        ),
        function=services.create_prompt,
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
            " Without sha256sum the server hashes asset_url when it can read it. A second"
            " asset with the same sha256sum or civitai_id is refused, naming the existing"
            " asset_id: check with find_asset first."
        ),
        input_schema=_object(
            {
                "asset_url": text_schema(
                    "Where the file lives: https://…, s3://… or a local path", maxLength=2000
                ),
                "asset_type": {"type": "string", "enum": ["image", "video"]},
                "asset_source": {"type": "string", "enum": ["generated", "upload"]},
                "input_prompt_id": id_schema("prompt that generated this asset", nullable=True),
                "output_prompt_id": id_schema(
                    "prompt derived from this asset (e.g. a caption)", nullable=True
                ),
                "post_id": id_schema("post_id of the Civitai post record", nullable=True),
                "civitai_id": id_schema("Civitai image id", nullable=True),
                "civitai_url": text_schema(
                    "Civitai image URL whose id equals civitai_id", nullable=True
                ),
                "sha256sum": SHA256 | {"type": ["string", "null"]},
                "input_asset_ids": {
                    "type": ["array", "null"],
                    "items": id_schema("asset_id"),
                    "description": "Assets this one was made from",
                },
                "metadata": METADATA,
                "on_behalf_of": ON_BEHALF_OF,
            },
            ["asset_url", "asset_type", "asset_source"],
        ),
        function=services.create_asset,
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
        input_schema=_object(
            {
                "civitai_id": id_schema('Civitai post id, e.g. "23602354"'),
                "civitai_url": text_schema("https://civitai.com/posts/<civitai_id>"),
                "status": {
                    "type": "string",
                    "enum": ["pending", "published", "failed"],
                    "default": "published",
                },
                "title": text_schema("Post title", nullable=True, maxLength=300),
                "description": text_schema("Post description", nullable=True),
                "metadata": METADATA,
                "on_behalf_of": ON_BEHALF_OF,
            },
            ["civitai_id", "civitai_url"],
        ),
        function=services.create_civitai_post,
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
        input_schema=_object(
            {
                "asset_id": id_schema("The asset to update"),
                "post_id": id_schema("Civitai post record to link, null to unlink", nullable=True),
                "civitai_id": id_schema("Civitai image id", nullable=True),
                "civitai_url": text_schema(
                    "Civitai image URL whose id equals civitai_id", nullable=True
                ),
                "input_prompt_id": id_schema("prompt that generated this asset", nullable=True),
                "output_prompt_id": id_schema("prompt derived from this asset", nullable=True),
                "input_asset_ids": {
                    "type": ["array", "null"],
                    "items": id_schema("asset_id"),
                    "description": "Assets this one was made from (replaces the list)",
                },
                "metadata": METADATA | {"type": ["object", "null"]},
                "on_behalf_of": ON_BEHALF_OF,
            },
            ["asset_id"],
        ),
        function=services.update_asset,
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
        input_schema=_object(
            {
                "post_id": id_schema("The post record to update"),
                "status": {"type": "string", "enum": ["pending", "published", "failed"]},
                "title": text_schema("Post title", nullable=True, maxLength=300),
                "description": text_schema("Post description", nullable=True),
                "metadata": METADATA | {"type": ["object", "null"]},
            },
            ["post_id"],
        ),
        function=services.update_post,
    )
)

register(
    ToolSpec(
        name="find_asset",
        title="Find an asset",
        description=(
            "Find an asset by asset_id, by sha256sum, or both (then both must match): check"
            " whether an asset with a hash already exists before creating it, or fetch an"
            " asset's details. Returns {found: true, asset} or {found: false}."
        ),
        input_schema={
            **_object({"asset_id": id_schema("The asset's id"), "sha256sum": SHA256}),
            "anyOf": [{"required": ["asset_id"]}, {"required": ["sha256sum"]}],
        },
        function=services.find_asset,
        annotations={"readOnlyHint": True},
    )
)

register(
    ToolSpec(
        name="list_civitai_posts",
        title="List Civitai posts",
        description=(
            "List recorded posts, newest first. Filters: civitai_id, status, created_by"
            " (username), start_time and end_time (ISO 8601 with zone, bounding created_at)."
            " Pagination: limit (1-100, default 20), offset. include_details: true nests each"
            " post's assets with their input and output prompts."
        ),
        input_schema=_object(
            {
                "civitai_id": id_schema("Civitai post id"),
                "status": {"type": "string", "enum": ["pending", "published", "failed"]},
                "created_by": {
                    "type": "string",
                    "description": "Username of the recorder (any case)",
                },
                "on_behalf_of": {
                    "type": "string",
                    "description": "Who the posts were made for (any case)",
                },
                "start_time": {"type": "string", "format": "date-time", "description": TIMESTAMP},
                "end_time": {"type": "string", "format": "date-time", "description": TIMESTAMP},
                "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                "offset": {"type": "integer", "minimum": 0, "default": 0},
                "include_details": {"type": "boolean", "default": False},
            }
        ),
        function=services.list_civitai_posts,
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
        input_schema=_object(
            {
                "post_id": {
                    "type": ["string", "integer"],
                    "description": "Civitai's numeric post id (or the post URL)",
                },
                "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                "page": {"type": "integer", "minimum": 1, "default": 1},
            },
            ["post_id"],
        ),
        function=services.tool_function(civitai_import.fetch_civitai_post_assets),
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
        input_schema=_object(
            {
                "post": {
                    "type": ["string", "integer"],
                    "description": "Post URL (https://civitai.com/posts/23602354) or id",
                },
                "dry_run": {"type": "boolean", "default": False},
            },
            ["post"],
        ),
        function=services.tool_function(civitai_import.import_civitai_post),
    )
)

register(
    ToolSpec(
        name="sync_post_asset_stats",
        title="Refresh engagement stats of a post's assets",
        description=(
            "Fetch the current engagement counts of a recorded post's assets from Civitai"
            " and store them as a time-stamped snapshot per asset (history is kept)."
            " post_id is the civitrack post id returned by create_civitai_post."
        ),
        input_schema=_object({"post_id": id_schema("The post record")}, ["post_id"]),
        function=services.tool_function(civitai_import.sync_post_asset_stats),
    )
)


def trace_asset(*, user=None, asset_id: Any = None, sha256sum: Any = None) -> dict[str, Any]:
    """orchestration.trace.trace_asset, imported when called (tracking does not need it)."""
    from orchestration.trace import trace_asset as trace

    return trace(user=user, asset_id=asset_id, sha256sum=sha256sum)


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
        input_schema=_object(
            {"asset_id": id_schema("The asset record"), "sha256sum": SHA256},
        ),
        function=services.tool_function(trace_asset),
        annotations={"readOnlyHint": True},
    )
)
