"""Orchestration API payloads from civitai-api.md §4.1 (all values invented).

Every function returns a fresh deep copy, so a test may mutate what it gets. The fake
server (``tests.fakes.orchestration``) serves these; type and CLI tests parse them.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

WF_DONE = "7731-20260912081530412"
WF_RUNNING = "7731-20260912080102003"
WF_FAILED = "7731-20260911120000000"
WF_MANAGER = "7731-20260911223001555"
WF_MATURE = "7731-20260912090000001"
BLOB_JPEG = "4C1D9E0B7A2F4E61B3D8A5C0F9E2B714.jpeg"
BLOB_MATURE = "77AE00112233445566778899AABBCCF0.png"
BLOB_BLOCKED = "B10C0000000000000000000000000001.png"
BLOB_VIDEO = "5E5E5E5E5E5E5E5E5E5E5E5E5E5E5E5E.mp4"
JOB_OK = "3b0a3c0e-5f7e-4a8e-9d51-0c2f6e7a9b10"
JOB_CSAM = "6c6c6c6c-0000-4000-8000-00000000c5a1"
JOB_RUNNING = "9d2e7c41-1111-4c5b-8e0f-2a6b3c4d5e6f"
WF_NEW = "7731-20261005123456789-abcd"
BLOB_NEW = "A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0A0.png"
BLOB_GONE_JOB = "D0D0D0D0D0D0D0D0D0D0D0D0D0D0D0D0.png"
JOB_NEW = "0e0e0e0e-1111-4222-8333-444455556666"
JOB_GONE = "0d0d0d0d-dead-4bad-8bad-00000000dead"  # no v1 record: /v1/consumer/jobs 404s

_BASE = {
    "arguments": {},
    "callbacks": [],
    "tips": {"civitai": 0, "creators": 0},
    "upgradeMode": "manual",
    "currencies": ["yellow"],
    "forceRefunded": False,
}


def workflow_done() -> dict[str, Any]:
    """O1 first item: a succeeded imageGen workflow with one available image."""
    return copy.deepcopy(
        {
            "id": WF_DONE,
            "createdAt": "2026-09-12T08:15:30.412Z",
            "startedAt": "2026-09-12T08:15:31.020Z",
            "completedAt": "2026-09-12T08:15:44.907Z",
            "status": "succeeded",
            "tags": ["civitrack"],
            "metadata": {"note": "demo"},
            **_BASE,
            "cost": {"base": 4, "tips": {"civitai": 0, "creators": 0}, "total": 4},
            "nsfwLevel": "pg",
            "steps": [
                {
                    "$type": "imageGen",
                    "name": "0",
                    "priority": "normal",
                    "status": "succeeded",
                    "metadata": {},
                    "input": {"engine": "flux2", "prompt": "a paper lantern on a pond"},
                    "output": {
                        "images": [
                            {
                                "type": "image",
                                "id": BLOB_JPEG,
                                "available": True,
                                "url": "https://blobs.fake.test/4C1D.jpeg?sig=aa11",
                                "urlExpiresAt": "2026-09-12T09:15:44Z",
                                "jobId": JOB_OK,
                                "nsfwLevel": "pg",
                                "width": 1024,
                                "height": 1024,
                            }
                        ],
                        "errors": [],
                    },
                    "jobs": [
                        {
                            "id": JOB_OK,
                            "status": "succeeded",
                            "cost": 4,
                            "startedAt": "2026-09-12T08:15:31.100Z",
                            "completedAt": "2026-09-12T08:15:44.880Z",
                        }
                    ],
                }
            ],
        }
    )


def workflow_running() -> dict[str, Any]:
    """O1 second item: a processing videoGen workflow (no output yet)."""
    return copy.deepcopy(
        {
            "id": WF_RUNNING,
            "createdAt": "2026-09-12T08:01:02.003Z",
            "status": "processing",
            "tags": ["civitrack"],
            "metadata": {},
            **_BASE,
            "cost": {"base": 30, "tips": {"civitai": 0, "creators": 0}, "total": 30},
            "steps": [
                {
                    "$type": "videoGen",
                    "name": "clip",
                    "priority": "normal",
                    "status": "processing",
                    "metadata": {},
                    "estimatedProgressRate": 0.42,
                    "input": {"engine": "wan", "prompt": "waves at dusk"},
                    "jobs": [
                        {
                            "id": JOB_RUNNING,
                            "status": "processing",
                            "cost": 12.5,
                            "startedAt": "2026-09-12T08:01:09Z",
                            "estimatedProgressRate": 0.42,
                        }
                    ],
                }
            ],
        }
    )


def workflow_running_finished() -> dict[str, Any]:
    """The running workflow once it has succeeded, with a video output."""
    data = workflow_running()
    data["status"] = "succeeded"
    data["completedAt"] = "2026-09-12T08:03:00.000Z"
    step = data["steps"][0]
    step["status"] = "succeeded"
    step["estimatedProgressRate"] = None
    step["jobs"][0]["status"] = "succeeded"
    step["output"] = {
        "video": {
            "type": "video",
            "id": BLOB_VIDEO,
            "available": True,
            "jobId": JOB_RUNNING,
            "width": 720,
            "height": 1280,
        }
    }
    return data


def workflow_failed() -> dict[str, Any]:
    """O5: a failed videoGen step, HTTP 200, no output."""
    return copy.deepcopy(
        {
            "id": WF_FAILED,
            "createdAt": "2026-09-11T12:00:00.000Z",
            "status": "failed",
            "tags": ["civitrack"],
            "metadata": {},
            **_BASE,
            "cost": {"base": 8, "tips": {"civitai": 0, "creators": 0}, "total": 8},
            "steps": [
                {
                    "$type": "videoGen",
                    "name": "0",
                    "status": "failed",
                    "priority": "normal",
                    "metadata": {},
                    "input": {"engine": "wan", "prompt": "a storm"},
                    "jobs": [
                        {
                            "id": "1f1f1f1f-2222-4333-8444-555555555555",
                            "status": "failed",
                            "cost": 8,
                        }
                    ],
                }
            ],
        }
    )


def workflow_mature() -> dict[str, Any]:
    """O3 plus a blocked blob and a blob whose job's scan flags CSAM.

    Images: one hidden mature (available false), one with ``blockedReason``, and one
    available image whose job (``JOB_CSAM``) has a CSAM score over the threshold.
    """
    data = workflow_done()
    data["id"] = WF_MATURE
    data["nsfwLevel"] = "x"
    data["createdAt"] = "2026-09-12T09:00:00.001Z"
    data["startedAt"] = "2026-09-12T09:00:01.000Z"
    data["completedAt"] = "2026-09-12T09:00:20.000Z"
    data["steps"][0]["output"]["images"] = [
        {
            "type": "image",
            "id": BLOB_MATURE,
            "available": False,
            "url": None,
            "nsfwLevel": "x",
            "width": 832,
            "height": 1216,
        },
        {
            "type": "image",
            "id": BLOB_BLOCKED,
            "available": True,
            "blockedReason": "policy",
            "jobId": JOB_OK,
        },
        {
            "type": "image",
            "id": "C5A1C5A1C5A1C5A1C5A1C5A1C5A1C5A1.png",
            "available": True,
            "jobId": JOB_CSAM,
            "width": 512,
            "height": 512,
        },
    ]
    return data


def workflow_new_shape() -> dict[str, Any]:
    """The newer snapshot's shape: steps without ``jobs[]``, job ids only on the blobs.

    Step ``0`` succeeded with a deprecation warning; its two images name their jobs
    (``JOB_NEW`` has a v1 record, ``JOB_GONE`` does not). Step ``upscale`` is still
    preparing: it carries ``queuePosition`` and ``preparation``.
    """
    data = workflow_done()
    data["id"] = WF_NEW
    data["status"] = "processing"
    data["createdAt"] = "2026-10-05T12:34:56.789Z"
    data["completedAt"] = None
    step = data["steps"][0]
    del step["jobs"]
    step["warnings"] = [
        {
            "code": "modelDeprecated",
            "message": "flux2 dev is scheduled for retirement",
            "retiresAt": "2027-01-01T00:00:00Z",
            "replacement": "flux2 pro",
        }
    ]
    step["output"]["images"] = [
        {
            "type": "image",
            "id": BLOB_NEW,
            "available": True,
            "url": "https://blobs.fake.test/A0A0.png?sig=cc33",
            "jobId": JOB_NEW,
            "nsfwLevel": "pg",
            "width": 1024,
            "height": 1024,
        },
        {
            "type": "image",
            "id": BLOB_GONE_JOB,
            "available": True,
            "url": "https://blobs.fake.test/D0D0.png?sig=dd44",
            "jobId": JOB_GONE,
            "nsfwLevel": "pg",
            "width": 1024,
            "height": 1024,
        },
    ]
    data["steps"].append(
        {
            "$type": "imageGen",
            "name": "upscale",
            "priority": "normal",
            "status": "preparing",
            "metadata": {},
            "input": {"engine": "comfy", "prompt": "a paper lantern on a pond, detailed"},
            "queuePosition": {
                "support": "available",
                "precedingJobs": 3,
                "estimatedStartAt": "2026-10-05T12:36:00Z",
            },
            "preparation": [
                {
                    "resource": "urn:air:flux1:checkpoint:civitai:111@222",
                    "sizeBytes": 23800000000,
                    "lane": "normal",
                    "progress": 0.25,
                    "etaSeconds": 90,
                }
            ],
        }
    )
    return data


def job_new() -> dict[str, Any]:
    """The v1 job behind ``BLOB_NEW`` of the new-shape workflow."""
    data = job_ok()
    data["jobId"] = JOB_NEW
    data["lastEvent"]["jobId"] = JOB_NEW
    data["result"] = [{"blobKey": BLOB_NEW, "available": True}]
    data["properties"]["workflowId"] = WF_NEW
    data["job"]["properties"]["workflowId"] = WF_NEW
    return data


def workflow_manager() -> dict[str, Any]:
    """O10 item: a manager-API workflow with PascalCase status and site params."""
    data = workflow_done()
    data["id"] = WF_MANAGER
    data["status"] = "Succeeded"
    data["tags"] = ["gen"]
    data["createdAt"] = "2026-09-11T22:30:01.555Z"
    data["metadata"] = {
        "params": {"workflow": "txt2img", "ecosystem": "Flux1", "prompt": "red fox"}
    }
    data["steps"][0]["status"] = "Succeeded"
    data["steps"][0]["input"]["prompt"] = "red fox"
    return data


def job_ok() -> dict[str, Any]:
    """O9: a succeeded v1 job with scan context (low CSAM score)."""
    return copy.deepcopy(
        {
            "jobId": JOB_OK,
            "cost": 4,
            "scheduled": False,
            "properties": {"userId": 7731, "workflowId": WF_DONE},
            "result": [
                {
                    "blobKey": BLOB_JPEG,
                    "available": True,
                    "blobUrl": "https://blobs.fake.test/4C1D.jpeg?sig=bb22",
                    "blobUrlExpirationDate": "2026-09-12T09:15:44Z",
                }
            ],
            "serviceProviders": {"civitai": {"support": "Available"}},
            "lastEvent": {
                "jobId": JOB_OK,
                "type": "Succeeded",
                "dateTime": "2026-09-12T08:15:44.880Z",
                "provider": "civitai",
                "workerId": "wrk-eu-17",
                "jobType": "TextToImageV2",
                "jobDuration": "00:00:12.8150000",
                "claimDuration": "00:00:13.0010000",
                "context": {
                    "hive_csam_score": 0.0003,
                    "hive_vlm_summary": "a lantern floating on water",
                    "nsfwLevel": "pg",
                    "blocked_reason": None,
                    "gpu_ms": 11870,
                },
            },
            "job": {
                "type": "TextToImageV2",
                "createdAt": "2026-09-12T08:15:31.100Z",
                "model": "urn:air:flux1:checkpoint:civitai:111@222",
                "params": {
                    "prompt": "a paper lantern on a pond",
                    "negativePrompt": "blurry",
                    "width": 1024,
                    "height": 1024,
                    "steps": 20,
                    "cfgScale": 3.5,
                    "seed": 4242,
                },
                "properties": {"workflowId": WF_DONE},
                "promptClassificationResult": {
                    "sexual": False,
                    "young": False,
                    "cr": False,
                    "scan": False,
                },
            },
        }
    )


def job_zero_percent() -> dict[str, Any]:
    """The seed's example: scores as a percentage string, all zero, classifiers fired."""
    data = job_ok()
    data["lastEvent"]["context"]["hive_csam_score"] = "0.00 %, 0.00 %"
    data["lastEvent"]["context"]["hive_vlm_summary"] = "X, No_Child"
    data["job"]["promptClassificationResult"] = {
        "sexual": True,
        "young": True,
        "cr": False,
        "scan": True,
    }
    return data


