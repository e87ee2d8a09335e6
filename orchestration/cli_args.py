"""The ``orchestration`` command's arguments and run, without Django's management machinery.

Two entry points share this module: the management command
(``orchestration/management/commands/orchestration.py``, for ``call_command`` and
``manage.py help``) and the lean start-up in ``civitrack/lean.py``, which runs a
command typed at the shell without importing ``django.core.management`` (about half a
second of imports: checks, the database layer, templates). Both parse with
``add_arguments`` and run with ``run``, so they accept the same options and give the
same output and exit statuses: 0 success, 1 API or network failure (after the
session's retries), 2 bad usage or missing configuration.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import IO

from django.utils.translation import gettext

from civitrack.http import UpstreamError
from orchestration.cli import (
    DATE_HELP,
    DEFAULT_DOWNLOAD_DIR,
    OrchestrationCLI,
    Result,
    UsageError,
)
from orchestration.client import HIGHEST_NSFW_LEVEL, NSFW_LEVELS, MissingToken, OrchestrationClient
from orchestration.errors import OrchestrationRefusal

Translate = Callable[[str], str]
EXIT_FAILURE = 1
EXIT_USAGE = 2


class Failed(Exception):
    """A run that ends with a non-zero exit status and one line for stderr."""

    def __init__(self, message: str, returncode: int):
        super().__init__(message)
        self.returncode = returncode


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def add_filters(
    parser: argparse.ArgumentParser, *, take_default: int, _: Translate = gettext
) -> None:
    parser.add_argument(
        "--take",
        type=positive_int,
        default=take_default,
        help=f"page size (default {take_default})",
    )
    parser.add_argument(
        "--tag",
        dest="tags",
        action="append",
        default=[],
        metavar="T",
        help=_("filter by tag; repeat for several (all must match)"),
    )
    parser.add_argument("--query", help=_("search workflow metadata"))
    parser.add_argument(
        "--exclude-failed",
        "--excludeFailed",
        dest="exclude_failed",
        action="store_true",
        help=_("leave out failed, expired and canceled workflows"),
    )
    parser.add_argument("--oldest", action="store_true", help=_("oldest first"))
    parser.add_argument("--cursor", help=_("the `next` cursor printed by the previous page"))
    parser.add_argument("--json", dest="as_json", action="store_true", help=_("print JSON"))


def add_nsfw(parser: argparse.ArgumentParser, _: Translate = gettext) -> None:
    """``--nsfw`` (up to the highest level) or ``--nsfw-level LEVEL``: GetBlob's ``nsfwLevel``."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--nsfw",
        dest="nsfw_level",
        action="store_const",
        const=HIGHEST_NSFW_LEVEL,
        help=f"ask for mature content (nsfwLevel={HIGHEST_NSFW_LEVEL}, the highest)",
    )
    group.add_argument(
        "--nsfw-level",
        dest="nsfw_level",
        choices=NSFW_LEVELS,
        metavar="LEVEL",
        help=f"the highest NSFW level to serve: {', '.join(NSFW_LEVELS)}",
    )


