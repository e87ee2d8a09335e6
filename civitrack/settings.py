"""Settings for civitrack.

Every environment variable is read here, through django-environ, and nowhere else;
the rest of the code reads ``django.conf.settings``. A ``.env`` file beside
``manage.py`` is honoured. Production (``DEBUG`` off) refuses to start without a
real ``SECRET_KEY`` and ``ALLOWED_HOSTS``, and switches on HTTPS-only cookies, HSTS
and the SSL redirect unless the environment says otherwise.
"""

import math
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _refuse(message: str):
    """Stop start-up with one line naming the variable (no traceback to read through).

    ``SystemExit`` with a message prints it to stderr and exits 1 whether the settings
    were loaded by ``manage.py``, gunicorn or a test subprocess.
    """
    raise SystemExit(f"civitrack: configuration error: {message}")


def _number(
    name: str,
    default: float,
    *,
    kind: type = int,
    low: float | None = 0,
    high: float | None = None,
    low_exclusive: bool = False,
    hint: str = "",
) -> float:
    """Read a numeric setting within ``low``..``high`` or stop start-up naming ``name``.

    A value that is not a number (``abc``), not finite (``nan``, ``inf``) or outside the
    range is refused here rather than failing later inside a request.
    """
    raw = env.str(name, default="").strip()
    if not raw:
        return default
    what = "a whole number" if kind is int else "a number"
    try:
        value = int(raw) if kind is int else float(raw)
    except ValueError:
        _refuse(f"{name} must be {what}, got {raw!r}{hint}")
    if kind is float and not math.isfinite(value):
        _refuse(f"{name} must be a finite number, got {raw!r}{hint}")
    too_low = low is not None and (value <= low if low_exclusive else value < low)
    if too_low or (high is not None and value > high):
        if low is not None and high is not None:
            bound = (
                f"greater than {low:g} and at most {high:g}"
                if low_exclusive
                else f"between {low:g} and {high:g}"
            )
        elif low is not None:
            bound = f"greater than {low:g}" if low_exclusive else f"at least {low:g}"
        else:
            bound = f"at most {high:g}"
        _refuse(f"{name} must be {bound}, got {raw!r}{hint}")
    return value


def _positive_int(name: str, default: int, *, high: int | None = None) -> int:
    """A whole-number setting that must not be negative."""
    return int(_number(name, default, kind=int, low=0, high=high))


def _seconds(name: str, default: float, *, high: float = 86400.0) -> float:
    """A duration in seconds that must be greater than 0 (0 or less would mean "never")."""
    return float(_number(name, default, kind=float, low=0, low_exclusive=True, high=high))


DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET = "django-insecure-civitrack-development-only"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not DEBUG and (
    SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
):
    # The same bar as Django's security.W009 deploy check, enforced at start-up.
    _refuse("SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is off")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    _refuse("ALLOWED_HOSTS must be set when DEBUG is off")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_filters",
    "simple_history",
    "django_tasks_db",
    "tracking",
    "orchestration",
    "workspace",
    "background",
    "devdata",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before common: the page language comes from the switcher's cookie,
    # then the browser's Accept-Language, then LANGUAGE_CODE (docs/i18n.md).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "civitrack.middleware.RequestGuardMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "civitrack.urls"
