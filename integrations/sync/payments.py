"""Payments a vendor takes (Stripe, Square, PayPal) reach their wedding as payment_status_change.

A payment names its wedding by our id where the vendor's checkout puts it (Stripe's
`metadata.wedding_id`, Square's `reference_id`, PayPal's `custom_id`), a bridge's by its
project (stored and linked to our wedding), else by the payer's email when that is a wedding
contact's. It is logged on the wedding, and heard on its socket,
when first seen and again whenever its status or refunded amount changes: a deposit paid, then
refunded, is two entries; the same state seen again is none.
"""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.adapters.base import ExternalRecord
from integrations.models import Connection, IntegrationEvent, RecordLink
from integrations.sync.eventlog import log
from integrations.sync.parents import parent_wedding
from integrations.sync.people import contact_named
from wedsync.changes import record_change
from wedsync.live import EventType
from wedsync.models import Wedding

# What makes a new entry: a state that differs in one of these from the one last seen.
MOVES = ("status", "amount_refunded")
# ISO 4217 currencies without minor units, whose Stripe and Square amounts are whole units.
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)


def money(amount: Any, currency: Any) -> str:
    """`GBP 1,500.00` from Stripe's and Square's minor units (an integer) or PayPal's decimal
    string of major units."""
    code = str(currency or "").upper()
    if amount in (None, ""):
        return ""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return f"{code} {amount}".strip()
    if isinstance(amount, int) and code not in ZERO_DECIMAL:
        value = value / 100
    places = "1" if code in ZERO_DECIMAL else "0.01"
    return f"{code} {value.quantize(Decimal(places)):,}".strip()


def wedding_named(connection: Connection, record: ExternalRecord) -> Wedding | None:
    weddings = Wedding.objects.filter(participants__organization_id=connection.organization_id)
    if (parent := parent_wedding(connection, record, weddings)).stored:
        return parent.wedding  # a bridge's payment naming its project
    fields = record.fields
    try:
        named = uuid.UUID(str(fields.get("wedding_id") or ""))
    except ValueError:
        named = None
    if named is not None and (wedding := weddings.filter(pk=named).first()):
        return wedding
    contact = contact_named(connection, email=fields.get("receipt_email"))
    return contact.wedding if contact else None


def apply_payment(connection: Connection, link: RecordLink, record: ExternalRecord) -> str:
    if record.deleted:
        return "stored"
    fields, before = record.fields, link.previous_snapshot
    if before is not None and all(str(before.get(k)) == str(fields.get(k)) for k in MOVES):
        return "stored: its status is as it was"
    wedding = wedding_named(connection, record)
    if wedding is None:
        return "stored: it names no wedding of this organization"
    amount = money(fields.get("amount"), fields.get("currency"))
    data = {
        "provider": connection.provider,
        "payment": record.external_id,
        "status": fields.get("status"),
        "was": before.get("status") if before else None,
        "amount": amount,
        "description": fields.get("description") or fields.get("milestone") or "",
    }
    if fields.get("amount_refunded"):
        data["refunded"] = money(fields["amount_refunded"], fields.get("currency"))
    record_change(
        wedding.pk, EventType.PAYMENT_STATUS_CHANGE, data, source_connection_id=connection.pk
    )
    what = f"{amount} {data['description']}".strip()
    refunded = f", {data['refunded']} refunded" if "refunded" in data else ""
    log(
        connection,
        wedding,
        IntegrationEvent.Type.PAYMENT_STATUS_CHANGE,
        f"{connection.provider_name}: {what} {data['status']}{refunded}",
        data,
        affected=[],
    )
    return f"logged: {data['status']}"
