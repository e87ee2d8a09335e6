#!/usr/bin/env python
"""Start-up of the two commands run as child processes: the Orchestration CLI and the MCP server.

Both are started the way people and agents start them (``python manage.py ...`` in a
new process), each run side by side with its peer so machine load hits both alike:

- ``orchestration test`` against the loopback fake Orchestration API, against a bare
  ``python -c "import requests; requests.get(URL, headers=...)"`` of the same endpoint
  with the same token (goal: at most 1.5x). The same command through Django's ordinary
  start-up (``--no-color`` sends it there, civitrack/lean.py) is the before figure.
- ``mcp --user U``: from spawning the process to reading the answer to ``initialize``
  (goal: at most 1 s), lean and ordinary, with the floor that no lean start-up can go
  under: a process that only imports the MCP SDK's server package.

Before timing, the project's own packages are byte-compiled (``compileall``), as
``pip install`` does for every package in site-packages and as a deployment does on
its first start: otherwise, with ``PYTHONDONTWRITEBYTECODE`` set (this machine sets
it), each child compiled the project's modules from source while ``requests`` loaded
pip's bytecode, which is not the comparison a user sees on the second run.

``-X importtime`` of the lean CLI run shows where its time goes (top-level imports by
cumulative time). Medians of RUNS alternated runs. Needs only a migrated database
(for the MCP user); without ``BENCH_DATABASE_URL`` it creates and drops
``civitrack_bench_startup`` without seeding it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

NAME = "startup"
RUNS = 7
CLI_GOAL = 1.5
MCP_GOAL_S = 1.0
MCP_USER = "bench-mcp"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "bench_startup", "version": "1"},
    },
}


def wall(args: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``args`` to its exit; a failing run stops the benchmark."""
    started = time.perf_counter()
    proc = subprocess.run(args, env=env, cwd=common.ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{args} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed


def mcp_initialize(args: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning the MCP server to its answer to ``initialize``."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        args, env=env, cwd=common.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        proc.stdin.write(json.dumps(INITIALIZE) + "\n")
        proc.stdin.flush()
        answer = json.loads(proc.stdout.readline() or "{}")
        elapsed = time.perf_counter() - started
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    if "result" not in answer:
        raise SystemExit(f"{args} did not answer initialize: {answer}")
    return elapsed


def alternate(runs: int, **commands) -> dict[str, float]:
    """Median seconds of each zero-argument callable, run in turn ``runs`` times."""
    samples = {name: [] for name in commands}
    for _ in range(runs):
        for name, fn in commands.items():
            samples[name].append(fn())
    return {name: statistics.median(values) for name, values in samples.items()}


def import_profile(args: list[str], env: dict[str, str], top: int = 10) -> tuple[float, str]:
    """Total import time of a run (seconds) and a Markdown table of its largest imports.

    Listed: packages (their first import, everything under it included) and the
    project's own modules, largest cumulative time first, so a table of ten rows says
    which dependency costs what.
    """
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        env=env,
        cwd=common.ROOT,
        capture_output=True,
        text=True,
    )
    total, rows = 0.0, {}
    own = ("civitrack.", "orchestration.", "tracking.")
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, module = line.split("|")
        if not cumulative.strip().isdigit():
            continue
        seconds, name = int(cumulative) / 1e6, module.strip()
        if len(module) - len(module.lstrip()) == 1:
            total += seconds  # depth 0: what the entry imported, each module once
        if ("." not in name or name.startswith(own)) and not name.startswith("_"):
            rows[name] = max(seconds, rows.get(name, 0.0))
    ranked = sorted(rows.items(), key=lambda item: -item[1])[:top]
    table = ["| import | cumulative |", "|---|---|"]
    table += [f"| `{name}` | {seconds * 1000:.0f} ms |" for name, seconds in ranked]
    return total, "\n".join(table)


def main() -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        url = common.create_database(NAME)
        common.manage(url, "migrate", "--noinput", "-v0")
        try:
            run(url)
        finally:
            common.drop_database(url)
    else:
        run(url)


PACKAGES = ("civitrack", "tracking", "orchestration", "workspace", "devdata")


def compile_project() -> None:
    """Write the project's bytecode once, as an installed deployment has it."""
    import compileall

    for package in PACKAGES:
        compileall.compile_dir(common.ROOT / package, quiet=1)
    compileall.compile_file(common.ROOT / "manage.py", quiet=1)


def run(url: str) -> None:
    compile_project()
    os.environ.update(common.django_env(url))
    sys.path.insert(0, str(common.ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from tests.fakes.orchestration import FakeOrchestration

    get_user_model().objects.get_or_create(username=MCP_USER)
    manage = [sys.executable, str(common.ROOT / "manage.py")]
    with FakeOrchestration.running() as fake:
        env = common.django_env(url) | {
            "CIVITAI_API_URL": fake.url,
            "CIVITAI_API_TOKEN": fake.token,
            "HASH_ALLOW_PRIVATE_URLS": "true",
        }
        endpoint = f"{fake.url}/v2/consumer/workflows?take=1"
        bare = (
            "import requests; requests.get("
            f"{endpoint!r}, headers={{'Authorization': 'Bearer {fake.token}'}}).raise_for_status()"
        )
        cli = alternate(
            RUNS,
            bare=lambda: wall([sys.executable, "-c", bare], env),
            lean=lambda: wall([*manage, "orchestration", "test"], env),
            ordinary=lambda: wall([*manage, "orchestration", "--no-color", "test"], env),
        )
        imports_s, imports_table = import_profile(["manage.py", "orchestration", "test"], env)
    mcp_args = [*manage, "mcp", "--user", MCP_USER]
    mcp = alternate(
        max(3, RUNS - 2),
        lean=lambda: mcp_initialize(mcp_args, env),
        ordinary=lambda: mcp_initialize([*mcp_args, "--no-color"], env),
        sdk=lambda: wall([sys.executable, "-c", "import mcp.server.lowlevel"], env),
        interpreter=lambda: wall([sys.executable, "-c", "pass"], env),
    )
    ratio = cli["lean"] / cli["bare"]
    ordinary_ratio = cli["ordinary"] / cli["bare"]
    common.write_result(
        NAME,
        {
            "title": "Start-up: the Orchestration CLI and the MCP server",
            "how": (
                f"Child processes on this machine, medians of {RUNS} alternated runs. CLI: "
                "`manage.py orchestration test` against the loopback fake Orchestration API "
                'next to `python -c "import requests; requests.get(URL, headers=...)"` of the '
                "same endpoint; *ordinary* is the same command through Django's full start-up "
                "(`--no-color` sends it there). MCP: spawn of `manage.py mcp --user U` to the "
                "answer to `initialize` read from its stdout; *SDK floor* is a process that "
                "only runs `import mcp.server.lowlevel`. The project's packages were "
                "byte-compiled first (`compileall`), as pip compiles site-packages, so "
                "neither side compiles source in the timed runs."
            ),
            "figures": [
                {
                    "what": "bare requests.get, same endpoint",
                    "value": f"{cli['bare']:.2f}",
                    "unit": "s",
                },
                {
                    "what": "orchestration test (lean start-up)",
                    "value": f"{cli['lean']:.2f}",
                    "unit": "s",
                },
                {
                    "what": "orchestration test (ordinary start-up, before)",
                    "value": f"{cli['ordinary']:.2f}",
                    "unit": "s",
                },
                {"what": "CLI lean / bare", "value": f"{ratio:.2f}", "unit": "x"},
                {"what": "CLI ordinary / bare", "value": f"{ordinary_ratio:.2f}", "unit": "x"},
                {
                    "what": "CLI imports under -X importtime (lean)",
                    "value": f"{imports_s:.2f}",
                    "unit": "s",
                },
                {
                    "what": "MCP spawn to initialize (lean start-up)",
                    "value": f"{mcp['lean']:.2f}",
                    "unit": "s",
                },
                {
                    "what": "MCP spawn to initialize (ordinary, before)",
                    "value": f"{mcp['ordinary']:.2f}",
                    "unit": "s",
                },
                {
                    "what": "SDK floor: python -c 'import mcp.server.lowlevel'",
                    "value": f"{mcp['sdk']:.2f}",
                    "unit": "s",
                },
                {
                    "what": "interpreter alone: python -c pass",
                    "value": f"{mcp['interpreter']:.2f}",
                    "unit": "s",
                },
            ],
            "goals": [
                common.goal(
                    "orchestration CLI wall time / bare requests.get",
                    f"≤ {CLI_GOAL}",
                    f"{ratio:.2f}",
                    ratio <= CLI_GOAL,
                    why=(
                        f"{ratio / CLI_GOAL:.2f}x over: besides `requests` (which the peer pays "
                        "too) the command imports Django's settings and translation layers "
                        "(django.conf pulls asgiref and asyncio) and its own modules (a dozen "
                        "dataclasses). Counted in instructions (callgrind, December, the "
                        "project's bytecode compiled beforehand): the command about 800M "
                        "against the bare request's 560M (1.43x; 1,226M before the answers "
                        "were checked without importing pydantic, orchestration/wire_check.py): "
                        "Django's settings about 83M (asyncio 54M of it), its translations, "
                        "app registry and logging set-up 35M, argparse and logging.config "
                        "29M, the project's modules about 65M (a dozen dataclasses near 35M), "
                        "reading the schema, building the one validator and the run itself "
                        "about 30M. Wall time is "
                        "less kind than instructions (page faults, file look-ups), and on "
                        "this shared machine the ratio moves by 0.2 or more from run to run"
                    ),
                ),
                common.goal(
                    "MCP server: spawn to initialize answered",
                    f"≤ {MCP_GOAL_S:.1f} s",
                    f"{mcp['lean']:.2f} s",
                    mcp["lean"] <= MCP_GOAL_S,
                    why=(
                        f"{mcp['lean'] - MCP_GOAL_S:.2f} s over: importing the MCP SDK alone "
                        f"takes {mcp['sdk']:.2f} s here (it builds hundreds of pydantic models "
                        "for two protocol versions and imports its client, HTTP and "
                        "starlette/uvicorn transports from the package root), so no start-up "
                        "that uses the SDK's server can meet the goal on this machine; the "
                        f"other {max(mcp['lean'] - mcp['sdk'], 0):.2f} s are Django's set-up "
                        "and the tools' own modules (services, their pydantic inputs and "
                        "shapes), which the first tool call needs anyway. The lean path only "
                        "skips the admin's autodiscovery and the system checks "
                        f"(ordinary: {mcp['ordinary']:.2f} s)"
                    ),
                ),
            ],
            "details": "Largest imports of the lean CLI run:\n\n" + imports_table,
        },
    )


if __name__ == "__main__":
    main()
