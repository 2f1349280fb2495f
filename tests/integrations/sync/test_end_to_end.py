"""The ceremony moves on the daylight-saving weekend: the change made in one system reaches
Google Calendar (emulator) and an Apple/CalDAV calendar (a real Radicale), at 15:30 in the
venue's zone in every system, and the wedding's socket hears it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import uuid
import zoneinfo

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from integrations.models import Connection, OutboundChange
from tests.factories import OrganizationFactory, ParticipantFactory
from tests.integrations.providers import test_caldav as caldav_support
from tests.integrations.providers.conftest import make_connection
from wedsync.live.broadcast import wedding_group
from wedsync.models import TimelineItem

pytestmark = pytest.mark.django_db
LISBON = zoneinfo.ZoneInfo("Europe/Lisbon")


@pytest.fixture(scope="module")
def radicale(tmp_path_factory):
    with caldav_support.radicale_server(tmp_path_factory.mktemp("radicale")) as origin:
        yield origin


@pytest.fixture
def calendar(radicale):
    return caldav_support.new_calendar(radicale)


def local_time(value: str) -> dt.time:
    return dt.datetime.fromisoformat(value).astimezone(LISBON).time()


def test_a_ceremony_moved_on_the_dst_weekend_is_15_30_in_every_system(
    client, team, google, linked, calendar, radicale, settings, django_capture_on_commit_callbacks
):
    _, bridge, secret = linked
    settings.PROVIDER_ORIGINS = {"google_calendar": google.base_url, "caldav": radicale}
    venue = OrganizationFactory(name="Quinta da Baroneza", kind="venue")
    ParticipantFactory(wedding=team.wedding, organization=venue)
    make_connection(venue, "caldav", caldav_support.credentials(calendar))
    team.wedding.date = dt.date(2027, 3, 28)  # Europe's clocks go forward at 01:00 UTC
    team.wedding.save()

    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(wedding_group(team.wedding.pk), channel)

    # The planner's CRM moves the ceremony to 15:30 Lisbon time (14:30 UTC after the change).
    body = {
        "event": "timeline_item.created",
        "id": "hb-ceremony",
        "occurred_at": "2027-03-20T09:00:00Z",
        "data": {
            "title": "Ceremony",
            "starts_at": "2027-03-28T15:30:00+01:00",
            "ends_at": "2027-03-28T16:15:00+01:00",
            "location": "The chapel",
        },
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/integrations/inbound/{bridge.webhook_token}/",
            json.dumps(body),
            content_type="application/json",
            HTTP_X_WEDSYNC_SECRET=secret,
        )
    assert response.status_code == 200

    item = TimelineItem.objects.get()
    assert item.starts_at == dt.datetime(2027, 3, 28, 14, 30, tzinfo=dt.UTC)
    event = google.event("primary", uuid.UUID(str(item.pk)).hex)
    assert local_time(event["start"]["dateTime"]) == dt.time(15, 30)
    assert event["start"]["timeZone"] == "Europe/Lisbon"
    stored = caldav_support.event_of(calendar.get(f"{item.pk}.ics"))
    start = stored["DTSTART"].dt
    assert start.astimezone(LISBON).time() == dt.time(15, 30)
    assert start.utcoffset() == dt.timedelta(hours=1)  # summer time, as it will be that day
    assert OutboundChange.objects.filter(status="sent").count() == 2
    assert not OutboundChange.objects.filter(connection=bridge).exists()

    # The socket heard the change, and one push result per system.
    heard = async_to_sync(drain)(layer, channel)
    assert "timeline_item_created" in heard
    assert heard.count("sync_push_succeeded") == 2


def test_a_ceremony_moved_in_tave_reaches_google_caldav_and_the_socket_and_ours_reaches_tave(
    client_for,
    team,
    google,
    linked,
    calendar,
    radicale,
    settings,
    django_capture_on_commit_callbacks,
):
    """The photographer moves the ceremony in Táve to 15:30 Lisbon on the daylight-saving
    weekend. Táve has no REST Hook for events, so the scheduled pull finds it (the event's job
    says which wedding it is on); Google and the venue's CalDAV calendar then hold 15:30, the
    socket hears it, and nothing goes back to Táve. The coordinator's own later edit reaches
    Táve's event, written as Táve keeps it: a local date and time in the event's zone."""
    from integrations.providers.photography.tave.emulator import TaveEmulator
    from integrations.sync import pull

    with TaveEmulator() as tave:
        settings.PROVIDER_ORIGINS = {
            "google_calendar": google.base_url,
            "caldav": radicale,
            "tave": tave.base_url,
        }
        venue = OrganizationFactory(name="Quinta da Baroneza", kind="venue")
        ParticipantFactory(wedding=team.wedding, organization=venue)
        make_connection(venue, "caldav", caldav_support.credentials(calendar))
        studio = OrganizationFactory(name="Luz Studio", kind="photographer")
        ParticipantFactory(wedding=team.wedding, organization=studio)
        photographer = make_connection(studio, "tave", {"api_key": tave.add_api_key()})
        team.wedding.date = dt.date(2027, 3, 28)  # Europe's clocks go forward at 01:00 UTC
        team.wedding.save()
        job = tave.add_job(name="Ana & Ben", eventDate="2027-03-28", guestCount=100)
        event = tave.add_event(
            jobId=job["id"],
            name="Ceremony",
            startDate="2027-03-28",
            startTime="14:00:00",
            endDate="2027-03-28",
            endTime="14:45:00",
            timezoneName="Europe/Lisbon",
        )
        with django_capture_on_commit_callbacks(execute=True):
            pull.pull_connection(Connection.objects.get(pk=photographer.pk))
        item = TimelineItem.objects.get()
        assert item.starts_at == dt.datetime(2027, 3, 28, 13, 0, tzinfo=dt.UTC)

        layer = get_channel_layer()
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(wedding_group(team.wedding.pk), channel)
        tave.edit_event(event["id"], startTime="15:30:00", endTime="16:15:00")
        with django_capture_on_commit_callbacks(execute=True):
            pull.pull_connection(Connection.objects.get(pk=photographer.pk))

        item.refresh_from_db()
        assert item.starts_at == dt.datetime(2027, 3, 28, 14, 30, tzinfo=dt.UTC)
        held = google.event("primary", uuid.UUID(str(item.pk)).hex)
        assert local_time(held["start"]["dateTime"]) == dt.time(15, 30)
        stored = caldav_support.event_of(calendar.get(f"{item.pk}.ics"))
        assert stored["DTSTART"].dt.astimezone(LISBON).time() == dt.time(15, 30)
        heard = async_to_sync(drain)(layer, channel)
        assert "timeline_item_updated" in heard and heard.count("sync_push_succeeded") == 2
        assert not OutboundChange.objects.filter(connection=photographer).exists()
        assert [r.method for r in tave.requests if r.path.startswith("/api/v2/event")] == [
            "GET",
            "GET",
        ]  # the two pulls, and no write

        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(team.coordinator).patch(
                f"/api/timeline-items/{item.pk}/",
                {"title": "Ceremony (garden)", "starts_at": "2027-03-28T15:45:00+01:00"},
                format="json",
            )
        assert response.status_code == 200, response.content
        [ceremony] = tave.events()
        assert (ceremony["name"], ceremony["startDate"], ceremony["startTime"]) == (
            "Ceremony (garden)",
            "2027-03-28",
            "15:45:00",
        )
        assert ceremony["timezoneName"] == "Europe/Lisbon"
        assert ceremony["startUtc"] == "2027-03-28T14:45:00+00:00"
        assert ceremony["jobId"] == job["id"]  # the rest of Táve's event is as it was


async def drain(layer, channel) -> list[str]:
    types = []
    while True:
        try:
            message = await asyncio.wait_for(layer.receive(channel), timeout=0.5)
        except TimeoutError:
            return types
        events = message["events"] if "events" in message else [message["event"]]
        types.extend(event["type"] for event in events)


def test_a_deletion_in_the_venue_calendar_removes_the_item_everywhere_else(
    team, google, linked, calendar, radicale, settings, django_capture_on_commit_callbacks
):
    from integrations.sync import pull
    from tests.factories import TimelineItemFactory
    from wedsync.changes import record_change
    from wedsync.live import EventType

    settings.PROVIDER_ORIGINS = {"google_calendar": google.base_url, "caldav": radicale}
    venue = OrganizationFactory(name="Quinta", kind="venue")
    ParticipantFactory(wedding=team.wedding, organization=venue)
    caldav = make_connection(
        venue,
        "caldav",
        caldav_support.credentials(calendar),
        config={"wedding_id": str(team.wedding.pk)},
    )
    item = TimelineItemFactory(
        wedding=team.wedding,
        title="Dinner",
        starts_at=dt.datetime(2027, 6, 19, 19, 0, tzinfo=dt.UTC),
    )
    with django_capture_on_commit_callbacks(execute=True):
        record_change(team.wedding.pk, EventType.TIMELINE_ITEM_CREATED, {"id": str(item.pk)})
    assert calendar.get(f"{item.pk}.ics") is not None
    pull.pull_connection(Connection.objects.get(pk=caldav.pk))  # baseline

    calendar.delete(f"{item.pk}.ics")  # the venue deletes it in its calendar app
    with django_capture_on_commit_callbacks(execute=True):
        run = pull.pull_connection(Connection.objects.get(pk=caldav.pk))
    assert run.deleted == 1
    assert not TimelineItem.objects.filter(pk=item.pk).exists()
    assert google.event("primary", uuid.UUID(str(item.pk)).hex)["status"] == "cancelled"


@pytest.mark.django_db(transaction=True)
def test_a_google_push_channel_is_opened_renewed_and_its_notifications_pull_the_change(
    team, google, linked, live_server, settings
):
    from integrations.sync.channels import ensure_channel
    from tests.factories import TimelineItemFactory
    from wedsync.changes import record_change
    from wedsync.live import EventType

    calendar_connection, _, _ = linked
    settings.PUBLIC_URL = live_server.url
    google.auto_push = False  # notifications go out when the test says
    calendar_connection.config = {"wedding_id": str(team.wedding.pk)}
    calendar_connection.save()
    assert ensure_channel(calendar_connection) == "opened"
    assert ensure_channel(calendar_connection) == "current"
    [channel] = google.live_channels()
    google.deliver_push_notifications()  # the "sync" message: nothing to apply

    item = TimelineItemFactory(wedding=team.wedding, title="Ceremony")
    record_change(team.wedding.pk, EventType.TIMELINE_ITEM_CREATED, {"id": str(item.pk)})
    assert google.event("primary", uuid.UUID(str(item.pk)).hex)["summary"] == "Ceremony"
    google.user_edits_event("primary", uuid.UUID(str(item.pk)).hex, summary="Ceremony (moved)")
    deliveries = google.deliver_push_notifications()
    assert deliveries and all(d.status == 200 for d in deliveries), deliveries
    item.refresh_from_db()
    assert item.title == "Ceremony (moved)"

    # A day before it lapses, the channel is replaced (new one first, then the old one stopped).
    expiring = timezone_now() + dt.timedelta(hours=12)
    Connection.objects.filter(pk=calendar_connection.pk).update(
        config={
            **calendar_connection.config,
            "push_channel": {
                **calendar_connection.config["push_channel"],
                "expires_at": int(expiring.timestamp()),
            },
        }
    )
    calendar_connection.refresh_from_db()
    assert ensure_channel(calendar_connection) == "renewed"
    assert [c.id for c in google.live_channels()] != [channel.id]
    assert len(google.live_channels()) == 1


def timezone_now():
    from django.utils import timezone

    return timezone.now()


def test_the_engine_updates_a_calendar_event_from_the_copy_it_last_wrote_or_pulled(
    team, google, linked, calendar, radicale, settings, caplog, django_capture_on_commit_callbacks
):
    """The CalDAV event we wrote is updated with one PUT; after the venue edits it in its app,
    the If-Match fails, and the engine reads it back and merges: the venue's alarm stays. A
    pull that finds such an edit keeps the venue's copy for the next update."""
    from icalendar import Alarm

    from integrations.models import RecordLink
    from integrations.sync import pull
    from tests.factories import TimelineItemFactory
    from wedsync.changes import record_change
    from wedsync.live import EventType

    settings.PROVIDER_ORIGINS = {"google_calendar": google.base_url, "caldav": radicale}
    venue = OrganizationFactory(name="Quinta", kind="venue")
    ParticipantFactory(wedding=team.wedding, organization=venue)
    caldav = make_connection(venue, "caldav", caldav_support.credentials(calendar))
    item = TimelineItemFactory(
        wedding=team.wedding, title="Dinner", starts_at=dt.datetime(2027, 6, 19, 19, tzinfo=dt.UTC)
    )
    name = f"{item.pk}.ics"

    def change(event_type: str, **values) -> list[str]:
        TimelineItem.objects.filter(pk=item.pk).update(**values)
        caplog.clear()
        with (
            caplog.at_level(logging.INFO, logger="integrations.http"),
            django_capture_on_commit_callbacks(execute=True),
        ):
            record_change(team.wedding.pk, event_type, {"id": str(item.pk)})
        logged = [r.args for r in caplog.records if r.name == "integrations.http"]
        return [method for provider, method, *_ in logged if provider == "caldav"]

    assert change(EventType.TIMELINE_ITEM_CREATED) == ["PUT"]
    link = RecordLink.objects.get(connection=caldav)
    held = calendar.get(name)
    assert held and link.version == held[0] and link.current_body is not None

    assert change(EventType.TIMELINE_ITEM_UPDATED, title="Dinner under the stars") == ["PUT"]
    assert str(caldav_support.event_of(calendar.get(name))["SUMMARY"]) == "Dinner under the stars"

    def venue_adds_a_reminder(text: str) -> None:
        """In its calendar app: nothing the hub maps changes, the event's etag does."""
        theirs = calendar.get(name)[1]
        reminder = Alarm()
        reminder.add("action", "DISPLAY")
        reminder.add("description", text)
        reminder.add("trigger", dt.timedelta(minutes=-15))
        next(iter(theirs.walk("VEVENT"))).add_component(reminder)
        calendar.put(name, theirs.to_ical().decode())

    venue_adds_a_reminder("Candles")  # our copy is stale now

    assert change(EventType.TIMELINE_ITEM_UPDATED, location="Terrace") == ["PUT", "GET", "PUT"]
    event = caldav_support.event_of(calendar.get(name))
    assert (str(event["SUMMARY"]), str(event["LOCATION"])) == ("Dinner under the stars", "Terrace")
    assert [str(a["DESCRIPTION"]) for a in event.walk("VALARM")] == ["Candles"]
    link.refresh_from_db()
    assert link.version == calendar.get(name)[0] and link.current_body is not None
    assert OutboundChange.objects.filter(connection=caldav, status="sent").count() == 3

    # More reminders, and this time pulls see them first (the first pull stores the event as
    # the venue's server writes it, the second finds nothing we map changed): the link takes
    # each new version with the venue's copy, so the next update is one PUT again.
    for text in ("Music", "Toast"):
        venue_adds_a_reminder(text)
        pull.pull_connection(Connection.objects.get(pk=caldav.pk))
        link.refresh_from_db()
        assert link.version == calendar.get(name)[0] and text in link.current_body

    assert change(EventType.TIMELINE_ITEM_UPDATED, notes="Bring the rings") == ["PUT"]
    event = caldav_support.event_of(calendar.get(name))
    assert str(event["DESCRIPTION"]) == "Bring the rings"
    alarms = [str(a["DESCRIPTION"]) for a in event.walk("VALARM")]
    assert alarms == ["Candles", "Music", "Toast"]