WSGI_APPLICATION = "civitrack.wsgi.application"
ASGI_APPLICATION = "civitrack.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", _positive_int("CONN_MAX_AGE", 60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the dev server, commands and the MCP server share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
# PostgreSQL server-side prepared statements (off by default). On, psycopg sends
# parameters separately from the SQL (Django's ``server_side_binding``) and prepares a
# statement on a connection once it has run 5 times (psycopg's ``prepare_threshold``),
# so PostgreSQL stops planning the API's joined lookups on every request (the planning
# of find_asset's 8-join query costs more than running it; docs/scale.md). Off because
# a pooler in transaction mode (PgBouncer before 1.21, or without
# max_prepared_statements) hands a connection's prepared statements to the wrong
# client; switch it on when the web processes connect to PostgreSQL directly or
# through a pooler that tracks prepared statements.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=False)
if DATABASE_PREPARED_STATEMENTS and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": 5}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Pages speak English or Simplified Chinese (docs/i18n.md); English stays the default so
# scripts, logs and a browser that asks for neither get the words they always had.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files uploaded in the admin (an asset's file, docs/staff-workspace.md) go through
# Django's storage API. ASSET_STORAGE picks where: "filesystem" (default: MEDIA_ROOT,
# served to signed-in staff under MEDIA_URL) or "s3" (any S3-compatible bucket through
# django-storages: ASSET_S3_BUCKET, ASSET_S3_ENDPOINT_URL for a non-AWS server,
# ASSET_S3_REGION, ASSET_S3_ACCESS_KEY_ID / ASSET_S3_SECRET_ACCESS_KEY (or boto3's own
# credential chain when empty), ASSET_S3_PUBLIC_URL for the address the files are read
# from (a CDN or public bucket host); never logged).
ASSET_STORAGE = env.str("ASSET_STORAGE", default="filesystem").strip().lower()
if ASSET_STORAGE == "filesystem":
    _DEFAULT_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
elif ASSET_STORAGE == "s3":
    ASSET_S3_BUCKET = env.str("ASSET_S3_BUCKET", default="")
    if not ASSET_S3_BUCKET:
        _refuse("ASSET_STORAGE=s3 needs ASSET_S3_BUCKET (the bucket name)")
    # Named here too so civitrack.logging redacts it from every log line.
    ASSET_S3_SECRET_ACCESS_KEY = env.str("ASSET_S3_SECRET_ACCESS_KEY", default="") or None
    _DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ASSET_S3_BUCKET,
            "endpoint_url": env.str("ASSET_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("ASSET_S3_REGION", default="") or None,
            "access_key": env.str("ASSET_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": ASSET_S3_SECRET_ACCESS_KEY,
            # asset_url is recorded once and read for years: a plain URL, not a
            # presigned one that expires.
            "querystring_auth": False,
            "file_overwrite": False,
        },
    }
    _public = env.str("ASSET_S3_PUBLIC_URL", default="").rstrip("/")
    if _public:
        _scheme, _sep, _host = _public.partition("://")
        if _scheme not in ("http", "https") or not _host:
            _refuse(f"ASSET_S3_PUBLIC_URL must be an http(s) URL, got {_public!r}")
        _DEFAULT_STORAGE["OPTIONS"] |= {"custom_domain": _host, "url_protocol": f"{_scheme}:"}
else:
    _refuse(f"ASSET_STORAGE must be filesystem or s3, got {ASSET_STORAGE!r}")
STORAGES = {
    "default": _DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")

LOGIN_URL = "admin:login"

# Security: safe defaults when DEBUG is off, each switchable by the environment
# (e.g. SECURE_SSL_REDIRECT=false behind a proxy that already redirects).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = _positive_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# The language switcher's cookie (a year) follows the session cookie's transport rule.
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- civitrack ---------------------------------------------------------------

CIVITAI_ACCOUNT = env.str("CIVITAI_ACCOUNT", default="c29")
CIVITAI_API_URL = env.str("CIVITAI_API_URL", default="https://orchestration.civitai.com").rstrip(
    "/"
)
CIVITAI_API_TOKEN = env.str("CIVITAI_API_TOKEN", default="") or None
CIVITAI_SITE_URL = env.str("CIVITAI_SITE_URL", default="https://civitai.com").rstrip("/")
CIVITAI_SITE_TOKEN = env.str("CIVITAI_SITE_TOKEN", default="") or None

HASH_ALLOWED_ROOTS = [p for p in env.str("HASH_ALLOWED_ROOTS", default="").split(":") if p]
HASH_MAX_BYTES = int(_number("HASH_MAX_BYTES", 4 * 1024**3, low=1, high=2**50))
HASH_ALLOW_PRIVATE_URLS = env.bool("HASH_ALLOW_PRIVATE_URLS", default=False)
# The most bytes one generation-metadata text chunk of a file may hold, compressed or
# once decompressed (tracking/generation.py; docs/generation-metadata.md).
GENERATION_MAX_CHUNK_BYTES = int(
    _number("GENERATION_MAX_CHUNK_BYTES", 1024**2, low=1024, high=16 * 1024**2)
)
# Perceptual hashes (tracking/perceptual.py, docs/near-duplicates.md): the bytes read
# for the sha256 are also kept (in memory up to PERCEPTUAL_SPOOL_MEMORY, then in a
# temporary file) for the file readers, up to PERCEPTUAL_MAX_BYTES; a larger file is
# still hashed but gets no perceptual hash. Decoding stops at these pixel counts.
PERCEPTUAL_MAX_BYTES = int(_number("PERCEPTUAL_MAX_BYTES", 512 * 1024**2, low=1, high=2**50))
PERCEPTUAL_SPOOL_MEMORY = int(_number("PERCEPTUAL_SPOOL_MEMORY", 16 * 1024**2, low=0, high=2**31))
PERCEPTUAL_MAX_PIXELS = int(_number("PERCEPTUAL_MAX_PIXELS", 50_000_000, low=1, high=10**10))
PERCEPTUAL_MAX_FRAME_PIXELS = int(
    _number("PERCEPTUAL_MAX_FRAME_PIXELS", 8192 * 4320, low=1, high=10**10)
)

# Outbound HTTP (both Civitai clients and URL hashing).
HTTP_CONNECT_TIMEOUT = _seconds("HTTP_CONNECT_TIMEOUT", 5.0, high=300)
HTTP_READ_TIMEOUT = _seconds("HTTP_READ_TIMEOUT", 30.0, high=3600)
# Whole-call deadlines, retries and Retry-After pauses included: one site or
# Orchestration API call, and one URL hash (which may stream gigabytes).
HTTP_TOTAL_TIMEOUT = _seconds("HTTP_TOTAL_TIMEOUT", 60.0)
HASH_TIMEOUT = _seconds("HASH_TIMEOUT", 300.0)
# Streaming downloads to disk have no total deadline (a model file may take an hour)
# but must keep moving: below this many bytes per second, averaged over the read
# timeout, they stop.
HTTP_MIN_DOWNLOAD_RATE = _positive_int("HTTP_MIN_DOWNLOAD_RATE", 1024)
HTTP_MAX_RETRIES = _positive_int("HTTP_MAX_RETRIES", 4, high=20)
HTTP_BACKOFF_FACTOR = float(_number("HTTP_BACKOFF_FACTOR", 0.5, kind=float, low=0, high=60))
HTTP_RETRY_AFTER_MAX = float(_number("HTTP_RETRY_AFTER_MAX", 30.0, kind=float, low=0, high=3600))
# Per-process cap on URL hashes running at once; one more gets 503 with Retry-After
# so slow upstreams cannot take every web thread.
HASH_MAX_CONCURRENT = int(_number("HASH_MAX_CONCURRENT", 4, kind=int, low=1, high=1000))

# JSON API
API_MAX_BODY_BYTES = _positive_int("API_MAX_BODY_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, 2_621_440)

# Moderation: jobs whose CSAM score reaches this value are never fetched or rendered.
# A fraction: 50 (meant as 50 %) would withhold nothing, so it stops start-up instead.
MODERATION_CSAM_THRESHOLD = float(
    _number(
        "MODERATION_CSAM_THRESHOLD",
        0.5,
        kind=float,
        low=0,
        high=1,
        hint=" (a fraction: write 0.5 for 50 %)",
    )
)
# A reviewer's claim on a job lapses after this many minutes; a reveal of blurred
# media stays shown to that reviewer this long (each reveal is logged).
MODERATION_CLAIM_MINUTES = _positive_int("MODERATION_CLAIM_MINUTES", 30)
MODERATION_REVEAL_MINUTES = _positive_int("MODERATION_REVEAL_MINUTES", 15)
# sync_workflows fetches at most this many v1 jobs (scan results) per run.
ORCHESTRATION_SYNC_MAX_SCANS = _positive_int("ORCHESTRATION_SYNC_MAX_SCANS", 200)

# --- background work (docs/background-work.md) ------------------------------------
# Long work runs through Django's tasks API. TASKS_ENGINE picks the backend:
# "database" (the embedded default: django-tasks-db, one ``db_worker`` beside the web
# server), "rq" (production: RQ on Redis, any number of ``rqworker`` processes, which
# recover a killed worker's task and retry with backoff) or "immediate" (in-process,
# for tests about the work itself).
TASKS_ENGINE = env.str("TASKS_ENGINE", default="database")
_TASK_BACKENDS = {
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend"},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]},
    "immediate": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"},
}
if TASKS_ENGINE not in _TASK_BACKENDS:
    _refuse("TASKS_ENGINE must be one of: " + ", ".join(_TASK_BACKENDS))
TASKS = {"default": _TASK_BACKENDS[TASKS_ENGINE]}
if TASKS_ENGINE == "rq":
    # django-rq brings the ``rqworker`` command and RQ's queue pages in the admin.
    INSTALLED_APPS.append("django_rq")

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# A task that raised (or whose worker died) runs again this many times, after these
# delays in seconds (the last delay repeats). RQ applies them; the database engine
# has no retries, and the next scheduled slot picks up what is left.
TASK_RETRIES = _positive_int("TASK_RETRIES", 3, high=20)
TASK_RETRY_DELAYS = []
for _delay in env.list("TASK_RETRY_DELAYS", default=["30", "120", "600"]):
    if not _delay.strip().isdigit() or int(_delay) > 86400:
        _refuse(
            f"TASK_RETRY_DELAYS must be whole seconds (0-86400), e.g. 30,120,600; got {_delay!r}"
        )
    TASK_RETRY_DELAYS.append(int(_delay))
if not TASK_RETRY_DELAYS:
    _refuse("TASK_RETRY_DELAYS must list at least one delay in seconds, e.g. 30,120,600")
# The longest one task may run before the engine stops it (RQ's job timeout).
TASK_TIMEOUT = _positive_int("TASK_TIMEOUT", 3 * 3600, high=7 * 86400)
# How often an RQ worker looks for tasks of dead workers (they are taken once their
# heartbeat, refreshed every RQ_JOB_MONITORING_INTERVAL seconds, is 60 s stale).
RQ_MAINTENANCE_INTERVAL = _positive_int("RQ_MAINTENANCE_INTERVAL", 30, high=3600)
RQ_JOB_MONITORING_INTERVAL = _positive_int("RQ_JOB_MONITORING_INTERVAL", 10, high=600)
RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": TASK_TIMEOUT}}
RQ = {
    "QUEUE_CLASS": "background.engine.RetryingQueue",
    "WORKER_CLASS": "background.engine.Worker",
    "JOB_CLASS": "django_tasks_rq.Job",
}


def _interval(name: str, default: str) -> int | None:
    """An interval like ``900``, ``15m``, ``6h`` or ``1d`` in seconds; empty means off."""
    text = env.str(name, default=default).strip().lower()
    if not text:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], units[text[-1]]) if text[-1] in units else (text, 1)
    try:
        seconds = int(number) * unit
    except ValueError:
        _refuse(
            f"{name} must be an interval such as 900, 15m, 6h or 1d (empty = off), got {text!r}"
        )
    if not 1 <= seconds <= 30 * 86400:
        _refuse(f"{name} must be between 1 second and 30 days (empty = off), got {text!r}")
    return seconds


# Scheduled work: one run per slot of each interval, however many schedulers run.
SYNC_WORKFLOWS_EVERY = _interval("SYNC_WORKFLOWS_EVERY", "15m")
SYNC_STATS_EVERY = _interval("SYNC_STATS_EVERY", "6h")
HASH_BLOBS_EVERY = _interval("HASH_BLOBS_EVERY", "1h")
HASH_ASSETS_EVERY = _interval("HASH_ASSETS_EVERY", "1h")
HASH_PERCEPTUAL_EVERY = _interval("HASH_PERCEPTUAL_EVERY", "1h")
SCHEDULES = {
    "sync_workflows": SYNC_WORKFLOWS_EVERY,
    "sync_stats": SYNC_STATS_EVERY,
    "hash_blobs": HASH_BLOBS_EVERY,
    "hash_assets": HASH_ASSETS_EVERY,
    "hash_perceptual": HASH_PERCEPTUAL_EVERY,
}
# An incremental sync starts this many seconds before the newest createdAt that the
# last complete sync saw, so workflows that appear late upstream are not missed.
SYNC_WORKFLOWS_OVERLAP = _positive_int("SYNC_WORKFLOWS_OVERLAP", 6 * 3600, high=30 * 86400)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "civitrack.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact_secrets"],
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "urllib3": {"level": "WARNING"},
    },
}
