"""``manage.py orchestration`` typed at the shell takes the lean start-up (civitrack/lean.py).

The lean path must be invisible except in time: the same output, error lines and exit
statuses as Django's ordinary start-up (which ``--no-color`` selects), in English and
in Chinese, and it must not import what it exists to skip.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import orchestration_data as data
from tests.tracking.test_mcp_stdio import test_database_url

ROOT = Path(__file__).resolve().parents[2]
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
LANGUAGES = ["C.UTF-8", "zh_CN.UTF-8"]


def manage(fake, *args, importtime=False, lang=None, database_url=None):
    """Run ``manage.py orchestration ARGS`` against ``fake`` in a child process.

    With ``lang`` the child reads the real settings (tests/settings.py pins the locale
    to C.UTF-8) under ``LANG=lang``; ``database_url`` points it at this run's database.
    """
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CIVITAI_API_URL": fake.url,
        "CIVITAI_API_TOKEN": fake.token,
        "HTTP_MAX_RETRIES": "0",
    }
    if lang is not None:
        for name in LOCALE_VARIABLES:
            env.pop(name, None)
        env.update(
            DJANGO_SETTINGS_MODULE="civitrack.settings",
            DEBUG="true",
            HASH_ALLOW_PRIVATE_URLS="true",
            LANG=lang,
        )
    if database_url is not None:
        env.update(DATABASE_URL=database_url, CONN_MAX_AGE="0")
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
@pytest.mark.parametrize("lang", LANGUAGES)
def test_it_prints_and_exits_exactly_as_the_ordinary_start_up(fake_orchestration, args, lang):
    lean = manage(fake_orchestration, *args, lang=lang)
    ordinary = manage(fake_orchestration, "--no-color", *args, lang=lang)
    assert (lean.returncode, lean.stdout, lean.stderr) == (
        ordinary.returncode,
        ordinary.stdout,
        ordinary.stderr,
    )


@pytest.mark.parametrize("lang, label", [("C.UTF-8", "Job Summary:"), ("zh_CN.UTF-8", "任务概要")])
def test_it_speaks_the_locale_of_the_shell(fake_orchestration, lang, label):
    lean = manage(fake_orchestration, "job", data.JOB_OK, lang=lang)
    assert lean.returncode == 0, lean.stderr
    assert label in lean.stdout


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_download_that_reads_the_mirror_runs_as_on_the_ordinary_start_up(
    mirrored, tmp_path, lang
):
    """``blob --download`` without ``--job`` finds the blob's job in the mirror.

    The lean start-up has no models, so this run takes Django's: it used to end in a
    traceback from ``orchestration.models`` instead of the download.
    """
    url = test_database_url()
    for blob in (data.BLOB_JPEG, "not-in-the-mirror.png"):
        runs = [
            manage(
                mirrored,
                *flags,
                "blob",
                blob,
                "--download",
                "--dir",
                str(tmp_path / name),
                lang=lang,
                database_url=url,
            )
            for name, flags in (("lean", ()), ("ordinary", ("--no-color",)))
        ]
        lean, ordinary = (
            (r.returncode, r.stdout.replace(str(tmp_path / n), "DIR"), r.stderr)
            for r, n in zip(runs, ("lean", "ordinary"), strict=True)
        )
        assert lean == ordinary
        assert "Traceback" not in runs[0].stderr
    assert (tmp_path / "lean" / "4C1D9E0B7A2F4E61B3D8A5C0F9E2B714.jpg").is_file()


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
    # Answers are checked by pydantic-core's compiled module with the schema written
    # from the models (orchestration.wire_check): neither pydantic nor the pure-Python
    # part of pydantic_core is imported.
    assert "orchestration.wire_check" in modules
    assert not {"pydantic", "pydantic_core", "orchestration.wire"} & modules
    ordinary = manage(fake_orchestration, "--no-color", "test", importtime=True)
    assert "django.core.management.base" in imported(ordinary.stderr)
