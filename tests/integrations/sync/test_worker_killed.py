"""A pusher killed with SIGKILL mid-push (a real process, a real Celery worker): the next one
completes the push once, seconds later, not when the dead one's two-minute lease runs out.
The processes share the test database: PostgreSQL only."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings
from django.db import connection as db
from django.utils import timezone

from integrations import recovery, wakeups
from integrations.models import Connection, OutboundChange
from integrations.sync import push
from tests.factories import TimelineItemFactory
from tests.integrations.test_liveness import LIFE, kill, seconds_until, start_holder
from wedsync import queues
from wedsync.changes import record_change
from wedsync.live import EventType

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        reason="the other processes share the test database on PostgreSQL only",
    ),
]

TAKE_THE_LEASE = """
import sys, time, django
django.setup()
from integrations.sync import push
print(len(push.take_leases([sys.argv[1]])), flush=True)
time.sleep(600)
"""


def database_url() -> str:
    s = db.settings_dict
    return f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


@pytest.fixture
def broker() -> str:
    """A Redis database of its own for the workers' queues, empty."""
    url = urlsplit(settings.REDIS_URL)._replace(path="/15").geturl()
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()


@pytest.fixture
def created(team, linked, monkeypatch):
    """The calendar connection and a timeline item whose creation waits in its outbox (no
    push queued: the test's processes will push it)."""
    calendar, _, _ = linked
    item = TimelineItemFactory(wedding=team.wedding, title="Ceremony")
    monkeypatch.setattr("integrations.sync.dispatch.queue_pushes", lambda *a, **k: None)
    record_change(team.wedding.pk, EventType.TIMELINE_ITEM_CREATED, {"id": str(item.pk)})
    return calendar, item


def google_event(google, item) -> dict:
    return google.event("primary", uuid.UUID(str(item.pk)).hex)


def test_a_pusher_killed_holding_its_lease_lets_go_within_seconds(google, created):
    """A real process takes the connection's push lease and is killed with SIGKILL: the
    lease (two minutes long) is taken over once the process is known dead, seconds later."""
    calendar, item = created
    holder = start_holder(TAKE_THE_LEASE, str(calendar.pk), DATABASE_URL=database_url())
    try:
        assert holder.stdout.readline().strip() == "1"
        assert push.push_connection(calendar.pk).held == push.LEASE_HELD  # it is alive
    finally:
        kill(holder)
    lease = Connection.objects.get(pk=calendar.pk).push_lease_until
    assert lease > timezone.now() + dt.timedelta(seconds=60)  # it would hold for minutes

    waited = seconds_until(lambda: push.push_connection(calendar.pk).sent == 1, LIFE + 3)
    assert waited <= LIFE + 1
    assert google_event(google, item)["summary"] == "Ceremony"
    assert OutboundChange.objects.get().status == "sent"


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
    google, created, broker, tmp_path
):
    calendar, item = created
    change = OutboundChange.objects.get()
    # Google makes the event, then takes 8 s to answer: the worker dies in that wait.
    google.inject_fault(503, method="POST", after=True, delay_s=8)
    wakeups.clear(recovery.RESUME, recovery.RESUME_KEY)

    def creates() -> list:
        return [r for r in google.requests if r.method == "POST" and r.path.endswith("/events")]

    log = tmp_path / "workers.log"
    with open(log, "ab") as out:
        first = start_worker(out, broker, google)  # its start sweeps up the change
        try:
            wait_for(creates, 60, "the first worker's push", log)
            assert google_event(google, item)["summary"] == "Ceremony"
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
    assert google_event(google, item)["status"] == "confirmed"
