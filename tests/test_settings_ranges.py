"""Every numeric setting has a range: a bad value stops start-up with one line naming it.

Run in subprocesses, because settings are read once per process.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_settings(**overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update({"DEBUG": "true", **overrides})
    return subprocess.run(
        [sys.executable, "-c", "import civitrack.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("MODERATION_CSAM_THRESHOLD", "50", "write 0.5 for 50 %"),
        ("MODERATION_CSAM_THRESHOLD", "-0.1", "between 0 and 1"),
        ("MODERATION_CSAM_THRESHOLD", "nan", "finite"),
        ("HTTP_READ_TIMEOUT", "-5", "greater than 0"),
        ("HTTP_READ_TIMEOUT", "0", "greater than 0"),
        ("HTTP_READ_TIMEOUT", "abc", "must be a number"),
        ("HTTP_READ_TIMEOUT", "nan", "finite"),
        ("HTTP_CONNECT_TIMEOUT", "inf", "finite"),
        ("HASH_TIMEOUT", "0", "greater than 0"),
        ("HASH_TIMEOUT", "soon", "must be a number"),
        ("HTTP_TOTAL_TIMEOUT", "-1", "greater than 0"),
        ("HTTP_MAX_RETRIES", "1.5", "whole number"),
        ("HTTP_MAX_RETRIES", "1000", "between 0 and 20"),
        ("HTTP_BACKOFF_FACTOR", "-1", "between 0 and 60"),
        ("HTTP_RETRY_AFTER_MAX", "nan", "finite"),
        ("HASH_MAX_BYTES", "0", "between 1 and"),
        ("HASH_MAX_CONCURRENT", "0", "between 1 and 1000"),
        ("GENERATION_MAX_CHUNK_BYTES", "100", "between 1024 and"),
        ("GENERATION_MAX_CHUNK_BYTES", "1e9", "whole number"),
        ("API_MAX_BODY_BYTES", "-1", "at least 0"),
        ("MODERATION_REVEAL_MINUTES", "abc", "whole number"),
        ("CONN_MAX_AGE", "x", "whole number"),
    ],
)
def test_it_refuses_a_bad_numeric_setting_naming_it_without_a_traceback(name, value, expected):
    result = load_settings(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_it_starts_with_values_inside_the_ranges():
    result = load_settings(
        MODERATION_CSAM_THRESHOLD="0.5",
        HTTP_READ_TIMEOUT="2.5",
        HASH_TIMEOUT="10",
        HTTP_TOTAL_TIMEOUT="5",
        HTTP_MAX_RETRIES="0",
    )
    assert result.returncode == 0, result.stderr
