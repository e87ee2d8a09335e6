"""Pydantic models of the Orchestration API's JSON: the edge where every answer is checked.

``orchestration.types`` builds its dataclasses from these. Each model reads the
camelCase names the API writes and the PascalCase ones the v1 manager API writes
(docs/orchestration-cli.md), keeps fields it does not name (``extra="allow"``; the
domain objects keep the whole object in ``raw``), and is lenient only where the API
is known to be inconsistent: numbers sent as strings, enum casing, a timestamp
without a zone (UTC), a v1 ``result`` that is one object or a list. A value of the
wrong JSON kind (an object where text belongs, a string where the steps list
belongs) does not fit: ``validate`` raises ``UnexpectedShape`` naming the first such
field, and the client answers ``BadResponse``. Free-form objects (a step's ``input``,
``metadata``, the event ``context``) are only checked to be objects.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic.alias_generators import to_camel

from orchestration.errors import UnexpectedShape


def _aliases(name: str) -> AliasChoices:
    camel = to_camel(name)
    return AliasChoices(camel, camel[:1].upper() + camel[1:])


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list"}.get(type(value), type(value).__name__)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    raise ValueError(f"expected text, got {_kind(value)}")


def _enum(value: Any) -> str | None:
    """An enum value (``"Succeeded"``, ``"UNDER_REVIEW"``) in lowercase."""
    text = _text(value)
    return text.lower() if text else None


def _number(value: Any) -> float | int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    raise ValueError(f"expected a number, got {_kind(value)}")


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        return int(value) if value.strip().lstrip("-").isdigit() else None
    raise ValueError(f"expected a whole number, got {_kind(value)}")


def _flag(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.lower())
    if isinstance(value, int | float):
        return bool(value)
    raise ValueError(f"expected true or false, got {_kind(value)}")


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 → aware datetime; no zone means UTC; unreadable values become ``None``.

    Handles ``Z``, offsets, and .NET's seven fractional digits.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _time(value: Any) -> datetime | None:
    if isinstance(value, dict | list):
        raise ValueError(f"expected a date-time, got {_kind(value)}")
    return parse_timestamp(value)


def _object(value: Any) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise ValueError(f"expected an object, got {_kind(value)}")


def _one_or_many(value: Any) -> list[Any]:
    """v1 ``result``: one object or a list of them (both seen in the wild)."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return value
    raise ValueError(f"expected an object or a list, got {_kind(value)}")


Text = Annotated[str | None, BeforeValidator(_text)]
Enum = Annotated[str | None, BeforeValidator(_enum)]
Number = Annotated[float | int | None, BeforeValidator(_number)]
Int = Annotated[int | None, BeforeValidator(_int)]
Flag = Annotated[bool | None, BeforeValidator(_flag)]
Time = Annotated[datetime | None, BeforeValidator(_time)]
Obj = Annotated[dict[str, Any] | None, BeforeValidator(_object)]


class WireModel(BaseModel):
    # defer_build: a model's validator is built on its first use, not at import, so a
    # command that reads one kind of answer doesn't pay for all nine (CLI start-up).
    model_config = ConfigDict(
        defer_build=True,
        extra="allow",
        populate_by_name=True,
        alias_generator=AliasGenerator(validation_alias=_aliases),
    )


class WireBlob(WireModel):
    id: Text = Field(None, validation_alias=AliasChoices("id", "Id", "blobKey", "BlobKey"))
    type: Text = None
    available: Flag = None
    url: Text = None
    url_expires_at: Time = None
    job_id: Text = None
    nsfw_level: Enum = None
    blocked_reason: Text = Field(
        None, validation_alias=AliasChoices("blockedReason", "BlockedReason", "blocked_reason")
    )
    width: Int = None
    height: Int = None


class WireStepJob(WireModel):
    id: Text = None
    status: Enum = None
    cost: Number = None
    started_at: Time = None
    completed_at: Time = None


class WireStep(WireModel):
    step_type: Text = Field(None, validation_alias=AliasChoices("$type", "type", "Type"))
    name: Text = None
    status: Enum = None
    input: Obj = None
    output: Obj = None
    jobs: list[WireStepJob] | None = None
    started_at: Time = None
    completed_at: Time = None
    estimated_progress_rate: Number = None
    queue_position: Obj = None
    preparation: list[dict[str, Any]] | None = None
    warnings: list[dict[str, Any]] | None = None


class WireWorkflow(WireModel):
    id: Text = None
    status: Enum = None
    created_at: Time = None
    started_at: Time = None
    completed_at: Time = None
    tags: list[str] | None = None
    metadata: Obj = None
    cost: Annotated[Any, BeforeValidator(lambda v: v if isinstance(v, dict) else _number(v))] = None
    nsfw_level: Enum = None
    steps: list[WireStep] | None = None

    @property
    def cost_total(self) -> float | int | None:
        if isinstance(self.cost, dict):
            return _number(self.cost.get("total", self.cost.get("Total")))
        return self.cost


class WireJobResult(WireModel):
    blob_key: Text = Field(None, validation_alias=AliasChoices("blobKey", "BlobKey", "id"))
    available: Flag = None
    url: Text = Field(None, validation_alias=AliasChoices("blobUrl", "BlobUrl", "url"))
    url_expires_at: Time = Field(
        None,
        validation_alias=AliasChoices(
            "blobUrlExpirationDate", "BlobUrlExpirationDate", "urlExpiresAt"
        ),
    )
    blocked_reason: Text = Field(
        None, validation_alias=AliasChoices("blockedReason", "BlockedReason", "blocked_reason")
    )


class WireJobEvent(WireModel):
    type: Text = None
    provider: Text = None
    date_time: Time = None
    context: Obj = None
    worker_id: Text = None
    job_type: Text = None
    job_duration: Text = None


class WireJobDefinition(WireModel):
    type: Text = None
    created_at: Time = None
    params: Obj = None
    properties: Obj = None
    prompt_classification_result: Obj = None


class WireJob(WireModel):
    job_id: Text = Field(None, validation_alias=AliasChoices("jobId", "JobId", "id"))
    cost: Number = None
    properties: Obj = None
    result: Annotated[list[WireJobResult], BeforeValidator(_one_or_many)] = []
    last_event: WireJobEvent | None = None
    job: WireJobDefinition | None = None
    prompt_classification_result: Obj = None
    job_type: Text = None


def validate[M: WireModel](model: type[M], data: Any, what: str) -> M:
    """``data`` as ``model``, or ``UnexpectedShape`` naming the first field that does not fit."""
    if not isinstance(data, dict):
        raise UnexpectedShape(f"{what} must be a JSON object, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(top)"
        message = error["msg"].removeprefix("Value error, ")
        raise UnexpectedShape(f"{what}: {where}: {message}") from None
