"""The VTIMEZONE in rule form: what a client computes from it alone is what zoneinfo says."""

from __future__ import annotations

import datetime as dt
import itertools
import random
import zoneinfo

import pytest
from icalendar import Calendar, Event

from integrations.providers.calendars.caldav.adapter import add_timezones
from integrations.providers.calendars.caldav.vtimezone import (
    SCAN_UNTIL,
    rule_of,
    transitions,
    vtimezone,
)

# The shapes of rule there are: last Sunday (EU), nth Sunday (US, Lord Howe's half hour),
# a weekday on or after a date (Israel's Friday, Chile's Sunday), a southern summer, a rule
# changed within the range (the UK's autumn in 1996), no daylight saving any more (Sao Paulo
# since 2019), none ever (Tokyo), a negative DST in tzdata's terms (Dublin).
ZONES = [
    "Europe/Lisbon",
    "Europe/London",
    "Europe/Dublin",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Jerusalem",
    "America/Santiago",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Asia/Kolkata",
]


def read_back(zone: str, first: dt.datetime, last: dt.datetime):
    """The zone as a client reading only the VTIMEZONE written for these times builds it."""
    written = vtimezone(zone, first, last)
    assert written is not None
    text = b"BEGIN:VCALENDAR\r\n" + written.to_ical() + b"END:VCALENDAR\r\n"
    (parsed,) = Calendar.from_ical(text).walk("VTIMEZONE")
    return parsed.to_tz(lookup_tzid=False)


@pytest.mark.parametrize("zone", ZONES)
def test_the_rule_gives_zoneinfos_offset_at_every_change_and_in_between(zone):
    real = zoneinfo.ZoneInfo(zone)
    rule = rule_of(zone)
    assert rule is not None
    since = rule.starts + dt.timedelta(days=2) if rule.changes else dt.datetime(1971, 1, 1)
    since = since.replace(tzinfo=dt.UTC)
    until = SCAN_UNTIL - dt.timedelta(days=2)
    read = read_back(zone, since, until)
    second = dt.timedelta(seconds=1)
    instants = [t.at + d for t in transitions(zone) if t.at > since for d in (-second, 0 * second)]
    draw = random.Random(zone)
    span = (until - since).total_seconds()
    instants += [since + dt.timedelta(seconds=draw.uniform(0, span)) for _ in range(300)]
    for instant in instants:
        if since <= instant < until:
            assert instant.astimezone(read).utcoffset() == instant.astimezone(real).utcoffset(), (
                zone,
                instant,
            )


def test_rules_are_small_and_name_the_day_as_clients_write_it():
    london = vtimezone("Europe/London", *[dt.datetime(2027, 6, 19, tzinfo=dt.UTC)] * 2)
    text = london.to_ical().decode()
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in text
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in text
    assert "DTSTART:19961027T020000" in text  # in the offset it leaves (RFC 5545 3.6.5)
    assert len(text) < 600
    jerusalem = vtimezone("Asia/Jerusalem", *[dt.datetime(2027, 6, 19, tzinfo=dt.UTC)] * 2)
    assert "BYDAY=FR;BYMONTHDAY=23,24,25,26,27,28,29;BYMONTH=3" in jerusalem.to_ical().decode()


def test_times_the_rule_does_not_cover_get_no_rule():
    before_it_began = dt.datetime(1990, 6, 1, tzinfo=dt.UTC)
    assert vtimezone("Europe/London", before_it_began, before_it_began) is None
    past_the_scan = dt.datetime(2045, 6, 1, tzinfo=dt.UTC)
    assert vtimezone("Europe/London", past_the_scan, past_the_scan) is None
    # Morocco's changes move with Ramadan: no yearly rule explains them.
    assert rule_of("Africa/Casablanca") is None
    assert vtimezone("Nowhere/Atlantis", before_it_began, before_it_began) is None
    assert vtimezone("../../etc/passwd", before_it_began, before_it_began) is None


def event_calendar(zone: str, starts: dt.datetime) -> tuple[Calendar, Event]:
    calendar = Calendar()
    event = Event()
    event.add("uid", "u1")
    tz = zoneinfo.ZoneInfo(zone)
    event.add("dtstart", starts.replace(tzinfo=tz))
    event.add("dtend", (starts + dt.timedelta(hours=1)).replace(tzinfo=tz))
    calendar.add_component(event)
    return calendar, event


@pytest.mark.parametrize(
    ("zone", "starts", "summer"),
    [
        ("Europe/London", dt.datetime(2027, 6, 19, 15, 30), True),  # the rule
        ("Europe/London", dt.datetime(1990, 6, 16, 15, 30), False),  # before it: transitions
        ("Africa/Casablanca", dt.datetime(2027, 6, 19, 15, 30), False),  # no rule: transitions
    ],
)
def test_an_event_gets_the_rule_where_it_covers_it_and_transitions_elsewhere(zone, starts, summer):
    calendar, event = event_calendar(zone, starts)
    add_timezones(calendar, event)
    (written,) = calendar.walk("VTIMEZONE")
    assert ("RRULE" in written.to_ical().decode()) is summer
    read = written.to_tz(lookup_tzid=False)
    real = zoneinfo.ZoneInfo(zone)
    for when in (starts, starts + dt.timedelta(hours=1)):
        assert read.utcoffset(when) == real.utcoffset(when), when


@pytest.mark.slow  # every zone of the machine's tzdata: about 20 s
def test_every_zone_gets_a_rule_that_agrees_with_zoneinfo_or_none():
    """Each zone's rule gives zoneinfo's offset around each of its transitions and between
    them, from the rule's start to 2040; a zone whose changes follow no yearly rule gets none
    (its events keep icalendar's transitions). Catches a tzdata update with a new kind of rule."""
    second = dt.timedelta(seconds=1)
    without = []
    for zone in sorted(zoneinfo.available_timezones()):
        rule = rule_of(zone)
        if rule is None:
            without.append(zone)
            continue
        since = rule.starts + dt.timedelta(days=2) if rule.changes else dt.datetime(1971, 1, 1)
        since = since.replace(tzinfo=dt.UTC)
        until = SCAN_UNTIL - dt.timedelta(days=2)
        read, real = read_back(zone, since, until), zoneinfo.ZoneInfo(zone)
        changes = [t.at for t in transitions(zone) if since < t.at < until]
        instants = [since, until - second]
        instants += [at + d for at in changes for d in (-second, 0 * second)]
        instants += [a + (b - a) / 2 for a, b in itertools.pairwise(changes)]
        wrong = [
            instant
            for instant in instants
            if instant.astimezone(read).utcoffset() != instant.astimezone(real).utcoffset()
        ]
        assert not wrong, (zone, wrong[:3])
    assert "Africa/Casablanca" in without and len(without) < 20, without
