"""Processing that can wait gives way to a busy ingest front, and only that."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from integrations import wakeups
from integrations.models import InboundEvent
from integrations.tasks import drain_inbound_events
from integrations.webhooks import dispatch, drain, pressure
from tests.integrations.inbound.test_drain import deliver, sent  # noqa: F401 - a fixture

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sent")]  # no broker


@pytest.fixture
def quiet():
    """No front says it is busy, before and after."""
    wakeups.client().delete(pressure.KEY)
    yield
    wakeups.client().delete(pressure.KEY)


@pytest.fixture
def busy(quiet):
    wakeups.client().set(pressure.KEY, 1, px=60_000)  # held for the test


def test_a_front_storing_faster_than_the_threshold_says_it_is_busy(quiet, settings):
    settings.WEBHOOK_BUSY_PER_SECOND = 200
    meter = pressure.Meter()
    meter._started -= 1.0  # a window of one second
    meter.stored(150)
    assert not pressure.front_busy()

    meter._started -= 1.0
    meter.stored(250)
    assert pressure.front_busy()
    assert 0 < wakeups.client().pttl(pressure.KEY) <= pressure.BUSY_HOLD_MS  # lapses alone


def test_a_drain_that_may_give_way_stops_while_the_front_is_busy(client, bridge, busy):
    connection, secret = bridge
    deliver(client, connection, secret, 3)

    run = drain.drain_connection(connection.pk, may_give_way=True)

    assert (run.processed, run.more, run.gave_way) == (0, True, True)
    assert InboundEvent.objects.filter(status="received").count() == 3
    wakeups.client().delete(pressure.KEY)  # the burst is over
    assert drain.drain_connection(connection.pk, may_give_way=True).processed == 3


def test_a_drain_at_work_stops_when_a_burst_begins(client, bridge, quiet, monkeypatch):
    """Asked again between units of work, not only before the batch is read."""
    connection, secret = bridge
    deliver(client, connection, secret, 3)  # three records: three units of work
    answers = iter([False, False, True])  # before the batch, before unit 1, before unit 2
    monkeypatch.setattr(pressure, "front_busy", lambda: next(answers, True))
    monkeypatch.setattr(drain, "GIVE_WAY_CHECK_SECONDS", 0.0)  # ask before every unit

    run = drain.drain_connection(connection.pk, may_give_way=True)

    assert (run.processed, run.more, run.gave_way) == (1, True, True)
    assert InboundEvent.objects.filter(status="received").count() == 2


def test_a_drain_inline_or_for_a_wedding_today_never_gives_way(client, bridge, busy, monkeypatch):
    connection, secret = bridge
    deliver(client, connection, secret, 2)
    assert drain.drain_connection(connection.pk).processed == 2  # may_give_way is off

    deliver(client, connection, secret, 2, first=2)
    monkeypatch.setattr(dispatch, "has_wedding_today", lambda organization_id: True)
    run = drain.drain_connection(connection.pk, may_give_way=True)
    assert (run.processed, run.gave_way) == (2, False)


def test_an_event_held_back_too_long_is_processed_in_a_burst(client, bridge, busy, settings):
    settings.WEBHOOK_MAX_WAIT_SECONDS = 30
    connection, secret = bridge
    deliver(client, connection, secret, 2)
    InboundEvent.objects.update(received_at=timezone.now() - dt.timedelta(seconds=31))

    run = drain.drain_connection(connection.pk, may_give_way=True)

    assert (run.processed, run.gave_way) == (2, False)


def test_a_drain_task_that_gave_way_is_queued_again_a_moment_later(
    client, bridge, busy, monkeypatch
):
    connection, secret = bridge
    deliver(client, connection, secret, 2)
    queued = []
    monkeypatch.setattr(
        drain_inbound_events,
        "apply_async",
        lambda args, **options: queued.append((args, options.get("countdown"))),
    )

    # Called as a worker calls it (not eager), so it may give way.
    summary = drain_inbound_events(str(connection.pk))

    assert summary == "processed 0, gave way to the ingest front"
    assert queued == [([str(connection.pk)], pressure.RESUME_SECONDS)]
    assert InboundEvent.objects.filter(status="received").count() == 2
