#!/usr/bin/env python
"""Run every benchmark and write docs/benchmarks.md from their results (``make bench``).

1. Create ``civitrack_bench_shared`` on the local PostgreSQL server, migrate it and
   fill it with ``seed_scale`` (timed: that is the first figure of the report).
2. Run each ``bench/bench_*.py`` as its own process with ``BENCH_DATABASE_URL``
   pointing at that database, so scripts share one seeded database; each prints a
   Markdown section and writes ``bench/results/<name>.json``. Before each, the server
   is let settle (``common.settle``: autovacuum done, a checkpoint), so no script is
   timed while the server still digests the one before it.
3. Drop the database and render the report: machine, date, every figure, how it was
   measured, the goals, and for every missed goal by how much and why.

Usage: ``python bench/run_all.py [NAME ...]`` (names like ``admin`` to run a subset;
the report then holds only those); ``python bench/run_all.py --render-only`` rewrites
the report from the last run's ``bench/results/_run.json``. Environment: ``BENCH_PG_URL`` (server, default
``postgres://postgres@127.0.0.1:5432``), ``BENCH_POSTS``/``BENCH_ASSETS``/``BENCH_PROMPTS``
(scale, default 20000/100000/50000), ``BENCH_OUTPUT`` (report path).
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

SCRIPT_TIMEOUT_S = 600
SEED_GOAL_S = 120
TOTAL_GOAL_S = 20 * 60
OUTPUT = Path(os.environ.get("BENCH_OUTPUT", common.ROOT / "docs" / "benchmarks.md"))


def machine() -> dict:
    """What the figures were measured on."""
    mem_kb = 0
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import django
    import psycopg

    with psycopg.connect(f"{common.PG_URL}/postgres") as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(mem_kb / 1024**2, 1),
        "postgresql": pg_version,
        "python": platform.python_version(),
        "django": django.get_version(),
        "os": f"{platform.system()} {platform.release()}",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def declared(script: Path, name: str, default: int) -> int:
    """A script's module-level ``NAME = <int>`` setting, read from its text (not imported:
    scripts set Django up when they start)."""
    match = re.search(rf"^{name} = (\d[\d_]*)", script.read_text(), re.MULTILINE)
    return int(match.group(1)) if match else default


def uses_shared_database(script: Path) -> bool:
    """False for a script that declares ``USES_SHARED_DATABASE = 0`` (it seeds its own)."""
    return bool(declared(script, "USES_SHARED_DATABASE", 1))


def run_script(script: Path, url: str) -> dict:
    """Run one benchmark; return its JSON result, or a 'failed' result with its error.

    A script may declare ``TIMEOUT_S = <seconds>`` when it needs longer than
    ``SCRIPT_TIMEOUT_S``."""
    name = script.stem.removeprefix("bench_")
    timeout = declared(script, "TIMEOUT_S", SCRIPT_TIMEOUT_S)
    result_file = common.RESULTS / f"{name}.json"
    result_file.unlink(missing_ok=True)
    env = common.django_env(url) | {"BENCH_DATABASE_URL": url}
    vacuum_s, checkpoint_s = common.settle()
    print(
        f"\n=== {script.name} (settled: {vacuum_s:.1f} s for autovacuum,"
        f" {checkpoint_s:.1f} s checkpoint)",
        flush=True,
    )
    started = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=common.ROOT,
        )
        stdout, stderr, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        stdout, stderr, code = exc.stdout or "", f"timed out after {timeout} s", -1
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
    elapsed = time.perf_counter() - started
    print(stdout, end="")
    if code != 0 or not result_file.exists():
        print(stderr[-3000:], file=sys.stderr)
        return {
            "name": name,
            "title": script.name,
            "status": "failed",
            "reason": f"exit status {code}: {stderr.strip().splitlines()[-1:] or ['no output']}",
            "stdout": stdout,
            "elapsed_s": elapsed,
            "settle_s": [vacuum_s, checkpoint_s],
        }
    result = json.loads(result_file.read_text())
    result.setdefault("name", name)
    result["elapsed_s"] = elapsed
    result["settle_s"] = [vacuum_s, checkpoint_s]
    result["stdout"] = stdout
    return result


def section(result: dict) -> str:
    """A result's Markdown: its own rendering when it has one, else what the script printed."""
    if result.get("markdown"):
        text = result["markdown"]
    elif result.get("status") == "failed" or not (result.get("figures") or result.get("goals")):
        text = common.render_section(result)
        if result.get("stdout", "").strip():
            text += "\n" + result["stdout"].strip() + "\n"
    else:
        text = common.render_section(result)
    settled = ""
    if settle := result.get("settle_s"):
        settled = (
            f" Before it: {settle[0]:.0f} s waiting for autovacuum to finish,"
            f" {settle[1]:.1f} s of CHECKPOINT (`common.settle`)."
        )
    return text.rstrip() + f"\n\n*Script time: {result.get('elapsed_s', 0):.0f} s.{settled}*\n"


