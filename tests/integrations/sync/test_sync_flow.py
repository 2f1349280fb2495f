"""Changes flow between systems over real HTTP: a bridge vendor moves the ceremony, our timeline
follows, Google Calendar (emulator) holds the new time; our own edits reach Google; nothing is
pushed back to its source; a system that was down gets the queued changes in order."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
import zoneinfo

import pytest

from integrations.models import IntegrationEvent, OutboundChange
from integrations.tasks import push_connection, push_connections
from tests.factories import TimelineItemFactory
from tests.integrations.sync.conftest import another_calendar
from wedsync.models import TimelineItem

pytestmark = pytest.mark.django_db
LISBON = zoneinfo.ZoneInfo("Europe/Lisbon")


def bridge_post(client, bridge, secret, event, record_id, occurred_at, **data):
    body = {"event": event, "id": record_id, "occurred_at": occurred_at, "data": data}
    return client.post(
        f"/api/integrations/inbound/{bridge.webhook_token}/",
        json.dumps(body),
        content_type="application/json",
        HTTP_X_WEDSYNC_SECRET=secret,
    )


def google_event(google, item_id):
    return google.event("primary", uuid.UUID(str(item_id)).hex)


def test_a_ceremony_moved_in_a_crm_reaches_our_timeline_and_google_calendar(
    client, team, google, linked, django_capture_on_commit_callbacks
):
    calendar, bridge, secret = linked
    with django_capture_on_commit_callbacks(execute=True):
        response = bridge_post(
            client,
            bridge,
            secret,
            "timeline_item.created",
            "hb-42",
            "2027-03-01T09:00:00Z",
            title="Ceremony",
            starts_at="2027-03-27T15:30:00+00:00",
            location="Quinta da Baroneza",
        )
    assert response.status_code == 200
    item = TimelineItem.objects.get(wedding=team.wedding)
    assert item.title == "Ceremony"
    event = google_event(google, item.pk)
    assert event["summary"] == "Ceremony"
    assert event["start"]["timeZone"] == "Europe/Lisbon"
    assert dt.datetime.fromisoformat(event["start"]["dateTime"]).astimezone(
        LISBON
    ).time() == dt.time(15, 30)

    with django_capture_on_commit_callbacks(execute=True):
        bridge_post(
            client,
            bridge,
            secret,
            "timeline_item.updated",
            "hb-42",
            "2027-03-02T09:00:00Z",
            title="Ceremony",
            starts_at="2027-03-27T16:00:00+00:00",
        )
    item.refresh_from_db()
    assert item.starts_at == dt.datetime(2027, 3, 27, 16, 0, tzinfo=dt.UTC)
    event = google_event(google, item.pk)
    assert dt.datetime.fromisoformat(event["start"]["dateTime"]) == item.starts_at
    assert (
        IntegrationEvent.objects.filter(
            event_type="wedding_timeline_update", source_system="honeybook"
        ).count()
        == 2
    )
    # Google got our pushes; HoneyBook (the source, and push-less) got nothing back.
    assert not OutboundChange.objects.filter(connection=bridge).exists()
    assert OutboundChange.objects.filter(connection=calendar, status="sent").count() == 2


def test_our_own_edit_reaches_google_and_a_deletion_upstream_removes_it(
    client, client_for, team, google, linked, django_capture_on_commit_callbacks
):
    _, bridge, secret = linked
    with django_capture_on_commit_callbacks(execute=True):
        bridge_post(
            client,
            bridge,
            secret,
            "timeline_item.created",
            "hb-7",
            "2027-03-01T09:00:00Z",
            title="First dance",
            starts_at="2027-03-27T21:00:00+00:00",
        )
    item = TimelineItem.objects.get()
    api = client_for(team.coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(
            f"/api/timeline-items/{item.pk}/", {"title": "First dance (live band)"}, format="json"
        )
    assert response.status_code == 200, response.content
    assert google_event(google, item.pk)["summary"] == "First dance (live band)"

    with django_capture_on_commit_callbacks(execute=True):
        bridge_post(client, bridge, secret, "timeline_item.deleted", "hb-7", "2027-03-03T09:00:00Z")
    assert not TimelineItem.objects.exists()
    assert google_event(google, item.pk)["status"] == "cancelled"


def test_a_system_that_was_down_gets_the_queued_changes_in_order(
    team, google, linked, django_capture_on_commit_callbacks
):
    """While Google is down, the ceremony is edited three times and the first dance once. When
    it is back, each record's latest state goes, in the order of those latest changes; the
    ceremony's earlier edits are superseded (its latest change carries its whole state)."""
    calendar, _, _ = linked
    ceremony, dance = (
        TimelineItemFactory(wedding=team.wedding, title=title, ends_at=None)
        for title in ("Ceremony", "First dance")
    )
    google.inject_fault(503, times=100, path_prefix="/calendar")
    from wedsync.changes import record_change
    from wedsync.live import EventType

    edits = (
        (ceremony, 0, "Ceremony", EventType.TIMELINE_ITEM_CREATED),
        (dance, 0, "First dance", EventType.TIMELINE_ITEM_CREATED),
        (ceremony, 15, "Ceremony (moved)", EventType.TIMELINE_ITEM_UPDATED),
        (ceremony, 30, "Ceremony (moved again)", EventType.TIMELINE_ITEM_UPDATED),
    )
    for item, minute, title, event in edits:
        with django_capture_on_commit_callbacks(execute=True):
            TimelineItem.objects.filter(pk=item.pk).update(
                title=title, starts_at=dt.datetime(2027, 3, 27, 16, minute, tzinfo=dt.UTC)
            )
            record_change(team.wedding.pk, event, {"id": str(item.pk)})
    queued = OutboundChange.objects.filter(connection=calendar).order_by("id")
    # The first change waits for its retry and the rest behind it; the ceremony's middle edit
    # is already superseded by its last.
    assert [c.status for c in queued] == ["pending", "pending", "superseded", "pending"]
    assert queued[0].attempts >= 1 and queued[0].next_attempt_at is not None
    assert "unavailable" in queued[0].last_error or "503" in queued[0].last_error
    assert [c.attempts for c in queued[1:]] == [0, 0, 0]
    calendar.refresh_from_db()
    assert calendar.consecutive_failures >= 1

    google.clear_faults()  # the calendar is back
    OutboundChange.objects.update(next_attempt_at=None)
    writes_before = len(google.requests)
    push_connection.apply(args=[str(calendar.pk)])
    assert [c.status for c in OutboundChange.objects.order_by("id")] == [
        "superseded",
        "sent",
        "superseded",
        "sent",
    ]
    assert google_event(google, ceremony.pk)["summary"] == "Ceremony (moved again)"
    assert dt.datetime.fromisoformat(
        google_event(google, ceremony.pk)["start"]["dateTime"]
    ) == dt.datetime(2027, 3, 27, 16, 30, tzinfo=dt.UTC)
    writes = [
        json.loads(r.body)["summary"]
        for r in google.requests[writes_before:]
        if r.method in ("POST", "PUT", "PATCH") and "/events" in r.path
    ]
    assert writes == ["First dance", "Ceremony (moved again)"]


