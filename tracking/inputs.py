"""What every recording tool takes: one pydantic model per tool, and the words of every refusal.

Each tool's parameters are declared once, here. From a declaration come the checks
(``validate``), the JSON Schema the MCP server lists and ``openapi.json`` publishes
(``input_schema``), and the parameter table of ``docs/recording-tools.md``. Allowed
values come from the models' ``TextChoices`` and lengths from the model fields, so
a rule is written in one place.

Refusals use the phrases of ``docs/contract.md`` ("Messages"). Every error type a
declaration can raise — pydantic's own (``missing``, ``extra_forbidden``) and ours —
has its phrase in ``ERROR_PHRASES``; ``tests/tracking/test_inputs.py`` fails if a tool
can raise a type the table lacks. The field types below do their whole check
themselves (``PlainValidator``), so a wrong value yields one clear error, not one per
member of a union, and ids keep their contract form: a string of digits (or a JSON
integer), never a boolean.

"Left out" and "sent as null" differ for the update tools: a service reads
``params.model_fields_set`` to know which keys the caller sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tracking import models as records
from tracking import perceptual
from tracking.civitai_urls import parse_post_ref
from tracking.errors import InvalidInput
from tracking.models import ON_BEHALF_OF_MAX_LENGTH, AssetSource, AssetType, PostStatus

MAX_ID = 2**63 - 1  # BigAutoField / BigIntegerField upper bound on every backend
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
FETCH_DEFAULT_LIMIT = 20
FETCH_MAX_LIMIT = 100
_DIGITS = re.compile(r"[0-9]+")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")

# --- the words of every refusal ---------------------------------------------------
#
# ``{field}`` is the parameter as the caller spelled it; the other names come from the
# error's context. Keep the contract's phrases (docs/contract.md, "Messages") as they are.

ERROR_PHRASES: dict[str, str] = {
    # pydantic's own
    "missing": "{field} is required",
    "extra_forbidden": "Unknown {noun} for {tool}: {names}. Allowed: {allowed}",
    "extra_forbidden_none": "Unknown {noun} for {tool}: {names}. It takes no parameters",
    "model_type": "The tool arguments must be a JSON object",
    # ours
    "integer_id": "{field} must be a valid integer ID",
    "id_list": "{field} must be a list of integer IDs",
    "text_type": "{field} must be a string",
    "text_nul": "{field} must not contain NUL characters",
    "text_empty": "{field} must not be empty",
    "text_too_long": "{field} must be at most {max_length} characters",
    "choice": "{field} must be {choices}",
    "timestamp": "{field} must be an ISO 8601 timestamp (e.g. 2025-01-15T10:00:00Z)",
    "timestamp_zone": (
        "{field} must be an ISO 8601 timestamp (e.g. 2025-01-15T10:00:00Z) with a time zone"
    ),
    "time_order": "start_time must not be after end_time",
    "sha256": "{field} must be 64 hexadecimal characters",
    "metadata_type": "{field} must be a JSON object",
    "metadata_values": "{field} must be a JSON object of JSON values",
    "metadata_nul": "{field} must not contain NUL characters",
    "boolean": "{field} must be true or false",
    "bounded_int": "{field} must be a whole number {bound}",
    "username": "{field} must be a username",
    "name": "{field} must be a non-empty string",
    "civitai_ref": "{detail}",
    "one_of_required": "At least one of {names} is required{more}",
    "exactly_one": "Exactly one of {names} is required, got {given}",
}


def refusal(kind: str, field: str | None, **context: Any) -> PydanticCustomError:
    """The error a field type raises: its phrase from ``ERROR_PHRASES``, filled in."""
    template = ERROR_PHRASES[kind]
    return PydanticCustomError(kind, template.format(field=field, **context))


def _field(info: ValidationInfo) -> str:
    return info.field_name or "value"


def format_first_error(exc: ValidationError, tool: str, allowed: Iterable[str]) -> str:
    """One message for a failed validation: all unknown parameters at once, else the first error.

    Unknown parameters come first: an agent written for another server learns every
    name it must change in one round trip.
    """
    errors = exc.errors(include_url=False)
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        allowed = sorted(allowed)
        return ERROR_PHRASES["extra_forbidden" if allowed else "extra_forbidden_none"].format(
            noun="parameter" if len(unknown) == 1 else "parameters",
            tool=tool,
            names=", ".join(unknown),
            allowed=", ".join(allowed),
        )
    first = errors[0]
    kind = first["type"]
    if kind in ("missing", "model_type"):
        field = str(first["loc"][0]) if first["loc"] else None
        return ERROR_PHRASES[kind].format(field=field)
    if kind not in ERROR_PHRASES:
        # tests/tracking/test_inputs.py keeps this from happening; say something useful anyway.
        field = ".".join(str(p) for p in first["loc"]) or "the arguments"
        return f"{field} is invalid"
    return first["msg"]  # our types filled the phrase in already


def refuse_invalid_unicode(arguments: Any) -> None:
    """Refuse any key or string, at any depth, that is not valid Unicode, naming the parameter.

    JSON lets a client send a lone surrogate escape (``"\\ud800"``); left in, it fails
    deep inside the database driver or the URL library instead of as a clear
    ``InvalidInput``. Runs before the declaration, so it covers ``metadata`` too.
    """
    if not isinstance(arguments, dict):
        return
    for name, value in arguments.items():
        if not isinstance(name, str) or not _is_text(name):
            raise InvalidInput("Parameter names must be valid Unicode text")
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                bad = not _is_text(item)
            elif isinstance(item, dict):
                bad = any(not _is_text(k) for k in item)
                stack.extend(item.values())
            elif isinstance(item, list):
                bad = False
                stack.extend(item)
            else:
                bad = False
            if bad:
                raise InvalidInput(
                    f"{name} must be valid Unicode text (it contains a lone surrogate)"
                )


def validate(model: type[BaseModel], arguments: Any, tool: str):
    """``model`` checked from ``arguments``, or ``InvalidInput`` with the contract's words."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise InvalidInput(ERROR_PHRASES["model_type"])
    try:
        return model.model_validate(arguments)
    except ValidationError as exc:
        raise InvalidInput(format_first_error(exc, tool, model.model_fields)) from None


