#!/usr/bin/env python
"""Admin changelists at scale: queries per page, server time, and what the SQL alone costs.

Each case requests one admin page through Django's test Client, logged in as a
superuser: the full request path (middleware, session, the changelist's queries,
template rendering), in-process, no network. Its p50 is compared with one hand-written
SQL query that returns the same page (same columns, joins, order and LIMIT), run on
the same connection. Search cases also print the PostgreSQL plan of the admin's own
search query, captured from the page with CaptureQueriesContext and re-run under
EXPLAIN (ANALYZE, BUFFERS).

The orchestration staff pages (workflows list, review queue) are measured the same
way on a mirror seeded here through the sync code path: ``BENCH_MIRROR_WORKFLOWS``
(10,000) generated workflows stored by ``orchestration.sync.store_workflows`` in pages
of 500 (each with its step, blob and job), then a scan result for every job
(bulk-inserted, varied: mostly low CSAM scores, 1% over the threshold, 2% blocked,
3% flagged prompts, every NSFW level) and 20% of the jobs already decided, so the
queue holds about 8,000 jobs. A superuser (every permission, so a reviewer) is
logged in.
"""

from __future__ import annotations

import os
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

NAME = "admin"
RUNS = 30
GOAL_RATIO = 2.0
MIRROR_WORKFLOWS = int(os.environ.get("BENCH_MIRROR_WORKFLOWS", "10000"))
MIRROR_USER_ID = 7731


@dataclass
class Case:
    label: str
    path: str
    raw_sql: str | None
    explain: bool = False
    # What-if cases change an admin attribute in this process only, to price a proposal.
    patch: tuple[str, str, object] | None = None
    # Where the database time goes and the proposed fix, for the missed-goal note.
    why: str = (
        "session, user, the count, list-filter choices, the date hierarchy; the rest is "
        "the changelist's Python and template"
    )


ASSET_PAGE = """
SELECT a.*, p.*, u.*
FROM tracking_asset a
LEFT JOIN tracking_post p ON p.id = a.post_id
LEFT JOIN auth_user u ON u.id = a.created_by_id
{where}
ORDER BY a.created_at DESC, a.id DESC
LIMIT 50
"""
POST_PAGE = """
SELECT p.*, COALESCE((SELECT count(*) FROM tracking_asset a WHERE a.post_id = p.id), 0), u.*
FROM tracking_post p
LEFT JOIN auth_user u ON u.id = p.created_by_id
{where}
ORDER BY p.created_at DESC, p.id DESC
LIMIT 50
"""
PROMPT_PAGE = """
SELECT p.*,
       COALESCE((SELECT count(*) FROM tracking_asset a WHERE a.input_prompt_id = p.id), 0),
       u.*
FROM tracking_prompt p
LEFT JOIN auth_user u ON u.id = p.created_by_id
{where}
ORDER BY p.created_at DESC, p.id DESC
LIMIT 50
"""
LIKE = "UPPER({col}::text) LIKE UPPER('%{term}%')"

WORKFLOW_WHY = (
    "session and user lookups, the paginator's COUNT(*), the page with its flag (EXISTS) and "
    "blob count (correlated subquery, since this change; it was a GROUP BY over every "
    "workflow), the steps prefetch; then the filter form and 25 rows of template"
)
WORKFLOW_SEARCH_WHY = (
    "the search joins steps (`steps__prompt__icontains`) and so needs DISTINCT, in the COUNT(*) "
    "and in the page, each reading every workflow and step with LIKE (no trigram index on "
    "these columns). Proposed: an EXISTS on steps instead of the join (no DISTINCT) and "
    "pg_trgm GIN indexes on workflow and step prompts, as on the tracking tables"
)
REVIEW_WHY = (
    "the page query select_related()s the job's scan, workflow and step with every column, "
    "raw JSON included, and sorts all ~8,000 queued jobs by risk before the LIMIT: wide rows "
    "through the sort (the raw query carries two names, not the JSON). Proposed: `.defer()` "
    "the raw/context JSON of the joined rows in `JobQuerySet.for_list` (the queue shows none "
    "of it), or pick the 25 job ids by risk first and join the rest for those only"
)
REVIEW_FILTERED_WHY = (
    "the blocked filter leaves about 160 jobs, so the sort is small; most of the page is "
    "Python: the filter form, the media policy of each blob and the template of 25 rows "
    "with their previews"
)


def like_any(term: str, *cols: str) -> str:
    return "WHERE " + " OR ".join(LIKE.format(col=c, term=term) for c in cols)