def test_a_change_waiting_for_its_retry_is_not_jumped_by_a_later_one(
    team, google, linked, django_capture_on_commit_callbacks
):
    """Superseding never skips a change whose retry time has not come: the later change of
    the same record waits behind it, so the backoff holds."""
    calendar, _, _ = linked
    item = TimelineItemFactory(wedding=team.wedding, title="Ceremony", ends_at=None)
    google.inject_fault(503, times=100, path_prefix="/calendar")
    from wedsync.changes import record_change
    from wedsync.live import EventType

    for title, event in (
        ("Ceremony", EventType.TIMELINE_ITEM_CREATED),
        ("Ceremony (moved)", EventType.TIMELINE_ITEM_UPDATED),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            TimelineItem.objects.filter(pk=item.pk).update(title=title)
            record_change(team.wedding.pk, event, {"id": str(item.pk)})
    google.clear_faults()
    push_connection.apply(args=[str(calendar.pk)])  # the first change's retry time is ahead

    assert [c.status for c in OutboundChange.objects.order_by("id")] == ["pending", "pending"]
    assert google_event(google, item.pk) is None


def test_changes_while_a_push_is_queued_ride_on_that_task(
    team, google, linked, monkeypatch, django_capture_on_commit_callbacks
):
    """A burst of edits queues one push task for the change's connections, not one per edit:
    the broker holds the first task, later edits find its wake-up flags set, and the task,
    when it runs, pushes the record's latest state once."""
    from integrations.sync import dispatch
    from wedsync.changes import record_change
    from wedsync.live import EventType

    calendar, _, _ = linked
    held = []
    monkeypatch.setattr(dispatch, "queue_fan_out", lambda ids, queue: held.append((ids, queue)))
    item = TimelineItemFactory(wedding=team.wedding, title="Ceremony", ends_at=None)
    for n, event in enumerate(
        (EventType.TIMELINE_ITEM_CREATED,) + (EventType.TIMELINE_ITEM_UPDATED,) * 4
    ):
        with django_capture_on_commit_callbacks(execute=True):
            TimelineItem.objects.filter(pk=item.pk).update(title=f"Ceremony #{n}")
            record_change(team.wedding.pk, event, {"id": str(item.pk)})
    assert held == [([calendar.pk], "sync")]  # one task, on the wedding's queue

    push_connections.apply(args=[[str(calendar.pk)]])
    statuses = list(OutboundChange.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["superseded"] * 4 + ["sent"]
    writes = [r for r in google.requests if r.method in ("POST", "PUT", "PATCH")]
    assert [json.loads(r.body)["summary"] for r in writes if "/events" in r.path] == ["Ceremony #4"]

    # The task cleared its flag before it looked: the next edit queues a task again.
    with django_capture_on_commit_callbacks(execute=True):
        record_change(team.wedding.pk, EventType.TIMELINE_ITEM_UPDATED, {"id": str(item.pk)})
    assert len(held) == 2


def test_a_fan_out_pushes_side_by_side_and_one_connections_bug_holds_back_no_other(
    team, google, linked, monkeypatch, django_capture_on_commit_callbacks
):
    """Two calendars take the change in one run, their calls on the wire at the same time; a
    bug while pushing to a third (on its sending thread) is its own: logged, swept later."""
    from integrations.models import Connection
    from integrations.sync import push
    from wedsync.changes import record_change
    from wedsync.live import EventType

    calendar, _, _ = linked
    second = another_calendar(team, google, calendar)
    broken = another_calendar(team, google, calendar, "primary")
    item = TimelineItemFactory(wedding=team.wedding, title="Ceremony", ends_at=None)
    with django_capture_on_commit_callbacks(execute=False):
        record_change(team.wedding.pk, EventType.TIMELINE_ITEM_CREATED, {"id": str(item.pk)})
    real_push_one, threads = push.push_one, set()

    def push_one_with_a_bug(adapter, connection, change, link):
        threads.add(threading.current_thread().name)
        if connection.pk == broken.pk:
            raise RuntimeError("a bug in one adapter")
        return real_push_one(adapter, connection, change, link)

    monkeypatch.setattr(push, "push_one", push_one_with_a_bug)
    ids = [str(broken.pk), str(calendar.pk), str(second.pk)]
    result = push_connections.apply(args=[ids]).get()

    assert result == "error; sent 1, failed 0; sent 1, failed 0"
    assert google_event(google, item.pk)["summary"] == "Ceremony"
    assert google.event("team@everafter.example", uuid.UUID(str(item.pk)).hex)["summary"] == (
        "Ceremony"
    )
    assert all(name.startswith("push") for name in threads)  # the sending threads
    statuses = dict(OutboundChange.objects.values_list("connection_id", "status"))
    assert statuses == {broken.pk: "pending", calendar.pk: "sent", second.pk: "sent"}
    assert not Connection.objects.filter(push_lease_until__isnull=False).exists()


def test_every_system_of_a_wide_fan_out_is_called_at_the_same_time(
    team, google, linked, monkeypatch, django_capture_on_commit_callbacks
):
    """Ten calendars: all ten calls are on the wire together (none waits for a thread to come
    free, which would add a whole call's time to the run). Each call waits at a barrier for
    the other nine."""
    from integrations.sync import push
    from wedsync.changes import record_change
    from wedsync.live import EventType

    calendar, _, _ = linked
    others = [another_calendar(team, google, calendar, f"team{n}@x.example") for n in range(9)]
    item = TimelineItemFactory(wedding=team.wedding, title="Ceremony", ends_at=None)
    with django_capture_on_commit_callbacks(execute=False):
        record_change(team.wedding.pk, EventType.TIMELINE_ITEM_CREATED, {"id": str(item.pk)})
    all_in_flight = threading.Barrier(10, timeout=5)
    real_push_one = push.push_one

    def push_one_when_all_are_sent(adapter, connection, change, link):
        all_in_flight.wait()
        return real_push_one(adapter, connection, change, link)

    monkeypatch.setattr(push, "push_one", push_one_when_all_are_sent)
    ids = [str(calendar.pk), *(str(other.pk) for other in others)]
    result = push_connections.apply(args=[ids]).get()

    assert result == "; ".join(["sent 1, failed 0"] * 10)
    assert set(OutboundChange.objects.values_list("status", flat=True)) == {"sent"}


def test_a_change_that_came_from_google_is_not_pushed_back_to_it(team, linked):
    calendar, _, _ = linked
    item = TimelineItemFactory(wedding=team.wedding)
    from wedsync.changes import record_change
    from wedsync.live import EventType

    record_change(
        team.wedding.pk,
        EventType.TIMELINE_ITEM_UPDATED,
        {"id": str(item.pk)},
        source_connection_id=calendar.pk,
    )
    assert not OutboundChange.objects.exists()


class WorkerKilled(BaseException):
    """Stands for SIGKILL between the provider's answer and our commit."""


def test_a_worker_killed_mid_push_completes_the_push_once_after_restart(
    team, google, linked, monkeypatch, django_capture_on_commit_callbacks
):
    from integrations.models import Connection
    from integrations.sync import push
    from wedsync.changes import record_change
    from wedsync.live import EventType

    calendar, _, _ = linked
    item = TimelineItemFactory(
        wedding=team.wedding,
        title="Ceremony",
        starts_at=dt.datetime(2027, 3, 27, 15, 30, tzinfo=dt.UTC),
    )
    with django_capture_on_commit_callbacks(execute=False):
        record_change(team.wedding.pk, EventType.TIMELINE_ITEM_CREATED, {"id": str(item.pk)})

    def die(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(push, "mark_sent", die)
    monkeypatch.setattr(push, "release_leases", lambda *a, **k: set())  # no finally on -9
    with pytest.raises(WorkerKilled):
        push_connection.apply(args=[str(calendar.pk)])
    assert google_event(google, item.pk)["summary"] == "Ceremony"  # the provider has it...
    assert OutboundChange.objects.get().status == "pending"  # ...but we never recorded that

    monkeypatch.undo()
    assert push.push_connection(calendar.pk).held == "another pusher holds the lease"
    Connection.objects.filter(pk=calendar.pk).update(push_lease_until=None)  # lease expired
    push_connection.apply(args=[str(calendar.pk)])
    change = OutboundChange.objects.get()
    assert change.status == "sent" and change.attempts == 1
    creates = [r for r in google.requests if r.method == "POST" and r.path.endswith("/events")]
    assert len(creates) == 2  # the retried create found its own event: still one event
    listed = google.event("primary", uuid.UUID(str(item.pk)).hex)
    assert listed["status"] == "confirmed"


def two_items_the_first_recorded(team, django_capture_on_commit_callbacks):
    """Two timeline items, the first one's creation recorded (its push not run yet)."""
    from wedsync.changes import record_change
    from wedsync.live import EventType

    first, second = (
        TimelineItemFactory(wedding=team.wedding, title=title) for title in ("Ceremony", "Dinner")
    )
    with django_capture_on_commit_callbacks(execute=False):
        record_change(team.wedding.pk, EventType.TIMELINE_ITEM_CREATED, {"id": str(first.pk)})
    return first, second


@pytest.mark.parametrize(
    ("budget", "summary", "hand_over"),
    [
        (1.0, "sent 2, failed 0", False),  # the holder goes round again, leases kept
        (-1.0, "sent 1, failed 0, more to come", True),  # its time is up: a new task
    ],
)
def test_a_change_whose_pusher_finds_the_lease_taken_is_pushed_by_the_holder(
    team,
    google,
    linked,
    monkeypatch,
    django_capture_on_commit_callbacks,
    budget,
    summary,
    hand_over,
):
    """The second change commits while the first is on the wire; its own task finds the lease
    taken and leaves, and the holder pushes it in a second round of its run or, when its
    time is up, sees it due as it lets go and hands it to a new task at once (eager here): no
    wait for a retry or the sweep.
    """
    from integrations import tasks, wakeups
    from integrations.sync import dispatch, push
    from wedsync.changes import record_change
    from wedsync.live import EventType

    calendar, _, _ = linked
    _, second = two_items_the_first_recorded(team, django_capture_on_commit_callbacks)
    real_push_one = push.push_one
    meanwhile, kicked = [], []

    def push_one_while_another_change_arrives(adapter, connection, change, link):
        result = real_push_one(adapter, connection, change, link)
        if not meanwhile:
            with django_capture_on_commit_callbacks(execute=False):
                record_change(
                    team.wedding.pk, EventType.TIMELINE_ITEM_CREATED, {"id": str(second.pk)}
                )
            meanwhile.append(push_connection.apply(args=[str(calendar.pk)]).get())
            # While the holder is at work a change's kick sends no task (it would find the
            # lease held): the holder looks again when it lets go.
            kicked.append(wakeups.kick_all(dispatch.PUSH_WAKEUP, [calendar.pk], lambda _: None))
        return result

    monkeypatch.setattr(push, "push_one", push_one_while_another_change_arrives)
    handed_over = []
    real_wake_pushers = dispatch.wake_pushers

    def wake_pushers(connection_ids, **kw):
        handed_over.extend(str(connection_id) for connection_id in connection_ids)
        real_wake_pushers(connection_ids, **kw)

    monkeypatch.setattr(dispatch, "wake_pushers", wake_pushers)
    monkeypatch.setattr(tasks, "PUSH_TASK_SECONDS", budget)
    result = push_connection.apply(args=[str(calendar.pk)]).get()
    assert result == summary
    assert meanwhile == ["sent 0, failed 0, another pusher holds the lease"]
    assert kicked == [[]]
    # Handed over although the flag was set (the kick above set it).
    assert handed_over == ([str(calendar.pk)] if hand_over else [])
    assert set(OutboundChange.objects.values_list("status", flat=True)) == {"sent"}
    assert google_event(google, second.pk)["summary"] == "Dinner"


def test_a_connection_paused_while_its_pusher_is_at_work_gets_no_further_round(
    team, google, linked, monkeypatch, django_capture_on_commit_callbacks
):
    """Each round reads the connection's status again: a pause made while a change is on the
    wire holds the next change back, though the task's time would allow another round."""
    from integrations.models import Connection
    from integrations.sync import push
    from wedsync.changes import record_change
    from wedsync.live import EventType

    calendar, _, _ = linked
    first, second = two_items_the_first_recorded(team, django_capture_on_commit_callbacks)
    real_push_one = push.push_one

    def push_one_then_pause(adapter, connection, change, link):
        result = real_push_one(adapter, connection, change, link)
        if change.object_id == first.pk:
            with django_capture_on_commit_callbacks(execute=False):
                record_change(
                    team.wedding.pk, EventType.TIMELINE_ITEM_CREATED, {"id": str(second.pk)}
                )
            Connection.objects.filter(pk=calendar.pk).update(status=Connection.Status.PAUSED)
        return result

    monkeypatch.setattr(push, "push_one", push_one_then_pause)
    result = push_connection.apply(args=[str(calendar.pk)]).get()

    assert result == "sent 1, failed 0, connection paused"
    statuses = dict(OutboundChange.objects.values_list("object_id", "status"))
    assert statuses == {first.pk: "sent", second.pk: "pending"}


def test_repeated_failures_open_the_circuit_and_a_429_is_honoured(
    team, google, linked, django_capture_on_commit_callbacks
):
    from integrations.models import Connection
    from integrations.sync import push
    from wedsync.changes import record_change
    from wedsync.live import EventType

    calendar, _, _ = linked
    item = TimelineItemFactory(wedding=team.wedding)
    with django_capture_on_commit_callbacks(execute=False):
        record_change(team.wedding.pk, EventType.TIMELINE_ITEM_CREATED, {"id": str(item.pk)})

    google.inject_fault(429, times=1, retry_after=120, path_prefix="/calendar")
    before = dt.datetime.now(dt.UTC)
    run = push.push_connection(calendar.pk)
    change = OutboundChange.objects.get()
    assert run.sent == 0 and change.next_attempt_at >= before + dt.timedelta(seconds=119)

    google.inject_fault(503, times=1000, path_prefix="/calendar")
    for _ in range(push.BREAKER_THRESHOLD):
        OutboundChange.objects.update(next_attempt_at=None)
        push.push_connection(calendar.pk)
    calendar = Connection.objects.get(pk=calendar.pk)
    assert calendar.circuit_open_until is not None
    requests_before = len(google.requests)
    OutboundChange.objects.update(next_attempt_at=None)
    assert push.push_connection(calendar.pk).held == "circuit open"
    assert len(google.requests) == requests_before  # no call while the circuit is open

    google.clear_faults()
    Connection.objects.filter(pk=calendar.pk).update(
        circuit_open_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )
    assert push.push_connection(calendar.pk).sent == 1  # the half-open probe succeeds
    calendar.refresh_from_db()
    assert calendar.circuit_open_until is None and calendar.consecutive_failures == 0


def test_wedding_day_pushes_and_their_retries_use_the_priority_queue_behind_inbound(
    team, linked, monkeypatch
):
    from django.utils import timezone as tz

    from integrations.sync import dispatch
    from integrations.tasks import push_connection as task
    from wedsync import queues

    calendar, _, _ = linked
    team.wedding.date = tz.now().astimezone(team.wedding.zone).date()
    team.wedding.save()
    OutboundChange.objects.create(
        connection=calendar,
        wedding=team.wedding,
        kind="timeline_item",
        object_id=uuid.uuid4(),
        action="create",
    )
    sent = []
    monkeypatch.setattr(task, "apply_async", lambda **kwargs: sent.append(kwargs))
    dispatch.queue_push(calendar.pk, countdown=30)  # a retry: no wedding given
    assert sent[0]["queue"] == queues.PRIORITY
    assert sent[0]["priority"] > 0  # inbound events (priority 0) go first


def test_a_token_refresh_needed_on_a_sending_thread_is_done_on_the_tasks_thread(
    team, google, linked, django_capture_on_commit_callbacks
):
    """Google answers 401 to both calendars' calls on their sending threads: the refresh
    writes the new token, so each change is handed back and sent again from the task's
    thread, where the database is."""
    from integrations.sync import push
    from wedsync.changes import record_change
    from wedsync.live import EventType

    calendar, _, _ = linked
    second = another_calendar(team, google, calendar)
    item = TimelineItemFactory(wedding=team.wedding, title="Ceremony", ends_at=None)
    with django_capture_on_commit_callbacks(execute=False):
        record_change(team.wedding.pk, EventType.TIMELINE_ITEM_CREATED, {"id": str(item.pk)})
    stale = calendar.credentials["access_token"]
    google.expire_access_token(stale)

    runs = push.push_run([calendar.pk, second.pk])

    assert [(run.sent, run.error) for run in runs.values()] == [(1, None), (1, None)]
    for calendar_id in ("primary", "team@everafter.example"):
        assert google.event(calendar_id, uuid.UUID(str(item.pk)).hex)["summary"] == "Ceremony"
    for connection in (calendar, second):
        connection.refresh_from_db()
        assert connection.credentials["access_token"] != stale


@pytest.mark.parametrize("until", [None, 5.0])
def test_a_run_goes_round_again_for_each_of_its_connections_while_its_time_allows(
    team, google, linked, monkeypatch, until
):
    """Both calendars have a change; more come while the run holds their leases (so they woke
    no task): one for the first calendar during round one, then one for the second during
    round two, in which the second had nothing to push. With time left the run goes round
    until both are pushed, under the leases taken once; with one round only (`until` None),
    the first calendar's second change is left pending and the run says so (more_due)."""
    import time

    from integrations.sync import push
    from integrations.sync.outbox import timeline_fields

    calendar, _, _ = linked
    second = another_calendar(team, google, calendar)
    items = [
        TimelineItemFactory(wedding=team.wedding, title=title)
        for title in ("Ceremony", "Dinner", "First dance")
    ]

    def pending_change(connection, item):
        OutboundChange.objects.create(
            connection=connection,
            wedding=team.wedding,
            kind="timeline_item",
            object_id=item.pk,
            action="create",
            fields=timeline_fields(item, team.wedding.time_zone),
        )

    pending_change(calendar, items[0])
    pending_change(second, items[0])
    arriving = [(calendar, items[1]), (second, items[2])]
    real_write_down, real_take_leases = push.write_down, push.take_leases
    leases_taken = []

    def write_down_as_changes_arrive(*args, **kwargs):
        real_write_down(*args, **kwargs)
        if arriving:
            pending_change(*arriving.pop(0))

    def take_leases(ids):
        leases_taken.append(sorted(ids))
        return real_take_leases(ids)

    monkeypatch.setattr(push, "write_down", write_down_as_changes_arrive)
    monkeypatch.setattr(push, "take_leases", take_leases)
    deadline = None if until is None else time.monotonic() + until

    runs = push.push_run([calendar.pk, second.pk], until=deadline)

    assert len(leases_taken) == 1
    first, other = runs[str(calendar.pk)], runs[str(second.pk)]
    if until is None:
        assert [(first.sent, first.more_due), (other.sent, other.more_due)] == [
            (1, True),
            (1, False),
        ]
        assert OutboundChange.objects.filter(status="pending").count() == 1
    else:
        assert [(first.sent, first.more_due), (other.sent, other.more_due)] == [
            (2, False),
            (2, False),
        ]
        assert set(OutboundChange.objects.values_list("status", flat=True)) == {"sent"}
        event = google.event("team@everafter.example", uuid.UUID(str(items[2].pk)).hex)
        assert event["summary"] == "First dance"


def test_a_bridge_not_set_to_one_wedding_finds_each_records_wedding_by_its_project(
    client, team, eager_celery, django_capture_on_commit_callbacks
):
    """A planner's HoneyBook (through Zapier) holds many projects: a project posted with its
    date links to the planner's wedding on that day, and timeline items naming that project
    land on it, as does a payment naming it; an item naming a project the hub never saw lands
    nowhere."""
    from integrations import services

    bridge, secret = services.create_bridge_connection(
        organization=team.planner_org, provider="honeybook"
    )
    with django_capture_on_commit_callbacks(execute=True):
        answers = [
            bridge_post(
                client,
                bridge,
                secret,
                "wedding.created",
                "hb-project-9",
                "2027-03-01T09:00:00Z",
                couple_names="Ana & Ben",
                date=team.wedding.date.isoformat(),
            ),
            bridge_post(
                client,
                bridge,
                secret,
                "timeline_item.created",
                "hb-7",
                "2027-03-01T09:01:00Z",
                title="First dance",
                starts_at="2027-06-19T21:00:00+01:00",
                wedding_id="hb-project-9",
            ),
            bridge_post(
                client,
                bridge,
                secret,
                "timeline_item.created",
                "hb-8",
                "2027-03-01T09:02:00Z",
                title="Someone else's toast",
                starts_at="2027-06-19T20:00:00+01:00",
                wedding_id="hb-project-unknown",
            ),
            bridge_post(
                client,
                bridge,
                secret,
                "payment.created",
                "hb-pay-1",
                "2027-03-01T09:03:00Z",
                amount="1500.00",
                currency="EUR",
                status="paid",
                description="Planning deposit",
                wedding_id="hb-project-9",
            ),
        ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    [item] = TimelineItem.objects.all()
    assert (item.wedding_id, item.title) == (team.wedding.pk, "First dance")
    [paid] = IntegrationEvent.objects.filter(event_type="payment_status_change")
    assert paid.wedding_id == team.wedding.pk
    assert paid.summary == "HoneyBook: EUR 1,500.00 Planning deposit paid"


def test_an_event_the_hub_makes_in_a_calendar_is_in_the_weddings_log_once(
    client, client_for, team, google, linked, django_capture_on_commit_callbacks
):
    """The seed's calendar_event_created: Google gets the item as a new event (logged), then
    an update of that same event (not logged again)."""
    _, bridge, secret = linked
    with django_capture_on_commit_callbacks(execute=True):
        bridge_post(
            client,
            bridge,
            secret,
            "timeline_item.created",
            "hb-9",
            "2027-03-01T09:00:00Z",
            title="Cake cutting",
            starts_at="2027-03-27T22:00:00+00:00",
        )
    item = TimelineItem.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client_for(team.coordinator).patch(
            f"/api/timeline-items/{item.pk}/", {"title": "Cake cutting (terrace)"}, format="json"
        )
    [made] = IntegrationEvent.objects.filter(event_type="calendar_event_created")
    assert (made.wedding_id, made.source_system) == (team.wedding.pk, "google_calendar")
    assert made.summary == "Google Calendar: added Cake cutting"
    assert made.data["id"] == str(item.pk)
