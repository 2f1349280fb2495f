"""Conflict settlement: how many concurrent edits policies settle without a person, and how fast.

    .venv/bin/python bench/conflicts.py [--edits 20000] [--seed 2027] [--wedding-day-share 0.03]

Pure Python, no database: conflicts.merge.detect and conflicts.policies.resolve with
DEFAULT_POLICIES, on a corpus generated from a fixed seed. Each edit is one record that two
systems both changed between syncs (edits where only one side changed settle trivially and are
left out, so the share is not flattered by them): the hub's record (last written by system A,
held as Python datetimes) against system B's, with B's last synced snapshot as the base.

The corpus, with weights chosen from how weddings change before this was first run and not
adjusted after:
- record kinds: timeline item 50, wedding (guest count, venue, couple, date) 20, contact 18,
  payment 12;
- fields each side edits (drawn independently per side, by weight, among the fields its system
  carries): timeline: time 45 (move start and end together 70 %, change the end only 25 %,
  change the time zone 5 %), notes 20, location 15, title 10, attendees 10; wedding: guest count
  65, venue 15, couple names 15, date 5; contact: phone 40, email 40, name 20; payment: status 60,
  amount 35, currency 5. A side edits 1 field (70 %), 2 (25 %) or 3 (5 %), so most pairs touch
  different fields and some the same one;
- the same change entered in two systems: where both sides edit the same field, the second copies
  the first's value 25 % of the time (a planner typing a new time into the app and the calendar);
- deletions: 2 % of timeline items and contacts are deleted on one side while the other edits,
  0.3 % on both; weddings and payments are never deleted;
- when: 3 % of edits on the wedding day (the option varies it), 12 % in the final week, 25 % in
  the two months before, 60 % earlier; the wedding falls on any day of 2027 (DST weekends too)
  in London 40 %, New York 30 %, Los Angeles 15 %, Paris 15 %;
- systems: which systems edit which kinds, which fields each carries and how each writes times
  (offset in the item's zone, UTC "Z", naive wall time with a time_zone field) are in SYSTEMS;
  the two sides are two different editors of the kind, chosen uniformly. Modification times are
  the source's own (second or millisecond precision); a CalDAV change has none 10 % of the time
  (LAST-MODIFIED is optional in RFC 5545), and then last writer wins cannot decide.

Printed: the share of conflicts settled by a policy (target >= 98 %), the share of edits that
needed no person, which policies decided, why people were asked, and the time of automatic
settlement per conflicting edit (time.perf_counter around detect + resolve + apply; target
p95 < 50 ms). Last line: JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# The repository ahead of bench/ (which stays on the path for common): this file's own name
# would shadow the conflicts package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import machine, percentile

from conflicts.merge import detect
from conflicts.policies import DEFAULT_POLICIES, SideMeta, resolve

KIND_WEIGHTS = {"timeline_item": 50, "wedding": 20, "contact": 18, "payment": 12}
FIELD_WEIGHTS = {
    "timeline_item": {"time": 45, "notes": 20, "location": 15, "title": 10, "attendees": 10},
    "wedding": {"guest_count": 65, "venue": 15, "couple_names": 15, "date": 5},
    "contact": {"phone": 40, "email": 40, "name": 20},
    "payment": {"status": 60, "amount": 35, "currency": 5},
}
TIME_EDITS = {"move": 70, "end": 25, "zone": 5}
FIELDS_PER_EDIT = {1: 70, 2: 25, 3: 5}
RELAY_SHARE = 0.25
DELETE_SHARE, BOTH_DELETE_SHARE = 0.02, 0.003
DELETABLE = {"timeline_item", "contact"}
WHEN = {"final_week": 0.12, "two_months": 0.25}  # the rest: earlier; the wedding day: option
ZONES = {"Europe/London": 40, "America/New_York": 30, "America/Los_Angeles": 15, "Europe/Paris": 15}
NO_MODIFIED = {"caldav": 0.10}

TIMELINE = ("title", "starts_at", "ends_at", "time_zone", "location", "notes", "attendees")
WEDDING = ("couple_names", "date", "guest_count", "venue")
CONTACT = ("name", "email", "phone")
PAYMENT = ("amount", "currency", "status")


@dataclass(frozen=True)
class System:
    key: str
    roles: frozenset[str]
    edits: frozenset[str]  # record kinds it changes
    timeline: tuple[str, ...]  # timeline fields it carries
    times: str  # how it writes times: python, utc, offset, naive
    precision: str  # its modification clock: seconds or milliseconds


SYSTEMS = [
    System("hub", frozenset({"planner"}), frozenset(KIND_WEIGHTS), TIMELINE, "python", "ms"),
    System("aisle_planner", frozenset({"planner"}), frozenset(KIND_WEIGHTS), TIMELINE, "utc", "s"),
    System(
        "honeybook",
        frozenset({"planner"}),
        frozenset({"timeline_item", "wedding", "contact", "payment"}),
        ("title", "starts_at", "ends_at", "time_zone", "location"),
        "naive",
        "s",
    ),
    System(
        "tave",
        frozenset({"photographer"}),
        frozenset({"timeline_item", "wedding", "contact", "payment"}),
        ("title", "starts_at", "ends_at", "location", "notes"),
        "utc",
        "s",
    ),
    System(
        "google_calendar",
        frozenset({"calendars"}),
        frozenset({"timeline_item"}),
        TIMELINE,
        "offset",
        "ms",
    ),
    System(
        "caldav",
        frozenset({"calendars"}),
        frozenset({"timeline_item"}),
        ("title", "starts_at", "ends_at", "time_zone", "location", "notes"),
        "utc",
        "s",
    ),
    System(
        "venue_hub",
        frozenset({"venue"}),
        frozenset({"timeline_item", "wedding"}),
        ("title", "starts_at", "ends_at", "time_zone", "location"),
        "offset",
        "s",
    ),
    System(
        "caterer_crm",
        frozenset({"caterer"}),
        frozenset({"timeline_item", "wedding", "contact"}),
        ("title", "starts_at", "ends_at", "notes"),
        "utc",
        "s",
    ),
    System("stripe", frozenset({"payments"}), frozenset({"payment"}), (), "utc", "s"),
]
TITLES = ["Hair & makeup", "First look", "Ceremony", "Cocktail hour", "Dinner", "Speeches"]
TITLES += ["First dance", "Cake cutting", "Send-off"]
LOCATIONS = ["Garden", "Chapel", "Great Barn", "Terrace", "Ballroom", "Orangery", "Lawn"]
VENDORS = ["photographer", "videographer", "planner", "florist", "dj", "officiant", "caterer"]
VENUES = ["Elm Farm", "Elm Farm, Great Barn", "The Orangery", "Quinta da Baroneza", "Harbour Hall"]
FIRST = ["Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hugo", "Isla", "Jon"]
STATUSES = ["pending", "paid", "failed", "refunded"]


def weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def written(value: Any, system: System, zone: ZoneInfo) -> Any:
    """A time as this system writes it; everything else as it is."""
    if not isinstance(value, dt.datetime):
        return value
    if system.times == "python":
        return value
    if system.times == "utc":
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if system.times == "offset":
        return value.astimezone(zone).isoformat()
    return value.astimezone(zone).replace(tzinfo=None).isoformat()


def carried(kind: str, system: System) -> tuple[str, ...]:
    return {"timeline_item": system.timeline, "wedding": WEDDING, "contact": CONTACT}.get(
        kind, PAYMENT
    )


def new_record(rng: random.Random, kind: str, day: dt.date, zone: ZoneInfo) -> dict[str, Any]:
    """A record as the hub holds it: aware datetimes, plain values."""
    if kind == "timeline_item":
        start = dt.datetime.combine(day, dt.time(rng.randint(11, 21), rng.choice([0, 15, 30, 45])))
        start = start.replace(tzinfo=zone)
        return {
            "title": rng.choice(TITLES),
            "starts_at": start,
            "ends_at": start + dt.timedelta(minutes=rng.choice([15, 30, 45, 60, 90, 120])),
            "time_zone": zone.key,
            "location": rng.choice(LOCATIONS),
            "notes": rng.choice(["", "", "Rain plan: marquee", "Bring the rings"]),
            "attendees": sorted(rng.sample(VENDORS, rng.randint(1, 4))),
        }
    if kind == "wedding":
        names = rng.sample(FIRST, 2)
        return {
            "couple_names": f"{names[0]} & {names[1]}",
            "date": day.isoformat(),
            "guest_count": rng.randint(40, 250),
            "venue": rng.choice(VENUES),
        }
    if kind == "contact":
        name = rng.choice(FIRST)
        return {
            "name": f"{name} {rng.choice(['Reyes', 'Okafor', 'Smith', 'Novak'])}",
            "email": f"{name.lower()}@example.com",
            "phone": f"+44 7700 900{rng.randint(100, 999)}",
        }
    return {
        "amount": f"{rng.choice([250, 500, 1200, 1800, 3500])}.00",
        "currency": rng.choice(["GBP", "USD", "EUR"]),
        "status": "pending",
    }


def changed_value(rng: random.Random, field: str, record: dict[str, Any], zones: bool) -> dict:
    """One edit of one field; a time edit moves start and end, or the end, or (where the
    system carries it) the zone."""
    if field == "time":
        start, end = record["starts_at"], record["ends_at"]
        edit = weighted(rng, TIME_EDITS if zones else {"move": 70, "end": 25})
        if edit == "move":
            delta = dt.timedelta(minutes=rng.choice([-60, -45, -30, -15, 15, 30, 45, 60, 90]))
            return {"starts_at": start + delta, "ends_at": end + delta}
        if edit == "end":
            return {"ends_at": end + dt.timedelta(minutes=rng.choice([-15, 15, 30]))}
        return {"time_zone": rng.choice([z for z in ZONES if z != record["time_zone"]])}
    value = record[field]
    if field == "notes":
        return {field: (value + " " if value else "") + rng.choice(["Late bus", "Sparklers", "+1"])}
    if field == "location":
        return {field: rng.choice([x for x in LOCATIONS if x != value])}
    if field == "title":
        return {field: rng.choice([f"{value} (outdoor)", rng.choice(TITLES)])}
    if field == "attendees":
        if len(value) > 1 and rng.random() < 0.4:
            return {field: [v for v in value if v != rng.choice(value)]}
        return {field: [*value, rng.choice([v for v in VENDORS if v not in value])]}
    if field == "guest_count":
        return {field: max(1, value + rng.choice([-10, -5, -2, -1, 1, 2, 4, 6, 10, 20]))}
    if field == "venue":
        return {field: rng.choice([v for v in VENUES if v != value])}
    if field == "couple_names":
        first, second = value.split(" & ")
        return {field: rng.choice([f"{first} and {second}", f"{second} & {first}"])}
    if field == "date":
        day = dt.date.fromisoformat(value) + dt.timedelta(days=rng.choice([-7, 1, 7, 14]))
        return {field: day.isoformat()}
    if field == "phone":
        return {field: f"+44 7700 900{rng.randint(100, 999)}"}
    if field == "email":
        return {
            field: value.replace("@example.com", rng.choice(["@mail.example", ".w@example.com"]))
        }
    if field == "name":
        return {field: value.split()[0] + " " + rng.choice(["Reyes-Smith", "Okafor", "Lund"])}
    if field == "status":
        return {field: rng.choice([s for s in STATUSES if s != value])}
    if field == "amount":
        return {field: f"{rng.choice([250, 500, 750, 1200, 1800, 3500])}.00"}
    return {field: rng.choice([c for c in ("GBP", "USD", "EUR") if c != value])}


def side_edits(rng: random.Random, kind: str, system: System) -> list[str]:
    fields = set(carried(kind, system))
    options = {
        f: w
        for f, w in FIELD_WEIGHTS[kind].items()
        if (f == "time" and "starts_at" in fields) or f in fields
    }
    chosen: list[str] = []
    for _ in range(min(weighted(rng, FIELDS_PER_EDIT), len(options))):
        pick = weighted(rng, {f: w for f, w in options.items() if f not in chosen})
        chosen.append(pick)
    return chosen


def when(rng: random.Random, wedding_day_share: float) -> int:
    """Days before the wedding."""
    draw = rng.random()
    if draw < wedding_day_share:
        return 0
    draw -= wedding_day_share
    if draw < WHEN["final_week"]:
        return rng.randint(1, 7)
    if draw < WHEN["final_week"] + WHEN["two_months"]:
        return rng.randint(8, 60)
    return rng.randint(61, 365)


def modified_at(rng: random.Random, system: System, synced: dt.datetime, window: float):
    if rng.random() < NO_MODIFIED.get(system.key, 0.0):
        return None
    moment = synced + dt.timedelta(seconds=rng.uniform(60, window))
    return moment.replace(
        microsecond=0 if system.precision == "s" else moment.microsecond // 1000 * 1000
    )


@dataclass
class Edit:
    kind: str
    base: dict[str, Any]
    ours: dict[str, Any] | None
    theirs: dict[str, Any] | None
    ours_meta: SideMeta
    theirs_meta: SideMeta
    wedding_day: bool


def corpus(size: int, seed: int, wedding_day_share: float) -> list[Edit]:
    rng = random.Random(seed)
    edits = []
    for _ in range(size):
        kind = weighted(rng, KIND_WEIGHTS)
        zone = ZoneInfo(weighted(rng, ZONES))
        day = dt.date(2027, 1, 1) + dt.timedelta(days=rng.randrange(365))
        before = when(rng, wedding_day_share)
        editors = [s for s in SYSTEMS if kind in s.edits]
        a, b = rng.sample(editors, 2)
        record = new_record(rng, kind, day, zone)
        sides: dict[str, dict[str, Any] | None] = {}
        first_values: dict[str, Any] = {}
        order = [a, b] if rng.random() < 0.5 else [b, a]
        for system in order:
            state = dict(record)
            for field in side_edits(rng, kind, system):
                if field in first_values and rng.random() < RELAY_SHARE:
                    change = first_values[field]
                else:
                    change = changed_value(rng, field, state, "time_zone" in system.timeline)
                first_values.setdefault(field, change)
                state.update(change)
            sides[system.key] = state
        if kind in DELETABLE:
            draw = rng.random()
            if draw < BOTH_DELETE_SHARE:
                sides = dict.fromkeys(sides)
            elif draw < BOTH_DELETE_SHARE + DELETE_SHARE:
                sides[rng.choice([a, b]).key] = None
        noon = dt.datetime.combine(day, dt.time(12), tzinfo=zone)
        synced = noon - dt.timedelta(days=before, hours=rng.uniform(1, 48 if before else 6))
        window = 6 * 3600 if before == 0 else 3 * 86400
        ours_state, theirs_state = sides[a.key], sides[b.key]
        edits.append(
            Edit(
                kind,
                base=view(record, kind, b, zone),
                ours=view(ours_state, kind, SYSTEMS[0], zone) if ours_state else None,
                theirs=view(theirs_state, kind, b, zone) if theirs_state else None,
                ours_meta=SideMeta(a.key, modified_at(rng, a, synced, window), a.roles),
                theirs_meta=SideMeta(b.key, modified_at(rng, b, synced, window), b.roles),
                wedding_day=before == 0,
            )
        )
    return edits


def view(record: dict[str, Any], kind: str, system: System, zone: ZoneInfo) -> dict[str, Any]:
    """The record as `system` holds it: the fields it carries, its time format."""
    return {f: written(record[f], system, zone) for f in carried(kind, system) if f in record}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--wedding-day-share", type=float, default=0.03)
    args = parser.parse_args()

    edits = corpus(args.edits, args.seed, args.wedding_day_share)
    counts: Counter[str] = Counter()
    decided_by: Counter[str] = Counter()
    asked_why: Counter[str] = Counter()
    conflict_kinds: Counter[str] = Counter()
    settle_ms: list[float] = []
    resolve_ms: list[float] = []
    for edit in edits:
        started = time.perf_counter()
        result = detect(edit.base, edit.ours, edit.theirs)
        chosen, asked = {}, False
        for conflict in result.conflicts:
            one = time.perf_counter()
            resolution = resolve(
                conflict,
                ours_meta=edit.ours_meta,
                theirs_meta=edit.theirs_meta,
                policies=DEFAULT_POLICIES,
                wedding_day=edit.wedding_day,
                data_type=edit.kind,
            )
            resolve_ms.append((time.perf_counter() - one) * 1000)
            conflict_kinds[f"{edit.kind}.{conflict.path}"] += 1
            if resolution.needs_person:
                asked = True
                counts["asked"] += 1
                counts["emergency"] += resolution.emergency
                why = "wedding-day time" if resolution.policy.wedding_day else "no policy decides"
                asked_why[f"{why} ({edit.kind}.{conflict.path})"] += 1
            else:
                counts["auto"] += 1
                decided_by[resolution.policy.kind] += 1
                chosen[conflict.path] = resolution.value
        if result.conflicts and not asked:
            result.apply(chosen)
            settle_ms.append((time.perf_counter() - started) * 1000)
        counts["conflicts"] += len(result.conflicts)
        counts["conflicted_edits"] += bool(result.conflicts)
        counts["edits_needing_person"] += asked
        counts["deleted"] += result.deleted
        counts["delete_overruled"] += result.delete_overruled is not None
        counts["wedding_day_edits"] += edit.wedding_day

    settle_ms.sort()
    resolve_ms.sort()
    conflicts = counts["conflicts"]
    auto_share = counts["auto"] / conflicts if conflicts else 1.0
    edits_share = 1 - counts["edits_needing_person"] / len(edits)
    print(f"machine: {machine()}")
    print(
        f"corpus: {len(edits)} concurrent edits (seed {args.seed}), "
        f"{counts['wedding_day_edits']} on the wedding day, "
        f"{counts['conflicted_edits']} with conflicts, {conflicts} conflicts, "
        f"{counts['deleted']} deleted, {counts['delete_overruled']} deletes overruled by an update"
    )
    print("conflicts by field: " + ", ".join(f"{k} {v}" for k, v in conflict_kinds.most_common()))
    print(
        f"settled by a policy: {counts['auto']} of {conflicts} = {auto_share:.2%} (target >= 98 %)"
    )
    print("  by " + ", ".join(f"{k} {v}" for k, v in decided_by.most_common()))
    print(f"asked a person: {counts['asked']} ({counts['emergency']} as wedding-day emergencies)")
    for why, n in asked_why.most_common():
        print(f"  {why}: {n}")
    print(f"edits settled without a person: {edits_share:.2%}")
    print(
        f"automatic settlement per conflicting edit (detect + resolve + apply): "
        f"p50 {percentile(settle_ms, 0.5):.3f} ms, p95 {percentile(settle_ms, 0.95):.3f} ms, "
        f"max {settle_ms[-1] if settle_ms else float('nan'):.3f} ms (target p95 < 50 ms)"
    )
    print(
        f"resolve() per conflict: p50 {percentile(resolve_ms, 0.5):.3f} ms, "
        f"p95 {percentile(resolve_ms, 0.95):.3f} ms"
    )
    print(
        json.dumps(
            {
                "edits": len(edits),
                "seed": args.seed,
                "wedding_day_share": args.wedding_day_share,
                "conflicted_edits": counts["conflicted_edits"],
                "conflicts": conflicts,
                "auto_resolved": counts["auto"],
                "asked": counts["asked"],
                "emergencies": counts["emergency"],
                "auto_resolved_share": round(auto_share, 4),
                "edits_settled_share": round(edits_share, 4),
                "resolve_p50_ms": round(percentile(settle_ms, 0.5), 4),
                "resolve_p95_ms": round(percentile(settle_ms, 0.95), 4),
                "resolve_call_p95_ms": round(percentile(resolve_ms, 0.95), 4),
                "decided_by": dict(decided_by.most_common()),
            }
        )
    )


if __name__ == "__main__":
    main()
