"""Applying what a provider holds to our wedding data (last writer wins until conflicts land).

A record changes our model only where a field differs, so a provider echoing back what we pushed
changes nothing and fires nothing: no echo loops. Every applied change goes through
wedsync.changes.record_change with its source connection, which writes the outbox rows for every
other system (never the source) and broadcasts on the wedding's socket, and into the integration
event log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from integrations.adapters.base import ExternalRecord
from integrations.adapters.rest import parse_timestamp
from integrations.models import Connection, IntegrationEvent, RecordLink
from integrations.sync.documents import apply_document
from integrations.sync.eventlog import log
from integrations.sync.messages import apply_message
from integrations.sync.new_weddings import creates_weddings, wedding_from
from integrations.sync.parents import parent_wedding
from integrations.sync.payments import apply_payment
from integrations.sync.people import contact_named
from integrations.sync.records import CREATED, UNCHANGED, UPDATED
from integrations.updates import one_round_trip, save_fields
from wedsync.changes import record_change
from wedsync.live import EventType
from wedsync.models import TimelineItem, Wedding

TIMELINE_FIELDS = ("title", "starts_at", "ends_at", "location", "notes")


def timeline_values(record: ExternalRecord) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in TIMELINE_FIELDS:
        if name not in record.fields:
            continue
        value = record.fields[name]
        if name in ("starts_at", "ends_at"):
            value = value if isinstance(value, dt.datetime) else parse_timestamp(value)
        elif value is None:
            value = ""
        elif limit := TimelineItem._meta.get_field(name).max_length:
            value = str(value)[:limit]  # a provider's long address or meeting link still fits
        values[name] = value
    return values


def apply_record(connection: Connection, link: RecordLink, record: ExternalRecord) -> str:
    """Apply one stored record to our models; returns what happened, in a few words."""
    if record.kind == "timeline_item":
        return apply_timeline_item(connection, link, record)
    if record.kind == "wedding":
        return apply_wedding(connection, link, record)
    if record.kind == "message":
        return apply_message(connection, link, record)
    if record.kind == "payment":
        return apply_payment(connection, link, record)
    if record.kind == "document":
        return apply_document(connection, link, record, wedding_for)
    return "stored"


def wedding_for(connection: Connection, record: ExternalRecord) -> Wedding | None:
    """The wedding a record not linked yet is about, among those the connection's organization
    is on: for a record inside another (a Táve event in its job, a bridge's timeline item naming
    its project), the wedding that one is linked to (none when it is linked to none); else, for
    a connection set to one wedding, that wedding (unless the record is a wedding on another
    day); for a vendor's record of a wedding naming its day (one of a studio's Táve
    jobs), the one wedding of the organization on that day; for a booking naming its client
    (Acuity) or its invitees (Calendly), the wedding whose contact they are. None when two
    weddings would fit."""
    weddings = Wedding.objects.filter(participants__organization_id=connection.organization_id)
    if (parent := parent_wedding(connection, record, weddings)).stored:
        return parent.wedding  # None: inside a record of no wedding of ours
    day = record_day(record) if record.kind == "wedding" else None
    if configured := connection.config.get("wedding_id"):
        wedding = weddings.filter(pk=configured).first()
        # A studio's connection set to one wedding still sees all its jobs: one on another
        # day is another couple's, not a change of this wedding's guest count.
        return None if wedding is None or (day and wedding.date != day) else wedding
    if record.kind == "wedding":
        found = list(weddings.filter(date=day).distinct()[:2]) if day else []
        return found[0] if len(found) == 1 else None
    named = [{"email": record.fields.get("email"), "phone": record.fields.get("phone")}]
    weddings_named = set()
    for person in [*named, *record.people]:
        contact = contact_named(connection, person.get("email"), person.get("phone"))
        if contact is not None:
            weddings_named.add(contact.wedding)
    return weddings_named.pop() if len(weddings_named) == 1 else None


ATTACHABLE = frozenset({"timeline_item", "wedding"})


def worth_applying(stored: str, link: RecordLink, record: ExternalRecord) -> bool:
    """A new or changed record, or one unchanged that is still attached to no wedding: its
    wedding may have come since (the vendor linked their system before the planner added them
    to the wedding, a booking's invitee is now a contact), so it is looked for again."""
    if stored in (CREATED, UPDATED):
        return True
    return (
        stored == UNCHANGED
        and link.object_id is None
        and not record.deleted
        and record.kind in ATTACHABLE
    )


def record_day(record: ExternalRecord) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(record.fields.get("date") or "")[:10])
    except ValueError:
        return None


def apply_timeline_item(connection: Connection, link: RecordLink, record: ExternalRecord) -> str:
    """The hub's busiest write (a ceremony moves): its writes go with the reads that follow
    them (one_round_trip), the item's update with the read of who subscribes to it, the outbox
    rows with the read of the wedding's participants. Under load each round trip waited
    3-5 ms for a core (bench/RESULTS.md)."""
    with one_round_trip():
        return _apply_timeline_item(connection, link, record)