def cases(sample_image_id: int, sample_post_id: int) -> list[Case]:
    asset_prompt_search = (
        like_any("lantern", "a.asset_url", "a.civitai_url")
        + " OR a.input_prompt_id = ANY(ARRAY(SELECT id FROM tracking_prompt WHERE "
        + LIKE.format(col="prompt_text", term="lantern")
        + "))"
    )
    return [
        Case("Asset changelist", "/admin/tracking/asset/", ASSET_PAGE.format(where="")),
        Case("Post changelist", "/admin/tracking/post/", POST_PAGE.format(where="")),
        Case("Prompt changelist", "/admin/tracking/prompt/", PROMPT_PAGE.format(where="")),
        Case(
            "Prompt search `lantern`",
            "/admin/tracking/prompt/?q=lantern",
            PROMPT_PAGE.format(where=like_any("lantern", "p.prompt_text", "p.llm_model")),
            explain=True,
        ),
        Case(
            "Asset search `lantern` (URL or generating prompt text)",
            "/admin/tracking/asset/?q=lantern",
            ASSET_PAGE.format(where=asset_prompt_search),
            explain=True,
        ),
        Case(
            f"Asset search by Civitai image id `{sample_image_id}`",
            f"/admin/tracking/asset/?q={sample_image_id}",
            ASSET_PAGE.format(where=f"WHERE a.civitai_id = {sample_image_id}"),
            explain=True,
        ),
        Case(
            "Post search `lantern`",
            "/admin/tracking/post/?q=lantern",
            POST_PAGE.format(
                where=like_any("lantern", "p.civitai_url", "p.title", "p.description")
            ),
            explain=True,
        ),
        Case(
            f"Post search by Civitai post id `{sample_post_id}`",
            f"/admin/tracking/post/?q={sample_post_id}",
            POST_PAGE.format(where=f"WHERE p.civitai_id = {sample_post_id}"),
        ),
        Case(
            "What-if: Asset changelist without date_hierarchy",
            "/admin/tracking/asset/",
            ASSET_PAGE.format(where=""),
            patch=("Asset", "date_hierarchy", None),
        ),
        Case(
            f"What-if: Asset search by image id `{sample_image_id}` without date_hierarchy",
            f"/admin/tracking/asset/?q={sample_image_id}",
            ASSET_PAGE.format(where=f"WHERE a.civitai_id = {sample_image_id}"),
            patch=("Asset", "date_hierarchy", None),
        ),
        Case(
            "Orchestration workflows list",
            "/orchestration/",
            workflow_page_sql(),
            why=WORKFLOW_WHY,
        ),
        Case(
            "Orchestration workflows search `prompt 4242`",
            "/orchestration/?q=prompt+4242",
            workflow_page_sql(search="prompt 4242"),
            why=WORKFLOW_SEARCH_WHY,
        ),
        Case("Review queue", "/orchestration/review/", review_page_sql(), why=REVIEW_WHY),
        Case(
            "Review queue, blocked only",
            "/orchestration/review/?blocked=true",
            review_page_sql(where="AND s.is_blocked"),
            why=REVIEW_FILTERED_WHY,
        ),
    ]


def workflow_page_sql(search: str | None = None) -> str:
    """The workflows list's 25 rows: flag, blob count and step types, newest first."""
    from django.conf import settings

    where = ""
    if search:
        term = search.replace("'", "''")
        where = "WHERE " + " OR ".join(
            [
                LIKE.format(col="w.civitai_id", term=term),
                LIKE.format(col="w.tag_index", term=term),
                LIKE.format(col="w.prompt", term=term),
                "EXISTS (SELECT 1 FROM orchestration_step s WHERE s.workflow_id = w.id AND "
                + LIKE.format(col="s.prompt", term=term)
                + ")",
            ]
        )
    return f"""
SELECT w.*,
  EXISTS (SELECT 1 FROM orchestration_job j JOIN orchestration_scanresult s ON s.job_id = j.id
          WHERE j.workflow_id = w.id AND (s.csam_score_max >= {settings.MODERATION_CSAM_THRESHOLD}
          OR s.csam_score_unparsed OR s.is_blocked OR s.prompt_flagged)) AS has_flagged_job,
  (SELECT count(*) FROM orchestration_blob b WHERE b.workflow_id = w.id) AS blob_count,
  (SELECT json_agg(json_build_object('type', s.step_type, 'status', s.status))
   FROM orchestration_step s WHERE s.workflow_id = w.id) AS steps
FROM orchestration_workflow w
{where}
ORDER BY w.created_at DESC, w.id DESC
LIMIT 25
"""


