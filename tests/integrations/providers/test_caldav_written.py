"""An update of the event as we last wrote it starts from our own object, not a new parse."""

from __future__ import annotations

import re

import pytest
from icalendar import Calendar

from integrations.providers.calendars.caldav import adapter as caldav
from integrations.providers.calendars.caldav.written import WrittenCalendars, written_calendars
from integrations.registry import adapter_class_for, get_provider

# As a calendar client leaves an event: properties and a VALARM the hub does not map.
FROM_A_CLIENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Apple Inc.//macOS 14//EN\r\n"
    "CALSCALE:GREGORIAN\r\nBEGIN:VEVENT\r\nUID:ceremony\r\nDTSTAMP:20260101T000000Z\r\n"
    "SUMMARY:Ceremony\r\nATTENDEE;CN=Ana;PARTSTAT=ACCEPTED:mailto:ana@example.com\r\n"
    "DTSTART;TZID=America/New_York:20261203T153000\r\n"
    "DTEND;TZID=America/New_York:20261203T160000\r\n"
    "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC\r\n"
    "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:Reminder\r\nEND:VALARM\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)
EDITS = [
    {"title": "Ceremony", "starts_at": "2026-12-03T15:30:00+00:00", "time_zone": "Europe/Lisbon"},
    {"title": "Ceremony (moved)", "starts_at": "2026-12-04T15:30:00+00:00", "location": "Quinta"},
    {"title": "Ceremony", "starts_at": "2026-12-04T16:00:00+00:00", "time_zone": "Asia/Tokyo"},
    {"title": "Ceremony", "ends_at": "2026-12-04T17:00:00+00:00", "time_zone": None},
    {"title": "Ceremony", "location": "", "time_zone": "America/New_York"},
]


@pytest.fixture
def adapter():
    spec = get_provider("caldav")
    credentials = {"username": "ana", "password": "secret"}
    config = {"calendar_url": "http://127.0.0.1:9/ana/weddings/"}
    written_calendars.clear()
    yield adapter_class_for(spec)(spec, credentials, config)
    written_calendars.clear()


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """Every text the adapter parses as a calendar."""
    parsed: list[str] = []
    real = Calendar.from_ical

    def counting(text, *args, **kwargs):
        parsed.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(caldav.Calendar, "from_ical", counting)
    return parsed


def without_stamps(body: bytes) -> str:
    return re.sub(r"(DTSTAMP|LAST-MODIFIED):\S+", r"\1:-", body.decode())


def updates(adapter, start: str | None, *, forget: bool) -> list[str]:
    bodies, text = [], start
    for fields in EDITS:
        if forget:
            written_calendars.clear()
        body = adapter.to_calendar(fields, uid="ceremony", existing=text)
        bodies.append(without_stamps(body))
        text = body.decode()
    return bodies


@pytest.mark.parametrize("start", [None, FROM_A_CLIENT], ids=["ours", "a-client's"])
def test_an_update_of_our_last_write_is_what_parsing_it_would_give(adapter, parses, start):
    kept = updates(adapter, start, forget=False)
    parsed_again = len(parses)
    reparsed = updates(adapter, start, forget=True)

    assert kept == reparsed
    assert parsed_again == (1 if start else 0)  # only the client's copy, once
    assert len(parses) - parsed_again == len(EDITS) - 1 + (1 if start else 0)


def test_two_updates_from_one_text_do_not_share_an_object(adapter, parses):
    first = adapter.to_calendar(EDITS[0], uid="ceremony").decode()
    one = adapter.to_calendar({"title": "One"}, uid="ceremony", existing=first)
    other = adapter.to_calendar({"title": "Other"}, uid="ceremony", existing=first)

    assert b"SUMMARY:One" in one and b"SUMMARY:Other" in other
    assert parses == [first]  # the second found nothing kept: it parsed
    assert b"SUMMARY:One" not in other


def test_the_least_recently_written_are_dropped():
    kept = WrittenCalendars(size=2)
    for name in ("a", "b", "c"):
        kept.keep(name, Calendar())

    assert len(kept) == 2
    assert kept.take("a") is None
    assert kept.take("c") is not None
    assert kept.take("c") is None  # taken: it is the taker's now


def test_connections_that_wrote_the_same_text_each_update_without_parsing(adapter, parses):
    """A fan-out: three calendars sent one event in one second write the same text."""
    for _ in range(3):  # again if the writes straddled a second (DTSTAMP differs)
        written_calendars.clear()
        texts = [adapter.to_calendar(EDITS[0], uid="ceremony").decode() for _ in range(3)]
        if len(set(texts)) == 1:
            break
    assert len(set(texts)) == 1

    updated = [adapter.to_calendar(EDITS[1], uid="ceremony", existing=t) for t in texts]
    assert parses == []
    assert all(without_stamps(body) == without_stamps(updated[0]) for body in updated)
