"""Settings, read from the environment (twelve-factor).

The embedded default is SQLite in the repository folder, tuned so the web, worker and beat
processes can share it: WAL journal, a busy timeout and IMMEDIATE transactions. Production and CI
set DATABASE_URL to PostgreSQL.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from wedsync import queues

BASE_DIR = Path(__file__).resolve().parent.parent
# Data and logs of a local run (SQLite, static files, Redis) live in one ignored folder.
RUN_DIR = Path(os.environ.get("WEDSYNC_RUN_DIR", BASE_DIR / ".run")).resolve()


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-dev-only-key-do-not-deploy"  # noqa: S105 - only reachable with DEBUG on

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "channels",
    "wedsync",
    "integrations",
    "conflicts",
    "payments",
    "calendars",
    "messaging",
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
]

ROOT_URLCONF = "wedsync.urls"
ASGI_APPLICATION = "wedsync.asgi.application"
WSGI_APPLICATION = "wedsync.wsgi.application"

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


def database_from_env() -> dict:
    """DATABASE_URL, or the embedded SQLite file tuned for several processes."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        config = dj_database_url.parse(url, conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", 60)))
        if config["ENGINE"] == "django.db.backends.postgresql" and env_bool(
            "DB_SERVER_BINDING", True
        ):
            # Parameters bound by the server, and a statement run 5 times on a connection
            # prepared there: the drain and push queries repeat all day, and quoting, parsing
            # and planning them each time cost ~8% of a drained event's CPU in the worker.
            # Django turns both off by default for the sake of transaction-pooling proxies
            # (PgBouncer before 1.21): set DB_SERVER_BINDING=0 behind one.
            config.setdefault("OPTIONS", {}).update(
                {
                    "server_side_binding": True,
                    "prepare_threshold": int(os.environ.get("DB_PREPARE_THRESHOLD", 5)),
                }
            )
        if config["ENGINE"] == "django.db.backends.postgresql" and env_bool("DB_POOL"):
            # For the ASGI server: there each request runs on a thread of its own, so persistent
            # connections pile up (one per thread); a pool per process is reused instead.
            # Single-threaded processes (Celery prefork children, gunicorn sync workers) keep
            # one persistent connection, which measured twice as fast as the pool for them.
            config["CONN_MAX_AGE"] = 0
            config.setdefault("OPTIONS", {})["pool"] = {
                "min_size": 2,
                "max_size": int(os.environ.get("DB_POOL_SIZE", 10)),
            }
    else:
        config = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(RUN_DIR / "wedsync.sqlite3")),
        }
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config.setdefault("OPTIONS", {}).update(
            {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            }
        )
    return config


DATABASES = {"default": database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # redis 8 sets a 5 s socket timeout by default, and channels_redis blocks for 5 s
            # waiting for a message: a quiet socket would die with a TimeoutError.
            "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
            "prefix": "wedsync:ws",
            "capacity": 1000,
            "expiry": 30,
        },
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "wedsync",
    }
}

# Providers: a key -> origin map that points providers at stand-ins (the sandbox emulators),
# e.g. {"tave": "http://127.0.0.1:8101"}; and OAuth clients registered with each provider.
# The hub's public origin as providers see it (signatures of Twilio and Square cover the URL).
PUBLIC_URL = os.environ.get("PUBLIC_URL", "")
PROVIDER_ORIGINS = json.loads(os.environ.get("PROVIDER_ORIGINS", "{}"))
OAUTH_CLIENTS = json.loads(os.environ.get("OAUTH_CLIENTS", "{}"))

# Encryption keys for credentials at rest: the first key encrypts, every key decrypts.
FERNET_KEYS = env_list("FERNET_KEYS") or [SECRET_KEY]

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
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", RUN_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/integrations/"
LOGOUT_REDIRECT_URL = "/"
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "WedSync Hub <hub@wedsync.local>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an unauthenticated request gets 401 with WWW-Authenticate, not 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "wedsync.api.pagination.StandardPagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "WedSync Hub API",
    "DESCRIPTION": "Weddings, their vendors, timeline and contacts; integrations with every "
    "vendor system. Live updates: WebSocket /ws/weddings/<id>/.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = queues.DEFAULT