def add_arguments(parser: argparse.ArgumentParser, _: Translate = gettext) -> None:
    """Every subcommand and option of ``orchestration`` (docs/orchestration-cli.md).

    ``_`` translates the help texts; the lean start-up passes ``str``, since it never
    shows help (``--help`` and usage errors go to Django) and must parse before the
    translation catalogs can load.
    """
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")

    sub.add_parser("test", help=_("check the API URL and token"))

    user = sub.add_parser("user", help=_("a user's workflows (manager token)"))
    user.add_argument("user_id", metavar="userId")
    add_filters(user, take_default=10, _=_)

    workflows = sub.add_parser("workflows", help=_("list and search workflows"))
    add_filters(workflows, take_default=20, _=_)
    workflows.add_argument("--from", dest="from_text", metavar="D", help=DATE_HELP)
    workflows.add_argument(
        "--to", dest="to_text", metavar="D", help=DATE_HELP + "; a date alone = end of day"
    )

    workflow = sub.add_parser("workflow", help=_("one workflow"))
    workflow.add_argument("workflow_id", metavar="workflowId")
    workflow.add_argument("--wait", action="store_true", help=_("poll until it finishes"))
    workflow.add_argument(
        "--timeout", type=positive_float, default=300.0, help=_("--wait limit in seconds (300)")
    )
    workflow.add_argument("--json", "--raw", dest="as_json", action="store_true")

    job = sub.add_parser("job", help=_("a v1 job with its scan results"))
    job.add_argument("job_id", metavar="jobId")
    job.add_argument(
        "--raw", action="store_true", help="the answer exactly as received ({token, jobs})"
    )
    job.add_argument(
        "--json", dest="as_json", action="store_true", help="the job (JobStatus) as JSON"
    )

    step = sub.add_parser("step", help=_("one step of a workflow"))
    step.add_argument("workflow_id", metavar="workflowId")
    step.add_argument("step_name", metavar="stepName")
    step.add_argument("--json", "--raw", dest="as_json", action="store_true")

    results = sub.add_parser("results", help=_("a workflow's result blobs; --download saves them"))
    results.add_argument("workflow_id", metavar="workflowId")
    results.add_argument("--download", action="store_true")
    results.add_argument(
        "--dir", dest="directory", metavar="PATH", help=f"default ./{DEFAULT_DOWNLOAD_DIR}"
    )
    add_nsfw(results, _=_)
    results.add_argument("--json", dest="as_json", action="store_true")

    blob = sub.add_parser("blob", help=_("resolve or download one blob"))
    blob.add_argument("blob_id", metavar="blobId")
    blob.add_argument("--download", action="store_true")
    add_nsfw(blob, _=_)
    blob.add_argument(
        "--dir", dest="directory", metavar="PATH", help=f"default ./{DEFAULT_DOWNLOAD_DIR}"
    )
    blob.add_argument("--job", dest="job_id", metavar="JOB", help=_("check this job's scan first"))
    blob.add_argument(
        "--workflow",
        dest="workflow_id",
        metavar="WORKFLOW",
        help=_("the workflow the blob belongs to (its job and scan are read from it)"),
    )
    blob.add_argument("--json", dest="as_json", action="store_true")


def needs_database(options: dict) -> bool:
    """Whether this run reads the mirror, so it cannot run on the lean start-up.

    ``blob --download`` without ``--job`` looks the blob's job up among the mirrored
    blobs (``OrchestrationCLI._job_of_blob``), which needs the models and the database;
    ``civitrack/lean.py`` hands such a run to Django's ordinary start-up. Every other
    run only talks to the API.
    """
    return options["command"] == "blob" and options["download"] and not options["job_id"]


def dispatch(cli: OrchestrationCLI, command: str, o: dict) -> Result:
    if command == "test":
        return cli.test()
    filters = {}
    if command in {"user", "workflows"}:
        filters = {
            "tags": o["tags"],
            "query": o["query"],
            "exclude_failed": o["exclude_failed"],
            "oldest": o["oldest"],
            "take": o["take"],
            "cursor": o["cursor"],
            "as_json": o["as_json"],
        }
    if command == "user":
        return cli.user(o["user_id"], **filters)
    if command == "workflows":
        return cli.workflows(from_text=o["from_text"], to_text=o["to_text"], **filters)
    if command == "workflow":
        return cli.workflow(
            o["workflow_id"], wait=o["wait"], timeout=o["timeout"], as_json=o["as_json"]
        )
    if command == "job":
        return cli.job(o["job_id"], as_json=o["as_json"], raw=o["raw"])
    if command == "step":
        return cli.step(o["workflow_id"], o["step_name"], as_json=o["as_json"])
    if command == "results":
        return cli.results(
            o["workflow_id"],
            download=o["download"],
            directory=o["directory"],
            nsfw_level=o["nsfw_level"],
            as_json=o["as_json"],
        )
    if command == "blob":
        return cli.blob(
            o["blob_id"],
            download=o["download"],
            nsfw_level=o["nsfw_level"],
            directory=o["directory"],
            job_id=o["job_id"],
            workflow_id=o["workflow_id"],
            as_json=o["as_json"],
        )
    raise UsageError(f"unknown command {command!r}")


def run(options: dict, write: Callable[[str], object], progress: IO[str] | None) -> None:
    """Run the subcommand in ``options`` (parsed by ``add_arguments``); raise ``Failed``.

    ``write`` takes one line of output; ``progress`` is where download progress bars go.
    Error messages are already redacted by the client that raised them.
    """
    cli = OrchestrationCLI(OrchestrationClient(), write, progress=progress)
    try:
        result = dispatch(cli, options["command"], options)
    except (UsageError, MissingToken, OrchestrationRefusal) as exc:
        raise Failed(str(exc), EXIT_USAGE) from None
    except UpstreamError as exc:
        raise Failed(str(exc), EXIT_FAILURE) from None
    if result.exit_code:
        raise Failed("Some downloads failed (see above).", result.exit_code)
