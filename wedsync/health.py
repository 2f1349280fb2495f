"""Liveness (/healthz) and readiness (/readyz): JSON with each check's result."""

from __future__ import annotations

import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

CELERY_PING_TIMEOUT_S = 1.0


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def check_redis() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return "pong"


def check_celery() -> str:
    from wedsync.celery import app

    replies = app.control.ping(timeout=CELERY_PING_TIMEOUT_S, limit=1)
    if not replies:
        raise RuntimeError("no Celery worker answered")
    return ", ".join(name for reply in replies for name in reply)


READINESS_CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "redis": check_redis,
    "celery": check_celery,
}


def run_check(check: Callable[[], str]) -> dict:
    started = time.perf_counter()
    try:
        detail, ok = check(), True
    except Exception as error:
        detail, ok = f"{type(error).__name__}: {error}", False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


@never_cache
@require_GET
def healthz(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request) -> JsonResponse:
    checks = {name: run_check(check) for name, check in READINESS_CHECKS.items()}
    ready = all(result["ok"] for result in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )
