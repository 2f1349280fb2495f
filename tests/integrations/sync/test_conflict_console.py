"""Two systems move the ceremony differently on the wedding day: the hub asks a person, the
coordinator decides in the admin's review console, and every linked system holds the choice."""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

import pytest
from django.utils import timezone

from conflicts.models import Conflict, ConflictPolicy
from integrations.models import Connection
from integrations.sync import pull, push
from tests.factories import OrganizationFactory, ParticipantFactory, TimelineItemFactory
from tests.integrations.providers import test_caldav as caldav_support
from tests.integrations.providers.conftest import make_connection
from wedsync.changes import record_change
from wedsync.live import EventType
from wedsync.models import TimelineItem

pytestmark = pytest.mark.django_db
LISBON = zoneinfo.ZoneInfo("Europe/Lisbon")


@pytest.fixture(scope="module")
def radicale(tmp_path_factory):
    with caldav_support.radicale_server(tmp_path_factory.mktemp("radicale")) as origin:
        yield origin


@pytest.fixture
def wedding_day(team, google, linked, radicale, settings, django_capture_on_commit_callbacks):
    """Today's wedding, its ceremony pushed to the planner's Google and the venue's CalDAV."""
    calendar_connection, _, _ = linked
    calendar = caldav_support.new_calendar(radicale)
    settings.PROVIDER_ORIGINS = {"google_calendar": google.base_url, "caldav": radicale}
    venue = OrganizationFactory(name="Quinta", kind="venue")
    ParticipantFactory(wedding=team.wedding, organization=venue)
    caldav = make_connection(venue, "caldav", caldav_support.credentials(calendar))
    today = timezone.now().astimezone(LISBON).date()
    team.wedding.date = today
    team.wedding.save()
    start = dt.datetime.combine(today, dt.time(15, 30), LISBON)
    item = TimelineItemFactory(
        wedding=team.wedding,
        title="Ceremony",
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=45),
    )
    with django_capture_on_commit_callbacks(execute=True):
        record_change(team.wedding.pk, EventType.TIMELINE_ITEM_CREATED, {"id": str(item.pk)})
    calendar_connection.config = {"wedding_id": str(team.wedding.pk)}
    calendar_connection.save()
    pull.pull_connection(Connection.objects.get(pk=calendar_connection.pk))  # baseline token
    return item, start, calendar_connection, caldav, calendar


def google_start(google, item) -> dt.datetime:
    event = google.event("primary", uuid.UUID(str(item.pk)).hex)
    return dt.datetime.fromisoformat(event["start"]["dateTime"])


def caldav_start(calendar, item) -> dt.datetime:
    return caldav_support.event_of(calendar.get(f"{item.pk}.ics"))["DTSTART"].dt


def test_a_coordinator_resolves_a_wedding_day_conflict_and_every_system_holds_it(
    admin_client, team, google, wedding_day, django_capture_on_commit_callbacks
):
    item, start, calendar_connection, caldav, calendar = wedding_day
    # The hub moves it to 16:00 (not yet pushed) while the planner drags it to 15:45 in Google.
    with django_capture_on_commit_callbacks(execute=False):
        TimelineItem.objects.filter(pk=item.pk).update(starts_at=start + dt.timedelta(minutes=30))
        record_change(team.wedding.pk, EventType.TIMELINE_ITEM_UPDATED, {"id": str(item.pk)})
    moved = (start + dt.timedelta(minutes=15)).isoformat()
    google.user_edits_event(
        "primary",
        uuid.UUID(str(item.pk)).hex,
        start={"dateTime": moved, "timeZone": "Europe/Lisbon"},
    )
    pull.pull_connection(Connection.objects.get(pk=calendar_connection.pk))

    conflict = Conflict.objects.get()
    assert conflict.status == "pending" and conflict.emergency
    assert conflict.path.startswith("starts_at")
    item.refresh_from_db()
    assert item.starts_at == start + dt.timedelta(minutes=30)  # ours is kept until someone decides

    page = admin_client.get(f"/admin/conflicts/conflict/{conflict.pk}/resolve/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Base (last synced)" in text and "Theirs (google_calendar)" in text
    assert admin_client.get("/admin/conflicts/conflict/?status__exact=pending").status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/conflicts/conflict/{conflict.pk}/resolve/",
            {"choice": "theirs", "make_rule": "on"},
        )
    assert response.status_code == 302
    conflict.refresh_from_db()
    assert conflict.status == "resolved" and conflict.resolved_by is not None
    item.refresh_from_db()
    assert item.starts_at == start + dt.timedelta(minutes=15)
    for connection in (calendar_connection, caldav):
        push.push_connection(connection.pk)
    assert google_start(google, item) == item.starts_at
    assert caldav_start(calendar, item) == item.starts_at
    rule = ConflictPolicy.objects.get()
    assert (rule.kind, rule.source, rule.wedding) == (
        "source_of_truth",
        "google_calendar",
        team.wedding,
    )


