"""Benchmark: tracking.hashing against openssl and curl on a ~512 MiB file.

Run: ``.venv/bin/python bench/bench_hashing.py`` (sets up Django itself).

Compares
- ``hash_file`` with ``openssl dgst -sha256 FILE`` (goal: ratio <= 1.10), and
- ``hash_url`` from a loopback server with ``curl -s URL | openssl dgst -sha256``
  (goal: ratio <= 1.25).

Each run is a fresh child process under ``/usr/bin/time``, so its peak RSS (``%M``,
covering the child and the processes it waited for) is its own. The Python child
times the hash call itself and reports it, so interpreter and Django start-up are
shown separately rather than counted against the hashing. Best of 3 runs each.
The server streams the file with ``sendfile`` from a thread of this process, so it
is not the bottleneck (and its memory is not counted). Prints a Markdown table and
writes ``bench/results/hashing.json`` through ``common.write_result``, in the shape
every benchmark's result has (``status``, ``figures``, ``goals``...), so run_all lists
the two ratios among the goals; the raw samples stay in it under ``results``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import common  # noqa: E402

NAME = "hashing"
FILE_GOAL = 1.10
URL_GOAL = 1.25

SIZE = 512 * 1024 * 1024
TIME = "/usr/bin/time"  # GNU time (Debian package "time")
RUNS = 3

CHILD = """
import json, os, sys, time
import django
django.setup()
from tracking.hashing import hash_file, hash_url
if sys.argv[1] == "baseline":  # start-up only: what the process costs before hashing
    print(json.dumps({"sha256sum": None, "size_bytes": 0, "seconds": 0.0}))
    sys.exit(0)
fn = hash_file if sys.argv[1] == "file" else hash_url
started = time.perf_counter()
result = fn(sys.argv[2])
elapsed = time.perf_counter() - started
print(json.dumps({"sha256sum": result.sha256sum, "size_bytes": result.size_bytes,
                  "seconds": elapsed}))
"""


def child_env(folder: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "civitrack.settings",
            "DEBUG": "true",
            "HASH_ALLOWED_ROOTS": folder,
            "HASH_ALLOW_PRIVATE_URLS": "true",  # the server is on loopback
            "HASH_MAX_BYTES": str(2 * SIZE),
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def run_measured(argv: list[str], env: dict[str, str] | None = None) -> tuple[str, float, int]:
    """Run ``argv``; return (stdout, wall seconds, peak RSS in KiB of it and its children).

    Through ``/usr/bin/time``: Linux carries the spawning process's high-water RSS
    into a child's ``ru_maxrss`` across ``exec`` (even with ``posix_spawn``), so a
    child started straight from this process would report this process's size.
    ``time`` is small, and it reports the peak of the command and what it waited for.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        started = time.perf_counter()
        proc = subprocess.run(
            [TIME, "-f", "%M", "-o", rss_file.name, *argv],
            stdout=subprocess.PIPE,
            env=env,
            check=False,
        )
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"{argv[0]} failed with exit status {proc.returncode}")
        rss_kib = int(rss_file.read().strip().splitlines()[-1])
    return proc.stdout.decode(), wall, rss_kib


