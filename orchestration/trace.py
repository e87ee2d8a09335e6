"""The trace between a tracked asset and the Orchestration results that produced it.

The link is the file's content hash: ``Asset.sha256sum`` (tracking) equals
``Blob.sha256`` (the mirror; filled by the ``hash_blobs`` task for blobs the media
policy allows). From an asset: the workflow, step, job, prompt and scan behind each
blob with that hash. From a job: the tracked assets with its blobs' hashes and the
Civitai posts they were published in. Nothing here returns media URLs.

``trace_asset`` is the tool of contract §3 (MCP and HTTP, via the tool registry);
the asset admin page and the job page use ``trace_for_sha`` and ``assets_for_job``.
"""

from __future__ import annotations

from typing import Any

from orchestration.models import Blob, Job
from tracking.errors import InvalidInput, RecordNotFound
from tracking.serializers import asset_dict, iso, post_dict


def _scan_dict(job: Job | None) -> dict[str, Any] | None:
    scan = job.scan_or_none if job else None
    if scan is None:
        return None
    return {
        "state": scan.state,
        "csam_score_max": scan.csam_score_max,
        "is_blocked": scan.is_blocked,
        "blocked_reason": scan.blocked_reason or None,
        "nsfw_level": scan.nsfw_level or None,
        "prompt_flagged": scan.prompt_flagged,
        "fetched_at": iso(scan.fetched_at),
    }


def trace_for_sha(sha256: str) -> list[dict[str, Any]]:
    """Every mirrored blob with this content hash, with its workflow, step, job, prompt, scan.

    Three queries whatever the number of blobs (blobs with their relations, then scans).
    """
    blobs = (
        Blob.objects.filter(sha256=sha256.lower())
        .select_related("workflow", "step", "job__scan")
        .order_by("id")
    )
    rows = []
    for blob in blobs:
        wf, step, job = blob.workflow, blob.step, blob.job
        scan = job.scan_or_none if job else None
        prompt = (step.prompt if step else "") or (scan.prompt if scan else "") or None
        rows.append(
            {
                "blob_id": blob.civitai_id,
                "workflow": wf
                and {
                    "workflow_id": wf.civitai_id,
                    "status": wf.status,
                    "tags": wf.tags,
                    "created_at": iso(wf.created_at),
                },
                "step": step
                and {"name": step.name, "step_type": step.step_type, "status": step.status},
                "job": job and {"job_id": job.civitai_id, "status": job.status},
                "prompt": prompt,
                "negative_prompt": (step.negative_prompt if step else "") or None,
                "scan": _scan_dict(job),
            }
        )
    return rows


def trace_asset(*, user=None, asset_id: Any = None, sha256sum: Any = None) -> dict[str, Any]:
    """The Orchestration workflow/step/job/scan that produced a file, and the post it is in.

    By ``asset_id`` (a tracked asset), ``sha256sum`` (any file), or both (both must
    match). ``found`` tells whether any Orchestration result has the file's hash.
    """
    from tracking.models import Asset
    from tracking.services import parse_id, parse_sha256

    if asset_id is None and sha256sum is None:
        raise InvalidInput("At least one of asset_id or sha256sum is required")
    asset = None
    sha = parse_sha256(sha256sum) if sha256sum is not None else None
    if asset_id is not None:
        pk = parse_id("asset_id", asset_id)
        qs = Asset.objects.select_related("post", "created_by").prefetch_related("input_assets")
        asset = qs.filter(pk=pk).first()
        if asset is None or (sha is not None and asset.sha256sum != sha):
            raise RecordNotFound(f"Record not found: asset_id {pk}")
        sha = asset.sha256sum
    elif sha is not None:
        asset = (
            Asset.objects.select_related("post", "created_by")
            .prefetch_related("input_assets")
            .filter(sha256sum=sha)
            .first()
        )
    results = trace_for_sha(sha) if sha else []
    return {
        "sha256sum": sha,
        "found": bool(results),
        "asset": asset_dict(asset) if asset else None,
        "post": post_dict(asset.post) if asset and asset.post_id else None,
        "orchestration": results,
    }


def assets_for_job(job: Job) -> list[dict[str, Any]]:
    """Tracked assets whose file is one of this job's blobs, each with its Civitai post."""
    from tracking.models import Asset

    shas = [s for s in job.blobs.values_list("sha256", flat=True) if s]
    if not shas:
        return []
    return [
        {"asset": a, "post": a.post}
        for a in Asset.objects.filter(sha256sum__in=shas).select_related("post").order_by("id")
    ]