def goals_of(result: dict) -> list[dict]:
    goals = []
    for g in result.get("goals") or []:
        if isinstance(g, dict) and {"what", "met"} <= set(g):
            goals.append({**g, "bench": result.get("name", "")})
    return goals


ABOUT = """
## How the benchmarks work

    make bench                          # everything, then rewrites this page (12 min at load 1-5)
    .venv/bin/python bench/run_all.py admin        # a subset
    .venv/bin/python bench/run_all.py --render-only  # rewrite this page from the last results
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/mydb .venv/bin/python bench/bench_list_posts.py

`run_all.py` creates `civitrack_bench_shared` on the local server (`BENCH_PG_URL`,
default `postgres://postgres@127.0.0.1:5432`; `BENCH_DB_PREFIX` changes the
`civitrack_bench_` prefix of every throw-away database), migrates it, seeds it with `seed_scale`
(`BENCH_POSTS`/`BENCH_ASSETS`/`BENCH_PROMPTS`), runs each `bench/bench_*.py` as its own
process with `BENCH_DATABASE_URL` set, and drops the database at the end. A script run
on its own creates and drops `civitrack_bench_<name>` itself. Scripts set up Django
themselves (`DJANGO_SETTINGS_MODULE=civitrack.settings`, `DEBUG=true`), print a Markdown
section and write `bench/results/<name>.json` (`bench/common.py: write_result`):
`title`, `status` (`ok`/`skipped`/`failed`), `reason`, `how`, `figures`
(`what`/`value`/`unit`), `goals` (`what`/`goal`/`value`/`met`/`why`), `details`. A
result without that shape is still reported, with what the script printed.

### The data set: `seed_scale`

    python manage.py seed_scale --posts 20000 --assets 100000 --prompts 50000 [--workflows N] [--batch 5000] [--seed N] [--force]

Writes, in one transaction: five creator accounts (unusable passwords), prompts
built from word lists (image and video prompts, a quarter captions), posts (85%
published, 10% pending, 5% failed, three accounts, titles and descriptions), assets
(85% images, 80% generated, unique sha256 from a counter, Civitai image ids for assets
of published posts, input prompts and some caption output prompts), lineage (10% of
assets made from 1-2 earlier ones), engagement snapshots and, with `--workflows`,
mirrored Orchestration workflows with a step, job, blob and scan each; `created_at`
spread over the last year, rising with the id. It refuses a database that already has
prompts, assets or posts unless `--force` (then ids and hashes start above what
exists). On PostgreSQL rows go in with COPY, foreign keys and (for large loads) unique
keys and indexes are rebuilt once at the end with a 1 GB `maintenance_work_mem` and
parallel B-tree builds, the commit does not wait for the WAL flush, and it ends with
`VACUUM (ANALYZE)` (docs/scale.md). Seeded rows have no django-simple-history entries.

### Search on indexes (PostgreSQL)

Migration `tracking/0002_search_trigram_indexes` creates `pg_trgm` and GIN trigram
indexes on `UPPER(col::text)` — the exact expression of Django's `icontains` on
PostgreSQL — for prompt text and model, asset URL and Civitai URL, post Civitai URL,
title and description. It does nothing on SQLite; reversing drops the indexes and
keeps the extension. The admin searches were changed so those indexes are usable:

- `=civitai_id` (`iexact`, `UPPER(civitai_id::text) = ...`, no index) became
  `civitai_id__exact`, skipped for non-numeric terms; sha256 is matched exactly on the
  lower-cased term (the unique B-tree).
- The asset search across the prompt relation (`input_prompt__prompt_text`) and the
  post relation made a LEFT JOIN with an OR spanning two tables: a sequential scan of
  both (1.7 s per search page at this scale before the change). `AssetAdmin.get_search_results`
  (tracking/search.py) writes it as `input_prompt_id = ANY(ARRAY(SELECT id FROM
  tracking_prompt WHERE ...))`, which PostgreSQL answers with a BitmapOr of index scans
  (plans above). `IN (subquery)` is not enough: under an OR it becomes a hashed SubPlan
  over a sequential scan (134 ms against 9 ms for the same count).
- Since issue 17 the asset and post searches are routed by the shape of each term
  (a number, a hash, a URL, free text; docs/scale.md) instead of ORing every
  condition for every term.
- The per-row counts on the post and prompt lists (`annotate(Count(...))`) joined and
  grouped the whole asset table in every query of the page — the count, each list
  filter, the date hierarchy: 1.2-1.6 s per page before. They are correlated subqueries
  now, computed for the 50 rows shown only.
- `show_full_result_count = False` on the three big lists saves a second `COUNT(*)`.
  The first page of every list went from 0.3-1.6 s to the figures above.

### list_civitai_posts with details: what changed

`list_civitai_posts(include_details=True)` built model instances (posts, assets, both
prompts, their users) with `select_related`/`prefetch_related` and serialised them with
`post_dict`. cProfile showed two thirds of its time in model `__init__`, prefetch
managers and queryset clones per object, not in the queries: 3.5-4x the one-query
floor. It now reads `values()` rows (`tracking/serializers.py: posts_page`):
the posts with their creator, then their assets joined to both prompts and the three
creators, with each asset's lineage ids aggregated in the same query (`StringAgg`
over the link table, a correlated subquery, sorted in Python). The total comes with
the page (`matching_count`: an uncorrelated `COUNT(*)` subquery, counted once per
statement) and the asset query is compiled once per page size (`civitrack.compiled`)
— 2 queries instead of 4, whatever the page size. The output is the same document: the benchmark compares the
service with the previous code path and with the reference query whole, and
`tests/tracking/test_list_civitai_posts.py` compares every nested post and asset with
the single-record shapes (`find_asset`, the list without details).

### The Orchestration mirror: sync and staff pages

- `bench_sync.py` serves 10,000 generated workflows from the fake Orchestration API
  in a child process and runs `sync_workflows --max-scans 0` against it, then the same
  page walk without storing (the baseline), a re-sync (all updates) and 200 scan
  fetches. Fixed on the way: `_link_unplaced_jobs` built a CASE expression over every
  job of every page to place jobs stored without a workflow (by a v1 lookup); it now
  looks those up first (usually none): `store_workflows` alone went from 898 to 1,000
  workflows/s (A/B in one process, 3,000 workflows in pages of 50, median of 3). What
  is left and the proposals are in the missed goal above.
- The generated workflows (`tests/fakes/orchestration_data.generate_workflows`) now
  give blob and job ids that carry the user id, so the admin mirror (user 7731) and the
  sync benchmark (user 8801) share no rows in the one database.

### Prompt search

`bench_prompt_search.py` times `search_prompts` (count, the ranked page of 20 with
snippets, their assets) for words of different selectivity in the seeded prompts, next
to the substring search it replaces in the admin (`icontains`, trigram-indexed, newest
20 and the count, no ranking), and checks the GIN plan and the fixed query count.
Ranking must read the vector of every match before it can pick the best 20, so the gap
to the substring page grows with the number of matches; see docs/prompt-search.md.

### The HTTP API under load

`bench_api_load.py` starts gunicorn as the README deploys it (`--workers 2`, the rest
from `gunicorn.conf.py`: gthread workers, keep-alive) with production settings on
loopback and `DATABASE_PREPARED_STATEMENTS` on (gunicorn connects to PostgreSQL
directly), and drives `/healthz`, `create_asset` and `find_asset` with 4 client
threads in interleaved rounds (10 of 1.5 s per endpoint, the order rotated): the goals
are the median of the per-round shares, so each endpoint is compared with `/healthz`
under the same load from the rest of the machine (run one after the other, the shares
moved by 10-20 points from run to run with the same code). The ratio column says how
many times fewer requests per second an endpoint serves than `/healthz` through the
same stack, over all rounds. Where the time goes: the token lookup
is one indexed query compiled once (`civitrack.compiled`, the token and its user built
with `from_db`; plus an UPDATE of `last_used_at` at most once a minute);
`find_asset` runs one query compiled once per combination of keys
that PostgreSQL keeps prepared, so it is neither rebuilt by the
ORM nor planned again (planning its eight joins cost ~2 ms, ten times running it);
`create_asset` on PostgreSQL writes the asset (16 indexes) and its simple-history row
(4) in one statement (`Asset.insert_new`: `WITH new AS (INSERT ... RETURNING *) INSERT
INTO history SELECT ... FROM new`), which is its own transaction, and waits for the
commit: three round trips with the health check and the token, against /healthz's two;
the load generator shares the two cores with
gunicorn and PostgreSQL, so these are floors for this machine, not limits of the code.

### Streamed CSV export

`bench_export.py` downloads the admin's `export.csv` of the first 10,000 and 100,000
assets of the shared database (`BENCH_EXPORT_SIZES`), each in a fresh child process,
and reports the child's peak RSS: a streamed export holds one chunk at a time, so the
peak stays flat as the rows grow. Run alone with sizes as arguments it seeds the
database named by `DATABASE_URL` itself and prints the table only.

### Admin pages at 10k / 100k / 1M rows

`bench_admin.py` grows its own database (`<BENCH_DB_PREFIX>admin`) through 10k, 100k
and 1M assets with a fifth as many posts, half as many prompts and a tenth as many
mirrored workflows, and measures every page at each size: its growth (p50 at 1M / p50
at 10k; for a list measured again at the end with both sizes interleaved, a copy of the
10k database beside the 1M one, so that both see the same load), the same list
through a stock `ModelAdmin` with the same columns, and for
searches the plan and the SQL against a hand-written query. The admin page against
one raw query, the earlier measure, is gone: rendering 50 rows costs 20-70 ms on this
machine whatever the query, so that ratio said more about templates than about data
size. What made the pages grow and what changed is in docs/scale.md.

### Start-up, the sync upsert and find_asset

- `bench_startup.py` spawns `manage.py orchestration test` next to a bare
  `python -c "import requests; requests.get(URL)"` of the same endpoint, and
  `manage.py mcp` to its answer to `initialize` next to a process that only imports the
  MCP SDK, both also through Django's ordinary start-up (the before figures), and lists
  the lean CLI's largest imports (`-X importtime`). The lean paths are
  `civitrack/lean.py` (docs/orchestration-cli.md, docs/recording-tools.md): the MCP
  server answers `initialize` once the SDK is imported and sets Django up in a worker
  thread meanwhile; the CLI skips Django's command machinery and checks every answer
  with pydantic-core's compiled validator fed the core schema pydantic wrote of the
  wire models (`orchestration/wire_schema.json`, `orchestration/wire_check.py`), so it
  imports neither pydantic nor pydantic_core's pure-Python schema module.
- `sync_workflows` on PostgreSQL stores a page with one statement: one array parameter
  per column, a data-modifying CTE per table upserting its `unnest` and joining the
  rows the CTE before returned for their keys, while a second thread fetches the next
  page and builds its arrays (docs/orchestration-pages.md, docs/scale.md); `bench_sync.py` also runs
  the portable `bulk_create` path (before) and checks both store the same mirrored
  document. The fake's schema check (`tests/fakes/spec`) remembers its verdict on an
  answer it has already checked, so the second walk of the same pages (the fetch-only
  baseline) is not slowed by jsonschema: a page of 100 takes ~14 ms in the fake instead
  of ~31. What is left of the gap is the storing, mostly psycopg waiting on the server
  during the upserts (the GIN trigram indexes of orchestration/0005 are
  maintained on every insert).
- `find_asset` reads one `values()` row with the lineage aggregated (it was three
  queries through model instances), compiled once per combination of keys and prepared
  on PostgreSQL with `DATABASE_PREPARED_STATEMENTS`; `bench_api_load.py` states the
  goals as shares of `/healthz` on the same gunicorn.
"""


