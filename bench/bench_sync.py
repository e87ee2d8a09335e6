#!/usr/bin/env python
"""``sync_workflows`` of 10,000 workflows from the loopback fake Orchestration server.

The fake (tests/fakes/orchestration.py) runs in a child process so its JSON encoding
does not share this process's GIL, serving ``generate_workflows(10000)`` (one image
step each, its blob and the blob's job) plus a v1 job with a scan for every one of
them. Measured, in order:

1. **sync**: ``manage.py sync_workflows --max-scans 0`` (``call_command``, the
   command's default page size): every page fetched, parsed and upserted, one
   transaction per page, into mirror tables that are empty of these ids;
2. **baseline**: the same client fetching and parsing the same 200 pages, storing
   nothing; the goal compares 1 with 2;
3. **re-sync**: the same command again over the same workflows (every row an
   update: the idempotent path);
4. **bulk_create path**: the mirrored rows of these workflows deleted, then the
   command again with the portable ``bulk_create`` upsert that SQLite uses (and that
   PostgreSQL used before its one-statement path): the before figure, and the document
   it stores must equal what the PostgreSQL path stored (``tests/orchestration/snapshots.py``);
5. **scans**: ``fetch_scans`` of ``ORCHESTRATION_SYNC_MAX_SCANS`` jobs (one v1
   request per job, as a default ``sync_workflows`` run does after its pages).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

NAME = "sync"
WORKFLOWS = int(os.environ.get("BENCH_SYNC_WORKFLOWS", "10000"))
USER_ID = 8801  # ids unlike the admin benchmark's mirror, so phase 1 inserts
GOAL_RATE = 5000  # issue #17
GOAL_RATIO = 2.0

# Why storing, not fetching, sets the pace (docs/scale.md, sync; measured December 4).
STORE_WHY = (
    "The prefetch thread fetches, parses and builds a page's arrays (8.5 ms a page on a "
    "quiet machine) while the database stores the page before, so the slower half is "
    "the storing: 15.5 ms for the page's one statement and 2.9 ms for its commit (the "
    "deferred foreign-key checks), plus about 150 ms every 20-30 pages when the trigram "
    "indexes' pending lists are merged. Of the backend's CPU, index entries are 35% "
    "(7 trigram GIN indexes 17%, B-trees 16%), the foreign-key checks 17% and the JSON "
    "input 13%; each index serves an admin or staff search. The backend, the client and "
    "the fake share two cores, and the figure moves by 15% or more from run to run"
)

# The fake server, run by ``python -c`` with the repository on sys.path: it prints its
# URL and token as one JSON line, then serves until stdin closes.
SERVER = """
import json, sys
from tests.fakes import orchestration_data as data
from tests.fakes.orchestration import FakeOrchestration

fake = FakeOrchestration()
workflows = data.generate_workflows({n}, user_id={user})
fake.add_workflows(workflows)
for wf in workflows:
    for step in wf["steps"]:
        for image in step["output"]["images"]:
            job = data.job_ok()
            job["jobId"] = job["lastEvent"]["jobId"] = image["jobId"]
            job["properties"]["workflowId"] = job["job"]["properties"]["workflowId"] = wf["id"]
            job["result"] = [dict(blobKey=image["id"], available=image["available"])]
            fake.add_job(job)