def make_file(path: Path) -> None:
    block = os.urandom(8 * 1024 * 1024)
    with open(path, "wb") as f:
        for i in range(SIZE // len(block)):
            f.write(block[i:] + block[:i])  # no two blocks alike


def best(samples: list[dict]) -> dict:
    return min(samples, key=lambda s: s["seconds"])


def bench_python(kind: str, target: str, env: dict[str, str]) -> dict:
    samples = []
    for _ in range(RUNS):
        out, wall, rss = run_measured([sys.executable, "-c", CHILD, kind, target], env)
        data = json.loads(out)
        samples.append({**data, "wall_seconds": wall, "peak_rss_kib": rss})
    return best(samples) | {"runs": samples}


def bench_tool(argv: list[str]) -> dict:
    samples = []
    for _ in range(RUNS):
        out, wall, rss = run_measured(argv)
        digest = out.strip().rsplit(" ", 1)[-1].rsplit("=", 1)[-1].strip()
        samples.append({"sha256sum": digest, "seconds": wall, "peak_rss_kib": rss})
    return best(samples) | {"runs": samples}


def main() -> None:
    if not os.access(TIME, os.X_OK):
        raise SystemExit(f"{TIME} is needed to measure peak memory: apt-get install time")
    from tests.fakes.media_server import MediaServer, Route

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-hashing-") as folder:
        path = Path(folder) / "video.bin"
        make_file(path)
        subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # page cache
        env = child_env(folder)
        with MediaServer() as server:
            url = server.route("/video.bin", Route(file=str(path), content_type="video/mp4"))
            baseline = bench_python("baseline", "", env)
            results = {
                "hash_file": bench_python("file", str(path), env),
                "openssl_file": bench_tool(["openssl", "dgst", "-sha256", str(path)]),
                "hash_url": bench_python("url", url, env),
                "curl_openssl_url": bench_tool(
                    ["bash", "-c", f"curl -s {url} | openssl dgst -sha256"]
                ),
            }
    digests = {name: r["sha256sum"] for name, r in results.items()}
    baseline_rss = baseline["peak_rss_kib"]
    if len(set(digests.values())) != 1:
        raise SystemExit(f"digests differ: {digests}")

    file_ratio = results["hash_file"]["seconds"] / results["openssl_file"]["seconds"]
    url_ratio = results["hash_url"]["seconds"] / results["curl_openssl_url"]["seconds"]
    mib = SIZE / 1024 / 1024

    def row(name: str, what: str, ratio: str = "") -> str:
        r = results[name]
        startup = r.get("wall_seconds", r["seconds"]) - r["seconds"]
        return (
            f"| {what} | {r['seconds']:.3f} | {mib / r['seconds']:.0f} | {startup:.2f} |"
            f" {r['peak_rss_kib'] / 1024:.1f} | {ratio} |"
        )

    table = "\n".join(
        [
            "| method | seconds | MiB/s | start-up s | peak RSS MiB | ratio (goal) |",
            "|---|---:|---:|---:|---:|---|",
            row(
                "hash_file", "`hash_file` (Python child)", f"{file_ratio:.2f} (<= {FILE_GOAL:.2f})"
            ),
            row("openssl_file", "`openssl dgst -sha256 FILE`"),
            row(
                "hash_url",
                "`hash_url` loopback (Python child)",
                f"{url_ratio:.2f} (<= {URL_GOAL:.2f})",
            ),
            row("curl_openssl_url", "`curl -s URL \\| openssl dgst -sha256`"),
        ]
    )
    bench_seconds = round(time.perf_counter() - started, 1)
    common.write_result(
        NAME,
        {
            "title": "hashing",
            "how": (
                f"sha256 of a {mib:.0f} MiB file, best of {RUNS} (digests agree: "
                f"{digests['hash_file']}). seconds: the hash call timed inside the Python "
                "child; whole process for the tools. start-up: interpreter + Django set-up "
                "of the Python child. A Python child that only starts up peaks at "
                f"{baseline_rss / 1024:.1f} MiB RSS, so hashing itself adds the difference."
            ),
            "figures": [
                {"what": "file size", "value": f"{mib:.0f}", "unit": "MiB"},
                {
                    "what": "start-up only: peak RSS",
                    "value": f"{baseline_rss / 1024:.1f}",
                    "unit": "MiB",
                },
                {"what": "benchmark time", "value": f"{bench_seconds}", "unit": "s"},
            ],
            "goals": [
                common.goal(
                    "`hash_file` time / `openssl dgst -sha256 FILE`",
                    f"≤ {FILE_GOAL:.2f}",
                    f"{file_ratio:.2f}",
                    file_ratio <= FILE_GOAL,
                    why="hashing a local file is slower than openssl's own loop",
                ),
                common.goal(
                    "`hash_url` time / `curl -s URL \\| openssl dgst -sha256`",
                    f"≤ {URL_GOAL:.2f}",
                    f"{url_ratio:.2f}",
                    url_ratio <= URL_GOAL,
                    why="hashing a download is slower than curl piped to openssl",
                ),
            ],
            "details": table,
            # The raw figures, as this script wrote them before it used write_result.
            "size_bytes": SIZE,
            "runs": RUNS,
            "file_ratio": round(file_ratio, 3),
            "file_goal": FILE_GOAL,
            "url_ratio": round(url_ratio, 3),
            "url_goal": URL_GOAL,
            "python_startup_only_peak_rss_kib": baseline_rss,
            "python_startup_only_wall_seconds": round(baseline["wall_seconds"], 3),
            "bench_seconds": bench_seconds,
            "results": results,
        },
    )


if __name__ == "__main__":
    main()