def render_report(info: dict, seed: dict, results: list[dict], total_s: float) -> str:
    all_goals = goals_of(seed) + [g for r in results for g in goals_of(r)]
    total_goal = common.goal(
        "whole `make bench`",
        f"< {TOTAL_GOAL_S // 60} min",
        f"{total_s / 60:.1f} min",
        total_s < TOTAL_GOAL_S,
        why="the scripts together took longer than the budget",
    )
    all_goals.append({**total_goal, "bench": "run_all"})
    missed = [g for g in all_goals if not g["met"]]
    lines = [
        "# Benchmarks",
        "",
        "Figures from one run of `make bench` (`bench/run_all.py`) on the machine below.",
        "Regenerate with `make bench`: it seeds a throw-away PostgreSQL database with",
        "`seed_scale`, runs every `bench/bench_*.py` against it, drops it and rewrites this",
        "page. Numbers move with machine load; compare runs on the same machine.",
        "",
        "## Machine and run",
        "",
        "| | |",
        "|---|---|",
        f"| date (UTC) | {common.now_iso()} |",
        f"| CPU | {info['nproc']} cores, {info['cpu']} |",
        f"| memory | {info['memory_gib']} GiB |",
        f"| PostgreSQL | {info['postgresql']} (local, 127.0.0.1, default configuration) |",
        f"| Python / Django | {info['python']} / {info['django']} |",
        f"| OS | {info['os']} |",
        f"| load average at start / end | {info['load_average_at_start']} / "
        f"{info.get('load_average_at_end', '?')} |",
        f"| data set | {common.SCALE['posts']} posts, {common.SCALE['assets']} assets, "
        f"{common.SCALE['prompts']} prompts (+ lineage and stats rows, see below) |",
        f"| whole run | {total_s:.0f} s |",
        "",
        "The machine is shared: two cores for eight engineers' builds, tests and",
        "benchmarks at once (see the load average), which inflates every latency and",
        "every wall time here, the p95 and the seeding above all. Ratios measured side by",
        "side in one run hold better than absolute times.",
        "",
        "## Goals",
        "",
        "| benchmark | goal | target | measured | met |",
        "|---|---|---|---|---|",
    ]
    for g in all_goals:
        met = "yes" if g["met"] else "**no**"
        lines.append(f"| {g['bench']} | {g['what']} | {g['goal']} | {g['value']} | {met} |")
    lines.append("")
    if missed:
        lines += ["### Missed goals: by how much and why", ""]
        for g in missed:
            lines.append(f"- **{g['what']}** ({g['bench']}): {g['value']} against {g['goal']}.")
            if g.get("why"):
                lines.append(f"  Why: {g['why']}.")
        lines.append("")
    lines += [section(seed), ""]
    for r in results:
        lines += [section(r), ""]
    lines.append(ABOUT.strip())
    return "\n".join(lines).rstrip() + "\n"


