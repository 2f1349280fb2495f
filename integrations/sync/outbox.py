"""The transactional outbox: a change of ours becomes one row per connection that wants it."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.db import transaction

from integrations.inserts import insert_each
from integrations.models import Connection, OutboundChange, RecordLink
from integrations.registry import get_provider
from wedsync.live import EventType
from wedsync.models import TimelineItem, Wedding

# event type -> (canonical kind, action)
CHANGES = {
    EventType.TIMELINE_ITEM_CREATED: ("timeline_item", OutboundChange.Action.CREATE),
    EventType.TIMELINE_ITEM_UPDATED: ("timeline_item", OutboundChange.Action.UPDATE),
    EventType.TIMELINE_ITEM_DELETED: ("timeline_item", OutboundChange.Action.DELETE),
}
# Changes to the wedding itself reach the vendors' records of it (a photographer's Táve job).
WEDDING_CHANGES = (EventType.WEDDING_UPDATED, EventType.GUEST_LIST_UPDATE)


def wedding_fields(wedding: Wedding) -> dict[str, Any]:
    """What a vendor's record of the wedding follows: the day and the guest count. Not the
    couple's names: there they are the vendor's own label for the job."""
    return {"date": wedding.date.isoformat(), "guest_count": wedding.guest_count}


def timeline_fields(item: TimelineItem, zone: str) -> dict[str, Any]:
    """Our fields as adapters take them: times in the wedding's zone, with that zone named."""
    local = zoneinfo.ZoneInfo(zone)

    def when(value: dt.datetime | None) -> str | None:
        return value.astimezone(local).isoformat() if value else None

    return {
        "title": item.title,
        "starts_at": when(item.starts_at),
        "ends_at": when(item.ends_at),
        "location": item.location,
        "notes": item.notes,
        "time_zone": zone,
    }


def subscribers(wedding_id, kind: str, *, exclude=None) -> list[Connection]:
    """Active connections of the wedding's organizations whose provider takes `kind` pushes."""
    connections = candidates(wedding_id, exclude).select_related("organization")
    return [c for c in connections if takes_pushes(c.provider, kind)]


def subscriber_ids(wedding_id, kind: str, *, exclude=None, object_id=None) -> list:
    """The ids of `subscribers`, read without the connections' (encrypted) credentials; those
    whose provider takes `kind` only into records already linked (a Táve job or session) only
    when they hold a live link to `object_id`."""
    # By id: the model's ordering (by organization name) joins organizations for nothing.
    found = candidates(wedding_id, exclude).order_by("pk").values_list("pk", "provider")
    rows = [(pk, provider) for pk, provider in found if takes_pushes(provider, kind)]
    linked_only = {pk for pk, provider in rows if only_into_linked(provider, kind)}
    if not linked_only:
        return [pk for pk, _ in rows]
    holding = set(
        RecordLink.objects.filter(
            connection_id__in=linked_only, kind=kind, object_id=object_id, deleted=False
        ).values_list("connection_id", flat=True)
        if object_id is not None
        else []
    )
    return [pk for pk, _ in rows if pk not in linked_only or pk in holding]


def candidates(wedding_id, exclude=None):
    connections = Connection.objects.filter(
        organization__participations__wedding_id=wedding_id,
        status__in=[Connection.Status.ACTIVE, Connection.Status.ERROR, Connection.Status.PAUSED],
    ).distinct()
    return connections.exclude(pk=exclude) if exclude is not None else connections


def takes_pushes(provider: str, kind: str) -> bool:
    try:
        spec = get_provider(provider)
    except LookupError:
        return False
    return spec.has("push") and any(r.maps_to == kind for r in spec.resources.values())


def only_into_linked(provider: str, kind: str) -> bool:
    """The provider's resource for `kind` is `linked_only`: kept up to date, never made."""
    spec = get_provider(provider)
    return any(r.linked_only for r in spec.resources.values() if r.maps_to == kind)


