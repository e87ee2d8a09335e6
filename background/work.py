"""The work that runs in the background, as plain functions (the tasks in
``background.tasks`` call them; tests call them directly).

Each takes keyword arguments (JSON values: they travel through the queue) and a
``progress(done, total)`` callable, and returns an ``Outcome``. One failing item is
recorded in ``Outcome.item_errors`` and the run goes on; an error that stops the
whole run (upstream down after the client's own retries) is raised, so the engine
retries the task with backoff. Everything written is an upsert or a conditional
update, so a retried or re-run task reaches the same result.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from background.locks import LockBusy, kind_lock

logger = logging.getLogger(__name__)

Progress = Callable[..., None]


@dataclass
class Outcome:
    summary: str
    result: dict[str, Any] = field(default_factory=dict)
    item_errors: list[str] = field(default_factory=list)
    skipped: bool = False


class RunFailed(Exception):
    """Some items failed and deserve a retry of the run (only they are redone)."""

    def __init__(self, outcome: Outcome):
        super().__init__(outcome.summary)
        self.outcome = outcome


def _user(user_id: int | None):
    """The user a run acts for: the one who enqueued it, or the operator for runs that
    no signed-in user asked for (schedules, commands without ``--user``). A user who is
    gone or inactive comes back as ``None``, which the ownership rule refuses."""
    from tracking.permissions import OPERATOR

    if user_id is None:
        return OPERATOR
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


# --- Orchestration mirror ----------------------------------------------------------


def sync_watermark() -> dt.datetime | None:
    """Where an incremental sync starts: the newest ``createdAt`` that the last
    *complete* sync saw, less ``SYNC_WORKFLOWS_OVERLAP``; ``None`` (everything) before
    the first complete sync.

    A run that died halfway stored the newest pages only (the list is newest first),
    so it must not move the watermark: only succeeded runs count.
    """
    from background.models import TaskRun

    for result in (
        TaskRun.objects.filter(kind="sync_workflows", status=TaskRun.Status.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .values_list("result", flat=True)[:20]
    ):
        newest = (result or {}).get("newest_created_at")
        if newest:
            return dt.datetime.fromisoformat(newest) - dt.timedelta(
                seconds=settings.SYNC_WORKFLOWS_OVERLAP
            )
        if (result or {}).get("complete"):
            return None
    return None


def sync_workflows(
    *,
    progress: Progress,
    incremental: bool = True,
    from_date: str | None = None,
    to_date: str | None = None,
    tags: list[str] | None = None,
    max_workflows: int | None = None,
    max_scans: int | None = None,
    page_size: int | None = None,
) -> Outcome:
    """Mirror Orchestration workflows; incremental from the watermark unless dates are given.

    Holds the ``sync_workflows`` lock: a second run while one is going is skipped.
    """
    from orchestration import sync
    from orchestration.models import Workflow

    if not settings.CIVITAI_API_TOKEN:
        return Outcome("Skipped: CIVITAI_API_TOKEN is not set", skipped=True)
    start = dt.datetime.fromisoformat(from_date) if from_date else None
    end = dt.datetime.fromisoformat(to_date) if to_date else None
    if incremental and start is None and end is None:
        start = sync_watermark()
    began = timezone.now()
    total = max_workflows

    def on_page(stats, _n):
        progress(stats.workflows, total)

    try:
        with kind_lock("sync_workflows"):
            stats = sync.sync_workflows(
                from_date=start,
                to_date=end,
                tags=tags or (),
                max_workflows=max_workflows,
                max_scans=max_scans,
                page_size=page_size or sync.PAGE_SIZE,
                on_page=on_page,
            )
    except LockBusy:
        return Outcome("Skipped: another sync_workflows run is in progress", skipped=True)
    newest = (
        Workflow.objects.filter(synced_at__gte=began)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    # Bounded runs (--max, tags, an end date) saw a slice only: they do not move the
    # watermark, or the next incremental run would skip what they left out.
    complete = max_workflows is None and not tags and end is None
    return Outcome(
        f"Synced {stats}" + (f" since {start:%Y-%m-%d %H:%M}" if start else ""),
        result={
            "workflows": stats.workflows,
            "steps": stats.steps,
            "jobs": stats.jobs,
            "blobs": stats.blobs,
            "scans": stats.scans,
            "pages": stats.pages,
            "from": start.isoformat() if start else None,
            "complete": complete,
            "newest_created_at": newest.isoformat() if newest and complete else None,
        },
        item_errors=list(stats.errors),
    )


def refresh_workflow(*, progress: Progress, workflow_id: str) -> Outcome:
    """The "Refresh from API" button of a workflow page."""
    from orchestration import sync

    progress(0, 1)
    sync.sync_workflow(workflow_id)
    progress(1, 1)
    return Outcome(f"Workflow {workflow_id} refreshed from the API")


def refresh_job(*, progress: Progress, job_id: str) -> Outcome:
    """The "Refresh from API" button of a job page: the job, its scan, its workflow if new.

    A job the API no longer knows keeps what was read earlier, and its scan is marked
    unknown, so its media stays withheld (fail closed).
    """
    from civitrack.http import NotFound
    from orchestration import sync
    from orchestration.models import Job

    progress(0, 1)
    try:
        sync.sync_job(job_id)
    except NotFound:
        if job := Job.objects.filter(civitai_id=job_id).first():
            sync.mark_scan_unknown(job)
        raise
    progress(1, 1)
    return Outcome(f"Job {job_id} and its scan refreshed from the API")


# --- Civitai posts -------------------------------------------------------------------


def import_post(*, progress: Progress, post: str, user_id: int | None = None) -> Outcome:
    """Import (or import again) one Civitai post with its images."""
    from tracking.civitai_import import import_civitai_post

    progress(0, 1)
    result = import_civitai_post(post=post, user=_user(user_id))
    progress(1, 1)
    return Outcome(
        f"Imported Civitai post {result['post']['civitai_id']}: {result['created']} asset(s) "
        f"created, {result['updated']} updated",
        result={
            "post_id": result["post"]["post_id"],
            "civitai_id": result["post"]["civitai_id"],
            "created": result["created"],
            "updated": result["updated"],
        },
    )


def sync_stats(
    *, progress: Progress, post_ids: list[int] | None = None, user_id: int | None = None
) -> Outcome:
    """Engagement snapshots for every tracked post (or the given ones); one failure goes on."""
    from tracking.civitai_import import sync_post_asset_stats
    from tracking.errors import ToolError
    from tracking.models import Post

    posts = Post.objects.order_by("id")
    if post_ids is not None:
        posts = posts.filter(pk__in=post_ids)
    pks = list(posts.values_list("pk", flat=True))
    snapshots, errors = 0, []
    progress(0, len(pks))
    user = _user(user_id)
    for n, pk in enumerate(pks, 1):
        try:
            snapshots += sync_post_asset_stats(post_id=str(pk), user=user)["snapshots_created"]
        except ToolError as exc:
            errors.append(f"post {pk}: {exc.message}")
        progress(n, len(pks))
    return Outcome(
        f"Stored {snapshots} stats snapshot(s) for {len(pks) - len(errors)} of {len(pks)} post(s)",
        result={"posts": len(pks), "snapshots": snapshots, "failed": len(errors)},
        item_errors=errors,
    )


# --- hashing -------------------------------------------------------------------------


def hash_assets(*, progress: Progress, limit: int | None = None) -> Outcome:
    """Fill ``Asset.sha256sum`` where it is still null and the URL can be hashed.

    A download that fails is recorded and, at the end, raised as ``RunFailed`` so the
    engine retries the run with backoff; the retry hashes only what is still null.
    """
    from tracking.errors import ToolError
    from tracking.file_facts import facts_of_path
    from tracking.hashing import can_hash
    from tracking.models import Asset

    todo = [
        (pk, url, kind)
        for pk, url, kind in Asset.objects.filter(sha256sum__isnull=True)
        .order_by("id")
        .values_list("pk", "asset_url", "asset_type")
        if can_hash(url)
    ][: limit or None]
    done, errors, retryable = 0, [], False
    progress(0, len(todo))
    for n, (pk, url, kind) in enumerate(todo, 1):
        try:
            # The same read gives the perceptual hashes (tracking/file_facts.py).
            result, facts = facts_of_path(url, kind)
            digest = result.sha256sum
            values = Asset.perceptual_values(facts.phash, facts.dhash, facts.video_signature)
            with transaction.atomic():
                done += Asset.objects.filter(pk=pk, sha256sum__isnull=True).update(
                    sha256sum=digest, perceptual_checked_at=timezone.now(), **values
                )
        except IntegrityError:
            other = Asset.objects.filter(sha256sum=digest).values_list("pk", flat=True).first()
            errors.append(f"asset {pk}: same file as asset {other}; left unhashed")
        except ToolError as exc:
            errors.append(f"asset {pk}: {exc.message}")
            retryable = retryable or exc.code == "upstream_error"
        progress(n, len(todo))
    outcome = Outcome(
        f"Hashed {done} of {len(todo)} asset(s)",
        result={"candidates": len(todo), "hashed": done, "failed": len(errors)},
        item_errors=errors,
    )
    if retryable:
        raise RunFailed(outcome)
    return outcome


def hash_perceptual(*, progress: Progress, limit: int | None = None) -> Outcome:
    """Backfill perceptual hashes (``tracking/file_facts.py``) for assets never read for them.

    Candidates: images and videos whose file was never read for perceptual hashes
    (``perceptual_checked_at`` null) and whose URL can be hashed. A file that reads
    but cannot be decoded (not an image, a decompression bomb) is marked as checked
    with no hash, so it is not downloaded again every hour. When the asset has a
    sha256 and the bytes read now have another, the URL no longer serves the
    recorded file: nothing is stored and the run reports it. Download failures are
    retried with the run (``RunFailed``); only what is still unchecked is redone.
    """
    from tracking.errors import ToolError
    from tracking.file_facts import facts_of_path
    from tracking.hashing import can_hash
    from tracking.models import Asset

    todo = [
        row
        for row in Asset.objects.filter(perceptual_checked_at__isnull=True, phash__isnull=True)
        .order_by("id")
        .values_list("pk", "asset_url", "asset_type", "sha256sum")
        if can_hash(row[1])
    ][: limit or None]
    hashed, undecodable, errors, retryable = 0, 0, [], False
    progress(0, len(todo))
    for n, (pk, url, kind, sha) in enumerate(todo, 1):
        try:
            result, facts = facts_of_path(url, kind)
        except ToolError as exc:
            errors.append(f"asset {pk}: {exc.message}")
            retryable = retryable or exc.code == "upstream_error"
            progress(n, len(todo))
            continue
        if sha and result.sha256sum != sha:
            errors.append(
                f"asset {pk}: the file at asset_url is not the recorded one (sha256 differs);"
                " left without perceptual hashes"
            )
        else:
            values = Asset.perceptual_values(facts.phash, facts.dhash, facts.video_signature)
            changed = Asset.objects.filter(pk=pk, perceptual_checked_at__isnull=True).update(
                perceptual_checked_at=timezone.now(), **values
            )
            if changed and facts.phash is not None:
                hashed += 1
            elif changed:
                undecodable += 1
                errors.append(f"asset {pk}: no perceptual hash: {'; '.join(facts.problems)}")
        progress(n, len(todo))
    outcome = Outcome(
        f"Perceptual hashes for {hashed} of {len(todo)} asset(s); {undecodable} not decodable",
        result={
            "candidates": len(todo),
            "hashed": hashed,
            "undecodable": undecodable,
            "failed": len(errors) - undecodable,
        },
        item_errors=errors,
    )
    if retryable:
        raise RunFailed(outcome)
    return outcome


def hash_blobs(*, progress: Progress, limit: int | None = None) -> Outcome:
    """Fill ``Blob.sha256`` for mirrored blobs whose media the media policy allows.

    The rule is ``Blob.media_policy`` (orchestration/models.py), the one the pages
    use: a withheld blob (blocked, CSAM-flagged, unscanned, scan unknown, confirmed
    violation, no http(s) URL) is never downloaded. Expired signed URLs are skipped
    (a workflow refresh renews them).
    """
    from orchestration.models import Blob
    from tracking.errors import ToolError
    from tracking.hashing import hash_url

    now = timezone.now()
    blobs = list(
        Blob.objects.filter(sha256__isnull=True)
        .select_related("job__scan")
        .order_by("id")[: limit or None]
    )
    hashed, withheld, expired, errors, retryable = 0, 0, 0, [], False
    progress(0, len(blobs))
    for n, blob in enumerate(blobs, 1):
        policy = blob.media_policy()
        if policy.withheld:
            withheld += 1
        elif blob.url_expires_at and blob.url_expires_at <= now:
            expired += 1
        else:
            try:
                digest = hash_url(blob.url).sha256sum
                hashed += Blob.objects.filter(pk=blob.pk, sha256__isnull=True).update(sha256=digest)
            except ToolError as exc:
                errors.append(f"blob {blob.civitai_id}: {exc.message}")
                retryable = retryable or exc.code == "upstream_error"
        progress(n, len(blobs))
    outcome = Outcome(
        f"Hashed {hashed} of {len(blobs)} blob(s); {withheld} withheld by the media policy, "
        f"{expired} with an expired URL",
        result={
            "candidates": len(blobs),
            "hashed": hashed,
            "withheld": withheld,
            "expired": expired,
            "failed": len(errors),
        },
        item_errors=errors,
    )
    if retryable:
        raise RunFailed(outcome)
    return outcome


# --- civitai-records import (issue 18) ---------------------------------------------


def import_civitai_records(
    *,
    progress: Progress,
    source_url: str,
    since: str | None = None,
    merge_duplicates: bool = False,
    user_map: dict[str, str] | None = None,
    schema: str = "civitai",
    batch_size: int = 500,
) -> Outcome:
    """Import a civitai-records database (tracking/legacy_import.py) with progress.

    A run that dies part-way is simply run again: the import skips what is already
    here (docs/moving-from-civitai-records.md).
    """
    from tracking.legacy_import import import_civitai_records as run_import

    class Bar:
        done = total = 0

        def update(self, n: int) -> None:
            self.done += n
            progress(self.done, self.total)

        def close(self) -> None:
            pass

    bar = Bar()

    def start(total: int) -> Bar:
        bar.total = total
        progress(0, total)
        return bar

    try:
        with kind_lock("import_civitai_records"):
            report = run_import(
                source_url=source_url,
                since=dt.datetime.fromisoformat(since) if since else None,
                merge_duplicates=merge_duplicates,
                user_map=user_map or {},
                schema=schema,
                batch_size=batch_size,
                progress=start,
            )
    except LockBusy:
        return Outcome("Skipped: another civitai-records import is in progress", skipped=True)
    created = {table: c["created"] for table, c in report.counts.items()}
    result = report.as_dict()
    result.pop("imported")  # one row per record: the counts say it
    result["problems"] = result["problems"][:1000]
    return Outcome(
        f"Imported from civitai-records: {created['prompts']} prompt(s),"
        f" {created['civitai_posts']} post(s), {created['assets']} asset(s),"
        f" {created['asset_stats']} stats snapshot(s); {len(report.problems)} row(s) reported",
        result=result,
        item_errors=[
            f"{p.table} {p.legacy_id}: {p.message}" for p in report.problems if p.kind == "error"
        ],
    )
