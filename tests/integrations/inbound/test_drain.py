"""One drain per connection processes a burst of webhooks; retries wait their turn."""

from __future__ import annotations

import pytest

from integrations import wakeups
from integrations.models import Connection, InboundEvent, RecordLink
from integrations.tasks import drain_inbound_events
from integrations.webhooks import drain
from integrations.webhooks.dispatch import DRAIN
from tests.integrations.inbound.test_inbound_endpoint import bridge_body, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """The drain tasks and per-event tasks sent, instead of reaching the broker."""
    calls = []
    monkeypatch.setattr(
        drain_inbound_events, "apply_async", lambda args, **options: calls.append(("drain", args))
    )
    monkeypatch.setattr(
        "integrations.tasks.process_inbound_event.apply_async",
        lambda args, **options: calls.append(("event", args, options.get("countdown"))),
    )
    return calls


def deliver(client, connection, secret, count: int, first: int = 0) -> None:
    for n in range(first, first + count):
        body = bridge_body(record_id=f"tl-{n}", title=f"Item {n}")
        assert post(client, connection, body, secret=secret).status_code == 200


def test_a_burst_wakes_one_drain_which_processes_every_event_in_order(
    client, bridge, sent, django_capture_on_commit_callbacks
):
    connection, secret = bridge
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, connection, secret, 5)
    assert sent == [("drain", [str(connection.pk)])]  # five deliveries, one wake-up
    assert drain_inbound_events.apply(args=[str(connection.pk)]).get() == "processed 5"
    assert InboundEvent.objects.filter(status="processed").count() == 5
    assert RecordLink.objects.count() == 5
    assert not wakeups.pending(DRAIN, connection.pk)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, connection, secret, 1, first=5)  # the next delivery wakes a new drain
    assert len(sent) == 2


def test_a_drain_out_of_time_hands_over_to_a_new_task(client, bridge, sent, monkeypatch):
    connection, secret = bridge
    deliver(client, connection, secret, 3)

    def out_of_time(pk, **options):
        wakeups.kick(DRAIN, pk, lambda: None)  # a webhook arrives meanwhile: its flag is set
        return drain.DrainRun(processed=0, more=True)

    monkeypatch.setattr(drain, "drain_connection", out_of_time)
    assert drain_inbound_events.apply(args=[str(connection.pk)]).get() == "processed 0"
    assert sent == [("drain", [str(connection.pk)])]  # sent though a flag was set


def test_the_budget_stops_the_drain_with_events_left(client, bridge, sent):
    connection, secret = bridge
    deliver(client, connection, secret, 3)
    run = drain.drain_connection(connection.pk, budget=-1.0)
    assert (run.processed, run.more) == (0, True)
    assert drain.drain_connection(connection.pk).processed == 3


def test_a_retryable_failure_is_scheduled_on_its_own_and_skipped_by_the_next_drain(
    client, bridge, sent, monkeypatch
):
    connection, secret = bridge
    deliver(client, connection, secret, 2)
    first, second = InboundEvent.objects.order_by("pk").values_list("pk", flat=True)
    real = drain.processing.process

    def flaky(event_id, batch=None, event=None, items=None):
        if event_id == first:
            raise RuntimeError("the database blinked")
        return real(event_id, batch, event, items)

    monkeypatch.setattr(drain.processing, "process", flaky)
    assert drain.drain_connection(connection.pk).processed == 2
    event = InboundEvent.objects.get(pk=first)
    assert (event.status, event.attempts) == ("received", 1)
    assert event.next_attempt_at is not None
    assert [call[:2] for call in sent if call[0] == "event"] == [("event", [first])]
    assert 2.5 <= sent[-1][2] <= 5.0  # the first backoff step, with jitter
    assert InboundEvent.objects.get(pk=second).status == "processed"
    assert drain.drain_connection(connection.pk).processed == 0  # waits for its retry
    monkeypatch.setattr(drain.processing, "process", real)
    drain.attempt(first)
    assert InboundEvent.objects.get(pk=first).status == "processed"


def test_two_drains_of_the_same_events_apply_each_once(client, bridge, sent):
    connection, secret = bridge
    deliver(client, connection, secret, 2)
    assert drain.drain_connection(connection.pk).processed == 2
    for event_id in InboundEvent.objects.values_list("pk", flat=True):
        drain.attempt(event_id)  # a stray copy changes nothing
    assert set(InboundEvent.objects.values_list("attempts", flat=True)) == {1}
    assert RecordLink.objects.count() == 2


def test_a_pause_during_a_drain_holds_the_events_of_the_next_batch(
    client, bridge, sent, monkeypatch
):
    connection, secret = bridge
    deliver(client, connection, secret, 3)
    monkeypatch.setattr(drain, "BATCH", 2)
    real = drain.attempt

    def attempt_then_pause(event_id, batch=None, event=None, items=None):
        outcome = real(event_id, batch, event, items)
        Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.PAUSED)
        return outcome

    monkeypatch.setattr(drain, "attempt", attempt_then_pause)
    drain.drain_connection(connection.pk)
    statuses = list(InboundEvent.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["processed", "processed", "held"]  # the batch of two, then the pause


@pytest.mark.django_db(transaction=True)
def test_an_attempt_that_loses_the_race_rolls_its_own_work_back(client, bridge, sent, monkeypatch):
    """Another process sets the event aside while this attempt is applying it: the attempt's
    UPDATE finds it no longer received, and what it stored is undone."""
    import threading

    from django.db import connection as db

    from integrations.webhooks import process

    if db.vendor != "postgresql":
        pytest.skip("SQLite takes one writer at a time: the other process could not write here")
    connection, secret = bridge
    deliver(client, connection, secret, 1)
    event = InboundEvent.objects.get()
    real_apply = process.apply_record

    def apply_while_another_process_acts(*args, **kwargs):
        def elsewhere():
            InboundEvent.objects.filter(pk=event.pk).update(status="ignored")
            db.close()

        other = threading.Thread(target=elsewhere)
        other.start()
        other.join()
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(process, "apply_record", apply_while_another_process_acts)
    outcome = process.process(event.pk)

    assert outcome.summary == "already ignored"
    event.refresh_from_db()
    assert (event.status, event.attempts) == ("ignored", 0)
    assert not RecordLink.objects.exists()  # the link this attempt made was rolled back
