"""The outbox sweep (beat, every 30 s): one push per connection with changes due."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from integrations.models import Connection, OutboundChange
from integrations.tasks import push_due_outboxes
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
