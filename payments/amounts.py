"""Money as the providers send it: Stripe's and Square's integer minor units, PayPal's and the
bridges' decimal strings of major units; ISO 4217 currencies without minor units stay whole."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"}
    | {"PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)


def major_units(amount: Any, currency: Any) -> Decimal | None:
    """1500 (GBP, an int from Stripe) -> Decimal('15.00'); '15.00' (PayPal) -> Decimal('15.00');
    None for a missing or unreadable amount."""
    if amount in (None, "") or isinstance(amount, bool):
        return None
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return None
    if not value.is_finite():
        return None
    code = str(currency or "").upper()
    if isinstance(amount, int) and code not in ZERO_DECIMAL:
        value = value / 100
    return value.quantize(Decimal("1" if code in ZERO_DECIMAL else "0.01"))


def shown(value: Decimal | None, currency: Any) -> str:
    """`GBP 1,500.00`."""
    code = str(currency or "").upper()
    if value is None:
        return code
    places = Decimal("1" if code in ZERO_DECIMAL else "0.01")
    return f"{code} {value.quantize(places):,}".strip()
