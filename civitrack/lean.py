"""Lean start-up for the commands people and agents run many times a minute.

``manage.py`` normally calls ``django.setup()`` for every command: every app's models,
the admin's autodiscovery (every ``admin.py``, their forms, services and pydantic
inputs), then ``django.core.management`` with its system checks, URL and template
layers. For two commands that is most of their run time, so ``manage.py`` hands them
here first (docs/benchmarks.md has the figures):

- ``orchestration`` talks to a remote API and never touches the database. It gets the
  settings, logging and translations only (an empty app registry, so
  ``gettext`` works), parses with the same ``orchestration.cli_args`` as the management
  command and prints and exits the way ``BaseCommand.run_from_argv`` does
  (``CommandError: <message>`` on stderr, the same exit statuses).
- ``mcp`` needs the models, so it gets a full ``django.setup()`` except the admin's
  autodiscovery (``SimpleAdminConfig``: the admin's models are still installed, its
  ``admin.py`` modules are simply not imported - a stdio server renders no admin page).

Anything unusual - ``--help``, a command line argparse refuses, Django's own options (``--settings``, ``--traceback``,
``-v``...), another settings module's ``INSTALLED_APPS`` without the admin - takes the
ordinary path, so help text and every other command are exactly Django's.
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
    own options too: the same words and exit status 2 either way.
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
    """``manage.py mcp ...``: Django set up without the admin's autodiscovery, then the command."""
    import django
    from django.conf import settings

    installed = list(settings.INSTALLED_APPS)
    if FULL_ADMIN not in installed:
        return
    installed[installed.index(FULL_ADMIN)] = SIMPLE_ADMIN
    settings.INSTALLED_APPS = installed
    django.setup()
    from tracking.management.commands.mcp import Command

    Command().run_from_argv(argv)
    sys.exit(0)
