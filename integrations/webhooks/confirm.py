"""Asking the provider whether a delivery is its own, for schemes whose signature the hub does
not check itself (PayPal: RSA with certificates PayPal serves; its API judges them)."""

from __future__ import annotations

import logging

from integrations.errors import ProviderError
from integrations.models import Connection
from integrations.specs import ProviderSpec

from . import verify
from .answers import Answer, refuse

logger = logging.getLogger(__name__)


def refusal_unless_confirmed(
    connection: Connection, spec: ProviderSpec, delivery: verify.Delivery, secret: str
) -> Answer | None:
    """None when the provider confirms the delivery; otherwise the answer that refuses it.

    Nothing is stored before this returns None. When the provider cannot be asked, the answer
    is 503 and nothing is stored: the provider delivers again later (PayPal retries for days).
    """
    from integrations import services

    try:
        confirmed = services.adapter_for(connection).confirm_webhook(delivery, secret)
    except verify.VerificationError as error:
        return refuse(401, f"signature verification failed: {error.reason}")
    except ProviderError as error:
        logger.warning(
            "webhook for connection %s not confirmed: %s unavailable (%s)",
            connection.pk,
            spec.name,
            error.kind,
        )
        return refuse(503, f"{spec.name} could not confirm the signature now; deliver it again")
    if not confirmed:
        logger.warning(
            "webhook for connection %s refused: %s did not confirm it", connection.pk, spec.name
        )
        return refuse(401, f"signature verification failed: {spec.name} did not confirm it")
    return None
