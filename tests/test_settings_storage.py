"""ASSET_STORAGE and its S3 settings: the storage they build, and bad values refused.

Run in subprocesses, because settings are read once per process.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRINT_STORAGE = (
    "import json, civitrack.settings as s; print(json.dumps(s.STORAGES['default'], default=str))"
)


def run(**overrides: str) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "DJANGO_SETTINGS_MODULE" and not k.startswith("ASSET_")
    }
    env.update({"DEBUG": "true", **overrides})
    return subprocess.run(
        [sys.executable, "-c", PRINT_STORAGE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_default_is_the_filesystem():
    done = run()
    assert json.loads(done.stdout)["BACKEND"] == "django.core.files.storage.FileSystemStorage"


def test_s3_builds_the_django_storages_backend_without_printing_secrets():
    done = run(
        ASSET_STORAGE="s3",
        ASSET_S3_BUCKET="assets",
        ASSET_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        ASSET_S3_ACCESS_KEY_ID="key-id",
        ASSET_S3_SECRET_ACCESS_KEY="very-secret-value",
        ASSET_S3_PUBLIC_URL="https://cdn.example.com/",
    )
    storage = json.loads(done.stdout)
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    options = storage["OPTIONS"]
    assert options["bucket_name"] == "assets"
    assert options["endpoint_url"] == "http://127.0.0.1:9000"
    assert (options["custom_domain"], options["url_protocol"]) == ("cdn.example.com", "https:")
    assert options["querystring_auth"] is False
    assert "very-secret-value" not in done.stderr


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"ASSET_STORAGE": "ftp"}, "ASSET_STORAGE must be filesystem or s3"),
        ({"ASSET_STORAGE": "s3"}, "ASSET_STORAGE=s3 needs ASSET_S3_BUCKET"),
        (
            {"ASSET_STORAGE": "s3", "ASSET_S3_BUCKET": "b", "ASSET_S3_PUBLIC_URL": "cdn"},
            "ASSET_S3_PUBLIC_URL must be an http(s) URL",
        ),
    ],
)
def test_bad_values_stop_start_up_naming_the_setting(overrides, says):
    done = run(**overrides)
    assert done.returncode != 0
    assert says in done.stderr