CELERY_TASK_QUEUES = [Queue(name) for name in queues.ALL]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "queue_order_strategy": "priority"}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Celery's Django fixup closes every database connection after each task unless this is set:
# a new PostgreSQL session per task cost about 7 ms and 0.4 cores in bench/sync_e2e.py.
CELERY_DB_REUSE_MAX = int(os.environ.get("CELERY_DB_REUSE_MAX", 1000))
CELERY_TASK_ROUTES = {
    "integrations.tasks.process_inbound_event": {"queue": queues.WEBHOOKS},
    "integrations.tasks.drain_inbound_events": {"queue": queues.WEBHOOKS},
    "integrations.tasks.sweep_inbound_events": {"queue": queues.DEFAULT},
    "integrations.tasks.push_connection": {"queue": queues.SYNC},
    "integrations.tasks.push_due_outboxes": {"queue": queues.DEFAULT},
    "integrations.tasks.resume_held_work": {"queue": queues.DEFAULT},
    "integrations.tasks.pull_connection": {"queue": queues.RESYNC},
    "integrations.tasks.dispatch_due_pulls": {"queue": queues.DEFAULT},
    "integrations.tasks.renew_push_channels": {"queue": queues.DEFAULT},
}
# Written into django-celery-beat's tables when beat starts; editable in the admin after that.
CELERY_BEAT_SCHEDULE = {
    "sweep-inbound-events": {
        "task": "integrations.tasks.sweep_inbound_events",
        "schedule": 60.0,
        "options": {"queue": queues.DEFAULT},
    },
    "dispatch-due-pulls": {
        "task": "integrations.tasks.dispatch_due_pulls",
        "schedule": 60.0,
        "options": {"queue": queues.DEFAULT},
    },
    "renew-push-channels": {
        "task": "integrations.tasks.renew_push_channels",
        "schedule": 3600.0,
        "options": {"queue": queues.DEFAULT},
    },
    "push-due-outboxes": {
        "task": "integrations.tasks.push_due_outboxes",
        "schedule": 30.0,
        "options": {"queue": queues.DEFAULT},
    },
}

# Inbound webhooks
WEBHOOK_MAX_BODY_BYTES = int(os.environ.get("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024))
WEBHOOK_SWEEP_GRACE_SECONDS = int(os.environ.get("WEBHOOK_SWEEP_GRACE_SECONDS", 120))
# During a burst (a front process storing more than this many deliveries a second), processing
# that can wait gives way to the acknowledgements, for at most WEBHOOK_MAX_WAIT_SECONDS an event
# (integrations.webhooks.pressure); weddings happening today never wait.
WEBHOOK_BUSY_PER_SECOND = float(os.environ.get("WEBHOOK_BUSY_PER_SECOND", 200))
WEBHOOK_MAX_WAIT_SECONDS = float(os.environ.get("WEBHOOK_MAX_WAIT_SECONDS", 30))
# A notification that names a record (no event id, the same bytes each time) and arrives this
# soon after an identical one was fetched waits for the rest of this time, then is fetched
# (integrations/webhooks/repeats.py).
WEBHOOK_REPEAT_SECONDS = float(os.environ.get("WEBHOOK_REPEAT_SECONDS", 10))
# How long a web process keeps a webhook URL's connection (integrations/webhooks/lookup.py).
WEBHOOK_CONNECTION_CACHE_SECONDS = float(os.environ.get("WEBHOOK_CONNECTION_CACHE_SECONDS", 2))
# How long a Celery process counts as alive after it last said so (integrations.liveness):
# a process killed outright lets go of its locks and leases that long after.
HOLDER_LIFE_SECONDS = int(os.environ.get("HOLDER_LIFE_SECONDS", 10))
# Provider calls a Celery process makes at once when a change fans out (integrations.sync.push):
# at least the systems of one wedding, or the last of them waits for a thread to come free.
PUSH_THREADS = int(os.environ.get("PUSH_THREADS", 16))
# Signing secrets of our own apps at providers that post to one fixed URL (Slack, WhatsApp):
# JSON {"slack": "..."}.
WEBHOOK_APP_SECRETS = json.loads(os.environ.get("WEBHOOK_APP_SECRETS", "{}"))

SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"secret_paths": {"()": "wedsync.log_redaction.SecretPathFilter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["secret_paths"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # SDKs log full URLs (query strings) at INFO and bodies at DEBUG; the hub logs its
        # own path-only line per call instead.
        "stripe": {"level": "WARNING"},
        "slack_sdk": {"level": "WARNING"},
    },
}
