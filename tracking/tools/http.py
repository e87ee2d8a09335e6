"""HTTP adapter: ``POST /api/v1/tools/<tool_name>`` and the generated ``openapi.json``.

No framework: one decorator authenticates the bearer token, one ``error()`` helper
renders ``{"error": {"code", "message"}}``, and the tool registry does the rest. The
endpoint is CSRF-exempt because it authenticates only by the ``Authorization``
header (never by session cookie), so a browser cannot be tricked into calling it.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from tracking.errors import ToolError
from tracking.models import ApiToken
from tracking.tools.registry import TOOLS, get_tool

logger = logging.getLogger(__name__)


def error(status: int, code: str, message: str, **headers: str) -> JsonResponse:
    """The one shape of every API failure."""
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def token_required(view):
    """Authenticate ``Authorization: Bearer <token>`` and set ``request.api_user``; else 401."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        header = request.headers.get("Authorization", "")
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return error(
                401,
                "unauthorized",
                "Missing bearer token: send Authorization: Bearer <token>",
                WWW_Authenticate="Bearer",
            )
        token = ApiToken.authenticate(raw.strip())
        if token is None:
            return error(
                401,
                "unauthorized",
                "Invalid or revoked token",
                WWW_Authenticate='Bearer error="invalid_token"',
            )
        # request.user too, so history records name the token's user (never a session).
        request.api_user = request.user = token.user
        return view(request, *args, **kwargs)

    return wrapper


MAX_JSON_DEPTH = 64  # tool arguments are shallow; deeper bodies are refused, not decoded


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _json_depth(value: Any) -> int:
    """Nesting depth of a decoded JSON value, without recursion (a scalar is 0)."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            depth += 1
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                stack.extend((child, depth) for child in item)
    return deepest


def _read_json_body(request: HttpRequest) -> tuple[Any, JsonResponse | None]:
    """Read at most ``API_MAX_BODY_BYTES`` and decode it; a failure comes back as a response."""
    limit = settings.API_MAX_BODY_BYTES

    # The failure answers are built only when needed: two JsonResponses per request were
    # a measurable share of a fast tool call (docs/benchmarks.md, HTTP API).
    def too_large() -> JsonResponse:
        return error(413, "payload_too_large", f"Request body is larger than {limit} bytes")

    def too_deep() -> JsonResponse:
        return error(
            400, "invalid_json", f"Request body is nested more than {MAX_JSON_DEPTH} levels deep"
        )

    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        # WSGI hands Django a chunked body as an empty stream (no CONTENT_LENGTH), which
        # would read as "{}" and fail as a missing parameter: say what is wrong instead.
        return None, error(
            411,
            "length_required",
            "Send the request body with a Content-Length header (chunked request bodies"
            " are not accepted)",
        )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None, error(400, "invalid_request", "Invalid Content-Length header")
    if declared > limit:
        return None, too_large()
    body = request.read(limit + 1)
    if len(body) > limit:
        return None, too_large()
    if not body.strip():
        return {}, None
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:  # the decoder ran out of stack: far deeper than any tool needs
        return None, too_deep()
    except (UnicodeDecodeError, ValueError) as exc:
        detail = (
            f" ({exc.msg} at position {exc.pos})" if isinstance(exc, json.JSONDecodeError) else ""
        )
        return None, error(400, "invalid_json", f"Request body is not valid JSON{detail}")
    if _json_depth(value) > MAX_JSON_DEPTH:
        # Decoded, but encoding it again (metadata, the response) could hit the limit.
        return None, too_deep()
    return value, None


@csrf_exempt
def tool_view(request: HttpRequest, tool_name: str) -> JsonResponse:
    """Run one tool for the token's user; map the service errors to the contract's statuses."""
    if request.method != "POST":
        return error(
            405, "method_not_allowed", "Use POST with a JSON body to call a tool", Allow="POST"
        )
    return _authenticated_tool_view(request, tool_name)


@token_required
def _authenticated_tool_view(request: HttpRequest, tool_name: str) -> JsonResponse:
    try:
        spec = get_tool(tool_name)
    except ToolError as exc:
        return error(exc.status, exc.code, exc.message)
    arguments, failure = _read_json_body(request)
    if failure is not None:
        return failure
    if not isinstance(arguments, dict):
        return error(400, "invalid_input", "Request body must be a JSON object")
    try:
        result = spec.call(user=request.api_user, arguments=arguments)
    except ToolError as exc:
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry_After": str(retry_after)} if retry_after is not None else {}
        return error(exc.status, exc.code, exc.message, **headers)
    except Exception:
        logger.exception("Tool %s failed unexpectedly", spec.name)
        return error(500, "internal_error", "Internal error; the failure was logged")
    return JsonResponse(result, status=spec.success_status)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
ERROR_RESPONSES = {
    "400": "Invalid input or invalid JSON",
    "401": "Missing, invalid or revoked token",
    "403": "Not allowed for this user",
    "404": "Record not found, or unknown tool",
    "409": "Duplicate: the message names the existing id",
    "411": "Chunked request body: send it with a Content-Length header",
    "413": "Request body too large",
    "502": "Upstream (Civitai or a fetched URL) failed",
    "503": "Too many URL hashes running in this process: retry after Retry-After seconds",
}


def openapi_document() -> dict[str, Any]:
    """OpenAPI 3.1 description of every tool endpoint, generated from the declarations:
    request bodies from each tool's input model, responses from its result model."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    for spec in TOOLS.values():
        result_schema = (
            spec.result_model.model_json_schema(ref_template="#/components/schemas/{model}")
            if spec.result_model
            else {"type": "object"}
        )
        for name, definition in result_schema.pop("$defs", {}).items():
            schemas[name] = definition
        responses: dict[str, Any] = {
            str(spec.success_status): {
                "description": "Success: the tool's JSON object",
                "content": {"application/json": {"schema": result_schema}},
            }
        }
        for status, description in ERROR_RESPONSES.items():
            responses[status] = {
                "description": description,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        paths[reverse("api:tool", args=[spec.name])] = {
            "post": {
                "operationId": spec.name,
                "summary": spec.title or spec.name,
                "description": spec.description,
                "tags": ["tools"],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": dict(spec.input_schema)}},
                },
                "responses": responses,
            }
        }
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "civitrack recording tools",
            "version": "1",
            "description": "The recording tools of the MCP server, over HTTP. Create a token"
            " with `python manage.py create_api_token USERNAME`.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearerAuth": []}],
    }


def openapi_view(request: HttpRequest) -> JsonResponse:
    """Public: the API description holds no data, only the tools' shapes."""
    if request.method not in ("GET", "HEAD"):
        return error(405, "method_not_allowed", "Use GET", Allow="GET, HEAD")
    return JsonResponse(openapi_document(), json_dumps_params={"indent": 2})
