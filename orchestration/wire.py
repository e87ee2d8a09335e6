"""Pydantic models of the Orchestration API's JSON: the edge where every answer is checked.

``orchestration.types`` builds its dataclasses from these. Each model reads the
camelCase names the API writes and the PascalCase ones the v1 manager API writes
(docs/orchestration-cli.md), keeps fields it does not name (``extra="allow"``; the
domain objects keep the whole object in ``raw``), and is lenient only where the API
is known to be inconsistent: numbers sent as strings, enum casing, a timestamp
without a zone (UTC), a v1 ``result`` that is one object or a list. A value of the
wrong JSON kind (an object where text belongs, a string where the steps list
belongs) does not fit: ``orchestration.wire_check.validate`` raises ``UnexpectedShape``
naming the first such field, and the client answers ``BadResponse``. Free-form objects
(a step's ``input``, ``metadata``, the event ``context``) are only checked to be objects.

The value rules are functions of ``orchestration.wire_values``. What checks an answer
at run time is pydantic-core with the core schema pydantic makes of these models,
written to ``wire_schema.json`` by ``python -m orchestration.wire`` (run it after
changing a model; a test compares the file with the models): a CLI command then checks
every answer without importing pydantic (``orchestration.wire_check``).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)
from pydantic.alias_generators import to_camel

from orchestration.wire_values import (
    WorkflowCost,
    _cost,
    _enum,
    _flag,
    _int,
    _number,
    _object,
    _one_or_many,
    _text,
    _time,
    parse_timestamp,
)

__all__ = ["SCHEMA_FILE", "core_schemas", "parse_timestamp", "write_core_schemas"]


def _aliases(name: str) -> AliasChoices:
    camel = to_camel(name)
    return AliasChoices(camel, camel[:1].upper() + camel[1:])


Text = Annotated[str | None, BeforeValidator(_text)]
Enum = Annotated[str | None, BeforeValidator(_enum)]
Number = Annotated[float | int | None, BeforeValidator(_number)]
Int = Annotated[int | None, BeforeValidator(_int)]
Flag = Annotated[bool | None, BeforeValidator(_flag)]
Time = Annotated[datetime | None, BeforeValidator(_time)]
Obj = Annotated[dict[str, Any] | None, BeforeValidator(_object)]


class WireModel(BaseModel):
    # defer_build: a model's validator is built on its first use, not at import
    # (core_schemas() and the tests build them; answers go through wire_check).
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


class WireWorkflow(WorkflowCost, WireModel):
    id: Text = None
    status: Enum = None
    created_at: Time = None
    started_at: Time = None
    completed_at: Time = None
    tags: list[str] | None = None
    metadata: Obj = None
    cost: Annotated[Any, BeforeValidator(_cost)] = None
    nsfw_level: Enum = None
    steps: list[WireStep] | None = None


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


MODELS: tuple[type[WireModel], ...] = (
    WireBlob,
    WireStepJob,
    WireStep,
    WireWorkflow,
    WireJobResult,
    WireJobEvent,
    WireJobDefinition,
    WireJob,
)
SCHEMA_FILE = Path(__file__).with_name("wire_schema.json")
# What a core schema holds for pydantic itself (JSON schema hooks, serialisation), not
# for validation: left out of the generated file.
_NOT_FOR_VALIDATION = frozenset({"metadata", "serialization"})


def core_schemas() -> dict[str, Any]:
    """Each model's pydantic-core validation schema as JSON, for ``orchestration.wire_check``.

    pydantic builds the schema from the declarations above; this only writes it down:
    a validator function as ``{"$function": name}`` (it must live in
    ``orchestration.wire_values``), a model class as ``{"$class": name}`` (its pydantic-free
    twin in ``orchestration.wire_check``), and each ``ref`` without the ``:<id>`` pydantic
    appends, so the file is the same from run to run.
    """
    schemas = {}
    for model in MODELS:
        model.model_rebuild(force=True)
        schemas[model.__name__] = _as_json(model.__pydantic_core_schema__)
    return schemas


def _as_json(value: Any, *, names: bool = False) -> Any:
    """``value`` in JSON terms; ``names``: a dict keyed by field names, not a schema."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if names:
                out[key] = _as_json(item)
                continue
            if key in _NOT_FOR_VALIDATION:
                continue
            if key in {"ref", "schema_ref"} and isinstance(item, str):
                item = item.rsplit(":", 1)[0]
            out[key] = _as_json(item, names=key == "fields")
        return out
    if isinstance(value, list | tuple):
        return [_as_json(item) for item in value]
    if isinstance(value, type) and issubclass(value, WireModel):
        return {"$class": value.__name__}
    if callable(value):
        if getattr(value, "__module__", None) != "orchestration.wire_values":
            raise TypeError(f"{value!r}: wire validators must live in orchestration.wire_values")
        return {"$function": value.__name__}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"{value!r} cannot be written to {SCHEMA_FILE.name}")


def write_core_schemas() -> None:
    """Write ``wire_schema.json`` again (after changing a model above)."""
    text = json.dumps(core_schemas(), indent=1, sort_keys=True, ensure_ascii=False)
    SCHEMA_FILE.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    # Imported by name, so each ``ref`` reads orchestration.wire.<Model>, not __main__.
    from orchestration import wire

    wire.write_core_schemas()
