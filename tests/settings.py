"""Settings for the test suite: the real settings in DEBUG mode with a fast password hasher.

DATABASE_URL still decides the database, so the same suite runs on SQLite and PostgreSQL.
"""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("HASH_ALLOW_PRIVATE_URLS", "true")  # the fake servers live on loopback
os.environ.setdefault("HTTP_BACKOFF_FACTOR", "0.01")
os.environ.setdefault("HTTP_RETRY_AFTER_MAX", "2")
os.environ.setdefault(
    "TASKS_ENGINE", "immediate"
)  # tests about the work; worker tests start real workers

from civitrack.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# SQLite tests use a file, not memory, so a subprocess (the stdio MCP server test) can
# open the same test database. One file per pytest process keeps parallel runs apart.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import tempfile

    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.path.join(  # noqa: F405
        tempfile.gettempdir(), f"civitrack-test-{os.getpid()}.sqlite3"
    )