def on_change(
    wedding_id, event_type, data: dict[str, Any], source_connection_id, instance=None
) -> None:
    """The listener wedsync.changes calls inside the change's transaction."""
    if event_type in WEDDING_CHANGES:
        on_wedding_change(wedding_id, source_connection_id, instance)
        return
    if event_type not in CHANGES:
        return
    kind, action = CHANGES[event_type]
    object_id = data.get("id")
    if not object_id:
        return
    fields: dict[str, Any] = {}
    wedding = None
    if action != OutboundChange.Action.DELETE:
        item = saved_item(instance, object_id)
        if item is None:
            return
        wedding = item.wedding
        fields = timeline_fields(item, wedding.time_zone)
    enqueue(wedding_id, kind, object_id, action, fields, source_connection_id, wedding=wedding)


def on_wedding_change(wedding_id, source_connection_id, instance=None) -> None:
    wedding = (
        instance
        if isinstance(instance, Wedding) and str(instance.pk) == str(wedding_id)
        else Wedding.objects.filter(pk=wedding_id).first()
    )
    if wedding is None:
        return
    fields = wedding_fields(wedding)
    targets = behind(wedding_id, fields, exclude=source_connection_id)
    if targets:
        enqueue(
            wedding_id,
            "wedding",
            wedding_id,
            OutboundChange.Action.UPDATE,
            fields,
            source_connection_id,
            wedding=wedding,
            targets=targets,
        )


def behind(wedding_id, fields: dict[str, Any], *, exclude=None) -> list:
    """Subscribers holding a linked record of the wedding that `fields` would change: its last
    synced state differs, or a change to it is still waiting (and would otherwise be the last
    word). A change to our notes alone sends nothing."""
    subscribed = subscriber_ids(wedding_id, "wedding", exclude=exclude, object_id=wedding_id)
    if not subscribed:
        return []
    links = RecordLink.objects.filter(
        connection_id__in=subscribed, kind="wedding", object_id=wedding_id, deleted=False
    ).values_list("connection_id", "snapshot")
    linked, differ = set(), set()
    for connection_id, snapshot in links:
        linked.add(connection_id)
        if any(str((snapshot or {}).get(k)) != str(v) for k, v in fields.items()):
            differ.add(connection_id)
    if linked - differ:
        differ |= set(
            OutboundChange.objects.filter(
                connection_id__in=linked - differ,
                kind="wedding",
                object_id=wedding_id,
                status__in=[OutboundChange.Status.PENDING, OutboundChange.Status.FAILED],
            ).values_list("connection_id", flat=True)
        )
    return sorted(differ, key=str)


def saved_item(instance, object_id) -> TimelineItem | None:
    """The item as its change saved it: the caller's instance when it came with its wedding
    loaded, else read back."""
    if (
        isinstance(instance, TimelineItem)
        and str(instance.pk) == str(object_id)
        and TimelineItem.wedding.is_cached(instance)
    ):
        return instance
    return TimelineItem.objects.select_related("wedding").filter(pk=object_id).first()


def enqueue(
    wedding_id,
    kind,
    object_id,
    action,
    fields,
    source_connection_id=None,
    *,
    wedding=None,
    targets=None,
) -> int:
    if targets is None:
        targets = subscriber_ids(
            wedding_id, kind, exclude=source_connection_id, object_id=object_id
        )
    rows = insert_each(
        OutboundChange,
        [
            {
                "connection": connection_id,
                "wedding": wedding_id,
                "kind": kind,
                "object_id": object_id,
                "action": action,
                "fields": fields,
                "source_connection": source_connection_id,
            }
            for connection_id in targets
        ],
    )
    if rows:
        from integrations.sync.dispatch import push_queue_of, queue_pushes

        queue = push_queue_of(wedding) if wedding is not None else None
        transaction.on_commit(lambda: queue_pushes(targets, wedding_id, queue=queue), robust=True)
    return rows


def sending_states(message_ids: list) -> dict:
    """Where each pushed message stands: {object id: {status, sent_at, last_error,
    next_attempt_at}} (messaging.services.history's view of the outbox)."""
    rows = OutboundChange.objects.filter(kind="message", object_id__in=message_ids).values(
        "object_id", "status", "sent_at", "last_error", "next_attempt_at"
    )
    return {row.pop("object_id"): row for row in rows}
