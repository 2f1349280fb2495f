"""Settling a FieldConflict by policy: plain data a wedding stores, tried most specific first.

Policies are data so coordinators can keep their own decisions as rules ("the venue owns the
venue address") per wedding. Candidates are ordered by specificity: a field policy over a
wedding-day policy over a data-type policy over the defaults, then by a fixed order of kinds, never
by the order they were given in, so a conflict settles the same way every time. A policy that
cannot decide (neither side is the owner, the values are not lists, a side has no modification
time) passes to the next; when none decides, a person is asked. Every resolution is symmetric:
swapping ours and theirs (with their metadata) gives the same value, so two systems settling the
same conflict on their own end up holding the same thing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, get_args

from conflicts.merge import FieldConflict, comparable

Kind = Literal["source_of_truth", "last_writer_wins", "union", "max", "ask"]
KINDS: tuple[str, ...] = get_args(Kind)
# Among equally specific policies: the conditional kinds first (they decide only where they fit),
# then a person before the clock, since asking is the cautious reading of a contradictory setup.
KIND_ORDER = {"source_of_truth": 0, "union": 1, "max": 2, "ask": 3, "last_writer_wins": 4}


@dataclass(frozen=True, slots=True)
class Policy:
    """One rule. `field` matches a conflict's path, a member of its group, or a parent of a
    dotted path; `data_type` the record kind (timeline_item, wedding, contact, payment);
    `source` the owning system's key or role (source_of_truth only); `wedding_day` limits the
    rule to the wedding day and ranks it above any-day rules of the same field level."""

    kind: Kind
    field: str | None = None
    data_type: str | None = None
    source: str | None = None
    wedding_day: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown policy kind {self.kind!r}; expected one of {KINDS}")
        if self.kind == "source_of_truth" and not self.source:
            raise ValueError("a source_of_truth policy names its source")


@dataclass(frozen=True, slots=True)
class SideMeta:
    """Who holds a side's value: the system's key, its roles in the wedding (organization kind,
    provider category), and the source's own modification time, since deliveries arrive out of
    order and only the source's clock says which change came last."""

    system: str
    modified: dt.datetime | str | None = None
    roles: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "modified", _moment(self.modified))
        object.__setattr__(self, "roles", frozenset(self.roles))

    def holds(self, source: str | None) -> bool:
        return source is not None and (source == self.system or source in self.roles)


@dataclass(frozen=True, slots=True)
class Resolution:
    """The value to push to every system, the policy that chose it and why, in a sentence.

    When `needs_person` is set, `value` is None and means nothing; `emergency` marks a question
    asked on the wedding day. `winner` is the system whose value was taken, if one was."""

    value: Any
    policy: Policy
    reason: str
    needs_person: bool
    emergency: bool = False
    winner: str | None = None


ASK = Policy("ask")

DEFAULT_POLICIES: tuple[Policy, ...] = (
    # On the day a moved time goes to a person at once: guests and vendors act on it within hours.
    Policy("ask", field="starts_at", wedding_day=True),
    Policy("ask", field="ends_at", wedding_day=True),
    Policy("source_of_truth", field="venue", source="venue"),
    Policy("source_of_truth", field="menu", source="caterer"),
    Policy("source_of_truth", data_type="payment", source="payments"),
    # More covers, chairs and meals than needed is recoverable; fewer is not.
    Policy("max", field="guest_count"),
    Policy("union"),
    Policy("last_writer_wins"),
)

Sides = tuple[tuple[SideMeta, Any], tuple[SideMeta, Any]]
Decided = tuple[Any, str, str | None] | None


def resolve(
    conflict: FieldConflict,
    *,
    ours_meta: SideMeta | Mapping[str, Any],
    theirs_meta: SideMeta | Mapping[str, Any],
    policies: Iterable[Policy],
    wedding_day: bool = False,
    data_type: str | None = None,
) -> Resolution:
    """Settle one conflict with the most specific policy that can, else ask a person."""
    sides: Sides = (
        (side_meta(ours_meta), conflict.ours),
        (side_meta(theirs_meta), conflict.theirs),
    )
    for policy in ranked(conflict, policies, wedding_day=wedding_day, data_type=data_type):
        decided = DECIDERS[policy.kind](conflict, policy, sides, wedding_day)
        if decided is not None:
            value, reason, winner = decided
            asked = policy.kind == "ask"
            return Resolution(value, policy, reason, asked, asked and wedding_day, winner)
    reason = f"No policy settles {label(conflict)}, so a person decides."
    return Resolution(None, ASK, _on_the_day(reason, wedding_day), True, wedding_day)


def ranked(
    conflict: FieldConflict,
    policies: Iterable[Policy],
    *,
    wedding_day: bool = False,
    data_type: str | None = None,
) -> list[Policy]:
    """The policies that apply to a conflict, the one to try first first."""
    keyed = []
    for policy in set(policies):
        rank = _specificity(policy, conflict, wedding_day, data_type)
        if rank is not None:
            keyed.append((rank, policy))
    keyed.sort(key=lambda item: (item[0], *_tie(item[1])))
    return [policy for _, policy in keyed]


def side_meta(meta: SideMeta | Mapping[str, Any]) -> SideMeta:
    if isinstance(meta, SideMeta):
        return meta
    return SideMeta(str(meta["system"]), meta.get("modified"), frozenset(meta.get("roles") or ()))


def label(conflict: FieldConflict) -> str:
    return ", ".join(conflict.fields) if conflict.is_group else conflict.path


