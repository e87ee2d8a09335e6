"""The small family of errors every service raises and every adapter maps once.

Each error carries a machine ``code`` and the HTTP ``status`` of contract §3; the
message is the user-facing text (the contract's phrases), safe to show as is.
MCP turns any of them into a tool error, the HTTP API into ``{"error": {...}}``
with ``status``, commands into ``CommandError``, the admin into a message.
"""


class ToolError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)

    def as_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class InvalidInput(ToolError):
    """The request is malformed: a bad id, enum, timestamp, URL or shape."""

    code = "invalid_input"
    status = 400


class RecordNotFound(ToolError):
    """A referenced record does not exist (``Record not found: post_id 999``)."""

    code = "not_found"
    status = 404


class Duplicate(ToolError):
    """A unique value is already taken; the message names the existing id."""

    code = "duplicate"
    status = 409


class UpstreamFailure(ToolError):
    """Civitai or a URL we fetched failed, or answered something we cannot trust."""

    code = "upstream_error"
    status = 502


class Forbidden(ToolError):
    """The acting user may not do this to this record (e.g. change someone else's post)."""

    code = "forbidden"
    status = 403


class Busy(ToolError):
    """Too much of this work is running right now; ``retry_after`` seconds is a fair wait.

    The HTTP API answers 503 with a ``Retry-After`` header; MCP and commands show the
    message, which says when to retry.
    """

    code = "busy"
    status = 503

    def __init__(self, message: str, *, retry_after: int):
        self.retry_after = retry_after
        super().__init__(message)
