"""The published Orchestration API schema, pinned, and the checks the fake runs against it.

``v2-consumers.extract.json`` is the part of Civitai's OpenAPI snapshot that civitrack
uses (README.md beside it says where each piece comes from). The fake server
(``tests.fakes.orchestration``) calls ``check_request`` for every request it gets and
``check_answer`` for every answer it gives on a route the schema describes, so the
fake can no longer invent a parameter, a field or a status code without a test
failing.

The snapshot is a .NET-generated OpenAPI document: subtypes are ``allOf`` of the base
and their own part, each with ``additionalProperties: false``, and the subtype is
chosen by an OpenAPI ``discriminator``. Plain JSON Schema would refuse every subtype
(the base forbids the subtype's fields), so before validating we flatten each
``allOf`` into one object schema and turn each discriminator into an ``if/then`` per
mapped value. A discriminator value the extract does not map (a step type civitrack
does not know) is checked against the base with extra fields allowed: the API adds
step types over time and civitrack must tolerate them.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SPEC_FILE = Path(__file__).with_name("v2-consumers.extract.json")
LIST_ITEMS_CHECKED = 25
_REF = "#/components/schemas/"

# Fake route name -> (path template, method) in the schema. Routes absent here (the v1
# job and manager endpoints) are not in the v2 schema; the fake's docstring names the
# sources it follows for them.
ROUTES = {
    "workflows": ("/v2/consumer/workflows", "get"),
    "workflow": ("/v2/consumer/workflows/{workflowId}", "get"),
    "step": ("/v2/consumer/workflows/{workflowId}/steps/{stepName}", "get"),
    "blob": ("/v2/consumer/blobs/{blobId}", "get"),
    "content": ("/v2/consumer/blobs/content/{encryptedToken}", "get"),
    "blocked": ("/v2/consumer/blobs/blocked/{encryptedToken}", "get"),
}


@cache
def spec() -> dict[str, Any]:
    return json.loads(SPEC_FILE.read_text())


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF):
                out[key] = "#/$defs/" + value[len(_REF) :]
            elif key in {"discriminator", "x-taken-from", "x-extract-note"}:
                continue
            else:
                out[key] = _rewrite_refs(value)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v) for v in node]
    return node


def _flat(name: str) -> dict[str, Any]:
    """Component ``name`` as one object schema: ``allOf`` parts merged, no discriminator."""
    schema = copy.deepcopy(spec()["components"]["schemas"][name])
    if "allOf" not in schema:
        return schema
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for part in schema.pop("allOf"):
        if "$ref" in part:
            part = _flat(part["$ref"][len(_REF) :])
            part.pop("discriminator", None)
        merged["properties"].update(part.get("properties", {}))
        merged["required"] += [r for r in part.get("required", []) if r not in merged["required"]]
        if "additionalProperties" in part:
            merged["additionalProperties"] = part["additionalProperties"]
    return {**schema, **merged}


@cache
def _root() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    for name, original in spec()["components"]["schemas"].items():
        flat = _flat(name)
        discriminator = original.get("discriminator")
        if not discriminator:
            defs[name] = _rewrite_refs(flat)
            continue
        prop = discriminator["propertyName"]
        known = []
        branches = []
        for value, ref in discriminator["mapping"].items():
            target = ref[len(_REF) :]
            if target not in spec()["components"]["schemas"]:
                continue
            known.append(value)
            branches.append(
                {
                    "if": {"properties": {prop: {"const": value}}, "required": [prop]},
                    "then": {"$ref": f"#/$defs/{target}"},
                }
            )
        tolerant = {**_rewrite_refs(flat), "additionalProperties": {}}
        branches.append({"if": {"properties": {prop: {"not": {"enum": known}}}}, "then": tolerant})
        defs[name] = {"type": "object", "required": [prop], "allOf": branches}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs}


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator({**_root(), "$ref": f"#/$defs/{name}"})


# Verdicts by (component, the value as canonical JSON). jsonschema takes milliseconds a
# workflow, and a benchmark or a re-sync serves the same pages again: an answer already
# checked is not checked twice. Every answer is still checked once, as it was served.
_VERDICTS: dict[tuple[str, str], list[str]] = {}
_VERDICTS_MAX = 4096


def schema_errors(name: str, value: Any) -> list[str]:
    """Why ``value`` does not fit component ``name`` (empty when it fits)."""
    key = (name, json.dumps(value, sort_keys=True, default=str))
    if (known := _VERDICTS.get(key)) is not None:
        return list(known)
    validator = _validator(name)
    errors = [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    ]
    if len(_VERDICTS) >= _VERDICTS_MAX:
        _VERDICTS.clear()
    _VERDICTS[key] = errors
    return list(errors)


def _operation(route: str) -> dict[str, Any] | None:
    where = ROUTES.get(route)
    if where is None:
        return None
    return spec()["paths"][where[0]][where[1]]


def _param_schema(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return spec()["components"]["schemas"][schema["$ref"][len(_REF) :]]
    return schema


def _value_problem(schema: dict[str, Any], value: str) -> str | None:
    """Why ``value`` (one query string value) would not bind to ``schema``, or None."""
    schema = _param_schema(schema)
    kind = schema.get("type")
    if kind == "array":
        return _value_problem(schema.get("items", {}), value)
    if "enum" in schema and value.lower() not in {str(v).lower() for v in schema["enum"]}:
        return f"not one of {schema['enum']}"
    if kind == "integer":
        try:
            int(value)
        except ValueError:
            return "not an integer"
    if kind == "boolean" and value.lower() not in {"true", "false"}:
        return "not a boolean"
    if schema.get("format") == "date-time":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return "not a date-time"
    return None


def check_request(route: str, params: dict[str, list[str]]) -> tuple[list[str], dict[str, str]]:
    """(parameters the schema does not have, {parameter: why its value is invalid})."""
    operation = _operation(route)
    if operation is None:
        return [], {}
    declared = {p["name"]: p for p in operation.get("parameters", []) if p.get("in") == "query"}
    unknown = sorted(name for name in params if name not in declared)
    invalid = {}
    for name, values in params.items():
        if name not in declared:
            continue
        schema = declared[name]["schema"]
        if _param_schema(schema).get("type") != "array" and len(values) > 1:
            invalid[name] = "given more than once"
            continue
        for value in values:
            if problem := _value_problem(schema, value):
                invalid[name] = f"The value '{value}' is not valid ({problem})."
                break
    return unknown, invalid


def check_answer(route: str, status: int, body: Any, *, has_body: bool) -> list[str]:
    """Why this answer does not fit the schema's response for ``route`` (empty: it fits).

    An error status the operation does not declare (the fake's 400 for a parameter
    that does not bind, like ASP.NET's) is checked as ProblemDetails.
    """
    operation = _operation(route)
    if operation is None:
        return []
    response = operation["responses"].get(str(status))
    if response is None:
        if status >= 400:
            return [f"{route} {status}: {e}" for e in schema_errors("ProblemDetails", body)]
        return [f"{route}: status {status} is not a documented answer"]
    content = response.get("content")
    if content is None:
        return []  # no JSON body documented (308, the media bytes)
    if not has_body:
        return [f"{route} {status}: no body, the schema documents one"]
    ref = content["application/json"]["schema"]["$ref"]
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        # jsonschema takes ~10 ms a workflow: a page of thousands (the paging tests'
        # generated data, all of one shape) is checked on its first items only.
        body = {**body, "items": body["items"][:LIST_ITEMS_CHECKED]}
    return [f"{route} {status}: {e}" for e in schema_errors(ref[len(_REF) :], body)]
