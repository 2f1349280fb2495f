"""Documents a vendor shares for a wedding (a photographer's delivered gallery in Táve) reach it
as the seed's document_shared: "photo delivery in Táve -> WedSync notifies the couple and the
other vendors".

A document is logged on its wedding, and heard on its socket, when it becomes shared: first
seen active, or made active later. Its later edits change nothing here. What is logged is what
the couple and vendors open it by (the gallery's client link, its name and size), never a
password that protects it (the spec does not read one).
"""

from __future__ import annotations

from collections.abc import Callable

from integrations.adapters.base import ExternalRecord
from integrations.models import Connection, IntegrationEvent, RecordLink
from integrations.sync.eventlog import log
from wedsync.changes import record_change
from wedsync.live import EventType
from wedsync.models import Wedding

SHARED_STATUSES = frozenset({"active", "shared", "published"})


def shared(fields: dict | None) -> bool:
    return bool(fields) and str(fields.get("status") or "").lower() in SHARED_STATUSES


def apply_document(
    connection: Connection,
    link: RecordLink,
    record: ExternalRecord,
    wedding_for: Callable[[Connection, ExternalRecord], Wedding | None],
) -> str:
    """`wedding_for` finds the wedding of a record not linked yet (apply.wedding_for)."""
    if record.deleted or not shared(record.fields):
        return "stored"
    if shared(link.previous_snapshot):
        return "stored: shared already"
    wedding = wedding_for(connection, record)
    if wedding is None:
        return "stored: it belongs to no wedding of this organization"
    fields = record.fields
    data = {
        "provider": connection.provider,
        "document": record.external_id,
        "title": str(fields.get("title") or ""),
        "url": str(fields.get("url") or ""),
        "photos": fields.get("photos"),
        "released": fields.get("released"),
    }
    record_change(wedding.pk, EventType.DOCUMENT_SHARED, data, source_connection_id=connection.pk)
    size = f" ({data['photos']} photos)" if data["photos"] else ""
    log(
        connection,
        wedding,
        IntegrationEvent.Type.DOCUMENT_SHARED,
        f"{connection.provider_name} shared {data['title'] or 'a document'}{size}",
        data,
    )
    return f"logged: {data['title']} shared"
