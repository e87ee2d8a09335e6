"""Lean start-up for the commands people and agents run many times a minute.

``manage.py`` normally calls ``django.setup()`` for every command: every app's models,
the admin's autodiscovery (every ``admin.py``, their forms, services and pydantic
inputs), then ``django.core.management`` with its system checks, URL and template
layers. For two commands that is most of their run time, so ``manage.py`` hands them
here first (docs/benchmarks.md has the figures):

- ``orchestration`` talks to a remote API. It gets the settings, logging and
  translations only (an empty app registry, so ``gettext`` works), parses with the
  same ``orchestration.cli_args`` as the management command and prints and exits the
  way ``BaseCommand.run_from_argv`` does (``CommandError: <message>`` on stderr, the
  same exit statuses). The one run that reads the database, ``blob --download``
  without ``--job`` (the mirror names the blob's job), goes the ordinary way
  (``cli_args.needs_database``).
- ``mcp --user U`` starts the MCP server as soon as the SDK is imported, so that
  ``initialize`` is answered at once, and sets Django up in a worker thread meanwhile:
  a full ``django.setup()`` except the admin's autodiscovery (``SimpleAdminConfig``:
  the admin's models are still installed, its ``admin.py`` modules are simply not
  imported - a stdio server renders no admin page).

Anything unusual - ``--help``, a command line argparse refuses, Django's own options
(``--settings``, ``--traceback``, ``-v``...) - takes the ordinary path, so help text and
every other command are exactly Django's.
"""

from __future__ import annotations

import os
import sys

# Options BaseCommand adds to every command; the lean path leaves them to Django.
DJANGO_OPTIONS = (
    "-h",
    "--help",
    "--version",
    "-v",
    "--verbosity",
    "--settings",
    "--pythonpath",
    "--traceback",
    "--no-color",
    "--force-color",
    "--skip-checks",
)
FULL_ADMIN = "django.contrib.admin"
SIMPLE_ADMIN = "django.contrib.admin.apps.SimpleAdminConfig"


def wants_django(args: list[str]) -> bool:
    """Whether ``args`` use an option that only Django's command machinery knows."""
    return any(a == o or a.startswith(o + "=") for a in args for o in DJANGO_OPTIONS)


class HandBack(Exception):
    """The lean path gives the command line back to Django (a usage error, say)."""


def run(argv: list[str]) -> None:
    """Run ``argv`` on a lean path and exit, or return to let Django run it as usual."""
    if len(argv) < 2 or wants_django(argv[2:]):
        return
    try:
        if argv[1] == "orchestration":
            sys.exit(orchestration(argv))
        if argv[1] == "mcp":
            mcp(argv)
    except HandBack:
        return


def orchestration(argv: list[str]) -> int:
    """``manage.py orchestration ...`` with settings, logging and translations only.

    A command line argparse refuses goes back to Django, whose usage message names its
    own options too: the same words and exit status 2 either way. So does a run that
    reads the mirror: the models cannot load into the empty registry.
    """
    import argparse
    import logging.config

    class Parser(argparse.ArgumentParser):
        def error(self, message):
            raise HandBack(message)

    from django.apps import apps
    from django.conf import settings
    from django.utils import translation

    from orchestration import cli_args
    from orchestration.cli import language_from_environment

    # Parsed untranslated (help texts are only shown by Django's --help) and before the
    # registry is filled, so a refused command line can still go back to Django.
    parser = Parser(prog=f"{os.path.basename(argv[0])} {argv[1]}")
    cli_args.add_arguments(parser, _=str)
    options = vars(parser.parse_args(argv[2:]))
    if cli_args.needs_database(options):
        raise HandBack("reads the mirror")  # models, the database: Django's own start-up
    logging.config.dictConfig(settings.LOGGING)
    apps.populate([])  # translations refuse to load before the registry is ready
    language = "en" if options.get("as_json") else language_from_environment(os.environ)
    with translation.override(language):
        try:
            cli_args.run(options, write_line, sys.stderr)
        except cli_args.Failed as exc:
            sys.stderr.write(f"CommandError: {exc}\n")
            return exc.returncode
    return 0


def write_line(text: str) -> None:
    """``OutputWrapper.write`` of Django's commands: one line, newline added if missing."""
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def mcp(argv: list[str]) -> None:
    """``manage.py mcp --user U``: answer ``initialize`` first, set Django up meanwhile.

    The agent waits for the answer to ``initialize`` on every start, and that answer
    needs only the MCP SDK. So the SDK is imported first and the server starts; Django
    (without the admin's autodiscovery), the tools and the ``--user`` check load in a
    worker thread beside it (``tracking.tools.mcp.Pending``), and every request that
    needs them waits for them. An unknown user still ends the process with Django's
    ``CommandError: ...`` and exit status 1, whatever the client sent.
    Any other command line goes the ordinary way (Django's parser and messages).
    """
    rest = argv[2:]
    if len(rest) == 2 and rest[0] == "--user":
        username = rest[1]
    elif len(rest) == 1 and rest[0].startswith("--user="):
        username = rest[0].removeprefix("--user=")
    else:
        _setup_without_admin_discovery()
        from tracking.management.commands.mcp import Command

        Command().run_from_argv(argv)
        sys.exit(0)
    if not username:
        raise HandBack("--user needs a value")

    import contextlib

    import anyio

    from tracking.tools.mcp import Pending, serve_stdio

    def load():
        _setup_without_admin_discovery()
        from django.db import connections

        import tracking.tools.registry  # noqa: F401 - the tools, before the first call
        from tracking.users import active_user_named

        try:
            return active_user_named(username)
        finally:
            # Tool calls use their own worker thread's connection.
            connections.close_all()

    from django.core.management.base import CommandError

    try:
        with contextlib.suppress(KeyboardInterrupt):
            anyio.run(serve_stdio, Pending(load))
    except* CommandError as group:
        sys.stderr.write(f"CommandError: {_first_leaf(group)}\n")
        sys.exit(1)
    sys.exit(0)


def _first_leaf(error: BaseException) -> BaseException:
    """The first exception of a (nested) exception group: what the task group raised."""
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


def _setup_without_admin_discovery() -> None:
    """``django.setup()`` with ``SimpleAdminConfig`` in place of the admin (see above)."""
    import django
    from django.conf import settings

    installed = list(settings.INSTALLED_APPS)
    if FULL_ADMIN in installed:
        installed[installed.index(FULL_ADMIN)] = SIMPLE_ADMIN
        settings.INSTALLED_APPS = installed
    django.setup()
