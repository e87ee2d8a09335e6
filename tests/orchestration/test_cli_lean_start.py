"""``manage.py orchestration`` typed at the shell takes the lean start-up (civitrack/lean.py).

The lean path must be invisible except in time: the same output, error lines and exit
statuses as Django's ordinary start-up (which ``--no-color`` selects), and it must not
import what it exists to skip.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import orchestration_data as data

ROOT = Path(__file__).resolve().parents[2]


def manage(fake, *args, importtime=False):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CIVITAI_API_URL": fake.url,
        "CIVITAI_API_TOKEN": fake.token,
        "HTTP_MAX_RETRIES": "0",
    }
    flags = ["-X", "importtime"] if importtime else []
    return subprocess.run(
        [sys.executable, *flags, "manage.py", "orchestration", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def imported(stderr: str) -> set[str]:
    return {
        line.split("|")[2].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:")
    }


@pytest.mark.parametrize(
    "args",
    [
        ("test",),
        ("workflows", "--take=2", "--excludeFailed"),
        ("job", data.JOB_OK),
        ("job", data.JOB_OK, "--json"),
        ("workflows", "--from", "not-a-date"),  # usage: exit 2
        ("workflows", "--bogus"),  # argparse: exit 2
        ("workflow", "missing"),  # 404: exit 1
    ],
)
def test_it_prints_and_exits_exactly_as_the_ordinary_start_up(fake_orchestration, args):
    lean = manage(fake_orchestration, *args)
    ordinary = manage(fake_orchestration, "--no-color", *args)
    assert (lean.returncode, lean.stdout, lean.stderr) == (
        ordinary.returncode,
        ordinary.stdout,
        ordinary.stderr,
    )


def test_it_gives_the_exit_statuses_of_the_contract(fake_orchestration):
    assert manage(fake_orchestration, "test").returncode == 0
    assert manage(fake_orchestration, "job").returncode == 2
    failed = manage(fake_orchestration, "workflow", "missing")
    assert failed.returncode == 1
    assert failed.stderr.startswith("CommandError: ")


def test_it_skips_the_management_machinery_and_the_admin(fake_orchestration):
    lean = manage(fake_orchestration, "test", importtime=True)
    assert lean.returncode == 0, lean.stderr
    modules = imported(lean.stderr)
    assert "orchestration.client" in modules  # the measurement works
    assert not {"django.core.management.base", "django.db.models", "django.contrib.admin"} & modules
    ordinary = manage(fake_orchestration, "--no-color", "test", importtime=True)
    assert "django.core.management.base" in imported(ordinary.stderr)
