"""A real Celery worker killed with SIGKILL mid-push: a new worker completes the push once,
seconds after it starts (not when the dead worker's two-minute lease runs out)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis
from django.conf import settings
from django.db import connection as db

from integrations import recovery, wakeups
from integrations.models import Connection, OutboundChange
from tests.factories import TimelineItemFactory
from wedsync import queues

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LIFE = 3  # the workers' HOLDER_LIFE_SECONDS


def database_url() -> str:
    s = db.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


@pytest.fixture
def broker() -> str:
    """A Redis database of its own for the workers' queues, empty."""
    url = settings.REDIS_URL.rsplit("/", 1)[0] + "/15"
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()


def start_worker(log, broker: str, google) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "wedsync.settings_test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "HOLDER_LIFE_SECONDS": str(LIFE),
        "PROVIDER_ORIGINS": json.dumps({"google_calendar": google.base_url}),
        "OAUTH_CLIENTS": json.dumps(
            {"google_calendar": {"client_id": "hub", "client_secret": "s"}}
        ),
    }
    command = [sys.executable, "-m", "celery", "-A", "wedsync", "worker", "-c", "1"]
    command += ["-Q", ",".join(queues.ALL), "--without-mingle", "--without-gossip", "-l", "info"]
    return subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def kill_worker(worker: subprocess.Popen) -> None:
    """SIGKILL to the worker and its pool process: no finally, no acknowledgement."""
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def wait_for(predicate, seconds: float, what: str, log) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"timed out waiting for {what}:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)
    return time.monotonic() - started


def test_a_worker_killed_mid_push_is_completed_once_by_the_next_worker(
    team, google, linked, monkeypatch, broker, tmp_path
):
    from wedsync.changes import record_change
    from wedsync.live import EventType

    if db.vendor != "postgresql":
        pytest.skip("the workers share the test database on PostgreSQL only")
    calendar, _, _ = linked
    item = TimelineItemFactory(wedding=team.wedding, title="Ceremony")
    monkeypatch.setattr("integrations.sync.dispatch.queue_pushes", lambda *a, **k: None)
    record_change(team.wedding.pk, EventType.TIMELINE_ITEM_CREATED, {"id": str(item.pk)})
    change = OutboundChange.objects.get()
    # Google makes the event, then takes 8 s to answer: the worker dies in that wait.
    google.inject_fault(503, method="POST", after=True, delay_s=8)
    wakeups.clear(recovery.RESUME, recovery.RESUME_KEY)
    event_id = uuid.UUID(str(item.pk)).hex

    def creates() -> list:
        return [r for r in google.requests if r.method == "POST" and r.path.endswith("/events")]

    log = tmp_path / "workers.log"
    with open(log, "ab") as out:
        first = start_worker(out, broker, google)  # its start sweeps up the change
        try:
            wait_for(creates, 60, "the first worker's push", log)
            assert google.event("primary", event_id)["summary"] == "Ceremony"
        finally:
            kill_worker(first)
        change.refresh_from_db()
        assert change.status == "pending"  # the provider has it; we never recorded that
        lease = Connection.objects.get(pk=calendar.pk)
        assert lease.push_lease_until is not None and lease.push_lease_holder

        second = start_worker(out, broker, google)
        try:
            started = time.monotonic()

            def sent() -> bool:
                change.refresh_from_db()
                return change.status == "sent"

            wait_for(sent, 60, "the second worker to complete the push", log)
            took = time.monotonic() - started
        finally:
            kill_worker(second)

    assert change.attempts == 1
    assert took < 30  # the lease alone would have held it for two minutes
    assert len(creates()) == 2  # the retried create found its own event: still one event
    assert google.event("primary", event_id)["status"] == "confirmed"