# --- field types --------------------------------------------------------------------
#
# Each is ``Annotated[<python type>, PlainValidator(check), WithJsonSchema(schema)]``.
# ``nullable`` types take ``null`` as a value (None); the others refuse it as missing.


def _declared(
    python_type: Any,
    check: Callable[[Any, str], Any],
    schema: dict[str, Any],
    *,
    nullable: bool,
) -> Any:
    def validator(value: Any, info: ValidationInfo) -> Any:
        field = _field(info)
        if value is None:
            if nullable:
                return None
            raise refusal("missing", field)
        return check(value, field)

    if nullable:
        schema = _nullable(schema)
    return Annotated[python_type, PlainValidator(validator), WithJsonSchema(schema)]


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    kind = schema.get("type")
    schema["type"] = [*(kind if isinstance(kind, list) else [kind]), "null"]
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    return schema


def check_id(value: Any, field: str) -> int:
    """An id given as a string of digits (or a JSON integer) → int, else the contract's error."""
    if isinstance(value, bool):
        raise refusal("integer_id", field)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value) and len(value) <= 19:
        number = int(value)
    else:
        raise refusal("integer_id", field)
    if not 0 < number <= MAX_ID:
        raise refusal("integer_id", field)
    return number


_ID_SCHEMA = {"type": ["string", "integer"], "pattern": "^[0-9]+$", "minimum": 1}


def IdType(*, nullable: bool = False) -> Any:
    return _declared(int, check_id, _ID_SCHEMA, nullable=nullable)


def _check_id_list(value: Any, field: str) -> list[int]:
    if not isinstance(value, list):
        raise refusal("id_list", field)
    return sorted({check_id(item, field) for item in value})


def IdListType(*, nullable: bool = True) -> Any:
    schema = {"type": "array", "items": _ID_SCHEMA}
    return _declared(list[int], _check_id_list, schema, nullable=nullable)


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def TextType(
    *, max_length: int | None = None, required: bool = False, nullable: bool = True
) -> Any:
    """A string; NUL refused (PostgreSQL text cannot hold it); blank refused when ``required``."""

    def check(value: Any, field: str) -> str:
        if not isinstance(value, str):
            raise refusal("text_type", field)
        if "\x00" in value:
            raise refusal("text_nul", field)
        if required and not value.strip():
            raise refusal("text_empty", field)
        if max_length is not None and len(value) > max_length:
            raise refusal("text_too_long", field, max_length=max_length)
        return value

    schema: dict[str, Any] = {"type": "string"}
    if required:
        schema["minLength"] = 1
    if max_length is not None:
        schema["maxLength"] = max_length
    return _declared(str, check, schema, nullable=nullable and not required)


