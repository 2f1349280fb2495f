"""Validators shared by the domain models."""

import zoneinfo
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    """An IANA time zone name such as Europe/London."""
    if value not in _time_zones():
        raise ValidationError(
            "%(value)s is not a known IANA time zone (for example Europe/London).",
            params={"value": value},
            code="invalid_time_zone",
        )


validate_e164_phone = RegexValidator(
    r"^\+[1-9]\d{6,14}$",
    "Enter the phone number in international format, for example +447700900123.",
    code="invalid_phone",
)
