"""MCP adapter: the recording tools and the guides (as prompts) over the official ``mcp`` SDK.

Built on the SDK's low-level ``Server`` because the tools' input schemas come from
the declarations (``tracking.tools.registry``) as JSON Schema; the high-level ``MCPServer``
derives schemas from Python signatures instead. Every call runs the service in
Django's thread-sensitive worker thread (the ORM is synchronous), with stale
connections closed before and after, as Django does around a request.

A successful call returns the tool's JSON object both as text and as structured
content; a service error becomes a tool error (``isError: true``) whose text is the
message.

The acting user may still be being looked up when the server starts (``Pending``):
``manage.py mcp`` answers ``initialize`` as soon as the SDK is imported and sets Django
up, imports the tools and checks ``--user`` in a worker thread meanwhile, because an
agent waits for that first answer on every start (docs/benchmarks.md, start-up). Every
handler that needs Django or the user awaits the look-up first; a failed look-up ends
the server with its error. So this module imports nothing of Django's at its top.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.shared.exceptions import MCPError

from tracking import guides

logger = logging.getLogger(__name__)

SERVER_NAME = "civitrack"
GUIDE_PROMPT = "recording-guide"
INSTRUCTIONS = (
    "Record prompts, assets and Civitai posts. Follow the workflow in the"
    f" '{GUIDE_PROMPT}' prompt: hash → find_asset → create_prompt → create_asset →"
    " create_civitai_post → update_asset. IDs are strings of digits. Clients without"
    " prompt support can read the guides with get_workflow_guide and"
    " get_media_engagement_guide."
)


def recording_guide() -> str:
    return guides.text("recording")


class Pending:
    """The acting user, looked up by ``load`` in a worker thread while the server starts.

    ``load`` sets Django up if it isn't, imports the tools and returns the user (or
    raises, e.g. ``CommandError`` for an unknown ``--user``). ``start`` runs it once;
    ``get`` waits for it and returns the user or re-raises its error.
    """

    def __init__(self, load: Callable[[], Any]):
        self._load = load
        self._done = anyio.Event()
        self._user: Any = None
        self._error: BaseException | None = None

    async def start(self) -> None:
        try:
            self._user = await anyio.to_thread.run_sync(self._load)
        except Exception as exc:
            self._error = exc
            raise
        finally:
            self._done.set()

    @property
    def done(self) -> bool:
        """Whether the look-up has finished (either way)."""
        return self._done.is_set()

    async def get(self):
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._user


async def _acting(user):
    """The user itself, or the looked-up user of a ``Pending``."""
    return await user.get() if isinstance(user, Pending) else user


def _run_tool(name: str, user, arguments: dict[str, Any]) -> dict[str, Any]:
    from django.db import close_old_connections

    from tracking.tools.registry import call_tool

    close_old_connections()
    try:
        return call_tool(name, user=user, arguments=arguments)
    finally:
        close_old_connections()


def _close_connections() -> None:
    from django.db import connections

    connections.close_all()


def _tools():
    from tracking.tools.registry import TOOLS

    return TOOLS


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
    """An MCP server whose tool calls act as ``user`` (recorded as ``created_by``).

    ``user`` is a user, or a ``Pending`` look-up of one (``serve_stdio`` starts it).
    """

    @asynccontextmanager
    async def lifespan(_server: Server) -> AsyncIterator[dict[str, Any]]:
        try:
            yield {}
        finally:
            # The worker thread's connection would otherwise outlive the session.
            if not isinstance(user, Pending) or user.done:
                from asgiref.sync import sync_to_async

                await sync_to_async(_close_connections, thread_sensitive=True)()

    async def list_tools(ctx, params) -> types.ListToolsResult:
        await _acting(user)
        TOOLS = _tools()
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
        from asgiref.sync import sync_to_async

        from tracking.errors import ToolError

        arguments = params.arguments or {}
        acting = await _acting(user)
        try:
            result = await sync_to_async(_run_tool, thread_sensitive=True)(
                params.name, acting, arguments
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
                types.Prompt(name=name, title=guide.title, description=guide.description)
                for guide in guides.GUIDES.values()
                for name in guide.prompt_names
            ]
        )

    async def get_prompt(ctx, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        guide = guides.by_prompt_name(params.name)
        if guide is None:
            raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown prompt: {params.name}")
        return types.GetPromptResult(
            description=guide.title,
            messages=[
                types.PromptMessage(
                    role="user",
                    content=types.TextContent(type="text", text=guides.text(guide.key)),
                )
            ],
        )

    return Server(
        SERVER_NAME,
        version="1",
        title="civitrack recording tools",
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        # Read by the SDK's HTTP transport only (header checks), never on stdio.
        get_tool_input_schema=lambda name: (
            dict(_tools()[name].input_schema) if name in _tools() else None
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

    ``user`` is the acting user or a ``Pending`` look-up, started here beside the
    server; if the look-up fails, the server stops and its error is raised (after the
    client has been told nothing but, possibly, the answer to ``initialize``).

    stdin is read through ``CheckedLines`` so a request the SDK cannot parse still
    gets an answer; those answers go out on the same write stream as the server's.
    """
    import sys
    from io import TextIOWrapper

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
            if isinstance(user, Pending):
                tasks.start_soon(user.start)  # an error here cancels the server and is raised
            await server.run(read_stream, write_stream, server.create_initialization_options())
            if isinstance(user, Pending):
                await user.get()  # end of input: still report an unknown --user
            tasks.cancel_scope.cancel()