def seed_result(timings: dict, counts: dict) -> dict:
    seconds = timings["seed_s"]
    return {
        "name": "seed_scale",
        "title": "seed_scale: building the data set",
        "status": "ok",
        "how": (
            "`python manage.py seed_scale --posts {posts} --assets {assets} --prompts {prompts}` "
            "(batch 5000) in a child process on a freshly migrated empty database; wall time "
            "of the whole command, process start and the closing VACUUM (ANALYZE) included."
        ).format(**common.SCALE),
        "figures": [
            {
                "what": "migrate (empty database)",
                "value": f"{timings['migrate_s']:.1f}",
                "unit": "s",
            },
            {"what": "seed_scale", "value": f"{seconds:.1f}", "unit": "s"},
            *({"what": f"rows: {k}", "value": v, "unit": ""} for k, v in counts.items()),
        ],
        "goals": [
            common.goal(
                "seed_scale 20k posts / 100k assets / 50k prompts",
                f"< {SEED_GOAL_S} s",
                f"{seconds:.1f} s",
                seconds < SEED_GOAL_S,
                why="bulk inserts were slower than expected on this machine",
            )
        ],
        "elapsed_s": seconds,
    }


def table_counts(url: str) -> dict:
    import psycopg

    tables = {
        "posts": "tracking_post",
        "assets": "tracking_asset",
        "prompts": "tracking_prompt",
        "lineage links": "tracking_asset_input_assets",
        "stats snapshots": "tracking_assetstatssnapshot",
    }
    with psycopg.connect(url) as conn:
        return {
            k: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for k, t in tables.items()
        }


