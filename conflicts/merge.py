"""Three-way merge of one record against the last synced base.

Comparing ours with theirs alone cannot tell who changed a field; the base (the record link's
snapshot: what both sides held after the last sync) can. A field changed on one side only is
taken from that side, changed on both to the same value is no conflict, and changed on both
differently becomes a FieldConflict for a policy or a person (conflicts/policies.py).

Conventions, chosen for partial, differently formatted vendor records:
- A key a side does not carry is unchanged on that side: providers map subsets of fields. A side
  clears a value with None (or "", which means the same).
- A whole record of None is deleted; a base of None was never synced, so every field counts as
  added: equal values merge, different values conflict, a field on one side only is taken.
- Values compare by meaning, not representation: datetimes (and ISO strings with an offset) as
  instants, date strings as dates, numbers by value; a naive time in a group with a `time_zone`
  is read in that zone.
- Nested mappings merge key by key (dotted paths); lists are values (a policy may union them).
- A group of fields merges as one value: start, end and zone of an event move together, and one
  side's start with the other's end would be a time nobody chose. Groups apply at the top level.
- An update beats a delete by default: a record someone is still changing is not thrown away;
  the result says whose delete was overruled so it can be flagged.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

Side = Literal["ours", "theirs"]
ZONE_FIELD = "time_zone"
DEFAULT_GROUPS: tuple[tuple[str, ...], ...] = (("starts_at", "ends_at", ZONE_FIELD),)
GROUP_JOIN = "+"


class _Absent:
    """Marks a key no record carries; unlike None, it clears nothing."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


ABSENT: Any = _Absent()
_CONFLICT: Any = object()

_INSTANT = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class FieldConflict:
    """One field, or one group of fields, changed differently on both sides since the base.

    For a group, `path` joins its fields with "+" and base/ours/theirs map the group's fields
    to values. `base` is None when the base did not hold the field.
    """

    path: str
    base: Any
    ours: Any
    theirs: Any
    fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.fields:
            object.__setattr__(self, "fields", (self.path,))

    @property
    def is_group(self) -> bool:
        return self.fields != (self.path,)


@dataclass(frozen=True, slots=True)
class MergeResult:
    """What both sides agree on, and what they do not.

    `merged` leaves out every conflicting path; `apply()` puts the chosen values in.
    `delete_overruled` names the side whose delete lost to the other side's update.
    """

    merged: dict[str, Any]
    conflicts: list[FieldConflict]
    deleted: bool = False
    delete_overruled: Side | None = None

    def apply(self, chosen: Mapping[str, Any]) -> dict[str, Any]:
        """The merged record with a chosen value for every conflict, keyed by conflict path."""
        missing = [c.path for c in self.conflicts if c.path not in chosen]
        if missing:
            raise ValueError(f"no value chosen for {', '.join(missing)}")
        record = copy.deepcopy(self.merged)
        for conflict in self.conflicts:
            value = chosen[conflict.path]
            if conflict.is_group:
                if not isinstance(value, Mapping):
                    raise ValueError(f"{conflict.path} takes a mapping of its fields")
                for name in conflict.fields:
                    if name in value:
                        record[name] = copy.deepcopy(value[name])
                    else:
                        record.pop(name, None)
            else:
                set_path(record, conflict.path, copy.deepcopy(value))
        return record


def set_path(record: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        child = record.get(part)
        if not isinstance(child, dict):
            child = record[part] = {}
        record = child
    record[last] = value


@lru_cache(maxsize=256)
def zone_named(name: Any) -> dt.tzinfo | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return None


def comparable(value: Any, zone: dt.tzinfo | None = None) -> Hashable:
    """A hashable key, equal for two values that mean the same thing.

    `zone` reads naive datetimes as wall time there (a group's time_zone); without it a naive
    time only equals the same naive time.
    """
    if value is ABSENT:
        return ("absent",)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float | Decimal):
        return ("nan",) if value != value else ("number", value)
    if isinstance(value, str):
        if _INSTANT.fullmatch(value):
            try:
                return _instant(dt.datetime.fromisoformat(value.replace("Z", "+00:00")), zone)
            except ValueError:
                pass
        elif _DATE.fullmatch(value):
            try:
                return ("date", dt.date.fromisoformat(value))
            except ValueError:
                pass
        return ("text", value)
    if isinstance(value, dt.datetime):
        return _instant(value, zone)
    if isinstance(value, dt.date):
        return ("date", value)
    if isinstance(value, Mapping):
        items = sorted(((str(k), comparable(v, zone)) for k, v in value.items()), key=_first)
        return ("map", tuple(items))
    if isinstance(value, list | tuple):
        return ("list", tuple(comparable(v, zone) for v in value))
    if isinstance(value, set | frozenset):
        return ("set", frozenset(comparable(v, zone) for v in value))
    return ("other", type(value).__name__, repr(value))


def _instant(value: dt.datetime, zone: dt.tzinfo | None) -> Hashable:
    if value.tzinfo is None or value.utcoffset() is None:
        if zone is None:
            return ("naive", value)
        value = value.replace(tzinfo=zone)
    return ("instant", value.astimezone(dt.UTC))


def _first(item: tuple[str, Any]) -> str:
    return item[0]