def job_csam() -> dict[str, Any]:
    """O9 blocked variant: failed, ``blocked_reason: csam_scan``, score 0.91."""
    data = job_ok()
    data["jobId"] = JOB_CSAM
    data["lastEvent"]["jobId"] = JOB_CSAM
    data["lastEvent"]["type"] = "Failed"
    data["lastEvent"]["context"]["blocked_reason"] = "csam_scan"
    data["lastEvent"]["context"]["hive_csam_score"] = 0.91
    data["result"] = [{"blobKey": "C5A1C5A1C5A1C5A1C5A1C5A1C5A1C5A1.png", "available": False}]
    data["properties"]["workflowId"] = WF_MATURE
    data["job"]["properties"]["workflowId"] = WF_MATURE
    return data


def generate_workflows(
    n: int, *, user_id: int = 7731, start: datetime | None = None, tag: str = "bench"
) -> list[dict[str, Any]]:
    """``n`` small workflows, newest first, cheap enough for 10,000 in a benchmark.

    Every tenth one failed, every seventh one is tagged ``gen`` too; ids follow the
    real ``{userId}-{yyyyMMddHHmmssfff}`` shape, one second apart. Blob and job ids
    carry the user id too, so two users' generated workflows share no blob or job.
    """
    start = start or datetime(2026, 9, 1, tzinfo=UTC)
    items = []
    for i in range(n):
        created = start + timedelta(seconds=n - i)
        stamp = created.strftime("%Y%m%d%H%M%S") + f"{i % 1000:03d}"
        status = "failed" if i % 10 == 9 else "succeeded"
        tags = [tag, "gen"] if i % 7 == 0 else [tag]
        iso = created.isoformat().replace("+00:00", "Z")
        items.append(
            {
                "id": f"{user_id}-{stamp}",
                "createdAt": iso,
                "completedAt": iso,
                "status": status,
                "tags": tags,
                "metadata": {"n": i, "params": {"prompt": f"generated prompt {i}"}},
                **_BASE,
                "cost": {"base": 1, "tips": {"civitai": 0, "creators": 0}, "total": 1},
                "nsfwLevel": "pg",
                "steps": [
                    {
                        "$type": "imageGen",
                        "name": "0",
                        "priority": "normal",
                        "status": status,
                        "metadata": {},
                        "input": {"engine": "flux2", "prompt": f"generated prompt {i}"},
                        "output": {
                            "images": [
                                {
                                    "type": "image",
                                    "id": f"{user_id:08X}{i:024X}.png",
                                    "available": status == "succeeded",
                                    "jobId": f"{user_id:08x}-0000-4000-8000-{i:012d}",
                                    "nsfwLevel": "pg",
                                    "width": 512,
                                    "height": 512,
                                }
                            ]
                        },
                    }
                ],
            }
        )
    return items
