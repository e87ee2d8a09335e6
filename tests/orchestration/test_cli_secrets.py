"""The API token never appears in output, errors or tracebacks; real exit statuses."""

import logging
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.fakes import orchestration_data as data
from tests.orchestration.cli_helpers import run

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("args", "knob"),
    [
        (("test",), None),
        (("workflows", "--tag", "civitrack"), None),
        (("workflows",), ("workflows", 401)),
        (("workflows",), ("workflows", 500)),
        (("workflow", data.WF_DONE, "--raw"), None),
        (("workflow", "missing"), None),
        (("job", data.JOB_OK), None),
        (("job", data.JOB_OK), ("job", 422)),
        (("user", "7731"), ("manager", 429)),
        (("step", data.WF_DONE, "0"), None),
        (("results", data.WF_DONE), None),
        (("blob", data.BLOB_JPEG), None),
        (("blob", data.BLOB_JPEG), ("blob", 401)),
    ],
)
def test_it_never_prints_the_token(fake_orchestration, settings, caplog, args, knob):
    settings.HTTP_MAX_RETRIES = 1
    token = fake_orchestration.token
    if knob:
        # The fake even echoes the token back in its error body: still never shown.
        fake_orchestration.fail(
            knob[0], knob[1], times=None, retry_after=0, body={"detail": f"token {token} bad"}
        )
    with caplog.at_level(logging.DEBUG):
        result = run(*args)
    assert token not in result.text
    assert token not in caplog.text
    assert token not in "".join(r.getMessage() for r in caplog.records)
    # …while the fake did get it, as a bearer header, on every API request
    assert all(
        r.headers.get("Authorization") == f"Bearer {token}"
        for r in fake_orchestration.requests
        if r.route not in {"content", "blocked"}
    )


def test_it_never_puts_the_token_in_a_traceback(fake_orchestration):
    fake_orchestration.fail(
        "workflows", 401, body={"detail": f"Bearer {fake_orchestration.token} refused"}
    )
    with pytest.raises(CommandError) as caught:
        call_command("orchestration", "workflows")
    text = "".join(traceback.format_exception(caught.value))
    assert fake_orchestration.token not in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def _manage(fake, *args):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CIVITAI_API_URL": fake.url,
        "CIVITAI_API_TOKEN": fake.token,
        "HTTP_MAX_RETRIES": "0",
    }
    return subprocess.run(
        [sys.executable, "manage.py", "orchestration", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_exits_with_real_statuses_from_the_command_line(fake_orchestration):
    ok = _manage(fake_orchestration, "workflows", "--take=1", "--excludeFailed")
    assert ok.returncode == 0, ok.stderr
    assert "Next cursor:" in ok.stdout
    usage = _manage(fake_orchestration, "workflows", "--from", "not-a-date")
    assert usage.returncode == 2
    assert "--from must be a date" in usage.stderr
    bad_option = _manage(fake_orchestration, "workflows", "--bogus")
    assert bad_option.returncode == 2
    fake_orchestration.fail("workflow", 404, times=None)
    missing = _manage(fake_orchestration, "workflow", "nope")
    assert missing.returncode == 1
    assert "not found" in missing.stderr
    for proc in (ok, usage, bad_option, missing):
        assert fake_orchestration.token not in proc.stdout + proc.stderr
