"""Texts a vendor's number sends or receives (SMS through Twilio, WhatsApp) on their wedding.

A message belongs to the wedding whose contact is at the other end of it: the sender of an
inbound text, the recipient of an outbound one, matched by phone number among the contacts of
the weddings the connection's organization is on. It is logged once, when first seen, as the
seed's `communication_sent` and heard on the wedding's socket; its later states (delivered,
read) change nothing here. A number no contact has, or one that two weddings share, attaches
the message to no wedding: it stays stored with its connection.
"""

from __future__ import annotations

from integrations.adapters.base import ExternalRecord
from integrations.models import Connection, IntegrationEvent, RecordLink
from integrations.sync.eventlog import log
from integrations.sync.people import contact_named, digits
from messaging.services import acknowledge
from wedsync.changes import record_change
from wedsync.live import EventType

PREVIEW = 120  # characters of the text in the log's summary and the socket event


def apply_message(connection: Connection, link: RecordLink, record: ExternalRecord) -> str:
    if link.previous_snapshot is not None or record.deleted:
        return "stored"  # a later state of a message already logged
    fields = record.fields
    inbound = str(fields.get("direction") or "").startswith("inbound")
    acknowledged = acknowledgement(connection, record) if inbound else None
    contact = contact_named(connection, phone=fields.get("from") if inbound else fields.get("to"))
    if contact is None and acknowledged:
        return acknowledged
    if contact is None:
        return "stored: no contact of a wedding has this number"
    wedding = contact.wedding
    text = str(fields.get("text") or "")
    data = {
        "provider": connection.provider,
        "direction": "inbound" if inbound else "outbound",
        "contact": str(contact.pk),
        "contact_name": contact.name,
        "text": text[:PREVIEW],
        "external_id": record.external_id,
    }
    record_change(
        wedding.pk, EventType.COMMUNICATION_SENT, data, source_connection_id=connection.pk
    )
    way = "from" if inbound else "to"
    log(
        connection,
        wedding,
        IntegrationEvent.Type.COMMUNICATION_SENT,
        f"{connection.provider_name}: message {way} {contact.name}: {text}",
        data,
        affected=[str(contact.organization_id)] if contact.organization_id else [],
    )
    return f"logged on the wedding of {contact.name}"


def acknowledgement(connection: Connection, record: ExternalRecord) -> str | None:
    """A text back from a number an announcement went to acknowledges it (the latest, within
    two days): kept on the delivery, logged on its wedding and heard on its socket."""
    number = digits(record.fields.get("from"))
    if len(number) < 7:
        return None
    text = str(record.fields.get("text") or "")
    delivery = acknowledge(connection.pk, f"+{number}", text, record.modified)
    if delivery is None:
        return None
    wedding = delivery.announcement.wedding
    data = {
        "announcement": str(delivery.announcement_id),
        "provider": connection.provider,
        "from": delivery.destination,
        "reply": text[:PREVIEW],
    }
    record_change(
        wedding.pk, EventType.ANNOUNCEMENT_ACKNOWLEDGED, data, source_connection_id=connection.pk
    )
    log(
        connection,
        wedding,
        IntegrationEvent.Type.COMMUNICATION_SENT,
        f"{connection.provider_name}: {delivery.destination} answered the announcement: {text}",
        data,
        affected=[str(connection.organization_id)],
    )
    return f"acknowledged the announcement {delivery.announcement_id}"