def _apply_timeline_item(connection: Connection, link: RecordLink, record: ExternalRecord) -> str:
    item = (
        TimelineItem.objects.select_for_update()
        .select_related("wedding")
        .filter(pk=link.object_id)
        .order_by("pk")
        .first()
        if link.object_id
        else None
    )
    if record.deleted:
        if item is None:
            return "deleted (not linked)"
        wedding, item_id = item.wedding, item.pk
        item.delete()
        record_change(
            wedding.pk,
            EventType.TIMELINE_ITEM_DELETED,
            {"id": str(item_id)},
            source_connection_id=connection.pk,
        )
        log(
            connection,
            wedding,
            IntegrationEvent.Type.WEDDING_TIMELINE_UPDATE,
            f"{connection.provider_name} deleted a timeline item",
            {"id": str(item_id)},
        )
        return "deleted"
    values = timeline_values(record)
    created = item is None
    if created:
        wedding = wedding_for(connection, record)
        if wedding is None or not values.get("starts_at") or not values.get("title"):
            return "not applied: no wedding is mapped to this connection"
        item = TimelineItem(wedding=wedding)
    ours_kept = False
    if not created and link.previous_snapshot is not None:
        values, ours_kept = settle_timeline(connection, link, record, item)
    changed = [name for name, value in values.items() if getattr(item, name) != value]
    if not created and not changed:
        return "unchanged" if not ours_kept else "kept ours (conflict)"
    for name in changed:
        setattr(item, name, values[name])
    if created:
        item.save()
    else:
        save_fields(item, changed)
    if link.object_id != item.pk:
        link.object_id = item.pk
        save_fields(link, ["object_id"])
    data = {
        "id": str(item.pk),
        "title": item.title,
        "starts_at": item.starts_at.isoformat(),
        "changed": changed,
    }
    event = EventType.TIMELINE_ITEM_CREATED if created else EventType.TIMELINE_ITEM_UPDATED
    # When a conflict kept or chose our value, the source must hear it too.
    source = None if ours_kept else connection.pk
    record_change(item.wedding_id, event, data, source_connection_id=source, instance=item)
    log(
        connection,
        item.wedding,
        IntegrationEvent.Type.WEDDING_TIMELINE_UPDATE,
        f"{connection.provider_name} {'added' if created else 'changed'} {item.title}",
        data,
    )
    return "created" if created else f"updated {', '.join(changed)}"


def settle_timeline(
    connection: Connection, link: RecordLink, record: ExternalRecord, item: TimelineItem
) -> tuple[dict[str, Any], bool]:
    """Three-way merge of the provider's item with ours against the last synced base."""
    from conflicts.settle import plain, settle
    from integrations.sync.outbox import timeline_fields

    wanted = (*TIMELINE_FIELDS, "time_zone")
    theirs = {k: v for k, v in plain(record.fields).items() if k in wanted}
    base = {k: v for k, v in (link.previous_snapshot or {}).items() if k in wanted}
    ours = {k: v for k, v in timeline_fields(item, item.wedding.time_zone).items() if k in theirs}
    settlement = settle(
        wedding=item.wedding,
        kind="timeline_item",
        object_id=item.pk,
        base=base,
        ours=ours,
        ours_modified=item.updated_at,
        theirs=theirs,
        theirs_modified=record.modified,
        connection=connection,
    )
    settled = ExternalRecord(
        resource=record.resource,
        kind=record.kind,
        external_id=record.external_id,
        fields=settlement.values,
    )
    return timeline_values(settled), settlement.ours_kept


def apply_wedding(connection: Connection, link: RecordLink, record: ExternalRecord) -> str:
    wedding = (
        Wedding.objects.filter(pk=link.object_id).first()
        if link.object_id
        else wedding_for(connection, record)
    )
    if wedding is None and not record.deleted and creates_weddings(connection):
        day = record_day(record)
        weddings = Wedding.objects.filter(participants__organization_id=connection.organization_id)
        if day and not weddings.filter(date=day).exists():  # none, not two to choose from
            wedding = wedding_from(connection, record, day)
            if wedding is not None:
                link.object_id = wedding.pk
                link.save(update_fields=["object_id", "updated_at"])
                return f"created the wedding {wedding.pk}"
    if wedding is None or record.deleted:
        return "not applied: no wedding is mapped to this connection"
    if link.object_id != wedding.pk:  # linked even when nothing changes: our changes reach it
        link.object_id = wedding.pk
        link.save(update_fields=["object_id", "updated_at"])
    guest_count = record.fields.get("guest_count")
    if guest_count in (None, "") or int(guest_count) == wedding.guest_count:
        return "unchanged"
    before = wedding.guest_count
    ours_kept = False
    if link.previous_snapshot is not None:
        from conflicts.settle import settle

        base = link.previous_snapshot.get("guest_count")
        settlement = settle(
            wedding=wedding,
            kind="wedding",
            object_id=wedding.pk,
            base={"guest_count": base} if base is not None else None,
            ours={"guest_count": before},
            ours_modified=wedding.updated_at,
            theirs={"guest_count": int(guest_count)},
            theirs_modified=record.modified,
            connection=connection,
        )
        guest_count, ours_kept = settlement.values["guest_count"], settlement.ours_kept
        if int(guest_count) == before:
            return "kept ours (conflict)"
    wedding.guest_count = int(guest_count)
    wedding.save(update_fields=["guest_count", "updated_at"])
    data = {"id": str(wedding.pk), "guest_count": wedding.guest_count, "before": before}
    record_change(
        wedding.pk,
        EventType.GUEST_LIST_UPDATE,
        data,
        source_connection_id=None if ours_kept else connection.pk,
    )
    log(
        connection,
        wedding,
        IntegrationEvent.Type.GUEST_LIST_UPDATE,
        f"{connection.provider_name}: guest count {before} -> {wedding.guest_count}",
        data,
    )
    return "updated guest_count"
