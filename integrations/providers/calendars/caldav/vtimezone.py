"""A zone's VTIMEZONE as its current yearly rule (RRULE), the form calendar clients write.

icalendar writes a VTIMEZONE as one STANDARD or DAYLIGHT per offset with an RDATE for every
transition in the range asked for. Over 1970-2038 that is 2.6 kB for Lisbon, built on every
write and parsed by every reader; over the event's own years it is small, but Radicale's
parser (vobject) compares every zone with UTC year by year over 2000-2019, and a zone at UTC+0
in winter (London, Lisbon, Dublin) whose VTIMEZONE has no transition in those years is scanned
month by month for all twenty. vobject reading and writing back a Lisbon event took 14.6 ms
with the event's-years form, 9.4 ms with the 1970-2038 one and 3.7 ms with this one (measured
in one sitting on this repository's machine; building it here is cached, 1.6 ms per update).

The rule form (RFC 5545 3.6.5: a STANDARD and a DAYLIGHT with RRULE:FREQ=YEARLY, or a single
STANDARD for a zone without daylight saving) is derived from the zone's own transitions,
read from zoneinfo between 1970 and 2040, and kept only when the rule reproduces every one of
them from its start to 2040; it covers an event only from the rule's start. Otherwise (an event
before the rule began or after 2039, a zone whose transitions follow no yearly rule, such as
Morocco's around Ramadan) the caller falls back to icalendar's form.
"""

from __future__ import annotations

import calendar as monthdays
import datetime as dt
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

SCAN_FROM = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
SCAN_UNTIL = dt.datetime(2040, 1, 1, tzinfo=dt.UTC)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Transition:
    at: dt.datetime  # the first instant (UTC) of the new offset
    before: dt.timedelta
    after: dt.timedelta
    name: str  # the zone's abbreviation after it

    @property
    def local(self) -> dt.datetime:
        """The wall-clock time it happens at, in the offset it leaves (RFC 5545's DTSTART)."""
        return (self.at + self.before).replace(tzinfo=None)

    def shape(self) -> tuple:
        local = self.local
        return (self.before, self.after, self.name, local.month, local.weekday(), local.time())


@dataclass(frozen=True)
class YearlyChange:
    """One of a rule's two yearly transitions (or a zone's last change, when it has no DST)."""

    first: Transition
    by_day: str | None = None  # "-1SU", "2SU", or "SU" with by_month_day
    by_month_day: tuple[int, ...] = ()

    def day_in(self, year: int) -> int:
        """The day of the month it falls on in `year`."""
        month = self.first.local.month
        weekday = self.first.local.weekday()
        length = monthdays.monthrange(year, month)[1]
        days = self.by_month_day or range(1, length + 1)
        matching = [d for d in days if d <= length and dt.date(year, month, d).weekday() == weekday]
        if self.by_day and self.by_day[0] == "-":
            return matching[-1]
        nth = int(self.by_day[:-2]) if self.by_day and self.by_day[:-2] else 1
        return matching[nth - 1]


@dataclass(frozen=True)
class Rule:
    changes: tuple[YearlyChange, ...]  # two, or one for a zone without daylight saving

    @property
    def starts(self) -> dt.datetime:
        return min(change.first.at for change in self.changes)


@lru_cache(maxsize=64)
def transitions(zone: str) -> tuple[Transition, ...]:
    """The zone's changes of UTC offset between 1970 and 2040 (a day-by-day scan, then a
    bisection to the second: some 40 ms per zone, once per process)."""
    tz = zoneinfo.ZoneInfo(zone)

    def offset_at(second: int) -> dt.timedelta | None:
        return dt.datetime.fromtimestamp(second, tz).utcoffset()

    found = []
    day, until, step = int(SCAN_FROM.timestamp()), int(SCAN_UNTIL.timestamp()), 86400
    offset = offset_at(day)
    while day < until:
        following = day + step
        next_offset = offset_at(following)
        if next_offset != offset:
            low, high = day, following  # low has the old offset, high the new
            while high - low > 1:
                middle = (low + high) // 2
                if offset_at(middle) == offset:
                    low = middle
                else:
                    high = middle
            at = dt.datetime.fromtimestamp(high, dt.UTC)
            found.append(Transition(at, offset, next_offset, at.astimezone(tz).tzname() or ""))
            offset = next_offset
        day = following
    return tuple(found)


