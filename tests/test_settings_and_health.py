"""Production configuration refuses unsafe start-up; deploy checks are clean; /healthz answers."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROD_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "q8Lr-3vNw9_zT1pYk6HsE0aXcU4mJ7bF2gD5oR8iV1nQ6tW3yZ0e",
    "ALLOWED_HOSTS": "civitrack.example.com",
    "DATABASE_URL": f"sqlite:////tmp/civitrack-deploy-check-{os.getpid()}.sqlite3",
}


def manage(*args, env_overrides: dict[str, str | None]):
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}}
    env["DJANGO_SETTINGS_MODULE"] = "civitrack.settings"
    for key, value in env_overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_check_deploy_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS"),
        ({"HASH_MAX_BYTES": "-1"}, "HASH_MAX_BYTES"),
        ({"HASH_MAX_BYTES": "lots"}, "HASH_MAX_BYTES"),
    ],
)
def test_it_refuses_to_start_in_production_without_required_settings(overrides, message):
    result = manage("check", env_overrides=PROD_ENV | overrides)
    assert result.returncode != 0
    assert message in result.stderr


def test_it_reports_health_when_the_database_answers(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_redirects_the_home_page_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def _database_options(**overrides: str) -> str:
    code = (
        "import civitrack.settings as s; d = s.DATABASES['default']; "
        "print(d['ENGINE'], sorted(d.get('OPTIONS', {}).items()))"
    )
    skip = {"DJANGO_SETTINGS_MODULE", "DATABASE_PREPARED_STATEMENTS"}  # only as given
    env = {k: v for k, v in os.environ.items() if k not in skip}
    env.update({"DEBUG": "true", **overrides})
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


PG_URL = "postgres://postgres@127.0.0.1:5432/civitrack_settings_only"


def test_prepared_statements_are_off_unless_asked_for():
    """Off by default (safe behind a transaction-mode pooler); on, only for PostgreSQL."""
    default = _database_options(DATABASE_URL=PG_URL)
    assert "postgresql" in default and "server_side_binding" not in default
    assert "prepare_threshold" not in default
    on = _database_options(DATABASE_URL=PG_URL, DATABASE_PREPARED_STATEMENTS="true")
    assert "('prepare_threshold', 5)" in on and "('server_side_binding', True)" in on
    sqlite = _database_options(
        DATABASE_URL="sqlite:////tmp/civitrack-options.sqlite3", DATABASE_PREPARED_STATEMENTS="true"
    )
    assert "sqlite3" in sqlite and "server_side_binding" not in sqlite
