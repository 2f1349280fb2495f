"""A payment's state in the providers' words, read as the budget's: pending, paid, refunded,
failed or canceled. Stripe's PaymentIntent statuses, Square's and PayPal's capture statuses,
Táve's payment statuses (posted; future and confirmed-future for scheduled ones) and the plain
words a bridge (Zapier, Make) posts."""

from __future__ import annotations

from typing import Any

from .models import Payment

STATES = {
    Payment.State.PAID: {
        "succeeded",
        "completed",
        "complete",
        "paid",
        "captured",
        "settled",
        "posted",
    },
    Payment.State.PENDING: {
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
        "processing",
        "requires_capture",
        "approved",
        "pending",
        "created",
        "open",
        "unpaid",
        "due",
        "future",
        "confirmed-future",
    },
    Payment.State.REFUNDED: {"refunded", "partially_refunded"},
    Payment.State.FAILED: {"failed", "declined", "denied"},
    Payment.State.CANCELED: {"canceled", "cancelled", "voided", "void"},
}
_BY_WORD = {word: state for state, words in STATES.items() for word in words}


def state_of(status: Any) -> str:
    return _BY_WORD.get(str(status or "").strip().lower(), Payment.State.OTHER)