def field_length(model, name: str) -> int:
    """A text column's ``max_length``: the tool allows what the database stores."""
    return model._meta.get_field(name).max_length


def _choices_phrase(values: list[str]) -> str:
    quoted = [f'"{v}"' for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def ChoiceType(choices, *, nullable: bool = True) -> Any:
    """One of a ``TextChoices``' values; the message lists them (``"image" or "video"``)."""
    values = list(choices.values)

    def check(value: Any, field: str) -> str:
        if not isinstance(value, str) or value not in values:
            raise refusal("choice", field, choices=_choices_phrase(values))
        return value

    return _declared(str, check, {"type": "string", "enum": values}, nullable=nullable)


def _check_timestamp(value: Any, field: str) -> datetime:
    """ISO 8601 with a zone (``Z`` or ``+hh:mm``); a zoneless time is refused, not guessed."""
    if not isinstance(value, str):
        raise refusal("timestamp", field)
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise refusal("timestamp", field) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise refusal("timestamp_zone", field)
    return parsed


TIMESTAMP_SCHEMA = {"type": "string", "format": "date-time"}
Timestamp = _declared(datetime, _check_timestamp, TIMESTAMP_SCHEMA, nullable=True)


def parse_id(field: str, value: Any) -> int:
    """``check_id`` for code outside a declaration: the same rule, as ``InvalidInput``."""
    try:
        return check_id(value, field)
    except PydanticCustomError as exc:
        raise InvalidInput(exc.message()) from None


def parse_sha256(value: Any, field: str = "sha256sum") -> str:
    """``sha256sum`` checked outside a declaration (lower-cased), or ``InvalidInput``."""
    try:
        return _check_sha256(value, field)
    except PydanticCustomError as exc:
        raise InvalidInput(exc.message()) from None


def _check_sha256(value: Any, field: str) -> str:
    """64 hexadecimal characters in any case → stored lower-case."""
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise refusal("sha256", field)
    return value.lower()


_SHA_SCHEMA = {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"}


def Sha256Type(*, nullable: bool = True) -> Any:
    return _declared(str, _check_sha256, _SHA_SCHEMA, nullable=nullable)


def _has_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _check_metadata(value: Any, field: str) -> dict:
    if not isinstance(value, dict):
        raise refusal("metadata_type", field)
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise refusal("metadata_values", field) from None
    if _has_nul(value):  # PostgreSQL jsonb refuses NUL characters
        raise refusal("metadata_nul", field)
    return value


Metadata = _declared(dict, _check_metadata, {"type": "object"}, nullable=True)


def _check_bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise refusal("boolean", field)
    return value


Flag = _declared(bool, _check_bool, {"type": "boolean"}, nullable=True)


def BoundedInt(low: int, high: int | None = None) -> Any:
    """A whole number (JSON integer or string of digits) within bounds, else one clear message."""
    bound = f"between {low} and {high}" if high is not None else f"at least {low}"

    def check(value: Any, field: str) -> int:
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = value
        elif isinstance(value, str) and _DIGITS.fullmatch(value) and len(value) <= 19:
            number = int(value)
        else:
            number = None
        if number is None or number < low or (high is not None and number > high):
            raise refusal("bounded_int", field, bound=bound)
        return number

    schema: dict[str, Any] = {"type": "integer", "minimum": low}
    if high is not None:
        schema["maximum"] = high
    return _declared(int, check, schema, nullable=True)


def _check_name(kind: str) -> Callable[[Any, str], str]:
    def check(value: Any, field: str) -> str:
        if not isinstance(value, str) or not value or "\x00" in value:
            raise refusal(kind, field)
        return value

    return check


Username = _declared(str, _check_name("username"), {"type": "string"}, nullable=True)
Name = _declared(str, _check_name("name"), {"type": "string"}, nullable=True)


def _check_post_ref(value: Any, field: str) -> int:
    try:
        return parse_post_ref(value, field=field)
    except InvalidInput as exc:
        raise refusal("civitai_ref", field, detail=exc.message) from None


PostRef = _declared(int, _check_post_ref, {"type": ["string", "integer"]}, nullable=False)


# --- the declarations ------------------------------------------------------------------


class ToolInput(BaseModel):
    """Base of every tool's input: unknown parameters are refused, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def sent(self, name: str) -> bool:
        """Whether the caller sent ``name`` (``null`` included), as opposed to leaving it out."""
        return name in self.model_fields_set


def describe(text: str, *, default: Any = None) -> Any:
    """A parameter's description, and the default it stands for when left out (shown only:
    the services apply it, so ``null`` and "left out" mean the same for these)."""
    extra = None if default is None else {"default": default}
    return Field(description=text, json_schema_extra=extra)


TITLE_LENGTH = field_length(records.Post, "title")
URL_LENGTH = field_length(records.Asset, "asset_url")
CIVITAI_URL_LENGTH = field_length(records.Asset, "civitai_url")

OnBehalfOf = Annotated[
    TextType(max_length=ON_BEHALF_OF_MAX_LENGTH),
    describe("Who the record is made for (a name or username); defaults to the creator"),
]
MetadataField = Annotated[
    Metadata,
    describe(
        "Additional information: API responses, engagement metrics, tags, workflow details"
        " or custom tracking fields"
    ),
]


class CalculateSha256Input(ToolInput):
    path: Annotated[
        TextType(max_length=URL_LENGTH, required=True),
        describe("File path (under HASH_ALLOWED_ROOTS) or http(s) URL"),
    ]


class CreatePromptInput(ToolInput):
    prompt_text: Annotated[TextType(required=True), describe("The prompt text")]
    llm_model_provider: Annotated[
        TextType(max_length=field_length(records.Prompt, "llm_model_provider")),
        describe("Provider of the model, e.g. openai"),
    ] = None
    llm_model: Annotated[
        TextType(max_length=field_length(records.Prompt, "llm_model")),
        describe("Model name, e.g. dall-e-3"),
    ] = None
    purpose: Annotated[
        TextType(max_length=field_length(records.Prompt, "purpose")),
        describe("What the prompt is for, e.g. image_generation"),
    ] = None
    metadata: MetadataField = None
    on_behalf_of: OnBehalfOf = None


class CreateAssetInput(ToolInput):
    asset_url: Annotated[
        TextType(max_length=URL_LENGTH, required=True),
        describe("Where the file lives: https://…, s3://… or a local path"),
    ]
    asset_type: Annotated[ChoiceType(AssetType, nullable=False), describe("image or video")]
    asset_source: Annotated[
        ChoiceType(AssetSource, nullable=False),
        describe('"generated" for AI-generated media, "upload" for user uploads'),
    ]
    input_prompt_id: Annotated[
        IdType(nullable=True), describe("The prompt that generated this asset")
    ] = None
    output_prompt_id: Annotated[
        IdType(nullable=True), describe("A prompt derived from this asset (e.g. a caption)")
    ] = None
    post_id: Annotated[IdType(nullable=True), describe("post_id of the Civitai post record")] = None
    civitai_id: Annotated[IdType(nullable=True), describe("Civitai image id")] = None
    civitai_url: Annotated[
        TextType(max_length=CIVITAI_URL_LENGTH),
        describe("Civitai image URL whose id equals civitai_id"),
    ] = None
    sha256sum: Annotated[
        Sha256Type(), describe("SHA256 of the file, 64 hexadecimal characters (stored lower-case)")
    ] = None
    input_asset_ids: Annotated[IdListType(), describe("Assets this one was made from")] = None
    metadata: MetadataField = None
    on_behalf_of: OnBehalfOf = None


class CreateCivitaiPostInput(ToolInput):
    civitai_id: Annotated[IdType(), describe('Civitai post id, e.g. "23602354"')]
    civitai_url: Annotated[
        TextType(max_length=field_length(records.Post, "civitai_url"), required=True),
        describe("https://civitai.com/posts/<civitai_id>"),
    ]
    status: Annotated[
        ChoiceType(PostStatus), describe("The post's status", default=PostStatus.PUBLISHED.value)
    ] = None
    title: Annotated[TextType(max_length=TITLE_LENGTH), describe("Post title")] = None
    description: Annotated[TextType(), describe("Post description")] = None
    metadata: MetadataField = None
    on_behalf_of: OnBehalfOf = None


class UpdateAssetInput(ToolInput):
    asset_id: Annotated[IdType(), describe("The asset to update")]
    post_id: Annotated[
        IdType(nullable=True), describe("Civitai post record to link, null to unlink")
    ] = None
    civitai_id: Annotated[IdType(nullable=True), describe("Civitai image id")] = None
    civitai_url: Annotated[
        TextType(max_length=CIVITAI_URL_LENGTH),
        describe("Civitai image URL whose id equals civitai_id"),
    ] = None
    input_prompt_id: Annotated[
        IdType(nullable=True), describe("The prompt that generated this asset")
    ] = None
    output_prompt_id: Annotated[
        IdType(nullable=True), describe("A prompt derived from this asset")
    ] = None
    input_asset_ids: Annotated[
        IdListType(), describe("Assets this one was made from (replaces the list)")
    ] = None
    metadata: MetadataField = None
    on_behalf_of: OnBehalfOf = None


class UpdatePostInput(ToolInput):
    post_id: Annotated[IdType(), describe("The post record to update")]
    status: Annotated[ChoiceType(PostStatus, nullable=False), describe("New status")] = None
    title: Annotated[TextType(max_length=TITLE_LENGTH), describe("Post title")] = None
    description: Annotated[TextType(), describe("Post description")] = None
    metadata: MetadataField = None

    @model_validator(mode="before")
    @classmethod
    def _status_is_never_cleared(cls, data: Any) -> Any:
        if isinstance(data, dict) and "status" in data and data["status"] is None:
            raise refusal("choice", "status", choices=_choices_phrase(list(PostStatus.values)))
        return data


FIND_KEYS = ("asset_id", "sha256sum", "civitai_id", "civitai_url", "post_id")


class FindAssetInput(ToolInput):
    asset_id: Annotated[IdType(nullable=True), describe("The asset's id")] = None
    sha256sum: Annotated[Sha256Type(), describe("SHA256 of the file")] = None
    civitai_id: Annotated[IdType(nullable=True), describe("Civitai image id")] = None
    civitai_url: Annotated[
        TextType(max_length=CIVITAI_URL_LENGTH), describe("Civitai image URL")
    ] = None
    post_id: Annotated[
        IdType(nullable=True),
        describe("post_id of a post record: finds the post's first asset and counts them"),
    ] = None

    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": [key]} for key in FIND_KEYS]}
    )

    @model_validator(mode="after")
    def _one_key_at_least(self) -> FindAssetInput:
        if all(getattr(self, key) is None for key in FIND_KEYS):
            # The contract's phrase names the first two keys; the rest follow it.
            raise refusal(
                "one_of_required",
                None,
                names="asset_id or sha256sum",
                more=" (or civitai_id, civitai_url, post_id)",
            )
        return self


class ListCivitaiPostsInput(ToolInput):
    civitai_id: Annotated[IdType(nullable=True), describe("Civitai post id")] = None
    status: Annotated[ChoiceType(PostStatus), describe("Only posts with this status")] = None
    created_by: Annotated[Username, describe("Username of the recorder (any case)")] = None
    on_behalf_of: Annotated[Name, describe("Who the posts were made for (any case)")] = None
    start_time: Annotated[
        Timestamp, describe("Created at or after; ISO 8601 with zone, e.g. 2025-01-15T10:00:00Z")
    ] = None
    end_time: Annotated[Timestamp, describe("Created at or before; ISO 8601 with zone")] = None
    limit: Annotated[BoundedInt(1, MAX_LIMIT), describe("Page size", default=DEFAULT_LIMIT)] = None
    offset: Annotated[BoundedInt(0), describe("Posts to skip", default=0)] = None
    include_details: Annotated[
        Flag, describe("Nest each post's assets with their prompts", default=False)
    ] = None

    @model_validator(mode="after")
    def _times_in_order(self) -> ListCivitaiPostsInput:
        if self.start_time and self.end_time and self.start_time > self.end_time:
            raise refusal("time_order", None)
        return self


class FetchCivitaiPostAssetsInput(ToolInput):
    post_id: Annotated[PostRef, describe("Civitai's numeric post id (or the post URL)")]
    limit: Annotated[
        BoundedInt(1, FETCH_MAX_LIMIT), describe("Images per page", default=FETCH_DEFAULT_LIMIT)
    ] = None
    page: Annotated[BoundedInt(1), describe("1-based page", default=1)] = None


class ImportCivitaiPostInput(ToolInput):
    post: Annotated[PostRef, describe("Post URL (https://civitai.com/posts/23602354) or id")]
    dry_run: Annotated[Flag, describe("Show what would be recorded", default=False)] = None


class SyncPostAssetStatsInput(ToolInput):
    post_id: Annotated[
        IdType(nullable=True), describe("civitrack's post record id (from create_civitai_post)")
    ] = None
    civitai_post_id: Annotated[
        IdType(nullable=True), describe("Civitai's post id, for a post recorded here")
    ] = None

    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["post_id"]}, {"required": ["civitai_post_id"]}]}
    )

    @model_validator(mode="after")
    def _one_key_at_least(self) -> SyncPostAssetStatsInput:
        if self.post_id is None and self.civitai_post_id is None:
            raise refusal("one_of_required", None, names="post_id or civitai_post_id", more="")
        return self


class TraceAssetInput(ToolInput):
    asset_id: Annotated[IdType(nullable=True), describe("The asset record")] = None
    sha256sum: Annotated[Sha256Type(), describe("SHA256 of the file")] = None

    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["asset_id"]}, {"required": ["sha256sum"]}]}
    )

    @model_validator(mode="after")
    def _one_key_at_least(self) -> TraceAssetInput:
        if self.asset_id is None and self.sha256sum is None:
            raise refusal("one_of_required", None, names="asset_id or sha256sum", more="")
        return self


class FindSimilarAssetsInput(ToolInput):
    asset_id: Annotated[IdType(nullable=True), describe("A recorded asset")] = None
    sha256sum: Annotated[Sha256Type(), describe("SHA256 of a recorded asset's file")] = None
    path: Annotated[
        TextType(max_length=URL_LENGTH),
        describe("A file to compare: http(s) URL or a file under HASH_ALLOWED_ROOTS"),
    ] = None
    max_distance: Annotated[
        BoundedInt(0, perceptual.MAX_DISTANCE),
        describe(
            "Largest Hamming distance (bits of 64) that counts as similar",
            default=perceptual.DEFAULT_MAX_DISTANCE,
        ),
    ] = None
    limit: Annotated[
        BoundedInt(1, MAX_LIMIT), describe("At most this many", default=DEFAULT_LIMIT)
    ] = None

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["asset_id"]},
                {"required": ["sha256sum"]},
                {"required": ["path"]},
            ]
        }
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> FindSimilarAssetsInput:
        given = [n for n in ("asset_id", "sha256sum", "path") if getattr(self, n) is not None]
        if len(given) != 1:
            raise refusal(
                "exactly_one",
                None,
                names="asset_id, sha256sum or path",
                given=" and ".join(given) if given else "none",
            )
        return self


# Hamming distances of the 64-bit pHash (docs/near-duplicates.md): re-encoded or resized
# copies land within a few bits, unrelated pictures near 32.
MATCH_DEFAULT_DISTANCE = perceptual.DEFAULT_MAX_DISTANCE
MATCH_MAX_DISTANCE = perceptual.MAX_DISTANCE


class MatchPostAssetsInput(ToolInput):
    post: Annotated[
        PostRef, describe("Civitai post URL (https://civitai.com/posts/23602354) or id")
    ]
    apply: Annotated[
        Flag,
        describe(
            "Write the unambiguous links (civitai_id, civitai_url, post_id) through"
            " update_asset's rules; the post must be recorded",
            default=False,
        ),
    ] = None
    max_distance: Annotated[
        BoundedInt(0, MATCH_MAX_DISTANCE),
        describe(
            "Largest pHash distance (differing bits of 64) proposed", default=MATCH_DEFAULT_DISTANCE
        ),
    ] = None
    asset_ids: Annotated[
        IdListType(),
        describe(
            "Match only these assets (each without a Civitai id, and yours to change);"
            " default: the post's recorded assets and your own"
        ),
    ] = None


SEARCH_QUERY_LENGTH = 500


class SearchPromptsInput(ToolInput):
    query: Annotated[
        TextType(max_length=SEARCH_QUERY_LENGTH, required=True),
        describe(
            'Words to look for, all required; "a phrase" in quotes, -word to exclude,'
            " or between alternatives"
        ),
    ]
    limit: Annotated[BoundedInt(1, MAX_LIMIT), describe("Page size", default=DEFAULT_LIMIT)] = None
    offset: Annotated[BoundedInt(0), describe("Prompts to skip", default=0)] = None


class NoInput(ToolInput):
    """For tools without parameters (the guides)."""


def input_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The tool's JSON Schema, as listed over MCP and in ``openapi.json``.

    pydantic's schema without the per-property ``title`` noise; ``required`` only
    when a parameter is.
    """
    schema = model.model_json_schema()
    schema.pop("title", None)
    schema.pop("description", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    schema["additionalProperties"] = False
    return schema
