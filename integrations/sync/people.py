"""Who a provider's record names: the contact of one of our weddings with that email address or
phone number, which tells a booking or a text which wedding it belongs to."""

from __future__ import annotations

from django.db.models import Q

from integrations.models import Connection
from wedsync.models import Contact


def digits(number: object) -> str:
    """A phone number as its digits: Twilio's +447700900123 (or whatsapp:+44...) and WhatsApp's
    447700900123 are the same number."""
    return "".join(c for c in str(number or "") if c.isdigit())


def contact_named(
    connection: Connection, email: object = None, phone: object = None
) -> Contact | None:
    """The contact with this email or phone number on a wedding the connection's organization
    is on; None when there is none, or when they are on two weddings."""
    wanted = Q()
    if email and "@" in str(email):
        wanted |= Q(email__iexact=str(email).strip())
    if len(number := digits(phone)) >= 7:
        wanted |= Q(phone=f"+{number}")  # a contact's phone is validated E.164
    if not wanted:
        return None
    found = list(
        Contact.objects.filter(
            wanted, wedding__participants__organization_id=connection.organization_id
        )
        .select_related("wedding")
        .distinct()
    )
    weddings = {contact.wedding_id for contact in found}
    return found[0] if len(weddings) == 1 else None