def test_the_api_lists_and_resolves_with_an_entered_value(
    client_for, team, google, wedding_day, django_capture_on_commit_callbacks
):
    item, start, calendar_connection, caldav, calendar = wedding_day
    with django_capture_on_commit_callbacks(execute=False):
        TimelineItem.objects.filter(pk=item.pk).update(starts_at=start + dt.timedelta(minutes=30))
        record_change(team.wedding.pk, EventType.TIMELINE_ITEM_UPDATED, {"id": str(item.pk)})
    google.user_edits_event(
        "primary",
        uuid.UUID(str(item.pk)).hex,
        start={
            "dateTime": (start + dt.timedelta(minutes=15)).isoformat(),
            "timeZone": "Europe/Lisbon",
        },
    )
    pull.pull_connection(Connection.objects.get(pk=calendar_connection.pk))

    api = client_for(team.coordinator)
    listed = api.get(f"/api/integrations/conflicts/?wedding={team.wedding.pk}&status=pending")
    [conflict] = listed.json()["results"]
    assert (
        client_for(team.outsider).get(f"/api/integrations/conflicts/{conflict['id']}/").status_code
        == 404
    )
    status = api.get(f"/api/integrations/status/{team.wedding.pk}/").json()
    assert status["pending_conflicts"] == 1

    bad = api.post(
        f"/api/integrations/conflicts/{conflict['id']}/resolve/",
        {"choice": "value", "value": "16:20"},
        format="json",
    )
    assert bad.status_code == 400  # a time group takes an object of its fields

    chosen = (start + dt.timedelta(minutes=20)).isoformat()
    value = {"starts_at": chosen, "ends_at": (start + dt.timedelta(minutes=65)).isoformat()}
    with django_capture_on_commit_callbacks(execute=True):
        done = api.post(
            f"/api/integrations/conflicts/{conflict['id']}/resolve/",
            {"choice": "value", "value": value},
            format="json",
        )
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "resolved"
    item.refresh_from_db()
    assert item.starts_at == start + dt.timedelta(minutes=20)
    push.push_connection(calendar_connection.pk)
    push.push_connection(caldav.pk)
    assert google_start(google, item) == item.starts_at
    assert caldav_start(calendar, item) == item.starts_at
    again = api.post(
        f"/api/integrations/conflicts/{conflict['id']}/resolve/", {"choice": "ours"}, format="json"
    )
    assert again.status_code == 400


def test_a_change_on_one_side_only_is_applied_without_a_conflict(
    team, google, wedding_day, django_capture_on_commit_callbacks
):
    item, _, calendar_connection, _, _ = wedding_day
    google.user_edits_event("primary", uuid.UUID(str(item.pk)).hex, summary="Ceremony (garden)")
    pull.pull_connection(Connection.objects.get(pk=calendar_connection.pk))
    item.refresh_from_db()
    assert item.title == "Ceremony (garden)"
    assert not Conflict.objects.exists()


def test_calendar_conflicts_list_double_bookings_across_weddings(client_for, team):
    from tests.factories import WeddingFactory

    photographer = OrganizationFactory(name="Lumen")
    other = WeddingFactory()
    ParticipantFactory(wedding=team.wedding, organization=photographer)
    ParticipantFactory(wedding=other, organization=photographer)
    from tests.factories import MembershipFactory

    owner = MembershipFactory(organization=photographer).user
    start = dt.datetime(2027, 6, 19, 14, 0, tzinfo=dt.UTC)
    TimelineItemFactory(
        wedding=team.wedding,
        responsible_organization=photographer,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=3),
    )
    TimelineItemFactory(
        wedding=other,
        responsible_organization=photographer,
        starts_at=start + dt.timedelta(hours=2),
        ends_at=None,
    )
    TimelineItemFactory(
        wedding=other,
        responsible_organization=photographer,
        starts_at=start + dt.timedelta(hours=6),
        ends_at=None,
    )
    response = client_for(owner).get("/api/integrations/calendar/conflicts/")
    [clash] = response.json()["conflicts"]
    assert clash["organization"] == "Lumen" and len(clash["items"]) == 2
    assert (
        client_for(team.outsider).get("/api/integrations/calendar/conflicts/").json()["conflicts"]
        == []
    )
