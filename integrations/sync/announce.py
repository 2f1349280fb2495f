"""A coordinator's announcement to everyone on a wedding, through their own channels.

"A storm is coming: the ceremony moves to the orangery." Each messaging connection of the
wedding's organizations (Slack, SMS through Twilio, WhatsApp) gets it where its organization set
it to go (on the connection's page, integrations.announce_settings, kept in its `config`:
Slack's `channel`, a list of numbers in `notify` for texts), as outbox rows pushed like any
change: in the background, on the wedding day's priority queue, behind a paused connection or an
open circuit, with retries (a text is not sent twice on an unclear failure). Each destination is
its own record, so none is folded into another. The announcement itself is logged on the wedding
and heard on its socket, and kept with its deliveries (messaging.services): the coordinator sees
each one's state, and a text back from a number it went to acknowledges it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from integrations.inserts import insert_each
from integrations.models import Connection, IntegrationEvent, OutboundChange
from integrations.sync.outbox import candidates, takes_pushes
from integrations.sync.people import digits
from messaging.services import record_announcement
from wedsync.changes import record_change
from wedsync.live import EventType
from wedsync.models import Wedding

# provider -> the config key naming where its messages go, and the field a message takes it in
DESTINATIONS = {
    "slack": ("channel", "channel"),
    "twilio": ("notify", "to"),
    "whatsapp": ("notify", "to"),
}
# what else a provider's connection must have set to send at all (Twilio's sending number)
ALSO_NEEDED = {"twilio": ("from_number",)}


@dataclass
class Announcement:
    id: uuid.UUID
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def destinations(connection: Connection) -> list[str]:
    """Where the connection's organization set announcements to go; [] when it set nothing."""
    key, _ = DESTINATIONS[connection.provider]
    value = connection.config.get(key)
    if isinstance(value, str):  # "+44 7700 900111, +44 7700 900222" typed in the admin
        value = value.replace(";", ",").split(",")
    values = [str(v).strip() for v in (value if isinstance(value, list) else []) if v]
    if key == "notify":  # phone numbers, as E.164 (7 to 15 digits)
        return [f"+{digits(v)}" for v in values if 7 <= len(digits(v)) <= 15]
    return [v for v in values if v]


def announce(wedding: Wedding, text: str, *, emergency: bool, author: str) -> Announcement:
    """Write the announcement's outbox rows and its log entry in one transaction; the pushes
    are queued once it commits."""
    from integrations.sync.dispatch import push_queue_of, queue_pushes

    announcement = Announcement(id=uuid.uuid4())
    connections = [
        c
        for c in candidates(wedding.pk).select_related("organization")
        if c.provider in DESTINATIONS and takes_pushes(c.provider, "message")
    ]
    rows, kept = [], []
    for connection in sorted(connections, key=lambda c: (c.organization.name, c.provider)):
        where = {
            "connection": str(connection.pk),
            "provider": connection.provider,
            "organization": connection.organization.name,
        }
        targets = destinations(connection)
        needed = (DESTINATIONS[connection.provider][0], *ALSO_NEEDED.get(connection.provider, ()))
        missing = [key for key in needed[1:] if not connection.config.get(key)]
        if not targets or missing:
            key = missing[0] if targets else needed[0]
            announcement.skipped.append({**where, "reason": f"no {key} set on the connection"})
            continue
        for target in targets:
            _, field_name = DESTINATIONS[connection.provider]
            message_id = uuid.uuid5(announcement.id, f"{connection.pk}:{target}")
            rows.append(
                {
                    "connection": connection.pk,
                    "wedding": wedding.pk,
                    "kind": "message",
                    "object_id": message_id,
                    "action": OutboundChange.Action.CREATE,
                    "fields": {"text": text, field_name: target},
                }
            )
            announcement.deliveries.append({**where, "to": target})
            kept.append(
                {
                    "organization_id": connection.organization_id,
                    "provider": connection.provider,
                    "connection_id": connection.pk,
                    "destination": target,
                    "message_id": message_id,
                }
            )
    event_type = EventType.EMERGENCY_NOTIFICATION if emergency else EventType.COMMUNICATION_SENT
    data = {
        "announcement": str(announcement.id),
        "text": text,
        "by": author,
        "deliveries": len(announcement.deliveries),
    }
    with transaction.atomic():
        insert_each(OutboundChange, rows)
        record_announcement(
            announcement_id=announcement.id,
            wedding=wedding,
            text=text,
            emergency=emergency,
            author=author,
            deliveries=kept,
        )
        record_change(wedding.pk, event_type, data)
        IntegrationEvent.objects.create(
            wedding=wedding,
            event_type=event_type.value,
            source_system="wedsync",
            affected_organizations=sorted({str(c.organization_id) for c in connections}),
            is_wedding_day=wedding.is_today(),
            summary=f"{'Emergency' if emergency else 'Announcement'} by {author}: {text}"[:300],
            data=data,
        )
        targets = sorted({row["connection"] for row in rows}, key=str)
        if targets:
            queue = push_queue_of(wedding)
            transaction.on_commit(lambda: queue_pushes(targets, wedding.pk, queue=queue))
    return announcement
