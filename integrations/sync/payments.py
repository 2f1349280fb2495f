"""Payments a vendor takes (Stripe, Square, PayPal) reach their wedding as payment_status_change.

A payment names its wedding by our id where the vendor's checkout puts it (Stripe's
`metadata.wedding_id`, Square's `reference_id`, PayPal's `custom_id`), a bridge's by its project
(stored and linked to our wedding), else by the payer's email when that is a wedding contact's.
It is logged on the wedding, and heard on its socket, when first seen and again whenever its
status or refunded amount changes: a deposit paid, then refunded, is two entries; the same state
seen again is none. The payment is kept for the wedding's budget (payments.services), and a
report that moves the budget (paid, refunded, on its way) is logged as budget_modification.
"""

from __future__ import annotations

import uuid
from typing import Any

from integrations.adapters.base import ExternalRecord
from integrations.models import Connection, IntegrationEvent, RecordLink
from integrations.sync.eventlog import log
from integrations.sync.parents import parent_wedding
from integrations.sync.people import contact_named
from payments.amounts import major_units, shown
from payments.services import BudgetMove, record_payment, withdraw_payment
from wedsync.changes import record_change
from wedsync.live import EventType
from wedsync.models import Wedding

# What makes a new entry: a state that differs in one of these from the one last seen.
MOVES = ("status", "amount_refunded")


def money(amount: Any, currency: Any) -> str:
    """`GBP 1,500.00` from Stripe's and Square's minor units (an integer) or PayPal's decimal
    string of major units."""
    value = major_units(amount, currency)
    if value is None:
        return "" if amount in (None, "") else f"{str(currency or '').upper()} {amount}".strip()
    return shown(value, currency)


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
        move = withdraw_payment(connection.pk, record.external_id)
        if move is None or not move.moved:
            return "stored"
        log_budget_move(connection, move.payment.wedding, move)
        return "withdrawn from the budget"
    fields, before = record.fields, link.previous_snapshot
    wedding = wedding_named(connection, record)
    if wedding is None:
        return "stored: it names no wedding of this organization"
    move = budget_of(connection, wedding, record)
    left = move.left if move is not None else None
    if left is not None:  # the wedding it was reported for before hears it has gone
        log_budget_move(connection, Wedding.objects.get(pk=left.wedding_id), left)
    elif before is not None and all(str(before.get(k)) == str(fields.get(k)) for k in MOVES):
        return "stored: its status is as it was"
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
    if move is not None and move.moved:
        log_budget_move(connection, wedding, move)
    return f"logged: {data['status']}"


def budget_of(connection: Connection, wedding: Wedding, record: ExternalRecord):
    """The payment as the wedding's budget holds it (payments.services), and how it moved."""
    return record_payment(
        wedding=wedding,
        organization=connection.organization,
        provider=connection.provider,
        source_connection_id=connection.pk,
        external_id=record.external_id,
        fields=record.fields,
    )


def log_budget_move(connection: Connection, wedding: Wedding, move: BudgetMove) -> None:
    """The seed's budget_modification: what the wedding has paid in the currency, now."""
    payment = move.payment
    data = {
        "payment": payment.external_id,
        "organization": str(payment.organization_id),
        "currency": payment.currency,
        "paid": str(move.paid),
        "paid_before": str(move.paid_before),
        "due": str(move.due),
        "wedding_paid": str(move.paid_total),
    }
    record_change(
        wedding.pk, EventType.BUDGET_MODIFICATION, data, source_connection_id=connection.pk
    )
    log(
        connection,
        wedding,
        IntegrationEvent.Type.BUDGET_MODIFICATION,
        f"Budget: {budget_line(move, connection.organization.name)}",
        data,
    )


def budget_line(move: BudgetMove, vendor: str) -> str:
    """`GBP 1,500.00 paid to Lumen Photography (GBP 2,100.00 paid in all)`."""
    code = move.payment.currency
    change = move.paid - move.paid_before
    in_all = f"({shown(move.paid_total, code)} paid in all)"
    if move.is_departure:
        amount = shown(move.payment.amount, code)
        return f"{vendor}'s payment of {amount} is now another wedding's {in_all}"
    if change > 0:
        return f"{shown(change, code)} paid to {vendor} {in_all}"
    if change < 0:
        return f"{shown(-change, code)} back from {vendor} {in_all}"
    if move.due:
        return f"{shown(move.due, code)} on its way to {vendor}"
    return f"{shown(move.due_before, code)} to {vendor} no longer on its way"
