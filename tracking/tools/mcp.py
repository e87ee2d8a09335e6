"""MCP adapter: the recording tools and the recording guide over the official ``mcp`` SDK.

Built on the SDK's low-level ``Server`` because the tools' input schemas come from
the registry (``tracking.tools.registry``) as raw JSON Schema; the high-level ``MCPServer``
derives schemas from Python signatures instead. Every call runs the service in
Django's thread-sensitive worker thread (the ORM is synchronous), with stale
connections closed before and after, as Django does around a request.

A successful call returns the tool's JSON object both as text and as structured
content; a service error becomes a tool error (``isError: true``) whose text is the
message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mcp_types as types
from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections
from mcp.server import Server
from mcp.shared.exceptions import MCPError

from tracking.errors import ToolError
from tracking.tools.registry import TOOLS, call_tool

logger = logging.getLogger(__name__)

SERVER_NAME = "civitrack"
GUIDE_PROMPT = "recording-guide"
GUIDE_PATH = Path(__file__).resolve().parent.parent / "docs" / "recording-guide.md"
INSTRUCTIONS = (
    "Record prompts, assets and Civitai posts. Follow the workflow in the"
    f" '{GUIDE_PROMPT}' prompt: hash → find_asset → create_prompt → create_asset →"
    " create_civitai_post → update_asset. IDs are strings of digits."
)


def recording_guide() -> str:
    return GUIDE_PATH.read_text(encoding="utf-8")


def _run_tool(name: str, user, arguments: dict[str, Any]) -> dict[str, Any]:
    close_old_connections()
    try:
        return call_tool(name, user=user, arguments=arguments)
    finally:
        close_old_connections()


def _close_connections() -> None:
    connections.close_all()


def tool_result(result: dict[str, Any]) -> types.CallToolResult:
    text = json.dumps(result, ensure_ascii=False)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content=result
    )


def tool_error(message: str) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)], is_error=True
    )


def build_server(user) -> Server:
    """An MCP server whose tool calls act as ``user`` (recorded as ``created_by``)."""

    @asynccontextmanager
    async def lifespan(_server: Server) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {}
        finally:
            # The worker thread's connection would otherwise outlive the session.
            await sync_to_async(_close_connections, thread_sensitive=True)()

    async def list_tools(ctx, params) -> types.ListToolsResult:
        return types.ListToolsResult(
            tools=[
                types.Tool(
                    name=spec.name,
                    title=spec.title,
                    description=spec.description,
                    input_schema=dict(spec.input_schema),
                    annotations=types.ToolAnnotations.model_validate(dict(spec.annotations))
                    if spec.annotations
                    else None,
                )
                for spec in TOOLS.values()
            ]
        )

    async def call(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        arguments = params.arguments or {}
        try:
            result = await sync_to_async(_run_tool, thread_sensitive=True)(
                params.name, user, arguments
            )
        except ToolError as exc:
            logger.info("Tool %r refused: %s", params.name, exc.message)
            return tool_error(exc.message)
        except Exception:
            logger.exception("Tool %r failed unexpectedly", params.name)
            return tool_error("Internal error; the failure was logged on the server")
        return tool_result(result)

    async def list_prompts(ctx, params) -> types.ListPromptsResult:
        return types.ListPromptsResult(
            prompts=[
                types.Prompt(
                    name=GUIDE_PROMPT,
                    title="Civitai content recording workflow",
                    description="How to record prompts, assets and Civitai posts with these"
                    " tools, step by step",
                )
            ]
        )

    async def get_prompt(ctx, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        if params.name != GUIDE_PROMPT:
            raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown prompt: {params.name}")
        return types.GetPromptResult(
            description="Civitai content recording workflow",
            messages=[
                types.PromptMessage(
                    role="user", content=types.TextContent(type="text", text=recording_guide())
                )
            ],
        )

    return Server(
        SERVER_NAME,
        version="1",
        title="civitrack recording tools",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        get_tool_input_schema=lambda name: (
            dict(TOOLS[name].input_schema) if name in TOOLS else None
        ),
        on_list_tools=list_tools,
        on_call_tool=call,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
    )


class CheckedLines:
    """The stdin lines handed to the SDK's ``stdio_server``, minus those it would drop.

    The SDK validates each line with pydantic's JSON parser, which refuses a lone
    surrogate escape (``"\\ud800"``, valid JSON but not Unicode); it then passes the
    exception on and no JSON-RPC answer is ever written (``mcp.server.stdio``,
    ``stdin_reader``), so the client waits forever. Such a line is answered here with
    a JSON-RPC error for its id (recovered with Python's ``json``, which accepts the
    escape), queued on ``replies``, and not passed on.
    """

    def __init__(self, lines, replies):
        self.lines = lines
        self.replies = replies

    def __aiter__(self):
        return self._checked()

    async def _checked(self):
        async for line in self.lines:
            try:
                types.jsonrpc_message_adapter.validate_json(line, by_name=False)
            except Exception as exc:
                reply = invalid_line_reply(line, exc)
                if reply is not None:
                    await self.replies.send(reply)
                continue
            yield line


def invalid_line_reply(line: str, exc: Exception) -> types.JSONRPCError | None:
    """The JSON-RPC error answering a request line the SDK cannot read, if it has an id."""
    try:
        data = json.loads(line)
    except ValueError:
        return None  # no id to answer; the SDK logs the parse error as before
    request_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(request_id, str | int) or isinstance(request_id, bool):
        return None
    if "\\u" in line and _has_lone_surrogate(data):
        message = (
            "Request is not valid Unicode: it holds a lone surrogate escape (e.g. \\ud800);"
            " send text as UTF-8"
        )
    else:
        message = "Invalid request: it does not match the JSON-RPC/MCP message schema"
    return types.JSONRPCError(
        jsonrpc="2.0", id=request_id, error=types.ErrorData(code=-32600, message=message)
    )


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


async def serve_stdio(user) -> None:
    """Serve MCP on this process's stdin/stdout until the client disconnects.

    stdin is read through ``CheckedLines`` so a request the SDK cannot parse still
    gets an answer; those answers go out on the same write stream as the server's.
    """
    import sys
    from io import TextIOWrapper

    import anyio
    from mcp.server.stdio import stdio_server
    from mcp.shared.message import SessionMessage

    server = build_server(user)
    send_replies, receive_replies = anyio.create_memory_object_stream(16)
    text = TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    stdin = CheckedLines(anyio.wrap_file(text), send_replies)
    async with stdio_server(stdin=stdin) as (read_stream, write_stream):

        async def forward_replies() -> None:
            async with receive_replies:
                async for reply in receive_replies:
                    await write_stream.send(SessionMessage(reply))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(forward_replies)
            await server.run(read_stream, write_stream, server.create_initialization_options())
            tasks.cancel_scope.cancel()