def review_page_sql(where: str = "") -> str:
    """The review queue's 25 jobs, riskiest first, with scan, workflow, step, claimant, blobs."""
    return f"""
SELECT j.*, s.*, w.civitai_id, st.name, u.username,
  (SELECT json_agg(b.* ORDER BY b.position, b.id) FROM orchestration_blob b
   WHERE b.job_id = j.id) AS blobs
FROM orchestration_job j
JOIN orchestration_scanresult s ON s.job_id = j.id
LEFT JOIN orchestration_workflow w ON w.id = j.workflow_id
LEFT JOIN orchestration_step st ON st.id = j.step_id
LEFT JOIN auth_user u ON u.id = j.claimed_by_id
WHERE j.review_status IN ('pending', 'escalated') {where}
ORDER BY s.csam_score_max DESC NULLS LAST, s.is_blocked DESC, s.nsfw_rank DESC,
         j.created_at DESC NULLS LAST, j.id DESC
LIMIT 25
"""


def seed_mirror(n: int) -> dict:
    """A mirror of ``n`` workflows through the sync code path, plus scans and decisions.

    Returns row counts and the seconds it took. Skipped (counts only) when the mirror
    already holds workflows.
    """
    from django.db import connection, transaction
    from django.utils import timezone

    from orchestration import types as api
    from orchestration.models import (
        NSFW_RANK,
        Blob,
        Job,
        ReviewStatus,
        ScanResult,
        Step,
        Workflow,
    )
    from orchestration.sync import store_workflows
    from tests.fakes import orchestration_data as data

    started = time.perf_counter()
    if not Workflow.objects.exists():
        raw = data.generate_workflows(n, user_id=MIRROR_USER_ID)
        for i in range(0, n, 500):
            with transaction.atomic():
                store_workflows([api.Workflow.from_api(w) for w in raw[i : i + 500]])
        rng = random.Random(7)
        levels = list(NSFW_RANK)
        now = timezone.now()
        scans = []
        for job_pk in Job.objects.values_list("pk", flat=True).iterator():
            roll = rng.random()
            score = 0.5 + rng.random() / 2 if roll < 0.01 else rng.random() / 10
            blocked = "csam_scan" if 0.01 <= roll < 0.03 else ""
            level = rng.choice(levels)
            flagged = 0.03 <= roll < 0.06
            scans.append(
                ScanResult(
                    job_id=job_pk,
                    csam_scores=[round(score, 4)],
                    csam_score_max=round(score, 4),
                    vlm_summary="a generated image",
                    blocked_reason=blocked,
                    is_blocked=bool(blocked),
                    nsfw_level=level,
                    nsfw_rank=NSFW_RANK[level],
                    prompt_sexual=flagged,
                    prompt_young=False,
                    prompt_cr=False,
                    prompt_scan=flagged,
                    prompt_flagged=flagged,
                    prompt="generated prompt",
                    event_type="Succeeded",
                    context={"hive_csam_score": score, "nsfwLevel": level},
                    raw={"jobId": "bench"},
                    fetched_at=now,
                )
            )
        ScanResult.objects.bulk_create(scans, batch_size=2000)
        decided = Job.objects.filter(pk__in=[s.job_id for s in scans[::5]])
        decided.update(review_status=ReviewStatus.CLEARED)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in (Workflow, Step, Job, Blob, ScanResult):
                    cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    return {
        "seconds": time.perf_counter() - started,
        "workflows": Workflow.objects.count(),
        "jobs": Job.objects.count(),
        "blobs": Blob.objects.count(),
        "scans": ScanResult.objects.count(),
        "queue": Job.objects.needing_review().count(),
    }


