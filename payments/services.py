"""What other apps ask of payments: record a vendor's payment as their system reports it, and
read a wedding's budget (what has been paid, refunded and is on its way, per vendor)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from wedsync.models import Organization, Wedding

from .amounts import major_units
from .models import Payment
from .states import state_of

LARGEST = Decimal(10) ** 12  # what the budget's columns hold; a larger amount is not a payment


@dataclass(frozen=True)
class BudgetMove:
    """How a payment's report moved one wedding's budget in the payment's currency."""

    payment: Payment
    wedding_id: uuid.UUID
    paid_before: Decimal  # what the payment counted as paid for this wedding before
    due_before: Decimal
    paid: Decimal  # ... and now (nothing, for the wedding it left)
    due: Decimal
    paid_total: Decimal  # the wedding's, in the payment's currency, after the move
    left: BudgetMove | None = None  # the move on the wedding the payment was reported for before

    @property
    def moved(self) -> bool:
        return (self.paid_before, self.due_before) != (self.paid, self.due)

    @property
    def is_departure(self) -> bool:
        """The move on a wedding the payment no longer belongs to."""
        return self.wedding_id != self.payment.wedding_id


def record_payment(
    *,
    wedding: Wedding,
    organization: Organization,
    provider: str,
    source_connection_id: uuid.UUID,
    external_id: str,
    fields: dict[str, Any],
) -> BudgetMove | None:
    """Create or update the payment from the provider's normalized fields (amount, currency,
    status, amount_refunded, description); None when it names no amount (or a negative or
    absurd one) or no currency. Runs in the caller's transaction, the row locked."""
    currency = str(fields.get("currency") or "").upper()[:3]
    amount = major_units(fields.get("amount"), currency)
    if amount is None or not 0 <= amount < LARGEST or len(currency) != 3:
        return None
    state = state_of(fields.get("status"))
    refunded = max(major_units(fields.get("amount_refunded"), currency) or Decimal(0), Decimal(0))
    if state == Payment.State.REFUNDED and not refunded and _fully_refunded(fields):
        refunded = amount  # PayPal's REFUNDED names no amount: all of it
    if refunded and state == Payment.State.PAID and refunded >= amount:
        state = Payment.State.REFUNDED
    values = {
        "wedding": wedding,
        "organization": organization,
        "provider": provider,
        "amount": amount,
        "amount_refunded": min(refunded, amount),
        "currency": currency,
        "state": state,
        "provider_status": str(fields.get("status") or "")[:50],
        "description": str(fields.get("description") or fields.get("milestone") or "")[:300],
    }
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .filter(source_connection_id=source_connection_id, external_id=external_id)
            .first()
        )
        left = None
        if payment is None:  # the connection's reports are applied one at a time
            paid_before = due_before = Decimal(0)
            payment = Payment.objects.create(
                source_connection_id=source_connection_id, external_id=external_id, **values
            )
        else:
            paid_before, due_before = payment.paid, payment.due
            was_for, was_in = payment.wedding_id, payment.currency
            for name, value in values.items():
                setattr(payment, name, value)
            payment.save()
            if was_for != wedding.pk:  # now reported for another wedding: it leaves this one
                left = BudgetMove(
                    payment=payment,
                    wedding_id=was_for,
                    paid_before=paid_before,
                    due_before=due_before,
                    paid=Decimal(0),
                    due=Decimal(0),
                    paid_total=paid_in(was_for, was_in),
                )
                paid_before = due_before = Decimal(0)
        return BudgetMove(
            payment=payment,
            wedding_id=wedding.pk,
            paid_before=paid_before,
            due_before=due_before,
            paid=payment.paid,
            due=payment.due,
            paid_total=paid_in(wedding.pk, currency),
            left=left,
        )


def withdraw_payment(source_connection_id: uuid.UUID, external_id: str) -> BudgetMove | None:
    """The vendor's system no longer holds the payment (Táve's hidden one): it is kept,
    canceled, so the budget no longer counts it. None when it was never recorded."""
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .filter(source_connection_id=source_connection_id, external_id=external_id)
            .first()
        )
        if payment is None:
            return None
        paid_before, due_before = payment.paid, payment.due
        payment.state = Payment.State.CANCELED
        payment.save(update_fields=["state", "updated_at"])
        return BudgetMove(
            payment=payment,
            wedding_id=payment.wedding_id,
            paid_before=paid_before,
            due_before=due_before,
            paid=payment.paid,
            due=payment.due,
            paid_total=paid_in(payment.wedding_id, payment.currency),
        )


def paid_in(wedding_id, currency: str) -> Decimal:
    """What the wedding has paid in the currency, all vendors together."""
    payments = Payment.objects.filter(wedding_id=wedding_id, currency=currency)
    return sum((p.paid for p in payments), Decimal(0))


def _fully_refunded(fields: dict[str, Any]) -> bool:
    return str(fields.get("status") or "").strip().lower() == "refunded"


def budget(wedding: Wedding) -> dict[str, Any]:
    """The wedding's payments rolled up per currency and per vendor."""
    payments = list(
        Payment.objects.filter(wedding=wedding)
        .select_related("organization")
        .order_by("currency", "organization__name", "created_at")
    )
    totals: dict[str, dict[str, Decimal]] = {}
    vendors: dict[tuple[str, str], dict[str, Any]] = {}
    for payment in payments:
        total = totals.setdefault(
            payment.currency, {"paid": Decimal(0), "refunded": Decimal(0), "due": Decimal(0)}
        )
        total["paid"] += payment.paid
        total["refunded"] += payment.amount_refunded
        total["due"] += payment.due
        vendor = vendors.setdefault(
            (str(payment.organization_id), payment.currency),
            {
                "organization": str(payment.organization_id),
                "name": payment.organization.name,
                "currency": payment.currency,
                "paid": Decimal(0),
                "due": Decimal(0),
                "payments": 0,
            },
        )
        vendor["paid"] += payment.paid
        vendor["due"] += payment.due
        vendor["payments"] += 1
    return {
        "wedding": str(wedding.pk),
        "totals": [{"currency": code, **sums} for code, sums in sorted(totals.items())],
        "vendors": list(vendors.values()),
        "payments": payments,
    }
