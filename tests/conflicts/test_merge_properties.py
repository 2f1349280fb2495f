"""Properties of the merge and its settlement, over records hypothesis makes up.

Values come from small domains on purpose, so that sides often change a field to the same value,
times meet the same instant written in other zones, and modification times tie.
"""

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from conflicts.merge import DEFAULT_GROUPS, FieldConflict, MergeResult, detect, record_key
from conflicts.policies import DEFAULT_POLICIES, KINDS, Policy, Resolution, SideMeta, resolve

ZONES = [dt.UTC, ZoneInfo("Europe/London"), ZoneInfo("America/New_York")]
INSTANTS = [
    dt.datetime(2027, 3, 27, 15, 0, tzinfo=dt.UTC),
    dt.datetime(2027, 3, 28, 14, 0, tzinfo=dt.UTC),  # 15:00 in London, clocks just went forward
    dt.datetime(2027, 3, 28, 14, 30, tzinfo=dt.UTC),
    dt.datetime(2027, 10, 31, 1, 30, tzinfo=dt.UTC),  # the night the clocks go back
]
SYSTEMS = ["aisle_planner", "caldav", "google_calendar", "stripe", "venue_hub"]
ROLES = ["venue", "caterer", "payments", "planner", "calendars"]
MOMENTS = [None, "2027-06-01T10:00:00Z", "2027-06-01T11:00:00+01:00", "2027-06-01T12:00:00Z"]
FIELDS = [
    "title",
    "starts_at",
    "ends_at",
    "time_zone",
    "venue",
    "guest_count",
    "attendees",
    "address",
]
DATA_TYPES = [None, "timeline_item", "wedding", "contact", "payment"]


def written(instant: dt.datetime, zone: dt.tzinfo, form: int) -> Any:
    local = instant.astimezone(zone)
    return [local, local.isoformat(), instant.isoformat().replace("+00:00", "Z")][form]


times = st.builds(written, st.sampled_from(INSTANTS), st.sampled_from(ZONES), st.integers(0, 2))
texts = st.sampled_from(["", "Ceremony", "Vows", "Garden"]) | st.none()
counts = st.integers(100, 103) | st.none()
guests = st.lists(st.sampled_from(["ann", "bo", "cy", "dee"]), max_size=3)
geo = st.fixed_dictionaries({}, optional={"lat": st.integers(50, 51)})
NESTED = {
    "city": texts,
    "zip": st.sampled_from(["BA1", "BA2"]),
    "geo": geo,
    "lat": st.integers(50, 51),
}
address = st.fixed_dictionaries({}, optional={k: NESTED[k] for k in ("city", "zip", "geo")})
VALUES = {
    "title": texts,
    "starts_at": times | st.none(),
    "ends_at": times,
    "time_zone": st.sampled_from(["Europe/London", "America/New_York"]),
    "venue": texts,
    "guest_count": counts,
    "attendees": guests,
    "address": st.one_of(address, address, texts),
}
partial_records = st.fixed_dictionaries({}, optional=VALUES)
with_address = st.fixed_dictionaries(
    {"address": address}, optional={k: v for k, v in VALUES.items() if k != "address"}
)


@st.composite
def edited(draw, base: dict | None, top: bool = True) -> dict | None:
    """A side after its own edits: fields kept, dropped (not carried), changed (nested records
    edited key by key) or added."""
    if top and draw(st.integers(0, 9)) == 0:
        return None
    strategies = VALUES if top else NESTED
    side = {}
    for key, value in (base or {}).items():
        action = draw(st.sampled_from(["keep", "keep", "drop", "change"]))
        if action == "keep":
            side[key] = value
        elif action == "change" and isinstance(value, dict) and draw(st.booleans()):
            side[key] = draw(edited(value, top=False))
        elif action == "change":
            side[key] = draw(strategies[key])
    return {**side, **draw(st.fixed_dictionaries({}, optional=strategies))}


def same_meaning(value: Any) -> st.SearchStrategy:
    """The value as another system might write it without changing it."""
    if isinstance(value, dt.datetime):
        return st.builds(
            written, st.just(value.astimezone(dt.UTC)), st.sampled_from(ZONES), st.integers(0, 2)
        )
    if isinstance(value, str) and value[:4] == "2027":
        instant = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)
        return same_meaning(instant)
    if value in ("", None):
        return st.sampled_from(["", None])
    if isinstance(value, dict):
        return st.fixed_dictionaries({}, optional={k: same_meaning(v) for k, v in value.items()})
    return st.just(value)


@st.composite
def unchanged(draw, base: dict | None) -> dict | None:
    """A side that changed nothing: carries some of the base, in its own formats."""
    if base is None:
        return draw(st.sampled_from([None, {}]))
    return draw(st.fixed_dictionaries({}, optional={k: same_meaning(v) for k, v in base.items()}))


metas = st.builds(
    SideMeta,
    st.sampled_from(SYSTEMS),
    st.sampled_from(MOMENTS),
    st.frozensets(st.sampled_from(ROLES), max_size=2),
)


@st.composite
def policies(draw) -> list[Policy]:
    drawn = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(KINDS))
        drawn.append(
            Policy(
                kind,
                field=draw(st.sampled_from([None, *FIELDS, "address.geo"])),
                data_type=draw(st.sampled_from(DATA_TYPES)),
                source=draw(st.sampled_from(SYSTEMS + ROLES))
                if kind == "source_of_truth"
                else None,
                wedding_day=draw(st.booleans()),
            )
        )
    return [*DEFAULT_POLICIES, *drawn]


