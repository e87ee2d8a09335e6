"""The fake Orchestration API in a child process, for tests and benchmarks whose
workers are other processes: ``python -m tests.fakes.orchestration_process N [SLOW]``
serves ``generate_workflows(N)`` (one step, blob and job each) on 127.0.0.1, each
workflow-list page delayed by SLOW seconds, prints ``{"url", "token"}`` as one JSON
line, and serves until its stdin closes.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(n: int, slow: float) -> None:
    from tests.fakes import orchestration_data as data
    from tests.fakes.orchestration import FakeOrchestration

    fake = FakeOrchestration()
    fake.add_workflows(data.generate_workflows(n, user_id=9901, tag="kill"))
    if slow:
        fake.slow("workflows", slow)
    fake.start()
    print(json.dumps({"url": fake.url, "token": fake.token}), flush=True)
    sys.stdin.read()
    fake.stop()


@contextlib.contextmanager
def running(n: int, *, slow: float = 0.0) -> Iterator[dict]:
    """Start the child, yield ``{"url", "token"}``, stop it on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.orchestration_process", str(n), str(slow)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the fake Orchestration server did not start")
        yield json.loads(line)
    finally:
        try:
            proc.stdin.close()
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
