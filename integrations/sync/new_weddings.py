"""A vendor's new inquiry becomes a wedding here (the seed's "new wedding inquiry in Táve ->
created in WedSync with client details"), for connections whose organization asked for it.

Opt-in per connection (`config.create_weddings`, a switch on the connection's page): a studio
that also works with planners would otherwise make a second wedding of one a planner already
keeps. A record of a wedding (a Táve job, a bridge's project) that names its day and finds no
wedding of the organization becomes one, the organization its lead, in the organization's time
zone; the vendor's stage says whether it is an inquiry or booked; the couple the vendor's
system names (Táve's job clients) become its contacts.
"""

from __future__ import annotations

import datetime as dt

from integrations.adapters.base import ExternalRecord
from integrations.models import Connection
from integrations.sync.people import digits
from wedsync.models import Contact, Wedding, WeddingParticipant

# A vendor's stage (Táve's lead|booked|fulfillment|completed; a bridge's own words) as ours.
STAGES = {
    "lead": Wedding.Status.INQUIRY,
    "inquiry": Wedding.Status.INQUIRY,
    "enquiry": Wedding.Status.INQUIRY,
    "booked": Wedding.Status.BOOKED,
    "fulfillment": Wedding.Status.CONFIRMED,
    "completed": Wedding.Status.COMPLETED,
}


def creates_weddings(connection: Connection) -> bool:
    return bool(connection.config.get("create_weddings"))


def wedding_from(
    connection: Connection, record: ExternalRecord, day: dt.date | None
) -> Wedding | None:
    """The wedding made from the record, or None when it names no day or couple."""
    names = str(record.fields.get("couple_names") or "").strip()
    if day is None or not names:
        return None
    organization = connection.organization
    wedding = Wedding.objects.create(
        couple_names=names[:200],
        date=day,
        time_zone=organization.time_zone,
        venue_name=str(record.fields.get("venue") or "")[:200],
        guest_count=_count(record.fields.get("guest_count")),
        status=STAGES.get(str(record.fields.get("stage") or "").lower(), Wedding.Status.INQUIRY),
    )
    WeddingParticipant.lead(wedding, organization)
    add_clients(connection, record, wedding)
    return wedding


def add_clients(connection: Connection, record: ExternalRecord, wedding: Wedding) -> None:
    """The couple, as the vendor's system knows them (Táve's job clients), as the wedding's
    contacts. A failure to read them fails the whole record's processing, which is retried:
    a wedding is not left without the people it is for."""
    from integrations.services import adapter_for

    adapter = adapter_for(connection)
    if not hasattr(adapter, "clients_of"):
        return
    for person in adapter.clients_of(record):
        if not person["name"]:
            continue
        phone = f"+{digits(person['phone'])}" if 7 <= len(digits(person["phone"])) <= 15 else ""
        Contact.objects.create(
            wedding=wedding,
            name=person["name"][:200],
            role=Contact.Role.COUPLE,
            email=person["email"] if "@" in person["email"] else "",
            phone=phone,
        )


def _count(value) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0
