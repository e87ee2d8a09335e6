"""The ``orchestration`` command's logic: argument values, summaries, and each subcommand.

The management command only parses argv and maps errors to exit codes; everything
here is plain functions and one ``OrchestrationCLI`` class that tests can drive
directly. Output is line-oriented text for people, or JSON with ``--json``. Every
line written passes through a filter that removes the configured token, as a last
line of defence behind the client's own redaction.

``orchestration.downloads`` (with tqdm, tempfile, mimetypes) is imported inside the
commands that use it, not here: ``test``, the lists and the detail commands start
without it (the start-up figures are in docs/benchmarks.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.utils.translation import gettext as _

from civitrack.http import NotFound, UpstreamError
from civitrack.logging import replace_secrets
from orchestration.client import OrchestrationClient
from orchestration.errors import InvalidArgument, OrchestrationRefusal
from orchestration.scan import SCAN_KEYS, ScanResult, is_csam_flagged
from orchestration.types import Blob, Job, Step, Workflow, WorkflowPage

if TYPE_CHECKING:
    from orchestration.downloads import DownloadOutcome

DEFAULT_DOWNLOAD_DIR = "civitai-downloads"
DATE_HELP = "YYYY-MM-DD or ISO 8601 date-time; no zone means UTC"
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class UsageError(InvalidArgument):
    """Bad command-line input (exit status 2)."""


def parse_cli_date(text: str, *, end_of_day: bool = False, option: str = "--from") -> datetime:
    """A user's date as an aware UTC datetime.

    ``2024-01-20`` is the start of that day, or its last microsecond when
    ``end_of_day`` (so ``--from D --to D`` covers day D). Date-times without a zone
    are UTC; ``Z`` and offsets are honoured.
    """
    value = text.strip()
    try:
        if _DATE_ONLY.match(value):
            day = date.fromisoformat(value)
            moment = time.max if end_of_day else time.min
            return datetime.combine(day, moment, tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} must be a date ({DATE_HELP}), got {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_user_id(text: str) -> int:
    if not text.isdigit() or int(text) <= 0 or int(text) > 2**31 - 1:
        raise UsageError(f"userId must be a positive whole number, got {text!r}")
    return int(text)


def when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") + "Z"


def duration(start: datetime | None, end: datetime | None) -> str:
    if not start or not end:
        return ""
    seconds = (end - start) / timedelta(seconds=1)
    return f" ({seconds:.1f}s)"


def shorten(text: str | None, limit: int = 160) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def percent(value: float) -> str:
    return f"{value * 100:.2f} %"


def dump(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


# -- summaries ------------------------------------------------------------------------


def blob_line(blob: Blob, refusal: str | None = None) -> str:
    size = f" {blob.width}x{blob.height}" if blob.width and blob.height else ""
    parts = [f"{blob.id} [{blob.type}{size}]", f"available: {str(blob.available).lower()}"]
    if blob.nsfw_level:
        parts.append(f"nsfw: {blob.nsfw_level}")
    if blob.blocked_reason:
        parts.append(f"BLOCKED: {blob.blocked_reason}")
    if blob.job_id:
        parts.append(f"job: {blob.job_id}")
    if refusal:
        parts.append(f"NOT FETCHED: {refusal}")
    return ", ".join(parts)


def workflow_summary(wf: Workflow) -> list[str]:
    """A few lines per workflow for lists: id, status, timestamps, steps, prompt, blobs."""
    blobs = wf.blobs
    available = sum(1 for b in blobs if b.available)
    steps = ", ".join(f"{s.step_type}({s.status or '?'})" for s in wf.steps) or "-"
    lines = [
        f"{wf.id}  {wf.status or '?'}",
        f"  created {when(wf.created_at)}  completed {when(wf.completed_at)}"
        f"{duration(wf.created_at, wf.completed_at)}",
        f"  steps: {steps}",
    ]
    if wf.tags:
        lines.append(f"  tags: {', '.join(wf.tags)}")
    for step in wf.steps:
        if step.prompt:
            lines.append(f"  prompt ({step.step_type}): {shorten(step.prompt)}")
    if not any(s.prompt for s in wf.steps) and wf.prompt:
        lines.append(f"  prompt (metadata): {shorten(wf.prompt)}")
    lines.append(f"  blobs: {len(blobs)} ({available} available)")
    return lines


def page_lines(page: WorkflowPage) -> list[str]:
    lines: list[str] = []
    for wf in page.items:
        lines += [*workflow_summary(wf), ""]
    lines.append(f"{len(page.items)} workflow(s).")
    lines.append(f"Next cursor: {page.next}" if page.next else "No more pages.")
    return lines


def step_lines(step: Step, indent: str = "  ") -> list[str]:
    progress = (
        f", progress {step.estimated_progress_rate:.0%}"
        if step.estimated_progress_rate is not None
        else ""
    )
    lines = [
        f"{indent}Step {step.name!r}: {step.step_type} - {step.status or '?'}{progress}",
        f"{indent}  started {when(step.started_at)}  completed {when(step.completed_at)}",
    ]
    for prompt in step.prompts:
        lines.append(f"{indent}  Prompt: {shorten(prompt, 400)}")
    if step.negative_prompt:
        lines.append(f"{indent}  Negative prompt: {shorten(step.negative_prompt, 400)}")
    other_input = {k: v for k, v in step.input.items() if k not in {"prompt", "negativePrompt"}}
    if other_input:
        lines.append(f"{indent}  Input: {shorten(json.dumps(other_input, default=str), 300)}")
    if step.queue_position:
        queue = step.queue_position
        ahead = queue.get("precedingJobs")
        start = queue.get("estimatedStartAt") or queue.get("startAt")
        lines.append(
            f"{indent}  Queue: {queue.get('support') or '?'}"
            + (f", {ahead} job(s) ahead" if ahead is not None else "")
            + (f", start about {start}" if start else "")
        )
    for item in step.preparation:
        progress = item.get("progress")
        eta = item.get("etaSeconds")
        lines.append(
            f"{indent}  Preparing: {item.get('resource') or '?'}"
            + (f" {progress:.0%}" if isinstance(progress, int | float) else "")
            + (f", about {eta} s left" if eta is not None else "")
        )
    for warning in step.warnings:
        lines.append(
            f"{indent}  Warning: {warning.get('message') or warning.get('code') or '?'}"
            + (f" (retires {warning['retiresAt']})" if warning.get("retiresAt") else "")
        )
    if step.jobs is not None:
        lines.append(f"{indent}  Jobs ({len(step.jobs)}):")
        for job in step.jobs:
            lines.append(f"{indent}    - {job.id} ({job.status or '?'}, cost {job.cost})")
    elif step.job_ids:
        # The newer step shape has no jobs[]: the ids come from the blobs' jobId.
        lines.append(f"{indent}  Jobs (from the blobs, {len(step.job_ids)}):")
        for job_id in step.job_ids:
            lines.append(f"{indent}    - {job_id}")
    lines.append(f"{indent}  Blobs ({len(step.blobs)}):")
    for blob in step.blobs:
        lines.append(f"{indent}    - {blob_line(blob)}")
    output = step.output or {}
    errors = output.get("errors")
    if isinstance(errors, list) and errors:
        lines.append(f"{indent}  Errors: {'; '.join(str(e) for e in errors)}")
    return lines


def workflow_lines(wf: Workflow) -> list[str]:
    lines = [
        _("Workflow %(id)s") % {"id": wf.id},
        "  " + _("Status") + f": {wf.status or '?'}",
        "  " + _("Created") + f": {when(wf.created_at)}",
        "  " + _("Started") + f": {when(wf.started_at)}",
        "  "
        + _("Completed")
        + f": {when(wf.completed_at)}{duration(wf.started_at, wf.completed_at)}",
        "  " + _("Tags") + f": {', '.join(wf.tags) or '-'}",
        "  " + _("Cost") + f": {wf.cost_total if wf.cost_total is not None else '-'}",
        "  " + _("NSFW level") + f": {wf.nsfw_level or '-'}",
    ]
    if wf.metadata:
        lines.append(
            "  " + _("Metadata") + f": {shorten(json.dumps(wf.metadata, default=str), 300)}"
        )
    lines.append(_("Steps (%(count)d):") % {"count": len(wf.steps)})
    for step in wf.steps:
        lines += step_lines(step)
    return lines


def scan_lines(scan: ScanResult, threshold: float) -> list[str]:
    """Scan values highlighted with ``**``; zero scores are shown, never hidden."""
    lines = [_("Event Context (scan results, metrics):")]
    if not scan.raw:
        lines.append("  " + _("(no context)"))
        return lines
    for key, value in scan.raw.items():
        marker = "**" if key in SCAN_KEYS else "  "
        shown = "null" if value is None else value
        lines.append(f"  {marker} {key}: {shown}")
    lines.append(_("Scan:"))
    if scan.csam_score_present and not scan.csam_score_unparsed:
        scores = ", ".join(percent(s) for s in scan.csam_scores)
        lines.append(
            "  ** "
            + _("CSAM score: %(scores)s (max %(max)s, threshold %(threshold)s)")
            % {
                "scores": scores,
                "max": percent(scan.max_csam_score or 0.0),
                "threshold": percent(threshold),
            }
        )
    elif scan.csam_score_unparsed:
        lines.append(
            "  ** "
            + _("CSAM score: unreadable (%(raw)s) - treated as flagged")
            % {"raw": repr(scan.csam_score_raw)}
        )
    else:
        lines.append("  ** " + _("CSAM score: not reported"))
    lines.append(f"  ** VLM summary: {scan.vlm_summary or '-'}")
    lines.append(f"  ** Blocked reason: {scan.blocked_reason or '-'}")
    lines.append(f"  ** NSFW level: {scan.nsfw_level or '-'}")
    if is_csam_flagged(scan, threshold):
        lines.append("  !! " + _("POSSIBLE CSAM - this job's media is never fetched or shown"))
    return lines


def job_lines(job: Job, threshold: float) -> list[str]:
    lines = [
        _("Job Summary:"),
        "  " + _("ID") + f": {job.job_id}",
        "  " + _("Type") + f": {job.type or '-'}",
        "  " + _("Workflow ID") + f": {job.workflow_id or '-'}",
        "  " + _("Created") + f": {when(job.created_at)}",
        "  " + _("Cost") + f": {job.cost if job.cost is not None else '-'}",
    ]
    if job.prompt:
        lines.append("  " + _("Prompt") + f": {shorten(job.prompt, 400)}")
    if job.negative_prompt:
        lines.append("  " + _("Negative prompt") + f": {shorten(job.negative_prompt, 400)}")
    lines.append("")
    if job.prompt_classification is None:
        lines.append(_("Prompt Classification: not reported"))
    else:
        flags = job.prompt_classification.flags
        lines.append(
            "" + _("Prompt Classification") + f": {', '.join(flags) if flags else _('none')}"
        )
    lines.append("")
    lines.append(_("Results (%(count)d blob(s)):") % {"count": len(job.results)})
    for result in job.results:
        available = _("available")
        lines.append(f"  - {result.blob_key} ({available}: {str(result.available).lower()})")
    lines.append("")
    if job.last_event:
        event = job.last_event
        lines += [
            _("Last Event:"),
            "  " + _("Type") + f": {event.type or '-'}",
            "  " + _("Provider") + f": {event.provider or '-'}",
            "  " + _("Worker") + f": {event.worker_id or '-'}",
            "  " + _("Job duration") + f": {event.job_duration or '-'}",
            "  " + _("Date") + f": {when(event.date_time)}",
            "",
        ]
    else:
        lines += [_("Last Event: none"), ""]
    lines += scan_lines(job.scan, threshold)
    return lines


def language_from_environment(environ: dict[str, str]) -> str:
    """``zh-hans`` when the locale asks for Simplified Chinese, else ``en``.

    GNU order: ``LANGUAGE`` (a colon list, honoured unless the locale is C/POSIX),
    then ``LC_ALL``, ``LC_MESSAGES``, ``LANG``. ``zh_CN``, ``zh_SG``, ``zh_Hans`` and a
    bare ``zh`` mean Simplified Chinese; ``zh_TW``/``zh_HK``/``zh_Hant`` are not
    translated and stay English.
    """
    locale = next((environ[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG") if environ.get(v)), "")
    wanted = []
    if environ.get("LANGUAGE") and locale.split(".")[0] not in ("C", "POSIX"):
        wanted += environ["LANGUAGE"].split(":")
    wanted.append(locale)
    for item in wanted:
        code = item.split(".")[0].split("@")[0].replace("-", "_").lower()
        if code in ("zh", "zh_cn", "zh_sg", "zh_hans", "zh_hans_cn", "zh_hans_sg"):
            return "zh-hans"
        if code.startswith("zh") or code.startswith("en") or code in ("c", "posix"):
            return "en"
    return "en"


# -- the commands ---------------------------------------------------------------------


@dataclass
class Result:
    """Exit status of a subcommand (0 ok, 1 some upstream/download failure)."""

    exit_code: int = 0


class OrchestrationCLI:
    """Runs one subcommand: calls the client, writes lines to ``out``."""

    def __init__(
        self,
        client: OrchestrationClient,
        write: Callable[[str], None],
        *,
        progress: IO[str] | None = None,
        threshold: float | None = None,
    ):
        self.client = client
        self._write = write
        self.progress = progress
        self.threshold = (
            float(settings.MODERATION_CSAM_THRESHOLD) if threshold is None else threshold
        )

    def write(self, text: str = "") -> None:
        self._write(replace_secrets(text, self.client.secrets))

    def lines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def json(self, value: Any) -> None:
        self.write(dump(value))

    # subcommands ---------------------------------------------------------------------

    def test(self) -> Result:
        page = self.client.test_connection()
        self.write(f"Connected to {self.client.base_url}: token accepted.")
        self.write(f"First page returned {len(page.items)} workflow(s).")
        return Result()

    def _page(self, page: WorkflowPage, as_json: bool) -> Result:
        if as_json:
            self.json({"items": [wf.raw for wf in page.items], "next": page.next})
        else:
            self.lines(page_lines(page))
        return Result()

    def workflows(
        self,
        *,
        tags: list[str],
        query: str | None,
        exclude_failed: bool,
        oldest: bool,
        take: int | None,
        cursor: str | None,
        from_text: str | None,
        to_text: str | None,
        as_json: bool = False,
    ) -> Result:
        from_date = parse_cli_date(from_text, option="--from") if from_text else None
        to_date = parse_cli_date(to_text, end_of_day=True, option="--to") if to_text else None
        if from_date and to_date and from_date > to_date:
            raise UsageError("--from must not be after --to")
        page = self.client.list_workflows(
            tags=tags,
            query=query,
            from_date=from_date,
            to_date=to_date,
            cursor=cursor,
            take=take,
            exclude_failed=exclude_failed,
            ascending=oldest,
        )
        return self._page(page, as_json)

    def user(
        self,
        user_id_text: str,
        *,
        tags: list[str],
        query: str | None,
        exclude_failed: bool,
        oldest: bool,
        take: int | None,
        cursor: str | None,
        as_json: bool = False,
    ) -> Result:
        user_id = parse_user_id(user_id_text)
        page = self.client.list_user_workflows(
            user_id,
            take=take,
            cursor=cursor,
            tags=tags,
            query=query,
            exclude_failed=exclude_failed,
            oldest=oldest,
        )
        if not as_json:
            self.write(f"Workflows of user {user_id}:")
            self.write("")
        return self._page(page, as_json)

    def workflow(
        self, workflow_id: str, *, wait: bool, timeout: float, as_json: bool = False
    ) -> Result:
        if wait:
            if not as_json:
                self.write(f"Waiting up to {timeout:g}s for workflow {workflow_id}...")
            wf = self.client.wait_for_workflow(
                workflow_id,
                timeout=timeout,
                on_poll=None if as_json else self._poll_note,
            )
        else:
            wf = self.client.get_workflow(workflow_id)
        if as_json:
            self.json(wf.raw)
        else:
            self.lines(workflow_lines(wf))
            if wait and not wf.is_terminal:
                self.write(f"Still {wf.status or 'running'} after {timeout:g}s; stopped waiting.")
        return Result()

    def _poll_note(self, wf: Workflow) -> None:
        self.write(f"  status: {wf.status or '?'}")

    def step(self, workflow_id: str, step_name: str, *, as_json: bool = False) -> Result:
        step = self.client.get_step(workflow_id, step_name)
        if as_json:
            self.json(step.raw)
        else:
            self.write(f"Workflow {workflow_id}")
            self.lines(step_lines(step))
        return Result()

    def job(self, job_id: str, *, as_json: bool = False, raw: bool = False) -> Result:
        """``--raw``: the body as received (the ``{token, jobs}`` envelope too);
        ``--json``: the job itself, as ``--json`` always printed it."""
        job = self.client.get_job(job_id)
        if raw:
            self.json(job.body)
        elif as_json:
            self.json(job.raw)
        else:
            self.lines(job_lines(job, self.threshold))
        return Result()

    def results(
        self,
        workflow_id: str,
        *,
        download: bool,
        directory: str | None,
        nsfw_level: str | None = None,
        as_json: bool = False,
    ) -> Result:
        from orchestration.downloads import DownloadOutcome, fetch_refusal, job_scans

        wf = self.client.get_workflow(workflow_id)
        blobs = wf.blobs
        scans = job_scans(self.client, blobs)
        refusals = {blob.id: fetch_refusal(blob, scans) for blob in blobs}
        if as_json and not download:
            self.json(
                {
                    "workflow_id": wf.id,
                    "status": wf.status,
                    "blobs": [
                        {
                            **blob.raw,
                            "fetchable": not refusals[blob.id],
                            "refusal": refusals[blob.id] or None,
                        }
                        for blob in blobs
                    ],
                }
            )
            return Result()
        self.write(f"Workflow {wf.id} ({wf.status or '?'}): {len(blobs)} blob(s)")
        for blob in blobs:
            self.write(f"  - {blob_line(blob, refusals[blob.id])}")
            scan = scans.get(blob.job_id) if blob.job_id else None
            if isinstance(scan, ScanResult) and scan.has_scan:
                self.write(f"      scan: {scan_brief(scan)}")
        if not download:
            return Result()
        target = Path(directory or DEFAULT_DOWNLOAD_DIR)
        outcomes: list[DownloadOutcome] = []
        for blob in blobs:
            scan = scans.get(blob.job_id) if blob.job_id else None
            if refusals[blob.id] and isinstance(scan, UpstreamError):
                # Refused for safety, but because the API failed: the run did not succeed.
                outcome = DownloadOutcome(blob.id, "failed", reason=refusals[blob.id])
            elif refusals[blob.id]:
                outcome = DownloadOutcome(blob.id, "refused", reason=refusals[blob.id])
            else:
                outcome = self._download(blob.id, target, nsfw_level=nsfw_level, workflow_id=wf.id)
            outcomes.append(outcome)
            self.write(outcome_line(outcome))
        return self._download_summary(outcomes, target)

    def blob(
        self,
        blob_id: str,
        *,
        download: bool,
        nsfw_level: str | None = None,
        directory: str | None,
        job_id: str | None = None,
        workflow_id: str | None = None,
        as_json: bool = False,
    ) -> Result:
        """Resolve one blob, or download it once its job's scan allows it.

        Bytes are fetched only when the blob's job is known and its scan read: from
        ``--job``, from the mirror (the synced blob names its job), or from the
        ``--workflow`` the blob belongs to. Without any of them the download is refused
        and the user is told what to pass: a CSAM-flagged blob must never be fetched
        just because nobody said which job made it.
        """
        from orchestration.downloads import job_gone_reason

        if download and not job_id:
            found = self._job_of_blob(blob_id, workflow_id)
            if isinstance(found, Result):
                return found
            job_id = found
        if job_id:
            try:
                scan = self.client.get_job(job_id).scan
            except NotFound:
                self.write(f"Blob {blob_id}: NOT FETCHED: {job_gone_reason(job_id)}")
                return Result(1)
            if is_csam_flagged(scan, self.threshold) or scan.blocked_reason:
                why = (
                    "flags possible CSAM"
                    if is_csam_flagged(scan, self.threshold)
                    else (f"is blocked ({scan.blocked_reason})")
                )
                self.write(f"Blob {blob_id}: NOT FETCHED: job {job_id}'s scan {why}")
                return Result()
        if not download:
            location = self.client.resolve_blob(
                blob_id, nsfw_level=nsfw_level, workflow_id=workflow_id
            )
            if as_json:
                self.json(
                    {
                        "blob_id": blob_id,
                        "blocked": location.blocked,
                        "url": None if location.blocked else location.url,
                    }
                )
            elif location.blocked:
                self.write(f"Blob {blob_id}: BLOCKED (the API redirects to a placeholder)")
                if not nsfw_level:
                    self.write("  Mature content is hidden unless you pass --nsfw.")
            else:
                self.write(f"Blob {blob_id}: available")
                self.write(f"  URL: {location.url}")
            return Result()
        target = Path(directory or DEFAULT_DOWNLOAD_DIR)
        outcome = self._download(blob_id, target, nsfw_level=nsfw_level, workflow_id=workflow_id)
        self.write(outcome_line(outcome))
        if outcome.status == "refused" and not nsfw_level:
            self.write("  Mature content is hidden unless you pass --nsfw.")
        return Result(0 if outcome.ok else 1)

    def _job_of_blob(self, blob_id: str, workflow_id: str | None) -> str | Result:
        """The job id behind ``blob_id`` (mirror first, then ``--workflow``), or a refusal."""
        from orchestration.downloads import fetch_refusal, job_scans
        from orchestration.models import Blob as MirroredBlob  # the CLI runs in Django

        mirrored = MirroredBlob.objects.filter(civitai_id=blob_id).select_related("job").first()
        if mirrored is not None and mirrored.job is not None:
            return mirrored.job.civitai_id
        if workflow_id:
            wf = self.client.get_workflow(workflow_id)
            blob = next((b for b in wf.blobs if b.id == blob_id), None)
            if blob is None:
                self.write(
                    f"Blob {blob_id}: NOT FETCHED: it is not an output of workflow {workflow_id}"
                )
                return Result(1)
            scans = job_scans(self.client, [blob])
            refusal = fetch_refusal(blob, scans)
            if refusal:
                self.write(f"Blob {blob_id}: NOT FETCHED: {refusal}")
                # A refusal because the API failed (or has no such job) is a failed run.
                failed = isinstance(scans.get(blob.job_id or ""), UpstreamError)
                return Result(1 if failed else 0)
            return blob.job_id or ""
        self.write(
            f"Blob {blob_id}: NOT FETCHED: its job is not known (the blob is not in the"
            " mirror), so its scan cannot be checked. Pass --job JOB or --workflow WORKFLOW."
        )
        return Result(1)

    def _download(
        self,
        blob_id: str,
        target: Path,
        *,
        nsfw_level: str | None,
        workflow_id: str | None = None,
    ) -> DownloadOutcome:
        from orchestration.downloads import DownloadOutcome, download_blob

        try:
            return download_blob(
                self.client,
                blob_id,
                target,
                nsfw_level=nsfw_level,
                workflow_id=workflow_id,
                progress=self.progress,
            )
        except (UpstreamError, OSError, OrchestrationRefusal) as exc:
            return DownloadOutcome(blob_id, "failed", reason=str(exc))

    def _download_summary(self, outcomes: list[DownloadOutcome], target: Path) -> Result:
        counts: dict[str, int] = {}
        for outcome in outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing"
        self.write(f"Done: {summary} (directory: {target})")
        return Result(1 if counts.get("failed") else 0)


def scan_brief(scan: ScanResult) -> str:
    parts = []
    if scan.csam_score_unparsed:
        parts.append(f"CSAM score unreadable ({scan.csam_score_raw!r})")
    elif scan.csam_score_present:
        parts.append("CSAM " + ", ".join(percent(s) for s in scan.csam_scores))
    if scan.vlm_summary:
        parts.append(f"VLM {scan.vlm_summary}")
    if scan.blocked_reason:
        parts.append(f"blocked: {scan.blocked_reason}")
    return "; ".join(parts) or "-"


def outcome_line(outcome: DownloadOutcome) -> str:
    if outcome.status == "downloaded":
        return f"  downloaded {outcome.blob_id} -> {outcome.path} ({outcome.size} bytes)"
    if outcome.status == "skipped":
        return f"  skipped {outcome.blob_id}: {outcome.reason} ({outcome.path})"
    if outcome.status == "refused":
        return f"  NOT FETCHED {outcome.blob_id}: {outcome.reason}"
    return f"  FAILED {outcome.blob_id}: {outcome.reason}"
