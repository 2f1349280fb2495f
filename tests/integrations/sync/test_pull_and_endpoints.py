"""Scheduled pulls (cursor with the records, deletions, the mass-deletion brake), the seed's sync
endpoints, and the outbox admin, over HTTP against the Google Calendar emulator."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from integrations.models import Connection, OutboundChange, SyncRun
from integrations.sync import pull
from integrations.tasks import dispatch_due_pulls
from tests.factories import TimelineItemFactory
from wedsync.models import TimelineItem

pytestmark = pytest.mark.django_db


def seed(google, n: int, **extra):
    return [
        google.seed_event(
            "primary",
            summary=f"Item {i}",
            start={"dateTime": f"2027-03-27T{10 + i % 10:02d}:00:00Z"},
            end={"dateTime": f"2027-03-27T{10 + i % 10:02d}:30:00Z"},
            **extra,
        )
        for i in range(n)
    ]


def test_a_pull_saves_its_cursor_applies_changes_and_then_only_sees_changes(team, google, linked):
    calendar, _, _ = linked
    calendar.config = {"wedding_id": str(team.wedding.pk)}
    calendar.save()
    events = seed(google, 3)
    run = pull.pull_connection(calendar)
    assert (run.status, run.pulled, run.applied, run.full) == ("succeeded", 3, 3, True)
    assert TimelineItem.objects.filter(wedding=team.wedding).count() == 3
    calendar.refresh_from_db()
    assert calendar.cursors["events"]  # Google's syncToken, saved with the records
    assert calendar.next_sync_at > timezone.now()

    google.user_edits_event("primary", events[0]["id"], summary="Ceremony")
    run = pull.pull_connection(calendar)
    assert (run.pulled, run.applied, run.full) == (1, 1, False)
    assert TimelineItem.objects.filter(title="Ceremony").exists()
    # Applied from Google, so nothing goes back to Google.
    assert not OutboundChange.objects.filter(connection=calendar).exists()

    google.user_deletes_event("primary", events[1]["id"])
    pull.pull_connection(calendar)
    assert TimelineItem.objects.filter(wedding=team.wedding).count() == 2


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
def test_a_pull_writes_back_only_its_health_not_what_others_changed_meanwhile(
    team, google, linked, monkeypatch, outcome
):
    """A pusher refreshes the OAuth token and takes the push lease while the pull reads and
    writes the connection's health: the pull's save keeps both."""
    calendar, _, _ = linked
    calendar.config = {"wedding_id": str(team.wedding.pk)}
    calendar.save()
    if outcome == "failed":
        google.inject_fault(500, times=10)
    lease = timezone.now() + dt.timedelta(minutes=2)
    credentials = {**calendar.credentials, "access_token": "refreshed-by-a-pusher"}
    recorded = {"succeeded": "record_success", "failed": "record_failure"}[outcome]
    record = getattr(Connection, recorded)

    def meanwhile(connection, *args):
        Connection.objects.filter(pk=connection.pk).update(
            credentials=credentials, push_lease_until=lease, push_lease_holder="pusher"
        )
        record(connection, *args)

    monkeypatch.setattr(Connection, recorded, meanwhile)
    run = pull.pull_connection(calendar)
    assert run.status == outcome
    stored = Connection.objects.get(pk=calendar.pk)
    assert stored.credentials["access_token"] == "refreshed-by-a-pusher"
    assert (stored.push_lease_until, stored.push_lease_holder) == (lease, "pusher")
    assert stored.next_sync_at > timezone.now()
    if outcome == "failed":
        assert stored.consecutive_failures == 1 and stored.last_error
    else:
        assert stored.last_success_at is not None


def test_a_mass_deletion_pauses_the_connection_instead_of_wiping_the_wedding(team, google, linked):
    calendar, _, _ = linked
    calendar.config = {"wedding_id": str(team.wedding.pk)}
    calendar.save()
    events = seed(google, 12)
    pull.pull_connection(calendar)
    for event in events[:11]:
        google.user_deletes_event("primary", event["id"])
    Connection.objects.filter(pk=calendar.pk).update(cursors={})  # a full resync
    google.invalidate_sync_tokens()
    calendar.refresh_from_db()
    # Google lists the tombstones only on incremental syncs; a full listing just lacks them.
    run = pull.pull_connection(calendar)
    calendar.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED and "vanished at once" in run.error
    assert calendar.status == Connection.Status.PAUSED
    assert TimelineItem.objects.filter(wedding=team.wedding).count() == 12


def test_the_dispatcher_queues_only_due_pullable_connections(team, linked, monkeypatch):
    calendar, _, _ = linked
    queued = []
    monkeypatch.setattr(
        "integrations.tasks.pull_connection.apply_async",
        lambda args, queue: queued.append((args[0], queue)),
    )
    assert dispatch_due_pulls() == 1
    assert queued == [(str(calendar.pk), "resync")]  # the bridge has nothing to pull
    assert dispatch_due_pulls() == 0  # claimed until its interval has passed
    Connection.objects.filter(pk=calendar.pk).update(next_sync_at=timezone.now())
    assert dispatch_due_pulls() == 1


def test_sync_endpoint_runs_the_chosen_systems_and_is_404_for_outsiders(
    client_for, team, google, linked
):
    seed(google, 2)
    url = f"/api/integrations/sync/{team.wedding.pk}/"
    response = client_for(team.coordinator).post(
        url, {"systems": ["google_calendar"]}, format="json"
    )
    assert response.status_code == 200, response.content
    [result] = response.json()["results"]
    assert result["provider"] == "google_calendar" and result["status"] == "ok"
    assert result["detail"]["pulled"] == 2
    assert response.json()["conflicts"] == []

    bad = client_for(team.coordinator).post(url, {"systems": ["outlook"]}, format="json")
    assert bad.status_code == 400 and "outlook" in str(bad.json())
    assert client_for(team.outsider).post(url, {}, format="json").status_code == 404


def test_status_endpoint_shows_connections_flows_and_backlog(client_for, team, linked):
    calendar, _, _ = linked
    TimelineItemFactory(wedding=team.wedding)
    OutboundChange.objects.create(
        connection=calendar,
        wedding=team.wedding,
        kind="timeline_item",
        object_id=uuid.uuid4(),
        action="create",
    )
    response = client_for(team.staff).get(f"/api/integrations/status/{team.wedding.pk}/")
    assert response.status_code == 200
    rows = {row["provider"]: row for row in response.json()["connections"]}
    assert rows["google_calendar"]["pending_outbound"] == 1
    assert rows["google_calendar"]["flows"]["push"] is True
    assert rows["honeybook"]["flows"]["pull"] is False
    assert response.json()["pending_conflicts"] == 0
    assert (
        client_for(team.outsider).get(f"/api/integrations/status/{team.wedding.pk}/").status_code
        == 404
    )


def test_timeline_sync_saves_and_pushes_with_per_system_results(
    client_for, team, google, linked, django_capture_on_commit_callbacks
):
    url = f"/api/integrations/wedding/{team.wedding.pk}/timeline-sync/"
    body = {"items": [{"title": "Ceremony", "starts_at": "2027-03-27T15:30:00+00:00"}]}
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(team.coordinator).post(url, body, format="json")
    assert response.status_code == 200, response.content
    [result] = response.json()["results"]
    assert result["provider"] == "google_calendar" and result["status"] == "ok"
    item = TimelineItem.objects.get()
    assert google.event("primary", uuid.UUID(str(item.pk)).hex)["summary"] == "Ceremony"

    bad = client_for(team.coordinator).post(
        url,
        {
            "items": [
                {
                    "title": "Party",
                    "starts_at": "2027-03-27T22:00:00Z",
                    "ends_at": "2027-03-27T21:00:00Z",
                }
            ]
        },
        format="json",
    )
    assert bad.status_code == 400
    assert TimelineItem.objects.count() == 1  # nothing half-written


def test_retry_now_in_the_admin_requeues_failed_deliveries(admin_client, team, linked, monkeypatch):
    calendar, _, _ = linked
    change = OutboundChange.objects.create(
        connection=calendar,
        wedding=team.wedding,
        kind="timeline_item",
        object_id=uuid.uuid4(),
        action="create",
        status="failed",
        last_error="400 invalid",
        attempts=1,
    )
    queued = []
    monkeypatch.setattr(
        "integrations.sync.dispatch.queue_push",
        lambda connection_id, **kw: queued.append(connection_id),
    )
    response = admin_client.post(
        "/admin/integrations/outboundchange/",
        {"action": "retry_now", "_selected_action": [change.pk]},
    )
    assert response.status_code == 302
    change.refresh_from_db()
    assert change.status == "pending" and queued == [calendar.pk]
    assert admin_client.get("/admin/integrations/outboundchange/").status_code == 200
    assert admin_client.get("/admin/integrations/syncrun/").status_code == 200
    assert admin_client.get("/admin/integrations/integrationevent/").status_code == 200


def test_timeline_sync_pushes_every_system_and_reports_a_broken_one_without_failing_the_rest(
    client_for, team, google, linked, monkeypatch, django_capture_on_commit_callbacks
):
    from integrations.api.sync_views import PUSH_BROKE
    from integrations.sync import push
    from tests.integrations.sync.conftest import another_calendar

    calendar, _, _ = linked
    second = another_calendar(team, google, calendar)
    real_push_one = push.push_one

    def push_one(adapter, connection, change, link):
        if connection.pk == second.pk:
            raise RuntimeError("a bug in one adapter")
        return real_push_one(adapter, connection, change, link)

    monkeypatch.setattr(push, "push_one", push_one)
    url = f"/api/integrations/wedding/{team.wedding.pk}/timeline-sync/"
    body = {"items": [{"title": "Ceremony", "starts_at": "2027-03-27T15:30:00+00:00"}]}
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(team.coordinator).post(url, body, format="json")

    assert response.status_code == 200, response.content
    results = {r["connection"]: r for r in response.json()["results"]}
    assert results[str(calendar.pk)]["status"] == "ok"
    assert results[str(second.pk)]["status"] == "failed"
    assert results[str(second.pk)]["detail"] == {"error": PUSH_BROKE}
    item = TimelineItem.objects.get()
    assert google.event("primary", uuid.UUID(str(item.pk)).hex)["summary"] == "Ceremony"
    assert OutboundChange.objects.get(connection=second).status == "pending"  # swept later
