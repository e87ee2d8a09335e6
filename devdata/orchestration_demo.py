"""Demo data for the Orchestration pages, without network.

``load_demo()`` feeds invented API payloads through the same parsing and upserts a
real sync uses (``orchestration.types`` → ``orchestration.sync``), so the demo shows
exactly what a synced mirror looks like: one clean workflow, one mature workflow
whose image needs a logged reveal, one CSAM-flagged/blocked job whose media is
withheld, and a running video workflow not scanned yet. The three scanned jobs form
an open review queue. Media points at small PNGs shipped under
``static/demo/orchestration/``. Timestamps are relative to now; running it again
updates the same rows (no duplicates).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from civitrack.media import static_prefix
from orchestration import types as api
from orchestration.models import Blob
from orchestration.sync import store_job, store_workflows

DEMO_TAG = "civitrack-demo"
WF_CLEAN = "7731-20260912081530412"
WF_MATURE = "7731-20260912090000001"
WF_BLOCKED = "7731-20260912093000002"
WF_RUNNING = "7731-20260912094500003"
JOB_CLEAN = "3b0a3c0e-5f7e-4a8e-9d51-0c2f6e7a9b10"
JOB_MATURE = "5d5d5d5d-1111-4222-8333-444455556666"
JOB_BLOCKED = "6c6c6c6c-0000-4000-8000-00000000c5a1"
JOB_RUNNING = "9d2e7c41-1111-4c5b-8e0f-2a6b3c4d5e6f"


def _static(name: str) -> str:
    return f"{static_prefix()}demo/orchestration/{name}"


def _iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _workflow(
    wf_id: str,
    when: dt.datetime,
    *,
    status: str,
    step_type: str,
    prompt: str,
    blobs: list[dict[str, Any]],
    jobs: list[dict[str, Any]],
    nsfw: str,
    cost: int,
) -> dict[str, Any]:
    done = status in ("succeeded", "failed")
    return {
        "id": wf_id,
        "createdAt": _iso(when),
        "startedAt": _iso(when + dt.timedelta(seconds=1)),
        "completedAt": _iso(when + dt.timedelta(seconds=14)) if done else None,
        "status": status,
        "tags": [DEMO_TAG, "civitrack"],
        "metadata": {"note": "demo data, invented"},
        "arguments": {},
        "callbacks": [],
        "tips": {"civitai": 0, "creators": 0},
        "cost": {"base": cost, "tips": {"civitai": 0, "creators": 0}, "total": cost},
        "nsfwLevel": nsfw,
        "upgradeMode": "manual",
        "currencies": ["yellow"],
        "forceRefunded": False,
        "steps": [
            {
                "$type": step_type,
                "name": "0",
                "priority": "normal",
                "status": status,
                "metadata": {},
                "input": {"engine": "flux", "prompt": prompt, "negativePrompt": "blurry"},
                **({"output": {"images": blobs, "errors": []}} if blobs else {}),
                "jobs": jobs,
            }
        ],
    }


def _job(
    job_id: str,
    wf_id: str,
    when: dt.datetime,
    *,
    event: str,
    context: dict[str, Any],
    results: list[dict[str, Any]],
    prompt: str,
    flags: dict[str, bool],
    cost: int,
) -> dict[str, Any]:
    return {
        "jobId": job_id,
        "cost": cost,
        "scheduled": False,
        "properties": {"userId": 7731, "workflowId": wf_id},
        "result": results,
        "lastEvent": {
            "jobId": job_id,
            "type": event,
            "dateTime": _iso(when + dt.timedelta(seconds=13)),
            "provider": "civitai",
            "workerId": "wrk-demo-1",
            "jobDuration": "00:00:12.8150000",
            "context": context,
        },
        "job": {
            "type": "TextToImageV2",
            "createdAt": _iso(when + dt.timedelta(seconds=1)),
            "params": {"prompt": prompt, "negativePrompt": "blurry", "width": 256, "height": 256},
            "properties": {"workflowId": wf_id},
            "promptClassificationResult": flags,
        },
    }


def demo_payloads(now: dt.datetime | None = None) -> tuple[list[dict], list[dict]]:
    """The invented workflow and v1 job payloads (the API's shapes, as the fake in tests/fakes/orchestration_data.py serves them)."""
    now = (now or timezone.now()).replace(microsecond=0)
    t_clean, t_mature = now - dt.timedelta(hours=3), now - dt.timedelta(hours=2)
    t_blocked, t_running = now - dt.timedelta(hours=1), now - dt.timedelta(minutes=5)
    no_flags = {"sexual": False, "young": False, "cr": False, "scan": False}
    lantern = {
        "type": "image",
        "id": "4C1D9E0B7A2F4E61B3D8A5C0F9E2B714.png",
        "available": True,
        "url": _static("lantern.png"),
        "jobId": JOB_CLEAN,
        "nsfwLevel": "pg",
        "width": 256,
        "height": 256,
    }
    fox = {**lantern, "id": "F0C5F0C5F0C5F0C5F0C5F0C5F0C5F0C5.png", "url": _static("fox.png")}
    dusk = {
        "type": "image",
        "id": "77AE00112233445566778899AABBCCF0.png",
        "available": True,
        "url": _static("dusk.png"),
        "jobId": JOB_MATURE,
        "nsfwLevel": "r",
        "width": 256,
        "height": 256,
    }
    blocked = {
        "type": "image",
        "id": "B10C0000000000000000000000000001.png",
        "available": False,
        "jobId": JOB_BLOCKED,
        "nsfwLevel": "xxx",
        "blockedReason": "csam_scan",
        "width": 256,
        "height": 256,
    }

    # One job per workflow here, so each job costs what its workflow costs in total.
    def step_job(job_id: str, status: str, when: dt.datetime, cost: int) -> dict[str, Any]:
        return {
            "id": job_id,
            "status": status,
            "cost": cost,
            "startedAt": _iso(when + dt.timedelta(seconds=1)),
            "completedAt": _iso(when + dt.timedelta(seconds=13))
            if status != "processing"
            else None,
        }

    workflows = [
        _workflow(
            WF_CLEAN,
            t_clean,
            status="succeeded",
            step_type="imageGen",
            prompt="a paper lantern on a pond",
            blobs=[lantern, fox],
            jobs=[step_job(JOB_CLEAN, "succeeded", t_clean, 8)],
            nsfw="pg",
            cost=8,
        ),
        _workflow(
            WF_MATURE,
            t_mature,
            status="succeeded",
            step_type="imageGen",
            prompt="a figure at dusk on a hill (demo: rated R)",
            blobs=[dusk],
            jobs=[step_job(JOB_MATURE, "succeeded", t_mature, 4)],
            nsfw="r",
            cost=4,
        ),
        _workflow(
            WF_BLOCKED,
            t_blocked,
            status="failed",
            step_type="imageGen",
            prompt="(demo: a prompt the scanner blocked)",
            blobs=[blocked],
            jobs=[step_job(JOB_BLOCKED, "failed", t_blocked, 4)],
            nsfw="xxx",
            cost=4,
        ),
        _workflow(
            WF_RUNNING,
            t_running,
            status="processing",
            step_type="videoGen",
            prompt="waves at dusk",
            blobs=[],
            jobs=[step_job(JOB_RUNNING, "processing", t_running, 30)],
            nsfw="pg",
            cost=30,
        ),
    ]
    jobs = [
        _job(
            JOB_CLEAN,
            WF_CLEAN,
            t_clean,
            event="Succeeded",
            context={
                "hive_csam_score": "0.03 %, 0.01 %",
                "hive_vlm_summary": "a lantern floating on water",
                "nsfwLevel": "pg",
                "blocked_reason": None,
            },
            results=[
                {"blobKey": lantern["id"], "available": True, "blobUrl": lantern["url"]},
                {"blobKey": fox["id"], "available": True, "blobUrl": fox["url"]},
            ],
            prompt="a paper lantern on a pond",
            flags=no_flags,
            cost=8,
        ),
        _job(
            JOB_MATURE,
            WF_MATURE,
            t_mature,
            event="Succeeded",
            context={
                "hive_csam_score": 0.002,
                "hive_vlm_summary": "R, adult, No_Child",
                "nsfwLevel": "r",
                "blocked_reason": None,
            },
            results=[{"blobKey": dusk["id"], "available": True, "blobUrl": dusk["url"]}],
            prompt="a figure at dusk on a hill (demo: rated R)",
            flags={**no_flags, "sexual": True},
            cost=4,
        ),
        _job(
            JOB_BLOCKED,
            WF_BLOCKED,
            t_blocked,
            event="Failed",
            context={
                "hive_csam_score": 0.91,
                "hive_vlm_summary": "(withheld)",
                "nsfwLevel": "xxx",
                "blocked_reason": "csam_scan",
            },
            results=[{"blobKey": blocked["id"], "available": False}],
            prompt="(demo: a prompt the scanner blocked)",
            flags={**no_flags, "young": True, "scan": True},
            cost=4,
        ),
    ]
    return workflows, jobs


def load_demo() -> None:
    """Store the demo workflows, jobs, blobs and scans (idempotent, no network)."""
    workflows, jobs = demo_payloads()
    with transaction.atomic():
        store_workflows([api.Workflow.from_api(w) for w in workflows])
        for job in jobs:
            store_job(api.Job.from_api(job))
        _hash_demo_files()


def _hash_demo_files() -> None:
    """Give demo blobs the sha256 of the file they show, as a real hashing step would.

    The tracking demo records ``fox.png`` as an asset too, so the blob ↔ asset link of
    the pages has something to show on a fresh ``make run``.
    """
    prefix = static_prefix()
    root = Path(settings.BASE_DIR) / "static"
    for blob in Blob.objects.filter(url__startswith=prefix, sha256__isnull=True):
        path = root / blob.url.removeprefix(prefix)
        if path.is_file():
            blob.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
            blob.save(update_fields=["sha256"])
