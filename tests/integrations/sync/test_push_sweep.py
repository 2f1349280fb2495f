"""The outbox sweep (beat, every 30 s): one push per connection with changes due."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import uuid

import pytest
from django.utils import timezone

from integrations import liveness
from integrations.models import Connection, InboundEvent, OutboundChange
from integrations.tasks import push_due_outboxes, resume_held_work
from tests.factories import OrganizationFactory
from tests.integrations.providers.conftest import make_connection

pytestmark = pytest.mark.django_db


def pending(connection: Connection, count: int = 1, **extra) -> None:
    for _ in range(count):
        OutboundChange.objects.create(
            connection=connection,
            kind="timeline_item",
            object_id=uuid.uuid4(),
            action="update",
            **extra,
        )


def connection(**extra) -> Connection:
    made = make_connection(OrganizationFactory(), "google_calendar", {"access_token": "t"})
    if extra:
        Connection.objects.filter(pk=made.pk).update(**extra)
    return made


@pytest.fixture
def queued(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(
        "integrations.sync.dispatch.queue_push",
        lambda connection_id, **options: calls.append(str(connection_id)),
    )
    return calls


def test_a_connection_with_many_changes_due_gets_one_push(queued):
    backlog, single = connection(), connection()
    pending(backlog, 3)  # a backlog after an outage: still one task for the connection
    pending(single)
    assert push_due_outboxes() == 2
    assert sorted(queued) == sorted([str(backlog.pk), str(single.pk)])


def test_leased_paused_and_not_yet_due_connections_are_left_alone(queued):
    later = timezone.now() + dt.timedelta(minutes=5)
    pending(connection(push_lease_until=later))  # a pusher is at work on it
    pending(connection(status=Connection.Status.PAUSED))
    pending(connection(), next_attempt_at=later)  # its retry has not come
    pending(connection(), status=OutboundChange.Status.SENT)
    assert push_due_outboxes() == 0
    assert queued == []


def test_a_lease_whose_holder_died_is_swept_and_a_live_holders_is_not(queued):
    later = timezone.now() + dt.timedelta(minutes=2)
    dead = connection(push_lease_until=later, push_lease_holder=secrets.token_hex(8))
    alive = connection(push_lease_until=later, push_lease_holder=liveness.holder())
    pending(dead)
    pending(alive)
    assert push_due_outboxes() == 1
    assert queued == [str(dead.pk)]


def test_the_resume_after_a_restart_sweeps_the_pushes_and_wakes_each_waiting_drain(
    queued, monkeypatch
):
    """Even where a wake-up looks queued: the task it stands for may have died too."""
    drained: list[tuple[dict, bool]] = []
    monkeypatch.setattr(
        "integrations.webhooks.dispatch.queue_drains",
        lambda organization_of, force=False: drained.append((organization_of, force)),
    )
    outbox, inbound, retrying = connection(), connection(), connection()
    pending(outbox)
    for source, dedup in ((inbound, "a"), (inbound, "b")):
        InboundEvent.objects.create(connection=source, provider="google_calendar", dedup_key=dedup)
    InboundEvent.objects.create(  # waits for its retry task, not for a drain
        connection=retrying,
        provider="google_calendar",
        dedup_key="c",
        next_attempt_at=timezone.now() + dt.timedelta(minutes=1),
    )
    InboundEvent.objects.create(
        connection=outbox, provider="google_calendar", dedup_key="d", status="processed"
    )

    assert resume_held_work() == "pushes queued: 1, drains woken: 1"
    assert queued == [str(outbox.pk)]
    assert drained == [({inbound.pk: inbound.organization_id}, True)]


def test_each_process_start_queues_one_resume_until_it_has_run(monkeypatch):
    from celery.signals import worker_process_init, worker_ready

    from integrations import recovery, wakeups

    wakeups.clear(recovery.RESUME, recovery.RESUME_KEY)
    sent: list[dict] = []
    monkeypatch.setattr(resume_held_work, "apply_async", lambda **options: sent.append(options))
    monkeypatch.setattr("integrations.webhooks.dispatch.queue_drains", lambda *a, **k: None)
    worker_ready.send(sender=None)
    worker_process_init.send(sender=None)  # a pool process replaced: one resume is enough
    wait_for_threads("queue-resume")
    assert sent == [{"countdown": liveness.life_seconds() + 1}]  # after a dead one's life
    resume_held_work()
    worker_process_init.send(sender=None)
    wait_for_threads("queue-resume")
    assert len(sent) == 2
    wakeups.clear(recovery.RESUME, recovery.RESUME_KEY)


def wait_for_threads(name: str) -> None:
    for thread in threading.enumerate():
        if thread.name == name:
            thread.join(timeout=10)
