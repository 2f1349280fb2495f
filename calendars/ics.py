"""A wedding's day as iCalendar (RFC 5545): the wedding as an all-day event and each timeline
item as a timed one. Times are written as UTC instants, which every calendar shows in its own
zone, so 15:30 at the venue is 15:30 there on any weekend, daylight saving or not; the
wedding's zone is named in X-WR-TIMEZONE for apps that display the calendar in it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from icalendar import Calendar, Event

from wedsync.models import TimelineItem, Wedding

PRODID = "-//WedSync Hub//Wedding calendar feed//EN"
UID_DOMAIN = "wedsync.hub"


def wedding_calendar(wedding: Wedding, items: Iterable[TimelineItem]) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{wedding.couple_names}: wedding day")
    calendar.add("x-wr-timezone", wedding.time_zone)
    day = Event()
    day.add("uid", f"wedding-{wedding.pk}@{UID_DOMAIN}")
    day.add("summary", f"{wedding.couple_names}: wedding")
    day.add("dtstart", wedding.date)
    day.add("dtend", wedding.date + dt.timedelta(days=1))
    day.add("dtstamp", wedding.updated_at)
    if wedding.venue_name:
        day.add("location", wedding.venue_name)
    calendar.add_component(day)
    for item in items:
        event = Event()
        event.add("uid", f"{item.pk}@{UID_DOMAIN}")
        event.add("summary", item.title)
        event.add("dtstart", item.starts_at.astimezone(dt.UTC))
        if item.ends_at:
            event.add("dtend", item.ends_at.astimezone(dt.UTC))
        event.add("dtstamp", item.updated_at)
        event.add("last-modified", item.updated_at)
        if item.location:
            event.add("location", item.location)
        if item.notes:
            event.add("description", item.notes)
        calendar.add_component(event)
    return calendar.to_ical()
