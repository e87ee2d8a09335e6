"""The mirror as a comparable document: every stored column of every mirrored row.

Used by tests/orchestration/test_sync.py and bench/bench_sync.py to show that the
PostgreSQL array-statement upsert and the ``bulk_create`` one store the very same rows. Primary
keys differ between two stores, so relations are written as the related row's
Civitai id (and a step as ``workflow/name``); ``synced_at`` is the store's clock.
"""

from __future__ import annotations

from typing import Any

SKIP = {"id", "synced_at"}


def _rows(model, key_of, filters: dict[str, Any]) -> dict[str, dict[str, Any]]:
    fields = [f for f in model._meta.concrete_fields if f.name not in SKIP]
    relations = {
        "workflow": "workflow__civitai_id",
        "step": "step__name",
        "job": "job__civitai_id",
    }
    names = [relations.get(f.name, f.attname) for f in fields]
    extra = ["step__workflow__civitai_id"] if any(f.name == "step" for f in fields) else []
    rows = {}
    for row in model.objects.filter(**filters).values(*names, *extra):
        rows[key_of(row)] = row
    return rows


def mirror_document(prefix: str) -> dict[str, dict[str, dict[str, Any]]]:
    """Workflows whose Civitai id starts with ``prefix``, with their steps, jobs and blobs."""
    from orchestration.models import Blob, Job, Step, Workflow

    return {
        "workflows": _rows(Workflow, lambda r: r["civitai_id"], {"civitai_id__startswith": prefix}),
        "steps": _rows(
            Step,
            lambda r: f"{r['workflow__civitai_id']}/{r['name']}",
            {"workflow__civitai_id__startswith": prefix},
        ),
        "jobs": _rows(Job, lambda r: r["civitai_id"], {"workflow__civitai_id__startswith": prefix}),
        "blobs": _rows(
            Blob, lambda r: r["civitai_id"], {"workflow__civitai_id__startswith": prefix}
        ),
    }
