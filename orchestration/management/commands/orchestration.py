"""``python manage.py orchestration <command>``: the Civitai Orchestration CLI (docs/contract.md).

Thin adapter over ``orchestration.cli_args`` (the options and the run, shared with the
lean start-up of ``civitrack/lean.py``): map its failures to ``CommandError`` with the
exit status - 0 success, 1 API or network failure (after the session's retries), 2 bad
usage or missing configuration. The node client's spellings (``--take=5``,
``--excludeFailed``, ``--tag=a --tag=b``) are accepted as aliases.
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext_lazy

from orchestration import cli_args
from orchestration.cli import language_from_environment


class UsageParser(CommandParser):
    """Django's parser, but usage errors exit with status 2 under ``call_command`` too.

    From the command line argparse already exits 2; programmatic calls get a
    ``CommandError`` whose ``returncode`` is 2 instead of Django's default 1.
    """

    def error(self, message):
        if self.called_from_command_line:
            super().error(message)
        raise CommandError(f"Error: {message}", returncode=cli_args.EXIT_USAGE)


class Command(BaseCommand):
    help = gettext_lazy(
        "Query Civitai Orchestration workflows, steps, jobs and blobs "
        "(CIVITAI_API_URL, CIVITAI_API_TOKEN). Exit status: 0 ok, 1 API/network failure, "
        "2 bad usage."
    )
    requires_system_checks: list = []

    # Help and human output follow the user's locale (LANGUAGE, LC_ALL, LC_MESSAGES,
    # LANG; docs/i18n.md); --json stays English and byte-for-byte what it was.
    def create_parser(self, prog_name, subcommand, **kwargs):
        with translation.override(language_from_environment(os.environ)):
            self.help = str(type(self).help)  # argparse wants a str, not a lazy one
            return super().create_parser(prog_name, subcommand, **kwargs)

    def execute(self, *args, **options):
        language = "en" if options.get("as_json") else language_from_environment(os.environ)
        with translation.override(language):
            return super().execute(*args, **options)

    def add_arguments(self, parser):
        # Usage errors must carry exit status 2 under call_command as well; the class swap
        # only changes ``error`` and happens before any subparser is made from it.
        parser.__class__ = UsageParser
        cli_args.add_arguments(parser)

    def handle(self, *args, **options):
        try:
            cli_args.run(options, self.stdout.write, getattr(self.stderr, "_out", None))
        except cli_args.Failed as exc:
            raise CommandError(str(exc), returncode=exc.returncode) from None
