"""A person's decision on a pending conflict: applied, pushed to every system, audited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from integrations.adapters.base import ExternalRecord
from integrations.sync.apply import timeline_values
from wedsync.changes import record_change
from wedsync.live import EventType, broadcast_on_commit
from wedsync.models import TimelineItem, Wedding

from .models import Conflict, ConflictPolicy
from .settle import plain

CHOICES = ("ours", "theirs", "value")


def chosen_fields(conflict: Conflict, choice: str, value: Any) -> dict[str, Any]:
    if choice not in CHOICES:
        raise ValidationError({"choice": f"must be one of {', '.join(CHOICES)}"})
    if choice == "value" and value is None:
        raise ValidationError({"value": "enter the value to keep"})
    picked = {"ours": conflict.ours, "theirs": conflict.theirs, "value": value}[choice]
    if len(conflict.fields) > 1:
        if not isinstance(picked, dict):
            raise ValidationError({"value": f"{conflict.path} takes an object of its fields"})
        return {name: picked.get(name) for name in conflict.fields if name in picked}
    return {conflict.path: picked}


@transaction.atomic
def resolve_conflict(
    conflict_id: int, *, choice: str, value: Any = None, user=None, make_rule: bool = False
) -> Conflict:
    conflict = Conflict.objects.select_for_update().select_related("wedding").get(pk=conflict_id)
    if conflict.status != Conflict.Status.PENDING:
        raise ValidationError("This conflict is already resolved.")
    fields = chosen_fields(conflict, choice, value)
    if conflict.kind == "timeline_item":
        apply_to_timeline_item(conflict, fields)
    elif conflict.kind == "wedding":
        apply_to_wedding(conflict.wedding, fields)
    conflict.status = Conflict.Status.RESOLVED
    conflict.resolution = plain(fields if len(conflict.fields) > 1 else fields[conflict.path])
    conflict.resolved_by = user
    conflict.resolved_at = timezone.now()
    who = getattr(user, "get_username", lambda: "someone")()
    conflict.reason = f"{who} chose {choice}" + (
        f" ({conflict.theirs_system}'s value)" if choice == "theirs" else ""
    )
    conflict.policy = "person"
    conflict.save()
    if make_rule:
        make_rule_from(conflict, choice, user)
    broadcast_on_commit(
        conflict.wedding_id,
        EventType.CONFLICT_RESOLVED,
        {
            "id": conflict.pk,
            "path": conflict.path,
            "value": conflict.resolution,
            "resolved_by": who,
            "choice": choice,
        },
    )
    return conflict


def make_rule_from(conflict: Conflict, choice: str, user) -> ConflictPolicy:
    """'Make this a rule': the side chosen becomes the source of truth for that field."""
    if choice not in ("ours", "theirs"):
        raise ValidationError({"make_rule": "a rule needs a side: take ours or take theirs"})
    return ConflictPolicy.objects.create(
        wedding=conflict.wedding,
        kind="source_of_truth",
        field=conflict.fields[0] if len(conflict.fields) == 1 else conflict.path.split("+")[0],
        data_type=conflict.kind,
        source=conflict.theirs_system if choice == "theirs" else "hub",
        created_by=user,
        note=f"From conflict #{conflict.pk}",
    )


def apply_to_timeline_item(conflict: Conflict, fields: dict[str, Any]) -> None:
    item = TimelineItem.objects.select_for_update().filter(pk=conflict.object_id).first()
    if item is None:
        raise ValidationError("The timeline item no longer exists.")
    record = ExternalRecord(resource="", kind="timeline_item", external_id="", fields=fields)
    for name, value in timeline_values(record).items():
        setattr(item, name, value)
    item.full_clean()
    item.save()
    # No source: every linked system, both sides of the conflict included, gets the choice.
    record_change(
        item.wedding_id,
        EventType.TIMELINE_ITEM_UPDATED,
        {"id": str(item.pk), "title": item.title, "resolved_conflict": conflict.pk},
    )


def apply_to_wedding(wedding: Wedding, fields: dict[str, Any]) -> None:
    if "guest_count" in fields:
        wedding.guest_count = int(fields["guest_count"])
        wedding.save(update_fields=["guest_count", "updated_at"])
        record_change(
            wedding.pk,
            EventType.GUEST_LIST_UPDATE,
            {"id": str(wedding.pk), "guest_count": wedding.guest_count},
        )
