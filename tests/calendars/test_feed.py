"""A vendor subscribes their calendar app to the wedding's day: the address is their
organization's (members only), the feed holds the wedding and its timeline at the right
instants across the daylight-saving change, answers 304 when nothing changed, and a replaced
address or an organization that left the wedding gets 404."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.contrib.auth.models import Permission
from icalendar import Calendar

from calendars.models import CalendarFeed
from tests.factories import (
    MembershipFactory,
    OrganizationFactory,
    ParticipantFactory,
    TimelineItemFactory,
)
from wedsync.models import Membership, WeddingParticipant

pytestmark = pytest.mark.django_db
LISBON = zoneinfo.ZoneInfo("Europe/Lisbon")


@pytest.fixture
def day(team):
    """The wedding on Lisbon's daylight-saving weekend, with two moments of its day."""
    wedding = team.wedding
    wedding.date, wedding.time_zone, wedding.venue_name = (
        dt.date(2027, 3, 28),
        "Europe/Lisbon",
        "Quinta da Baroneza",
    )
    wedding.save()
    TimelineItemFactory(
        wedding=wedding,
        title="Ceremony",
        starts_at=dt.datetime(2027, 3, 28, 15, 30, tzinfo=LISBON),
        ends_at=dt.datetime(2027, 3, 28, 16, 15, tzinfo=LISBON),
        location="The chapel",
        notes="Rings with the best man",
    )
    TimelineItemFactory(
        wedding=wedding, title="Send-off", starts_at=dt.datetime(2027, 3, 29, 0, 30, tzinfo=LISBON)
    )
    return wedding


def feed_url(client_for, team, user=None, **params) -> str:
    response = client_for(user or team.coordinator).get(
        f"/api/weddings/{team.wedding.pk}/calendar-feed/", params
    )
    assert response.status_code == 200, response.content
    return response.json()["url"]


def test_the_feed_holds_the_wedding_and_its_timeline_at_the_venues_times(
    team, day, client_for, client
):
    url = feed_url(client_for, team)
    assert url.startswith("http://testserver/calendars/") and url.endswith(".ics")

    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["x-wr-timezone"]) == "Europe/Lisbon"
    events = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {f"{day.couple_names}: wedding", "Ceremony", "Send-off"}
    ceremony = events["Ceremony"]
    start = ceremony.decoded("dtstart")
    assert start.astimezone(LISBON).strftime("%H:%M") == "15:30"  # summer time began at 01:00
    assert ceremony.decoded("dtend").astimezone(LISBON).strftime("%H:%M") == "16:15"
    assert (str(ceremony["location"]), str(ceremony["description"])) == (
        "The chapel",
        "Rings with the best man",
    )
    wedding_day = next(e for e in events.values() if str(e["uid"]).startswith("wedding-"))
    assert wedding_day.decoded("dtstart") == dt.date(2027, 3, 28)
    assert str(wedding_day["location"]) == "Quinta da Baroneza"


def test_an_unchanged_feed_answers_304_and_a_change_shows(team, day, client_for, client):
    url = feed_url(client_for, team)
    first = client.get(url)
    assert client.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    item = day.timeline.get(title="Send-off")
    item.title = "Sparkler send-off"
    item.save()
    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and b"Sparkler send-off" in changed.content


def test_a_replaced_address_stops_working_and_only_managers_replace_it(
    team, day, client_for, client
):
    old = feed_url(client_for, team)
    assert (
        client_for(team.staff)
        .post(f"/api/weddings/{team.wedding.pk}/calendar-feed/rotate/")
        .status_code
        == 403
    )
    assert feed_url(client_for, team, user=team.staff) == old  # staff read the same address
    rotated = client_for(team.coordinator).post(
        f"/api/weddings/{team.wedding.pk}/calendar-feed/rotate/"
    )
    assert rotated.status_code == 200
    new = rotated.json()["url"]
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200


def test_outsiders_get_no_address_and_a_vendor_who_left_loses_the_feed(
    team, day, client_for, client
):
    assert (
        client_for(team.outsider).get(f"/api/weddings/{team.wedding.pk}/calendar-feed/").status_code
        == 404
    )
    florist = OrganizationFactory(name="Wild Stems", kind="florist")
    ParticipantFactory(wedding=day, organization=florist)
    owner = MembershipFactory(organization=florist, role=Membership.Role.OWNER).user
    url = feed_url(client_for, team, user=owner)
    assert client.get(url).status_code == 200
    WeddingParticipant.objects.filter(wedding=day, organization=florist).delete()
    assert client.get(url).status_code == 404
    assert client.get("/calendars/not-a-feed.ics").status_code == 404


def test_someone_on_the_wedding_for_two_organizations_names_one(team, day, client_for):
    venue = OrganizationFactory(name="Hartwell Manor", kind="venue")
    ParticipantFactory(wedding=day, organization=venue)
    MembershipFactory(organization=venue, user=team.coordinator, role=Membership.Role.OWNER)
    api = client_for(team.coordinator)
    url = f"/api/weddings/{team.wedding.pk}/calendar-feed/"
    ambiguous = api.get(url)
    assert ambiguous.status_code == 400 and "organization" in ambiguous.json()
    chosen = api.get(url, {"organization": str(venue.pk)})
    assert chosen.status_code == 200 and chosen.json()["organization_name"] == "Hartwell Manor"
    assert api.get(url, {"organization": "nope"}).status_code == 403


def test_the_console_lists_feeds_without_their_secret_address(team, day, client_for, client):
    feed_url(client_for, team)
    token = CalendarFeed.objects.get().token
    team.coordinator.is_staff = True
    team.coordinator.save()
    team.coordinator.user_permissions.add(Permission.objects.get(codename="view_calendarfeed"))
    client.force_login(team.coordinator)
    page = client.get("/admin/calendars/calendarfeed/").content.decode()
    assert "Ever After Planning" in page and token not in page
