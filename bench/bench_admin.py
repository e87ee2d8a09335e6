#!/usr/bin/env python
"""Admin changelists at scale: queries per page, server time, and what the SQL alone costs.

Each case requests one admin page through Django's test Client, logged in as a
superuser: the full request path (middleware, session, the changelist's queries,
template rendering), in-process, no network. Its p50 is compared with one hand-written
SQL query that returns the same page (same columns, joins, order and LIMIT), run on
the same connection. Search cases also print the PostgreSQL plan of the admin's own
search query, captured from the page with CaptureQueriesContext and re-run under
EXPLAIN (ANALYZE, BUFFERS).

Hooks: the orchestration workflows list and the review queue are measured when their
URLs resolve (they land on other branches); until then they are listed as not
available. Add their raw SQL to CASES when they land.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

NAME = "admin"
RUNS = 30
GOAL_RATIO = 2.0


@dataclass
class Case:
    label: str
    path: str
    raw_sql: str | None
    explain: bool = False
    # What-if cases change an admin attribute in this process only, to price a proposal.
    patch: tuple[str, str, object] | None = None


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
        # Hooks: measured once these pages exist (orch-pages branch).
        Case("Orchestration workflows list (hook)", "/orchestration/", None),
        Case("Review queue (hook)", "/orchestration/review/", None),
    ]


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
                        f"the page's SQL is {raw_p50:.1f} ms; the admin runs {len(queries)} "
                        f"queries ({db_ms:.1f} ms in the database: session, user, the count, "
                        "list-filter choices, the date hierarchy) and renders the page "
                        f"(about {max(0.0, admin_p50 - db_ms):.0f} ms of Python)"
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
            "title": "Admin changelists at scale",
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
