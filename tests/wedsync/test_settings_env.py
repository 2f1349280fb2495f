"""Settings come from the environment; each case loads them in a fresh interpreter."""

import json
import subprocess
import sys

import pytest

PRINT_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
db = settings.DATABASES["default"]
out = {
    "DEBUG": settings.DEBUG, "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "ENGINE": db["ENGINE"], "NAME": str(db["NAME"]), "OPTIONS": db.get("OPTIONS", {}),
    "HOST": db.get("HOST"), "REDIS_URL": settings.REDIS_URL,
    "BROKER": settings.CELERY_BROKER_URL,
    "LAYER_HOSTS": settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"],
    "FERNET_KEYS": settings.FERNET_KEYS,
    "QUEUES": [q.name for q in settings.CELERY_TASK_QUEUES],
    "SCHEDULER": settings.CELERY_BEAT_SCHEDULER,
}
if db["ENGINE"].endswith("sqlite3"):
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        out["journal_mode"] = cursor.fetchone()[0]
        cursor.execute("PRAGMA busy_timeout")
        out["busy_timeout"] = cursor.fetchone()[0]
print(json.dumps(out))
"""


def load_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    base = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "wedsync.settings",
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
    }
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_secret_key_is_required_when_debug_is_off(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_defaults_are_production_safe_with_embedded_sqlite(tmp_path):
    result = load_settings(tmp_path, SECRET_KEY="s3cret")
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["DEBUG"] is False
    assert loaded["ALLOWED_HOSTS"] == []
    assert loaded["ENGINE"] == "django.db.backends.sqlite3"
    assert loaded["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert loaded["journal_mode"] == "wal"
    assert loaded["busy_timeout"] == 20000
    assert loaded["FERNET_KEYS"] == ["s3cret"]
    assert loaded["QUEUES"] == ["priority", "webhooks", "sync", "resync", "messaging", "default"]
    assert loaded["SCHEDULER"] == "django_celery_beat.schedulers:DatabaseScheduler"


def test_database_redis_hosts_and_keys_come_from_the_environment(tmp_path):
    result = load_settings(
        tmp_path,
        SECRET_KEY="s3cret",
        DEBUG="true",
        DATABASE_URL="postgres://hub:pw@db.internal:5433/weddings",
        REDIS_URL="redis://cache.internal:6380/2",
        ALLOWED_HOSTS="hub.example.com, api.example.com",
        FERNET_KEYS="new-key,old-key",
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["DEBUG"] is True
    assert (loaded["ENGINE"], loaded["NAME"], loaded["HOST"]) == (
        "django.db.backends.postgresql",
        "weddings",
        "db.internal",
    )
    assert "transaction_mode" not in loaded["OPTIONS"]
    assert loaded["OPTIONS"]["server_side_binding"] is True
    assert loaded["OPTIONS"]["prepare_threshold"] == 5
    assert loaded["REDIS_URL"] == loaded["BROKER"] == "redis://cache.internal:6380/2"
    assert loaded["LAYER_HOSTS"] == [
        {"address": "redis://cache.internal:6380/2", "socket_timeout": None}
    ]
    assert loaded["ALLOWED_HOSTS"] == ["hub.example.com", "api.example.com"]
    assert loaded["FERNET_KEYS"] == ["new-key", "old-key"]


def test_server_side_binding_can_be_turned_off_for_a_pooling_proxy(tmp_path):
    result = load_settings(
        tmp_path,
        SECRET_KEY="s3cret",
        DATABASE_URL="postgres://hub:pw@pgbouncer.internal:6432/weddings",
        DB_SERVER_BINDING="0",
    )
    assert result.returncode == 0, result.stderr
    options = json.loads(result.stdout)["OPTIONS"]
    assert "server_side_binding" not in options
    assert "prepare_threshold" not in options


@pytest.mark.parametrize(
    "value,expected", [("1", True), ("yes", True), ("off", False), ("", False)]
)
def test_debug_flag_parsing(tmp_path, value, expected):
    result = load_settings(tmp_path, SECRET_KEY="s3cret", DEBUG=value)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["DEBUG"] is expected
