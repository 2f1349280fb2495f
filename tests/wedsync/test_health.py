"""/healthz says the process is up; /readyz checks database, Redis and a Celery worker."""

import pytest
from celery.contrib.testing.worker import start_worker

from wedsync import health
from wedsync.celery import app as celery_app


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_unavailable_without_a_worker(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] and checks["redis"]["ok"]
    assert checks["celery"] == {
        **checks["celery"],
        "ok": False,
        "detail": "RuntimeError: no Celery worker answered",
    }


@pytest.mark.django_db(transaction=True)
def test_readyz_is_green_with_a_worker(client):
    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        response = client.get("/readyz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert {name for name, check in body["checks"].items() if check["ok"]} == {
        "database",
        "redis",
        "celery",
    }


def test_a_failing_check_reports_its_error_without_raising(monkeypatch, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    result = health.run_check(health.check_redis)
    assert result["ok"] is False
    assert "ConnectionError" in result["detail"]
