"""``python manage.py mcp --user USERNAME``: the recording tools as an MCP server over stdio."""

import contextlib

import anyio
from django.core.management.base import BaseCommand
from django.db import connections

from tracking.tools.mcp import serve_stdio
from tracking.users import active_user_named


class Command(BaseCommand):
    help = (
        "Serve the recording tools (and the recording guide prompt) over MCP on stdin/stdout."
        " Every record written is attributed to --user. Logs go to stderr; stdout carries"
        " only the protocol."
    )
    # A stdio server is started by an agent, often once per session, and waits for it:
    # the system checks (URL conf, templates, every admin) belong to `manage.py check`
    # and the deploy, not to this start-up (docs/benchmarks.md, start-up).
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--user", required=True, help="username recorded as created_by for every write"
        )

    def handle(self, *args, user: str, **options):
        acting = active_user_named(user)
        # The tools use their own worker thread's connection; don't keep this one idle.
        connections.close_all()
        with contextlib.suppress(KeyboardInterrupt):
            anyio.run(serve_stdio, acting)