def _specificity(
    policy: Policy, conflict: FieldConflict, wedding_day: bool, data_type: str | None
) -> tuple[int, ...] | None:
    """A sort key, smaller first; None when the policy does not apply to this conflict."""
    if policy.wedding_day and not wedding_day:
        return None
    if policy.data_type is not None and policy.data_type != data_type:
        return None
    if policy.field is None:
        field_level, depth = 0, 0
    elif policy.field == conflict.path or policy.field in conflict.fields:
        field_level, depth = 2, 0
    elif conflict.path.startswith(f"{policy.field}."):
        field_level, depth = 1, policy.field.count(".") + 1
    else:
        return None
    return (-field_level, -depth, -policy.wedding_day, -(policy.data_type is not None))


def _tie(policy: Policy) -> tuple[int, str, str, str]:
    return (
        KIND_ORDER[policy.kind],
        policy.source or "",
        policy.field or "",
        policy.data_type or "",
    )


def _moment(value: Any) -> dt.datetime | None:
    """The source's clock as an aware instant; a naive time is taken as UTC, as the hub does."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, dt.datetime):
        raise TypeError(f"modification time must be a datetime or ISO string, not {value!r}")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _on_the_day(reason: str, wedding_day: bool) -> str:
    if not wedding_day:
        return reason
    return f"{reason[:-1]}; it is the wedding day, so it is flagged as an emergency."


def _source_of_truth(
    conflict: FieldConflict, policy: Policy, sides: Sides, wedding_day: bool
) -> Decided:
    owners = [(meta, value) for meta, value in sides if meta.holds(policy.source)]
    if len(owners) != 1:
        return None
    (owner, value), other = owners[0], next(m for m, _ in sides if not m.holds(policy.source))
    reason = (
        f"{owner.system} is the source of truth for {label(conflict)} "
        f"(policy: {policy.source} owns it), so its value replaces {other.system}'s."
    )
    return value, reason, owner.system


def _last_writer_wins(
    conflict: FieldConflict, policy: Policy, sides: Sides, wedding_day: bool
) -> Decided:
    a, b = (meta for meta, _ in sides)
    if a.modified is None or b.modified is None:
        return None
    assert isinstance(a.modified, dt.datetime) and isinstance(b.modified, dt.datetime)
    if a.modified != b.modified:
        (winner, value), (loser, _) = sorted(sides, key=lambda s: s[0].modified, reverse=True)
        reason = (
            f"{winner.system} changed {label(conflict)} last ({_iso(winner.modified)}), "
            f"after {loser.system} ({_iso(loser.modified)})."
        )
        return value, reason, winner.system
    (winner, value), (loser, _) = sorted(sides, key=lambda s: (s[0].system, repr(s[1])))
    reason = (
        f"{winner.system} and {loser.system} changed {label(conflict)} at the same moment "
        f"({_iso(winner.modified)}); the tie goes to {winner.system}, first by system key."
    )
    return value, reason, winner.system


def _union(conflict: FieldConflict, policy: Policy, sides: Sides, wedding_day: bool) -> Decided:
    """Three-way list union: what either side added, less what either side removed.

    Lists are treated as sets of meanings (a guest once); base order first, then additions in
    the order of the sides' system keys, so the result does not depend on which side is ours.
    """
    values = [value for _, value in sides]
    if not all(v is None or isinstance(v, list | tuple) for v in values):
        return None
    if all(v is None for v in values):
        return None
    base = list(conflict.base) if isinstance(conflict.base, list | tuple) else []
    ordered = sorted(((m.system, repr(v), list(v or ())) for m, v in sides), key=lambda s: s[:2])
    held = [{comparable(item) for item in items} for _, _, items in ordered]
    base_keys = {comparable(item) for item in base}
    result: list[Any] = []
    seen: set[Any] = set()
    for item in base:
        key = comparable(item)
        if key not in seen and all(key in keys for keys in held):
            result.append(item)
            seen.add(key)
    kept = len(result)
    added: list[str] = []
    for system, _, items in ordered:
        count = 0
        for item in items:
            key = comparable(item)
            if key not in seen and key not in base_keys:
                result.append(item)
                seen.add(key)
                count += 1
        added.append(f"{count} from {system}")
    removed = len(base_keys - seen)
    reason = (
        f"Merged both lists of {label(conflict)}: kept {kept} from the base, added "
        f"{' and '.join(added)}, left out {removed} that a side removed."
    )
    return result, reason, None


def _max(conflict: FieldConflict, policy: Policy, sides: Sides, wedding_day: bool) -> Decided:
    if not all(_is_number(value) for _, value in sides):
        return None
    (winner, value), (loser, other) = sorted(sides, key=lambda s: (-s[1], s[0].system))
    reason = (
        f"Kept the larger {label(conflict)}: {value} from {winner.system} over {other} from "
        f"{loser.system}, since planning for more is the safe side."
    )
    return value, reason, winner.system


def _ask(conflict: FieldConflict, policy: Policy, sides: Sides, wedding_day: bool) -> Decided:
    first, second = sorted(meta.system for meta, _ in sides)
    reason = f"A policy asks a person to choose {label(conflict)} between {first} and {second}."
    return None, _on_the_day(reason, wedding_day), None


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float | Decimal) and not isinstance(value, bool) and value == value
    )


def _iso(moment: Any) -> str:
    return moment.isoformat() if isinstance(moment, dt.datetime) else str(moment)


DECIDERS: dict[str, Callable[[FieldConflict, Policy, Sides, bool], Decided]] = {
    "source_of_truth": _source_of_truth,
    "last_writer_wins": _last_writer_wins,
    "union": _union,
    "max": _max,
    "ask": _ask,
}
