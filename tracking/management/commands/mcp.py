"""``python manage.py mcp --user USERNAME``: the recording tools as an MCP server over stdio."""

import contextlib

import anyio
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from tracking.mcp_server import serve_stdio


class Command(BaseCommand):
    help = (
        "Serve the recording tools (and the recording guide prompt) over MCP on stdin/stdout."
        " Every record written is attributed to --user. Logs go to stderr; stdout carries"
        " only the protocol."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--user", required=True, help="username recorded as created_by for every write"
        )

    def handle(self, *args, user: str, **options):
        user_model = get_user_model()
        try:
            acting = user_model._default_manager.get_by_natural_key(user)
        except user_model.DoesNotExist:
            raise CommandError(f"No user named {user!r}; create it first") from None
        if not acting.is_active:
            raise CommandError(f"User {user!r} is inactive")
        # The tools use their own worker thread's connection; don't keep this one idle.
        connections.close_all()
        with contextlib.suppress(KeyboardInterrupt):
            anyio.run(serve_stdio, acting)
