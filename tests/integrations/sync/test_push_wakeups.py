"""Pushes are woken once per burst; a pusher at work picks up what arrives meanwhile."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations import wakeups
from integrations.models import OutboundChange
from integrations.sync import push
from integrations.sync.dispatch import PUSH
from integrations.tasks import push_connection, push_due_outboxes
from tests.factories import TimelineItemFactory
from tests.integrations.sync.test_sync_flow import google_event
from wedsync.changes import record_change
from wedsync.live import EventType

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(linked, monkeypatch):
    """Push tasks sent, kept instead of run, with their countdown."""
    calls = []
    monkeypatch.setattr(
        push_connection,
        "apply_async",
        lambda args, countdown=None, **options: calls.append((args[0], countdown)),
    )
    return calls


def change(team, title: str, minute: int, capture) -> None:
    item = TimelineItemFactory(
        wedding=team.wedding,
        title=title,
        starts_at=dt.datetime(2027, 3, 27, 15, minute, tzinfo=dt.UTC),
    )
    with capture(execute=True):
        record_change(team.wedding.pk, EventType.TIMELINE_ITEM_CREATED, {"id": str(item.pk)})
    return item


def test_a_burst_of_changes_wakes_one_push_which_sends_them_all(
    team, linked, google, sent, django_capture_on_commit_callbacks
):
    calendar, _, _ = linked
    items = [change(team, f"Item {n}", n, django_capture_on_commit_callbacks) for n in range(3)]
    assert [call for call in sent if call[0] == str(calendar.pk)] == [(str(calendar.pk), None)]
    assert push_connection.apply(args=[str(calendar.pk)]).get() == "sent 3, failed 0"
    assert [google_event(google, item.pk)["summary"] for item in items] == [
        "Item 0",
        "Item 1",
        "Item 2",
    ]
    assert not wakeups.pending(PUSH, calendar.pk)


def test_a_change_arriving_while_a_pusher_is_at_work_goes_before_it_lets_go(
    team, linked, google, sent, django_capture_on_commit_callbacks
):
    calendar, _, _ = linked
    runs, arrived = [], []

    def work():
        if not runs:  # while the holder works, a change arrives and its task is run
            arrived.append(change(team, "Ceremony", 30, django_capture_on_commit_callbacks))
            assert push_connection.apply(args=[str(calendar.pk)]).get() == push.LEASE_HELD
            assert wakeups.pending(PUSH, calendar.pk)  # left for the holder
            runs.append(0)
            return push.PushRun()
        run = push.push_connection(calendar.pk, leased=True)
        runs.append(run.sent)
        return run

    wakeups.run_exclusively(
        PUSH,
        calendar.pk,
        work,
        acquire=lambda: push.take_lease(calendar.pk),
        release=lambda: push.release_lease(calendar.pk),
    )
    assert runs == [0, 1]  # the holder looked again before letting go
    assert google_event(google, arrived[0].pk)["summary"] == "Ceremony"
    assert OutboundChange.objects.get(connection=calendar).status == "sent"


def test_retries_and_the_sweep_are_sent_whatever_the_flag_says(
    team, linked, sent, django_capture_on_commit_callbacks
):
    calendar, _, _ = linked
    change(team, "Ceremony", 0, django_capture_on_commit_callbacks)
    assert wakeups.pending(PUSH, calendar.pk)
    from integrations.sync.dispatch import queue_push

    queue_push(calendar.pk, countdown=30)  # a retry for later
    assert push_due_outboxes.apply().get() >= 1  # the sweep: a lost task may have left the flag
    mine = [call for call in sent if call[0] == str(calendar.pk)]
    assert mine == [(str(calendar.pk), None), (str(calendar.pk), 30), (str(calendar.pk), None)]