def group_key(values: Mapping[str, Any]) -> Hashable:
    """Compare a group as one value, its naive times read in its own time zone."""
    return comparable(values, zone_named(values.get(ZONE_FIELD)))


def record_key(record: Mapping[str, Any], groups: Sequence[tuple[str, ...]]) -> Hashable:
    """Compare whole records the way detect() compares their fields."""
    grouped: set[str] = set()
    parts: list[tuple[str, Hashable]] = []
    for group in groups:
        values = {n: record[n] for n in group if n in record and n not in grouped}
        grouped.update(group)
        if values:
            parts.append((GROUP_JOIN.join(group), group_key(values)))
    parts.extend((str(k), comparable(v)) for k, v in record.items() if k not in grouped)
    return tuple(sorted(parts, key=_first))


def detect(
    base: Mapping[str, Any] | None,
    ours: Mapping[str, Any] | None,
    theirs: Mapping[str, Any] | None,
    *,
    groups: Sequence[tuple[str, ...]] = DEFAULT_GROUPS,
    update_beats_delete: bool = True,
) -> MergeResult:
    """Merge ours and theirs against base; None is a deleted record (a never synced base)."""
    if ours is None and theirs is None:
        return MergeResult({}, [], deleted=True)
    if ours is None or theirs is None:
        kept, deleter = (theirs, "ours") if ours is None else (ours, "theirs")
        assert kept is not None
        if base is None:  # created on one side, never seen by the other
            return MergeResult(_merge_record({}, {}, kept, groups)[0], [])
        merged, _ = _merge_record(base, base, kept, groups)
        changed = record_key(merged, groups) != record_key(base, groups)
        if changed and update_beats_delete:
            return MergeResult(merged, [], delete_overruled=deleter)
        return MergeResult({}, [], deleted=True)
    merged, conflicts = _merge_record(base or {}, ours, theirs, groups)
    return MergeResult(merged, sorted(conflicts, key=lambda c: c.path))


def _merge_record(
    base: Mapping[str, Any],
    ours: Mapping[str, Any],
    theirs: Mapping[str, Any],
    groups: Sequence[tuple[str, ...]],
) -> tuple[dict[str, Any], list[FieldConflict]]:
    merged: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    grouped: set[str] = set()
    for group in groups:
        names = tuple(n for n in group if n not in grouped)
        grouped.update(names)
        if not any(n in r for n in names for r in (base, ours, theirs)):
            continue
        b = {n: base[n] for n in names if n in base}
        o = {**b, **{n: ours[n] for n in names if n in ours}}
        t = {**b, **{n: theirs[n] for n in names if n in theirs}}
        taken = _decide(b, o, t, group_key(b), group_key(o), group_key(t))
        if taken is _CONFLICT:
            path = GROUP_JOIN.join(names)
            conflicts.append(FieldConflict(path, b or None, o, t, names))
        else:
            merged.update(taken)
    keys = (set(base) | set(ours) | set(theirs)) - grouped
    _merge_keys(base, ours, theirs, sorted(keys, key=str), "", merged, conflicts)
    return merged, conflicts


def _merge_keys(
    base: Mapping[Any, Any],
    ours: Mapping[Any, Any],
    theirs: Mapping[Any, Any],
    keys: list[Any],
    prefix: str,
    merged: dict[Any, Any],
    conflicts: list[FieldConflict],
) -> None:
    for key in keys:
        b = base.get(key, ABSENT)
        o = _overlay(b, ours[key]) if key in ours else b
        t = _overlay(b, theirs[key]) if key in theirs else b
        path = f"{prefix}{key}"
        if isinstance(o, Mapping) and isinstance(t, Mapping) and not _is_leaf(b):
            inner_base = b if isinstance(b, Mapping) else {}
            inner_keys = sorted(set(inner_base) | set(o) | set(t), key=str)
            inner: dict[Any, Any] = {}
            _merge_keys(inner_base, o, t, inner_keys, f"{path}.", inner, conflicts)
            merged[key] = inner
            continue
        taken = _decide(b, o, t, comparable(b), comparable(o), comparable(t))
        if taken is _CONFLICT:
            conflicts.append(FieldConflict(path, None if b is ABSENT else b, o, t))
        elif taken is not ABSENT:
            merged[key] = taken


def _overlay(base: Any, value: Any) -> Any:
    """What a side holds: a nested mapping it sends only in part keeps the base's other keys."""
    if not (isinstance(base, Mapping) and isinstance(value, Mapping)):
        return value
    return {**base, **{k: _overlay(base.get(k, ABSENT), v) for k, v in value.items()}}


def _is_leaf(base: Any) -> bool:
    """Both sides hold mappings: recurse unless the base held another value there (an absent or
    cleared base recurses, as a record with no base does)."""
    return base is not ABSENT and base is not None and not isinstance(base, Mapping)


def _decide(b: Any, o: Any, t: Any, kb: Hashable, ko: Hashable, kt: Hashable) -> Any:
    """The value to keep, or _CONFLICT; equal meanings in different forms pick one stably."""
    if ko == kb:
        return b if kt == kb else t
    if kt == kb:
        return o
    if ko == kt:
        return min(o, t, key=repr)
    return _CONFLICT