def by_day_of(changes: list[Transition]) -> YearlyChange | None:
    """The RRULE day that puts each of these (same month and weekday, one a year) where it
    happened: the last such weekday, the nth, or the first on or after a day of the month."""
    weekday = WEEKDAYS[changes[0].local.weekday()]
    days = [(t.local.year, t.local.month, t.local.day) for t in changes]
    candidates = [YearlyChange(changes[0], f"-1{weekday}")]
    candidates += [YearlyChange(changes[0], f"{n}{weekday}") for n in range(1, 5)]
    earliest = min(day for _, _, day in days)
    if earliest + 6 <= 31:
        window = tuple(range(earliest, earliest + 7))
        candidates.append(YearlyChange(changes[0], weekday, window))
    for candidate in candidates:
        try:
            if all(candidate.day_in(year) == day for year, _, day in days):
                return candidate
        except IndexError:  # no nth weekday that month
            continue
    return None


@lru_cache(maxsize=64)
def rule_of(zone: str) -> Rule | None:
    """The zone's current rule, from the transitions it explains exactly; None when its
    recent transitions follow no yearly rule."""
    found = transitions(zone)
    if not found:
        return Rule(())
    last_year = SCAN_UNTIL.year - 1
    if found[-1].at.year < last_year - 1:  # no daylight saving any more
        return Rule((YearlyChange(found[-1]),))
    if len(found) < 2:
        return None
    # Walk back while each transition repeats the one two places later, a year earlier.
    start = len(found) - 2
    while start > 0:
        earlier, later = found[start - 1], found[start + 1]
        if earlier.shape() != later.shape() or earlier.local.year != later.local.year - 1:
            break
        start -= 1
    regime = found[start:]
    if len(regime) < 4 or (regime[0].after, regime[0].before) != (
        regime[1].before,
        regime[1].after,
    ):
        return None
    # Each of the two yearly changes, from the first year one RRULE explains (the UK's autumn
    # change moved from the Sunday after the fourth Saturday to the last Sunday in 1996)...
    kinds = [explained(list(regime[0::2])), explained(list(regime[1::2]))]
    if None in kinds:
        return None
    # ...and both from the later of those years, so that they take turns from the start.
    since = max(kind[0].at for kind in kinds) - dt.timedelta(days=366)
    kinds = [[t for t in kind if t.at > since] for kind in kinds]
    return Rule(tuple(by_day_of(kind) for kind in kinds))


def explained(changes: list[Transition]) -> list[Transition] | None:
    """The longest run of the latest of these (two at least) that one RRULE day explains."""
    for start in range(len(changes) - 1):
        if by_day_of(changes[start:]) is not None:
            return changes[start:]
    return None


def component(zone: str, rule: Rule) -> Timezone:
    timezone = Timezone()
    timezone.add("TZID", zone)
    if not rule.changes:  # always the same offset
        sample = dt.datetime(2000, 1, 1, tzinfo=zoneinfo.ZoneInfo(zone))
        standard = TimezoneStandard()
        standard.add("DTSTART", dt.datetime(1970, 1, 1))
        standard.add("TZOFFSETFROM", sample.utcoffset())
        standard.add("TZOFFSETTO", sample.utcoffset())
        standard.add("TZNAME", sample.tzname() or zone)
        timezone.add_component(standard)
        return timezone
    biggest = max(change.first.after for change in rule.changes)
    for change in rule.changes:
        daylight = len(rule.changes) == 2 and change.first.after == biggest
        part = TimezoneDaylight() if daylight else TimezoneStandard()
        part.add("DTSTART", change.first.local)
        if change.by_day is not None:
            recurrence = {"FREQ": "YEARLY", "BYMONTH": change.first.local.month}
            recurrence["BYDAY"] = change.by_day
            if change.by_month_day:
                recurrence["BYMONTHDAY"] = list(change.by_month_day)
            part.add("RRULE", recurrence)
        part.add("TZOFFSETFROM", change.first.before)
        part.add("TZOFFSETTO", change.first.after)
        part.add("TZNAME", change.first.name)
        timezone.add_component(part)
    return timezone


@lru_cache(maxsize=64)
def _vtimezone(zone: str) -> tuple[Timezone, dt.datetime] | None:
    try:
        rule = rule_of(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # unknown, or not a zone key at all
        return None
    if rule is None:
        return None
    starts = rule.starts if rule.changes else dt.datetime.min.replace(tzinfo=dt.UTC)
    return component(zone, rule), starts


def vtimezone(zone: str, first: dt.datetime, last: dt.datetime) -> Timezone | None:
    """The zone's VTIMEZONE in rule form when that rule holds from `first` to `last`, else
    None. The component is shared between calls: add it to a calendar, never change it."""
    found = _vtimezone(zone)
    if found is None:
        return None
    timezone, starts = found
    if first.astimezone(dt.UTC) < starts + DAY or last.astimezone(dt.UTC) >= SCAN_UNTIL - DAY:
        return None
    return timezone