def render_only() -> int:
    """Rewrite the report from the last run's saved results (after editing the prose)."""
    run = json.loads((common.RESULTS / "_run.json").read_text())
    OUTPUT.write_text(render_report(run["machine"], run["seed"], run["results"], run["total_s"]))
    print(f"Wrote {OUTPUT} from {common.RESULTS / '_run.json'}.")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["--render-only"]:
        return render_only()
    started = time.perf_counter()
    wanted = set(argv)
    scripts = sorted((common.ROOT / "bench").glob("bench_*.py"))
    if wanted:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    common.RESULTS.mkdir(parents=True, exist_ok=True)
    info = machine()
    if any(uses_shared_database(s) for s in scripts):
        print(f"Seeding {common.DB_PREFIX}shared ({common.SCALE}) …", flush=True)
        url, timings = common.seeded_database("shared")
        try:
            seed = seed_result(timings, table_counts(url))
            print(common.render_section(seed))
            results = [run_script(script, url) for script in scripts]
        finally:
            common.drop_database(url)
    else:  # every script chosen seeds its own database
        seed = {
            "name": "seed_scale",
            "title": "seed_scale (shared database)",
            "status": "skipped",
            "reason": "no benchmark in this run uses the shared database",
        }
        results = [run_script(script, "") for script in scripts]
    total = time.perf_counter() - started
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    run = {"machine": info, "seed": seed, "results": results, "total_s": total}
    (common.RESULTS / "_run.json").write_text(json.dumps(run, indent=2) + "\n")
    report = render_report(info, seed, results, total)
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(report)
    print(f"\nWrote {OUTPUT} ({total:.0f} s in all).")
    return 1 if any(r.get("status") == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