fake.start()
print(json.dumps({{"url": fake.url, "token": fake.token}}), flush=True)
sys.stdin.read()
fake.stop()
"""


def start_fake() -> tuple[subprocess.Popen, str, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(n=WORKFLOWS, user=USER_ID)],
        cwd=common.ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError("the fake Orchestration server did not start")
    info = json.loads(line)
    return proc, info["url"], info["token"]


def stop_fake(proc: subprocess.Popen) -> None:
    try:
        proc.stdin.close()
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def mirror_counts(prefix: str) -> dict[str, int]:
    from orchestration.models import Blob, Job, ScanResult, Step, Workflow

    return {
        "workflows": Workflow.objects.filter(civitai_id__startswith=prefix).count(),
        "steps": Step.objects.filter(workflow__civitai_id__startswith=prefix).count(),
        "jobs": Job.objects.filter(workflow__civitai_id__startswith=prefix).count(),
        "blobs": Blob.objects.filter(workflow__civitai_id__startswith=prefix).count(),
        "scans": ScanResult.objects.filter(job__workflow__civitai_id__startswith=prefix).count(),
    }


def main() -> None:
    proc, url, token = start_fake()
    try:
        # Read by settings at django.setup(): the command builds its client from them.
        os.environ.update(CIVITAI_API_URL=url, CIVITAI_API_TOKEN=token)
        run(url)
    finally:
        stop_fake(proc)


def run(url: str) -> None:
    common.setup(NAME)
    from django.conf import settings
    from django.core.management import call_command

    from orchestration import sync
    from orchestration.models import Workflow

    PAGE_SIZE = sync.PAGE_SIZE

    prefix = f"{USER_ID}-"
    if Workflow.objects.filter(civitai_id__startswith=prefix).exists():
        raise SystemExit(f"workflows {prefix}* are already mirrored: use a fresh database")

    def command() -> float:
        started = time.perf_counter()
        call_command("sync_workflows", "--max-scans=0", verbosity=0, stdout=io.StringIO())
        return time.perf_counter() - started

    client = sync.get_client()

    def fetch_only() -> tuple[float, int, int]:
        """The command's page walk (same client, take, filters), storing nothing."""
        started = time.perf_counter()
        cursor, pages, items, seen = None, 0, 0, set()
        while True:
            page = client.list_workflows(cursor=cursor, take=PAGE_SIZE, hide_mature_content=False)
            pages += 1
            items += len(page.items)
            if not page.next or page.next in seen or not page.items:
                break
            seen.add(page.next)
            cursor = page.next
        return time.perf_counter() - started, pages, items

    from orchestration.models import Job
    from tests.orchestration.snapshots import mirror_document

    fetch_s, pages, fetched = fetch_only()  # also warms the fake's and client's paths
    sync_s = command()
    counts = mirror_counts(prefix)
    copied = mirror_document(prefix)
    fetch_s2, _, _ = fetch_only()
    fetch_s = min(fetch_s, fetch_s2)
    resync_s = command()
    counts_after = mirror_counts(prefix)
    same_after_resync = mirror_document(prefix) == copied

    page_statement = sync._use_page_statement
    Job.objects.filter(workflow__civitai_id__startswith=prefix).delete()
    Workflow.objects.filter(civitai_id__startswith=prefix).delete()
    sync._use_page_statement = lambda: False
    try:
        bulk_s = command()
    finally:
        sync._use_page_statement = page_statement
    same_as_bulk = mirror_document(prefix) == copied
    del copied
    bulk_rate = counts["workflows"] / bulk_s

    scan_limit = settings.ORCHESTRATION_SYNC_MAX_SCANS
    workflow_pks = Workflow.objects.filter(civitai_id__startswith=prefix).values_list(
        "pk", flat=True
    )
    stats = sync.SyncStats()
    started = time.perf_counter()
    sync.fetch_scans(client, sync.jobs_needing_scan(workflow_pks), limit=scan_limit, stats=stats)
    scans_s = time.perf_counter() - started

    rate = counts["workflows"] / sync_s
    fetch_rate = fetched / fetch_s
    ratio = sync_s / fetch_s
    resync_rate = counts_after["workflows"] / resync_s
    complete = (
        fetched == WORKFLOWS
        and all(counts[k] == WORKFLOWS for k in ("workflows", "steps", "jobs", "blobs"))
        and counts == {**counts_after, "scans": counts["scans"]}
        and same_after_resync
        and same_as_bulk
    )
    common.write_result(
        NAME,
        {
            "title": f"sync_workflows: {WORKFLOWS:,} workflows from the fake API",
            "how": (
                f"The loopback fake Orchestration server (tests/fakes/orchestration.py) in a "
                f"child process serving `generate_workflows({WORKFLOWS})` (one image step, "
                "one blob, its job per workflow) and a v1 job with a scan per blob. *sync*: "
                "`call_command('sync_workflows', '--max-scans=0')` in this process (page size "
                f"{PAGE_SIZE}, the command's default; one transaction per page, the next page fetched, "
                "parsed and turned into column arrays in a second thread while one is stored; DEBUG "
                "on), wall time, "
                "into a mirror holding none of these ids. *fetch only*: the same client "
                f"walking the same pages (`list_workflows(take={PAGE_SIZE}, hide_mature_content=False)` "
                "following `next`), parsing them, storing nothing; best of two walks. "
                "*re-sync*: the command again over the same data (all updates). *scans*: "
                f"`fetch_scans` of {scan_limit} jobs (ORCHESTRATION_SYNC_MAX_SCANS, one v1 "
                "request each), as a default run does after its pages."
            ),
            "figures": [
                {"what": f"pages of {PAGE_SIZE} fetched", "value": pages, "unit": ""},
                {
                    "what": "rows stored (workflows / steps / jobs / blobs)",
                    "value": " / ".join(
                        str(counts[k]) for k in ("workflows", "steps", "jobs", "blobs")
                    ),
                    "unit": "",
                },
                {
                    "what": "sync (inserts)",
                    "value": f"{sync_s:.1f} s, {rate:,.0f}",
                    "unit": "workflows/s",
                },
                {
                    "what": "fetch only (same pages, nothing stored)",
                    "value": f"{fetch_s:.1f} s, {fetch_rate:,.0f}",
                    "unit": "workflows/s",
                },
                {
                    "what": "before: the bulk_create path (inserts)",
                    "value": f"{bulk_s:.1f} s, {bulk_rate:,.0f}",
                    "unit": "workflows/s",
                },
                {"what": "before / now (inserts)", "value": f"{bulk_s / sync_s:.1f}x", "unit": ""},
                {
                    "what": "same mirrored document: PostgreSQL path, its re-sync, bulk_create path",
                    "value": f"{same_after_resync}, {same_as_bulk}",
                    "unit": "",
                },
                {
                    "what": "re-sync (same workflows, all updates)",
                    "value": f"{resync_s:.1f} s, {resync_rate:,.0f}",
                    "unit": "workflows/s",
                },
                {
                    "what": f"scans fetched and stored ({stats.scans} of {scan_limit}, "
                    f"{len(stats.errors)} errors)",
                    "value": f"{scans_s:.1f} s, {stats.scans / scans_s:,.0f}",
                    "unit": "jobs/s",
                },
                {
                    "what": "one workflow, step, job and blob per workflow; re-sync left the same counts",
                    "value": complete,
                    "unit": "",
                },
            ],
            "goals": [
                common.goal(
                    "sync throughput",
                    f"≥ {GOAL_RATE:,} workflows/s",
                    f"{rate:,.0f} workflows/s",
                    rate >= GOAL_RATE,
                    why=(
                        f"{GOAL_RATE - rate:,.0f} workflows/s short: the sync adds "
                        f"{(sync_s - fetch_s) / pages * 1000:.0f} ms per page of {PAGE_SIZE} to "
                        f"the {fetch_s / pages * 1000:.0f} ms of fetching and parsing it; the "
                        f"fetch alone allows {fetch_rate:,.0f} workflows/s. " + STORE_WHY
                    ),
                ),
                common.goal(
                    "sync time / fetch-only time",
                    f"≤ {GOAL_RATIO:g}x",
                    f"{ratio:.2f}x ({sync_s:.1f} / {fetch_s:.1f} s)",
                    ratio <= GOAL_RATIO,
                    why=(
                        f"{ratio / GOAL_RATIO:.2f}x over: the sync adds "
                        f"{(sync_s - fetch_s) / pages * 1000:.0f} ms per page of {PAGE_SIZE} to "
                        f"the {fetch_s / pages * 1000:.0f} ms of fetching and parsing it. "
                        + STORE_WHY
                    ),
                ),
                common.goal(
                    "every workflow stored, re-sync idempotent, scans without errors",
                    "all stored, same counts, 0 errors",
                    f"{counts['workflows']} stored, same counts {complete}, "
                    f"{len(stats.errors)} scan errors",
                    complete and not stats.errors and stats.scans == scan_limit,
                    why="rows are missing, duplicated, or scans failed",
                ),
            ],
        },
    )


if __name__ == "__main__":
    main()
