"""Settings for civitrack.

Every environment variable is read here, through django-environ, and nowhere else;
the rest of the code reads ``django.conf.settings``. A ``.env`` file beside
``manage.py`` is honoured. Production (``DEBUG`` off) refuses to start without a
real ``SECRET_KEY`` and ``ALLOWED_HOSTS``, and switches on HTTPS-only cookies, HSTS
and the SSL redirect unless the environment says otherwise.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _positive_int(name: str, default: int) -> int:
    """Read an integer setting and refuse a negative or non-numeric value by name."""
    try:
        value = env.int(name, default=default)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number") from exc
    if value < 0:
        raise ImproperlyConfigured(f"{name} must not be negative")
    return value


DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET = "django-insecure-civitrack-development-only"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET if DEBUG else "")
if not DEBUG and (
    SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5
):
    # The same bar as Django's security.W009 deploy check, enforced at start-up.
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters when DEBUG is off"
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off")
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
    "tracking",
    "orchestration",
    "workspace",
    "devdata",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_URL = "media/"
MEDIA_ROOT = BASE_DIR / "media"

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

# --- civitrack ---------------------------------------------------------------

CIVITAI_ACCOUNT = env.str("CIVITAI_ACCOUNT", default="c29")
CIVITAI_API_URL = env.str("CIVITAI_API_URL", default="https://orchestration.civitai.com").rstrip(
    "/"
)
CIVITAI_API_TOKEN = env.str("CIVITAI_API_TOKEN", default="") or None
CIVITAI_SITE_URL = env.str("CIVITAI_SITE_URL", default="https://civitai.com").rstrip("/")
CIVITAI_SITE_TOKEN = env.str("CIVITAI_SITE_TOKEN", default="") or None

HASH_ALLOWED_ROOTS = [p for p in env.str("HASH_ALLOWED_ROOTS", default="").split(":") if p]
HASH_MAX_BYTES = _positive_int("HASH_MAX_BYTES", 4 * 1024**3)
HASH_ALLOW_PRIVATE_URLS = env.bool("HASH_ALLOW_PRIVATE_URLS", default=False)

# Outbound HTTP (both Civitai clients and URL hashing).
HTTP_CONNECT_TIMEOUT = env.float("HTTP_CONNECT_TIMEOUT", default=5.0)
HTTP_READ_TIMEOUT = env.float("HTTP_READ_TIMEOUT", default=30.0)
HTTP_MAX_RETRIES = _positive_int("HTTP_MAX_RETRIES", 4)
HTTP_BACKOFF_FACTOR = env.float("HTTP_BACKOFF_FACTOR", default=0.5)
HTTP_RETRY_AFTER_MAX = env.float("HTTP_RETRY_AFTER_MAX", default=30.0)

# JSON API
API_MAX_BODY_BYTES = _positive_int("API_MAX_BODY_BYTES", 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, 2_621_440)

# Moderation: jobs whose CSAM score reaches this value are never fetched or rendered.
MODERATION_CSAM_THRESHOLD = env.float("MODERATION_CSAM_THRESHOLD", default=0.5)
# A reviewer's claim on a job lapses after this many minutes; a reveal of blurred
# media stays shown to that reviewer this long (each reveal is logged).
MODERATION_CLAIM_MINUTES = _positive_int("MODERATION_CLAIM_MINUTES", 30)
MODERATION_REVEAL_MINUTES = _positive_int("MODERATION_REVEAL_MINUTES", 15)
# sync_workflows fetches at most this many v1 jobs (scan results) per run.
ORCHESTRATION_SYNC_MAX_SCANS = _positive_int("ORCHESTRATION_SYNC_MAX_SCANS", 200)

# Long work runs through Django's tasks API: in-process by default.
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}

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