def page_exists(path: str) -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve(path.split("?")[0])
    except Resolver404:
        return False
    return True


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    common.setup(NAME)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tracking.models import Asset, Post

    mirror = seed_mirror(MIRROR_WORKFLOWS)
    client = Client()
    client.force_login(common.bench_superuser())
    image_id = (
        Asset.objects.exclude(civitai_id=None).order_by("id").values_list("civitai_id", flat=True)
    )[Asset.objects.exclude(civitai_id=None).count() // 2]
    post_id = Post.objects.order_by("id").values_list("civitai_id", flat=True)[
        Post.objects.count() // 2
    ]

    rows, goals, details, figures, breakdown = [], [], [], [], []
    for case in cases(image_id, post_id):
        if not page_exists(case.path):
            rows.append(f"| {case.label} | not available yet | | | | | |")
            continue

        undo = None
        if case.patch:
            from django.apps import apps
            from django.contrib import admin

            model_admin = admin.site._registry[apps.get_model("tracking", case.patch[0])]
            undo = (model_admin, case.patch[1], getattr(model_admin, case.patch[1]))
            setattr(model_admin, case.patch[1], case.patch[2])

        def get(path=case.path):
            response = client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"{path} answered {response.status_code}")
            return response

        with CaptureQueriesContext(connection) as ctx:
            get()
        queries = ctx.captured_queries
        db_ms = sum(float(q["time"]) for q in queries) * 1000
        samples = common.sample_ms(get, runs=RUNS)
        admin_p50, admin_p95 = common.p50(samples), common.p95(samples)

        raw_p50 = ratio = None
        if case.raw_sql:

            def raw(sql=case.raw_sql):
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    return cursor.fetchall()

            raw_samples = common.sample_ms(raw, runs=RUNS)
            raw_p50 = common.p50(raw_samples)
            ratio = admin_p50 / raw_p50
        if ratio is not None and not case.patch:
            goals.append(
                common.goal(
                    f"{case.label}: admin p50 / raw SQL p50",
                    f"≤ {GOAL_RATIO:g}x",
                    f"{ratio:.1f}x ({admin_p50:.1f} / {raw_p50:.2f} ms)",
                    ratio <= GOAL_RATIO,
                    why=(
                        f"the page's SQL is {raw_p50:.1f} ms; the page runs {len(queries)} "
                        f"queries ({db_ms:.1f} ms in the database) and renders "
                        f"(about {max(0.0, admin_p50 - db_ms):.0f} ms of Python): {case.why}"
                    ),
                )
            )
        if undo:
            setattr(*undo)
        slowest = sorted(queries, key=lambda q: float(q["time"]), reverse=True)[:3]
        breakdown.append(
            f"- **{case.label}**: "
            + "; ".join(f"{float(q['time']) * 1000:.0f} ms `{q['sql'][:90]}…`" for q in slowest)
        )
        rows.append(
            f"| {case.label} | {len(queries)} | {admin_p50:.1f} | {admin_p95:.1f} | "
            f"{db_ms:.1f} | {common.fmt_ms(raw_p50)} | "
            f"{'—' if ratio is None else f'{ratio:.1f}x'} |"
        )
        if case.explain:
            search = [
                q["sql"] for q in queries if " LIKE " in q["sql"] or 'civitai_id" = ' in q["sql"]
            ]
            count_sql = next((s for s in search if s.startswith("SELECT COUNT(*)")), None)
            page_sql = next((s for s in search if "LIMIT" in s and "COUNT" not in s[:40]), None)
            for kind, sql in [("count", count_sql), ("page", page_sql)]:
                if sql is None:
                    continue
                plan = explain(sql)
                indexes = sorted(
                    set(
                        re.findall(r"Index (?:Only )?Scan (?:Backward )?using (\w+)", plan)
                        + re.findall(r"Bitmap Index Scan on (\w+)", plan)
                    )
                )
                seq = "Seq Scan" in plan
                if kind == "count":
                    goals.append(
                        common.goal(
                            f"{case.label}: search reads indexes, no sequential scan",
                            "index scans only",
                            ", ".join(indexes) or "no index",
                            bool(indexes) and not seq,
                            why="the plan below has a sequential scan",
                        )
                    )
                details.append(
                    f"**{case.label}** — the admin's {kind} query:\n\n```sql\n{sql}\n```\n\n"
                    f"```text\n{plan}\n```\n"
                )
    figures.append({"what": "runs per case (after 3 warm-up requests)", "value": RUNS, "unit": ""})
    figures.append(
        {
            "what": "orchestration mirror (workflows / jobs / blobs / scans / jobs in the queue)",
            "value": " / ".join(
                str(mirror[k]) for k in ("workflows", "jobs", "blobs", "scans", "queue")
            ),
            "unit": "",
        }
    )
    figures.append(
        {
            "what": "seeding the mirror (sync code path)",
            "value": f"{mirror['seconds']:.1f}",
            "unit": "s",
        }
    )
    table = "\n".join(
        [
            "| page | queries | admin p50 ms | admin p95 ms | admin DB ms | raw SQL p50 | ratio |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    common.write_result(
        NAME,
        {
            "title": "Admin changelists and staff pages at scale",
            "how": (
                f"Django test Client logged in as a superuser, {RUNS} timed GETs per page after "
                "3 warm-ups, wall time of `client.get` (whole request: middleware, session, "
                "queries, rendering; DEBUG on). *queries* and *admin DB ms* come from one "
                "request under CaptureQueriesContext. *raw SQL* is one hand-written query "
                "returning the same 50 rows (same columns, joins, order, LIMIT) through the "
                "same connection, cursor.execute + fetchall. Plans: the admin's own captured "
                "search queries under EXPLAIN (ANALYZE, BUFFERS)."
            ),
            "table": table,
            "figures": figures,
            "goals": goals,
            "details": "### Slowest queries of each page (one request)\n\n"
            + "\n".join(breakdown)
            + "\n\n### Search plans\n\n"
            + "\n".join(details),
        },
    )


if __name__ == "__main__":
    main()
