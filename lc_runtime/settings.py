"""Embedded Django settings: lets lc-runtime run standalone on SQLite, outside edx-platform.

Inside edx-platform the plugin app (``lc_runtime.apps``) is installed into the platform's own
settings instead, and this module is never imported.
"""
from __future__ import annotations

import os
from pathlib import Path

from openedx_content.settings_api import openedx_content_backcompat_apps_to_install

from lc_runtime.database_url import URL_ENV, mysql_database

DB_PATH = Path(os.environ.get("LC_RUNTIME_DB", "var/lc-runtime.sqlite3")).expanduser().resolve()
MEDIA_ROOT = Path(os.environ.get("LC_RUNTIME_MEDIA", str(DB_PATH.parent / "media"))).expanduser().resolve()

SECRET_KEY = os.environ.get("LC_RUNTIME_SECRET_KEY", "lc-runtime-standalone-not-secret")
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGE_CODE = "en"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SQLITE_DATABASE = {
    "ENGINE": "django.db.backends.sqlite3",
    "NAME": str(DB_PATH),
    # Write transactions start with BEGIN IMMEDIATE: writers queue for the lock (up to ``timeout``
    # seconds) instead of a reader's late upgrade failing at once with "database is locked".
    "OPTIONS": {"timeout": float(os.environ.get("LC_RUNTIME_DB_TIMEOUT", "30")), "transaction_mode": "IMMEDIATE"},
    "TEST": {"NAME": os.environ.get("LC_RUNTIME_TEST_DB") or None},
}
# LC_RUNTIME_DATABASE_URL=mysql://... selects MySQL/MariaDB instead (lc_runtime/database_url.py, ADR 0018).
DATABASES = {"default": mysql_database(os.environ[URL_ENV]) if os.environ.get(URL_ENV) else SQLITE_DATABASE}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # The authoring REST API (lc_runtime.rest, #12): DRF with its token table (ADR 0011).
    "rest_framework",
    "rest_framework.authtoken",
    "openedx_content",
    *openedx_content_backcompat_apps_to_install(),
    # Video blocks (xblocks-contrib) read and write transcripts through edx-val.
    "edxval",
    "waffle",
    # ORA2 (openassessment) cannot even be imported without its apps.
    "submissions",
    "openassessment.workflow",
    "openassessment.assessment",
    "lc_runtime",
    "modulestore_compat",
]

# The authoring REST API and Django admin, served by ``lc-runtime serve`` or any WSGI server.
ROOT_URLCONF = "lc_runtime.urls"
WSGI_APPLICATION = "lc_runtime.wsgi.application"
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ALLOWED_HOSTS = [h for h in os.environ.get("LC_RUNTIME_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# Learning Core keeps file media (static assets) here; it must not be served publicly.
OPENEDX_LEARNING = {
    "MEDIA": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT)},
    }
}

# How long a command retries a transaction while other writers hold the database (lc_runtime.concurrency).
LC_RUNTIME_BUSY_RETRY_SECONDS = float(os.environ.get("LC_RUNTIME_BUSY_RETRY_SECONDS", "60"))

# Batch migration on celery (``celery -A conformance.worker worker``): the broker, e.g. redis://host:6379/0.
# Unset: ``lc-runtime migrate`` migrates the courses in its own process.
CELERY_BROKER_URL = os.environ.get("LC_RUNTIME_CELERY_BROKER") or None
# A task is acknowledged after it ran; Redis gives it to another worker when its worker host vanished
# without a word for this long (a killed pool process is redelivered at once: reject_on_worker_lost).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": float(os.environ.get("LC_RUNTIME_CELERY_VISIBILITY_TIMEOUT", "3600"))}
CELERY_TASK_IGNORE_RESULT = True  # outcomes are migration-run rows (`lc-runtime runs`), not celery results
# Liveness of a migrating course (modulestore_compat.runs): it beats every HEARTBEAT seconds; a holder on
# another host is lost after LOST seconds without a beat, any holder after STALE seconds (a hung process).
LC_RUNTIME_MIGRATION_HEARTBEAT_SECONDS = float(os.environ.get("LC_RUNTIME_MIGRATION_HEARTBEAT_SECONDS", "30"))
LC_RUNTIME_MIGRATION_LOST_SECONDS = float(os.environ.get("LC_RUNTIME_MIGRATION_LOST_SECONDS", "300"))
LC_RUNTIME_MIGRATION_STALE_SECONDS = float(os.environ.get("LC_RUNTIME_MIGRATION_STALE_SECONDS", str(6 * 3600)))

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

def _capa_templates() -> list[str]:
    """capa's input types render Django templates from its own directory, which the LMS lists in DIRS."""
    import importlib.util

    spec = importlib.util.find_spec("xblocks_contrib")
    if spec is None or not spec.submodule_search_locations:
        return []
    path = Path(next(iter(spec.submodule_search_locations))) / "problem" / "capa" / "templates"
    return [str(path)] if path.is_dir() else []


TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": _capa_templates(),
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": [
            "django.template.context_processors.request",
            "django.contrib.auth.context_processors.auth",
            "django.contrib.messages.context_processors.messages",
        ]},
    }
]

# Settings the real XBlock classes read at import/parse time.
TRANSCRIPT_LANG_CACHE_TIMEOUT = 60 * 60 * 24
FEATURES: dict = {}
STATIC_URL = "/static/"
LMS_ROOT_URL = os.environ.get("LC_RUNTIME_LMS_ROOT_URL", "http://localhost:18000")
MEDIA_URL = "/media/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler", "level": "WARNING"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LC_RUNTIME_LOG_LEVEL", "ERROR")},
}

# edx-val stores transcripts imported with video blocks; keep them beside the database.
VIDEO_TRANSCRIPTS_SETTINGS = {
    "VIDEO_TRANSCRIPTS_MAX_BYTES": 3 * 1024 * 1024,
    "STORAGE_KWARGS": {"location": str(MEDIA_ROOT / "video-transcripts")},
    "DIRECTORY_PREFIX": "video-transcripts/",
}
VIDEO_IMAGE_SETTINGS = {
    "VIDEO_IMAGE_MAX_BYTES": 2 * 1024 * 1024,
    "VIDEO_IMAGE_MIN_BYTES": 2 * 1024,
    "STORAGE_KWARGS": {"location": str(MEDIA_ROOT / "video-images")},
    "DIRECTORY_PREFIX": "video-images/",
}