@st.composite
def edits(draw):
    base = draw(st.none() | partial_records | with_address)
    return base, draw(edited(base)), draw(edited(base))


@st.composite
def nested_edits(draw):
    """Both sides rewrite the same nested record, so its keys meet head on."""
    base = draw(with_address)
    return base, {**base, "address": draw(address)}, {**base, "address": draw(address)}


scenarios = st.one_of(edits(), edits(), nested_edits())


def settle(
    result: MergeResult,
    ours_meta: SideMeta,
    theirs_meta: SideMeta,
    rules: list[Policy],
    wedding_day: bool,
    data_type: str | None,
) -> dict | None:
    """Resolve every conflict; where a person is asked, they pick a system's value by name."""
    if result.deleted:
        return None
    chosen = {}
    for conflict in result.conflicts:
        resolution = resolve(
            conflict,
            ours_meta=ours_meta,
            theirs_meta=theirs_meta,
            policies=rules,
            wedding_day=wedding_day,
            data_type=data_type,
        )
        if resolution.needs_person:
            sides = [(ours_meta.system, repr(conflict.ours), conflict.ours)]
            sides.append((theirs_meta.system, repr(conflict.theirs), conflict.theirs))
            chosen[conflict.path] = min(sides, key=lambda s: s[:2])[2]
        else:
            chosen[conflict.path] = resolution.value
    return result.apply(chosen)


def swapped(result: MergeResult) -> tuple:
    flipped = {"ours": "theirs", "theirs": "ours", None: None}[result.delete_overruled]
    conflicts = [(c.path, c.base, c.theirs, c.ours, c.fields) for c in result.conflicts]
    return result.merged, conflicts, result.deleted, flipped


def as_is(result: MergeResult) -> tuple:
    conflicts = [(c.path, c.base, c.ours, c.theirs, c.fields) for c in result.conflicts]
    return result.merged, conflicts, result.deleted, result.delete_overruled


def overlay(base: dict, changes: dict) -> dict:
    out = dict(base)
    for key, value in changes.items():
        inner = base.get(key)
        both_maps = isinstance(inner, dict) and isinstance(value, dict)
        out[key] = overlay(inner, value) if both_maps else value
    return out


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_a_change_on_one_side_only_never_raises_a_conflict(data):
    base = data.draw(st.none() | partial_records)
    ours = data.draw(edited(base))
    theirs = data.draw(unchanged(base))
    for result in (detect(base, ours, theirs), detect(base, theirs, ours)):
        assert result.conflicts == []
        if ours is None:
            continue
        expected = overlay(base or {}, ours)
        assert record_key(result.merged, DEFAULT_GROUPS) == record_key(expected, DEFAULT_GROUPS)


@settings(max_examples=400, deadline=None)
@given(scenarios)
def test_merge_is_symmetric_up_to_swapping_the_sides_of_each_conflict(scenario):
    base, ours, theirs = scenario
    assert as_is(detect(base, ours, theirs)) == swapped(detect(base, theirs, ours))


@settings(max_examples=400, deadline=None)
@given(scenarios, metas, metas, policies(), st.booleans(), st.sampled_from(DATA_TYPES))
def test_settling_from_either_side_converges_on_one_record(
    scenario, ours_meta, theirs_meta, rules, wedding_day, data_type
):
    base, ours, theirs = scenario
    args = (rules, wedding_day, data_type)
    here = settle(detect(base, ours, theirs), ours_meta, theirs_meta, *args)
    there = settle(detect(base, theirs, ours), theirs_meta, ours_meta, *args)
    assert here == there
    if here is None:
        return
    # Every field either side holds survives, outside a group settled as a whole.
    grouped = {name for group in DEFAULT_GROUPS for name in group}
    for side in (ours, theirs):
        assert set(side or {}) - grouped <= set(here)
    # Once both sides hold the settled record, the next sync has nothing to settle.
    again = detect(here, dict(here), dict(here))
    assert again.conflicts == []
    assert again.merged == here


@settings(max_examples=300, deadline=None)
@given(
    scenarios, metas, metas, policies(), st.booleans(), st.sampled_from(DATA_TYPES), st.randoms()
)
def test_resolution_is_deterministic_whatever_the_order_of_policies_or_sides(
    scenario, ours_meta, theirs_meta, rules, wedding_day, data_type, rnd
):
    base, ours, theirs = scenario
    result = detect(base, ours, theirs)
    assert detect(base, ours, theirs) == result
    shuffled = list(rules)
    rnd.shuffle(shuffled)
    for conflict in result.conflicts:
        kwargs = {"ours_meta": ours_meta, "theirs_meta": theirs_meta, "wedding_day": wedding_day}
        first = resolve(conflict, policies=rules, data_type=data_type, **kwargs)
        assert resolve(conflict, policies=rules, data_type=data_type, **kwargs) == first
        assert resolve(conflict, policies=shuffled, data_type=data_type, **kwargs) == first
        mirrored = FieldConflict(
            conflict.path, conflict.base, conflict.theirs, conflict.ours, conflict.fields
        )
        kwargs.update(ours_meta=theirs_meta, theirs_meta=ours_meta)
        assert resolve(mirrored, policies=rules, data_type=data_type, **kwargs) == first
        assert_explained(first, rules)


def assert_explained(resolution: Resolution, rules: list[Policy]) -> None:
    assert resolution.reason
    if not resolution.needs_person:
        assert resolution.policy in rules
        assert resolution.policy.kind != "ask"
    assert resolution.emergency <= resolution.needs_person
