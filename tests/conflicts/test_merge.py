"""Two vendors change the same record between syncs: what merges, what conflicts, who decides."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from conflicts.merge import FieldConflict, comparable, detect
from conflicts.policies import DEFAULT_POLICIES, Policy, SideMeta, ranked, resolve

LONDON = ZoneInfo("Europe/London")
CEREMONY = {
    "title": "Ceremony",
    "starts_at": "2027-06-12T14:00:00+00:00",
    "ends_at": "2027-06-12T15:00:00+00:00",
    "time_zone": "Europe/London",
    "location": "Garden",
    "notes": "",
}
PLANNER = SideMeta("aisle_planner", "2027-06-01T10:00:00Z", frozenset({"planner"}))
VENUE = SideMeta("venue_hub", "2027-06-01T09:00:00Z", frozenset({"venue"}))
CALENDAR = SideMeta("google_calendar", "2027-06-01T11:00:00Z", frozenset({"calendars"}))


def conflict_on(path: str, result) -> FieldConflict:
    return next(c for c in result.conflicts if c.path == path)


# Detection, field by field


def test_a_field_changed_on_one_side_is_taken_from_it():
    ours = {**CEREMONY, "title": "Vows"}
    theirs = {**CEREMONY, "location": "Chapel"}
    result = detect(CEREMONY, ours, theirs)
    assert result.conflicts == []
    assert result.merged == {**CEREMONY, "title": "Vows", "location": "Chapel"}
    assert not result.deleted


def test_both_sides_changing_a_field_to_the_same_value_is_no_conflict():
    result = detect(CEREMONY, {**CEREMONY, "title": "Vows"}, {**CEREMONY, "title": "Vows"})
    assert result.conflicts == []
    assert result.merged["title"] == "Vows"


def test_both_sides_changing_a_field_differently_is_a_conflict_with_all_three_values():
    result = detect(CEREMONY, {**CEREMONY, "title": "Vows"}, {**CEREMONY, "title": "Service"})
    assert result.conflicts == [FieldConflict("title", "Ceremony", "Vows", "Service")]
    assert "title" not in result.merged


def test_a_field_a_side_does_not_carry_is_unchanged_on_that_side():
    theirs = {"title": "Ceremony", "location": "Chapel"}  # a bridge maps two fields only
    result = detect(CEREMONY, {**CEREMONY, "notes": "Bring rings"}, theirs)
    assert result.conflicts == []
    assert result.merged == {**CEREMONY, "notes": "Bring rings", "location": "Chapel"}


def test_an_empty_string_and_none_both_mean_empty():
    result = detect(CEREMONY, {**CEREMONY, "notes": None}, {**CEREMONY, "notes": "Rain plan"})
    assert result.conflicts == []
    assert result.merged["notes"] == "Rain plan"


def test_conflicts_come_in_path_order_and_detection_is_deterministic():
    ours = {**CEREMONY, "title": "A", "location": "B", "notes": "C"}
    theirs = {**CEREMONY, "title": "X", "location": "Y", "notes": "Z"}
    result = detect(CEREMONY, ours, theirs)
    assert [c.path for c in result.conflicts] == ["location", "notes", "title"]
    assert detect(CEREMONY, ours, theirs) == result


# Start, end and time zone move together


def test_start_and_end_moved_on_one_side_while_the_other_renames_merge_cleanly():
    ours = {
        **CEREMONY,
        "starts_at": "2027-06-12T14:30:00+00:00",
        "ends_at": "2027-06-12T15:30:00+00:00",
    }
    theirs = {**CEREMONY, "title": "Vows"}
    result = detect(CEREMONY, ours, theirs)
    assert result.conflicts == []
    assert result.merged["starts_at"] == "2027-06-12T14:30:00+00:00"
    assert result.merged["ends_at"] == "2027-06-12T15:30:00+00:00"
    assert result.merged["title"] == "Vows"


def test_one_side_moving_the_start_and_the_other_the_end_conflicts_as_one_group():
    ours = {**CEREMONY, "starts_at": "2027-06-12T13:30:00+00:00"}
    theirs = {**CEREMONY, "ends_at": "2027-06-12T16:00:00+00:00"}
    result = detect(CEREMONY, ours, theirs)
    (conflict,) = result.conflicts
    assert conflict.path == "starts_at+ends_at+time_zone"
    assert conflict.fields == ("starts_at", "ends_at", "time_zone")
    assert conflict.is_group
    assert conflict.ours["starts_at"] == "2027-06-12T13:30:00+00:00"
    assert conflict.ours["ends_at"] == CEREMONY["ends_at"]
    assert conflict.theirs["ends_at"] == "2027-06-12T16:00:00+00:00"
    assert conflict.base["starts_at"] == CEREMONY["starts_at"]
    assert not {"starts_at", "ends_at", "time_zone"} & set(result.merged)
    settled = result.apply({conflict.path: conflict.theirs})
    assert (settled["starts_at"], settled["ends_at"]) == (
        CEREMONY["starts_at"],
        "2027-06-12T16:00:00+00:00",
    )


def test_a_group_of_none_of_whose_fields_a_record_has_is_left_alone():
    wedding = {"couple_names": "Ana & Ben", "guest_count": 120}
    result = detect(wedding, {**wedding, "guest_count": 130}, wedding)
    assert result.merged == {"couple_names": "Ana & Ben", "guest_count": 130}


def test_groups_can_be_chosen_per_call():
    ours = {**CEREMONY, "starts_at": "2027-06-12T13:30:00+00:00"}
    theirs = {**CEREMONY, "ends_at": "2027-06-12T16:00:00+00:00"}
    result = detect(CEREMONY, ours, theirs, groups=())
    assert result.conflicts == []
    assert result.merged["starts_at"] == "2027-06-12T13:30:00+00:00"
    assert result.merged["ends_at"] == "2027-06-12T16:00:00+00:00"


# Times compare as instants, across zones and over the DST weekend


def test_the_same_instant_written_in_two_zones_is_the_same_value():
    assert comparable("2027-03-27T15:30:00+00:00") == comparable("2027-03-27T16:30:00+01:00")
    assert comparable("2027-03-27T15:30:00Z") == comparable(
        dt.datetime(2027, 3, 27, 15, 30, tzinfo=LONDON)
    )
    assert comparable("2027-03-27T15:30:00+00:00") != comparable("2027-03-27T15:30:00+01:00")


def test_both_sides_moving_to_the_same_instant_in_different_zones_is_no_conflict():
    base = {**CEREMONY, "starts_at": "2027-03-27T15:00:00+00:00"}
    ours = {**base, "starts_at": "2027-03-27T15:30:00+00:00"}
    theirs = {**base, "starts_at": "2027-03-27T16:30:00+01:00"}
    assert detect(base, ours, theirs).conflicts == []


def test_a_calendar_echoing_an_unchanged_time_in_its_own_zone_has_not_changed_it():
    base = {**CEREMONY, "starts_at": "2027-06-12T14:00:00Z"}
    ours = {**base, "starts_at": "2027-06-12T14:30:00Z"}
    theirs = {**base, "starts_at": dt.datetime(2027, 6, 12, 10, 0, tzinfo=ZoneInfo("US/Eastern"))}
    result = detect(base, ours, theirs)
    assert result.conflicts == []
    assert result.merged["starts_at"] == "2027-06-12T14:30:00Z"


def test_on_the_dst_weekend_an_offset_that_kept_winter_time_is_a_real_move():
    # Clocks go forward in London on Sunday 28 March 2027 at 01:00 UTC: 15:00 there is 14:00Z.
    base = {**CEREMONY, "starts_at": "2027-03-28T14:00:00Z", "ends_at": "2027-03-28T15:00:00Z"}
    in_summer_time = {**base, "starts_at": "2027-03-28T15:00:00+01:00"}
    assert detect(base, base, in_summer_time).merged["starts_at"] == base["starts_at"]

    moved = {**base, "starts_at": "2027-03-28T14:30:00Z"}
    still_winter = {**base, "starts_at": "2027-03-28T15:00:00+00:00"}  # an hour later
    (conflict,) = detect(base, moved, still_winter).conflicts
    assert conflict.path == "starts_at+ends_at+time_zone"


def test_naive_wall_times_are_read_in_the_items_time_zone_on_either_side_of_the_change():
    saturday = {**CEREMONY, "starts_at": "2027-03-27T15:00:00Z", "ends_at": "2027-03-27T16:00:00Z"}
    wall = {**saturday, "starts_at": "2027-03-27T15:00:00", "ends_at": "2027-03-27T16:00:00"}
    assert detect(saturday, saturday, wall).merged["starts_at"] == saturday["starts_at"]

    sunday = {**CEREMONY, "starts_at": "2027-03-28T14:00:00Z", "ends_at": "2027-03-28T15:00:00Z"}
    wall = {**sunday, "starts_at": "2027-03-28T15:00:00", "ends_at": "2027-03-28T16:00:00"}
    assert detect(sunday, sunday, wall).merged["starts_at"] == sunday["starts_at"]

    wrong_wall = {**sunday, "starts_at": "2027-03-28T14:00:00", "ends_at": "2027-03-28T15:00:00"}
    assert detect(sunday, sunday, wrong_wall).merged["starts_at"] == "2027-03-28T14:00:00"


def test_changing_only_the_time_zone_moves_naive_times_and_is_a_change_of_the_group():
    base = {**CEREMONY, "starts_at": "2027-06-12T15:00:00", "ends_at": "2027-06-12T16:00:00"}
    paris = {**base, "time_zone": "Europe/Paris"}
    result = detect(base, base, paris)
    assert result.merged["time_zone"] == "Europe/Paris"
    assert detect(base, {**base, "title": "Vows"}, paris).conflicts == []


# Nested records and lists


def test_nested_records_merge_key_by_key_and_conflict_on_dotted_paths():
    base = {"name": "Ana", "address": {"city": "Bath", "zip": "BA1", "geo": {"lat": 51.38}}}
    ours = {**base, "address": {**base["address"], "city": "Bristol", "geo": {"lat": 51.45}}}
    theirs = {**base, "address": {**base["address"], "zip": "BA2", "geo": {"lat": 51.40}}}
    result = detect(base, ours, theirs)
    assert result.merged == {"name": "Ana", "address": {"city": "Bristol", "zip": "BA2", "geo": {}}}
    assert result.conflicts == [FieldConflict("address.geo.lat", 51.38, 51.45, 51.40)]
    settled = result.apply({"address.geo.lat": 51.45})
    assert settled["address"]["geo"] == {"lat": 51.45}


def test_a_list_changed_on_one_side_is_taken_and_on_both_is_a_conflict():
    base = {"attendees": ["photographer", "planner"]}
    added = {"attendees": ["photographer", "planner", "florist"]}
    assert detect(base, added, base).merged == added
    both = detect(base, added, {"attendees": ["photographer"]})
    assert both.conflicts == [
        FieldConflict("attendees", base["attendees"], added["attendees"], ["photographer"])
    ]


def test_lists_compare_their_items_by_meaning():
    base = {"slots": ["2027-06-12T14:00:00Z"]}
    assert detect(base, base, {"slots": ["2027-06-12T15:00:00+01:00"]}).merged == base


# Deletes and the first sync


def test_an_update_beats_a_delete_and_the_overruled_delete_is_flagged():
    theirs = {**CEREMONY, "location": "Chapel"}
    result = detect(CEREMONY, None, theirs)
    assert not result.deleted
    assert result.delete_overruled == "ours"
    assert result.merged == theirs
    assert detect(CEREMONY, theirs, None).delete_overruled == "theirs"


def test_a_delete_against_an_unchanged_record_deletes_it():
    result = detect(CEREMONY, {**CEREMONY, "notes": None}, None)  # "" and None: unchanged
    assert result.deleted
    assert result.merged == {}
    assert result.conflicts == []


def test_a_delete_can_be_told_to_win():
    result = detect(CEREMONY, None, {**CEREMONY, "location": "Chapel"}, update_beats_delete=False)
    assert result.deleted


def test_deleted_on_both_sides_is_deleted():
    assert detect(CEREMONY, None, None).deleted
    assert detect(None, None, None).deleted


def test_without_a_base_equal_values_merge_different_values_conflict_one_sided_are_taken():
    ours = {"title": "Ceremony", "location": "Garden", "notes": "Rings"}
    theirs = {"title": "Ceremony", "location": "Chapel", "guest_count": 120}
    result = detect(None, ours, theirs)
    assert result.merged == {"title": "Ceremony", "notes": "Rings", "guest_count": 120}
    assert result.conflicts == [FieldConflict("location", None, "Garden", "Chapel")]


def test_without_a_base_a_record_only_one_side_has_is_created():
    result = detect(None, None, CEREMONY)
    assert result.merged == CEREMONY
    assert not result.deleted
    assert result.delete_overruled is None


def test_apply_needs_a_value_for_every_conflict():
    result = detect(CEREMONY, {**CEREMONY, "title": "A"}, {**CEREMONY, "title": "B"})
    with pytest.raises(ValueError, match="title"):
        result.apply({})
    assert result.apply({"title": "B"}) == {**CEREMONY, "title": "B"}


# Policies


def one_conflict(field: str, base, ours, theirs) -> FieldConflict:
    return FieldConflict(field, base, ours, theirs)


def test_the_venue_system_owns_the_venue_whoever_wrote_last():
    conflict = one_conflict("venue", "Old Barn", "Barn at Elm Farm", "Elm Farm, Great Barn")
    resolution = resolve(conflict, ours_meta=PLANNER, theirs_meta=VENUE, policies=DEFAULT_POLICIES)
    assert resolution.value == "Elm Farm, Great Barn"
    assert resolution.policy == Policy("source_of_truth", field="venue", source="venue")
    assert resolution.winner == "venue_hub"
    assert "source of truth" in resolution.reason
    assert not resolution.needs_person


def test_a_source_named_by_system_key_owns_its_field():
    policies = [Policy("source_of_truth", field="menu", source="tave"), Policy("ask")]
    conflict = one_conflict("menu", "Fish", "Beef", "Vegan")
    resolution = resolve(
        conflict,
        ours_meta={"system": "tave"},
        theirs_meta={"system": "honeybook"},
        policies=policies,
    )
    assert resolution.value == "Beef"


def test_when_neither_side_is_the_owner_the_next_policy_decides():
    conflict = one_conflict("venue", "Old Barn", "Barn A", "Barn B")
    resolution = resolve(
        conflict, ours_meta=PLANNER, theirs_meta=CALENDAR, policies=DEFAULT_POLICIES
    )
    assert resolution.policy.kind == "last_writer_wins"
    assert resolution.value == "Barn B"  # the calendar's change is the later one


def test_last_writer_wins_by_the_sources_own_clock():
    conflict = one_conflict("notes", "", "Rain plan: tent", "Rain plan: hall")
    early = {"system": "tave", "modified": "2027-06-01T10:00:00+02:00"}  # 08:00Z
    late = {"system": "honeybook", "modified": dt.datetime(2027, 6, 1, 9, 0)}  # naive: UTC
    resolution = resolve(conflict, ours_meta=early, theirs_meta=late, policies=DEFAULT_POLICIES)
    assert resolution.value == "Rain plan: hall"
    assert resolution.winner == "honeybook"
    assert "honeybook changed notes last" in resolution.reason


def test_a_tie_on_the_clock_goes_to_the_first_system_key_either_way_round():
    conflict = one_conflict("notes", "", "from tave", "from honeybook")
    same = "2027-06-01T10:00:00Z"
    a = {"system": "tave", "modified": same}
    b = {"system": "honeybook", "modified": same}
    first = resolve(conflict, ours_meta=a, theirs_meta=b, policies=DEFAULT_POLICIES)
    swapped = FieldConflict("notes", "", "from honeybook", "from tave")
    second = resolve(swapped, ours_meta=b, theirs_meta=a, policies=DEFAULT_POLICIES)
    assert first.value == second.value == "from honeybook"
    assert "tie" in first.reason


def test_last_writer_wins_without_a_clock_leaves_it_to_a_person():
    conflict = one_conflict("notes", "", "a", "b")
    resolution = resolve(
        conflict,
        ours_meta={"system": "tave"},
        theirs_meta=VENUE,
        policies=DEFAULT_POLICIES,
    )
    assert resolution.needs_person
    assert resolution.policy.kind == "ask"


def test_lists_are_united_keeping_order_and_honouring_removals():
    conflict = one_conflict(
        "attendees",
        ["photographer", "planner", "dj"],
        ["photographer", "dj", "florist"],  # planner removed, florist added
        ["photographer", "planner", "dj", "officiant"],
    )
    resolution = resolve(
        conflict, ours_meta=PLANNER, theirs_meta=CALENDAR, policies=DEFAULT_POLICIES
    )
    # base order first, then additions in the order of the systems' keys
    assert resolution.value == ["photographer", "dj", "florist", "officiant"]
    assert resolution.policy == Policy("union")
    assert "left out 1" in resolution.reason


def test_list_items_that_are_records_unite_by_meaning():
    ann = {"name": "Ann", "email": "ann@example.com"}
    bo = {"email": "bo@example.com", "name": "Bo"}
    conflict = one_conflict(
        "guests", [ann], [ann, bo], [{"email": "ann@example.com", "name": "Ann"}, {"name": "Cy"}]
    )
    resolution = resolve(
        conflict, ours_meta=PLANNER, theirs_meta=CALENDAR, policies=DEFAULT_POLICIES
    )
    assert resolution.value == [ann, bo, {"name": "Cy"}]


def test_the_larger_guest_count_is_kept():
    conflict = one_conflict("guest_count", 120, 130, 142)
    resolution = resolve(
        conflict, ours_meta=CALENDAR, theirs_meta=PLANNER, policies=DEFAULT_POLICIES
    )
    assert resolution.value == 142
    assert resolution.policy == Policy("max", field="guest_count")
    assert "safe" in resolution.reason


def test_ask_a_person_when_a_policy_says_so():
    policies = [*DEFAULT_POLICIES, Policy("ask", field="title")]
    conflict = one_conflict("title", "Ceremony", "Vows", "Service")
    resolution = resolve(conflict, ours_meta=PLANNER, theirs_meta=CALENDAR, policies=policies)
    assert resolution.needs_person
    assert resolution.value is None
    assert not resolution.emergency


def test_on_the_wedding_day_a_moved_time_asks_a_person_as_an_emergency():
    ours = {**CEREMONY, "starts_at": "2027-06-12T14:30:00+00:00"}
    theirs = {**CEREMONY, "starts_at": "2027-06-12T15:00:00+00:00"}
    (conflict,) = detect(CEREMONY, ours, theirs).conflicts
    on_the_day = resolve(
        conflict,
        ours_meta=PLANNER,
        theirs_meta=CALENDAR,
        policies=DEFAULT_POLICIES,
        wedding_day=True,
    )
    assert on_the_day.needs_person and on_the_day.emergency
    assert on_the_day.policy.wedding_day
    assert "wedding day" in on_the_day.reason
    the_week_before = resolve(
        conflict, ours_meta=PLANNER, theirs_meta=CALENDAR, policies=DEFAULT_POLICIES
    )
    assert the_week_before.policy.kind == "last_writer_wins"
    assert the_week_before.value["starts_at"] == "2027-06-12T15:00:00+00:00"


def test_on_the_wedding_day_other_fields_still_settle_by_policy():
    conflict = one_conflict("notes", "", "a", "b")
    resolution = resolve(
        conflict,
        ours_meta=PLANNER,
        theirs_meta=CALENDAR,
        policies=DEFAULT_POLICIES,
        wedding_day=True,
    )
    assert resolution.policy.kind == "last_writer_wins"
    assert not resolution.emergency


def test_a_field_policy_beats_a_data_type_policy_which_beats_the_defaults():
    policies = [
        Policy("last_writer_wins"),
        Policy("source_of_truth", data_type="contact", source="venue_hub"),
        Policy("source_of_truth", field="email", data_type="contact", source="aisle_planner"),
    ]
    email = one_conflict("email", "a@x.com", "b@x.com", "c@x.com")
    phone = one_conflict("phone", "1", "2", "3")
    kwargs = {"ours_meta": PLANNER, "theirs_meta": VENUE, "policies": policies}
    assert resolve(email, data_type="contact", **kwargs).value == "b@x.com"
    assert resolve(phone, data_type="contact", **kwargs).value == "3"
    assert resolve(phone, data_type="payment", **kwargs).value == "2"  # planner wrote last


def test_a_policy_on_a_parent_field_covers_its_nested_paths():
    policies = [
        Policy("last_writer_wins"),
        Policy("source_of_truth", field="address", source="venue"),
    ]
    conflict = one_conflict("address.city", "Bath", "Bristol", "Wells")
    resolution = resolve(conflict, ours_meta=PLANNER, theirs_meta=VENUE, policies=policies)
    assert resolution.value == "Wells"
    assert ranked(conflict, policies)[0].field == "address"


def test_a_wedding_day_rule_for_a_field_outranks_the_any_day_rule():
    policies = [
        Policy("source_of_truth", field="starts_at", source="aisle_planner"),
        Policy("last_writer_wins", field="starts_at", wedding_day=True),
    ]
    conflict = FieldConflict("starts_at", "a", "b", "c")
    kwargs = {"ours_meta": PLANNER, "theirs_meta": CALENDAR, "policies": policies}
    assert resolve(conflict, wedding_day=True, **kwargs).value == "c"
    assert resolve(conflict, wedding_day=False, **kwargs).value == "b"


def test_without_any_policy_that_decides_a_person_is_asked():
    conflict = one_conflict("notes", "", "a", "b")
    resolution = resolve(conflict, ours_meta=PLANNER, theirs_meta=CALENDAR, policies=[])
    assert resolution.needs_person
    assert "No policy" in resolution.reason


def test_policies_are_checked_when_made():
    with pytest.raises(ValueError, match="source"):
        Policy("source_of_truth", field="venue")
    with pytest.raises(ValueError, match="kind"):
        Policy("coin_toss")  # type: ignore[arg-type]


def test_every_automatic_resolution_names_its_policy_and_a_reason():
    conflicts = [
        one_conflict("venue", "a", "b", "c"),
        one_conflict("guest_count", 1, 2, 3),
        one_conflict("guests", [], ["a"], ["b"]),
        one_conflict("notes", "", "a", "b"),
    ]
    for conflict in conflicts:
        resolution = resolve(
            conflict, ours_meta=PLANNER, theirs_meta=VENUE, policies=DEFAULT_POLICIES
        )
        assert not resolution.needs_person
        assert resolution.policy in DEFAULT_POLICIES
        assert resolution.reason.endswith(".") and len(resolution.reason) > 20
