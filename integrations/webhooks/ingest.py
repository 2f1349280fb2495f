"""Receiving a webhook: verify, store durably, acknowledge; processing is queued after commit.

Order matters. Nothing from the body is trusted before its signature (or the connection's shared
secret) is verified over the raw bytes; the event is committed with its dedup key before the
provider gets its 2xx; the processing task is queued only once the commit has happened, and a
sweep re-queues whatever a lost task or a dead broker left behind.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from django.conf import settings
from django.utils import timezone

from integrations.http import dig
from integrations.models import Connection, InboundEvent
from integrations.models.inbound import UNSTORED_HEADERS
from integrations.registry import get_provider
from integrations.specs import ProviderSpec

from . import verify
from .answers import Answer, refuse
from .confirm import refusal_unless_confirmed
from .lookup import cached_connection, connection_for_token

logger = logging.getLogger(__name__)

FORM_SCHEMES = frozenset({"twilio", "acuity"})
BODYLESS_SCHEMES = frozenset({"google_channel"})  # the notification is all in the headers


def max_body_bytes() -> int:
    return int(getattr(settings, "WEBHOOK_MAX_BODY_BYTES", 1024 * 1024))


def expected_content_type(scheme: str) -> str | None:
    if scheme in BODYLESS_SCHEMES:
        return None
    return "application/x-www-form-urlencoded" if scheme in FORM_SCHEMES else "application/json"


def parse_payload(scheme: str, delivery: verify.Delivery, content_type: str) -> Any:
    """The body as data; ValueError names what is wrong with it."""
    expected = expected_content_type(scheme)
    if expected is None:
        return {}
    if content_type.split(";")[0].strip().lower() != expected:
        raise ValueError(f"expected Content-Type {expected}, got {content_type or 'none'}")
    if expected == "application/json":
        try:
            return json.loads(delivery.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"the body is not valid JSON: {error}") from None
    try:
        return dict(parse_qsl(delivery.body.decode(), keep_blank_values=True, strict_parsing=False))
    except UnicodeDecodeError:
        raise ValueError("the form body is not valid UTF-8") from None


def event_type_of(scheme: str, delivery: verify.Delivery, payload: Any) -> str:
    found = verify.event_type(scheme, delivery)
    if found:
        return found
    if isinstance(payload, dict):
        for key in ("event", "type", "event_type"):
            if isinstance(payload.get(key), str):
                return payload[key]
    return delivery.query.get("event", "")


HASHED_KEY = "sha256:"  # the prefix of a dedup key made from the body (no event id)


def dedup_key_of(scheme: str, delivery: verify.Delivery, event_type: str) -> str:
    found = verify.event_id(scheme, delivery)
    if found:
        return f"id:{found}"[:200]
    digest = hashlib.sha256(event_type.encode() + b"\n" + delivery.body).hexdigest()
    return f"{HASHED_KEY}{digest}"


def storable_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: storable_text(v) for k, v in headers.items() if k.lower() not in UNSTORED_HEADERS}


def storable_text(text: str) -> str:
    """`text` as PostgreSQL's text takes it (a whole batch of deliveries would fail with it):
    a NUL becomes U+FFFD, a lone surrogate (JSON's "\\ud800") "?". The raw body is stored
    as bytes, untouched."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode()
    except UnicodeEncodeError:
        text = text.encode(errors="replace").decode()
    return text


def handshake_token(connection: Connection, scheme: str, secret: str) -> str:
    """What a subscription handshake is checked against: for WhatsApp the verify token the hub
    chose for the connection (never the App Secret that signs deliveries); else the secret."""
    if scheme == "whatsapp":
        return connection.webhook_verify_token or ""
    return secret


def secret_for(connection: Connection) -> str | None:
    """What verifies the connection's webhooks: a credential for providers that sign with one
    (Twilio's Auth Token), else the webhook secret kept for the connection."""
    return connection.webhook_verification_secret


# Twilio reads the answer to a message webhook as TwiML: an empty <Response/> sends no reply
# (JSON would be logged as error 12300, text/plain would go back to the sender as an SMS).
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
TWIML_SCHEMES = frozenset({"twilio"})


def acknowledgement(scheme: str, answer: Answer) -> Answer:
    """The answer as the provider wants an acknowledgement: TwiML for Twilio."""
    if scheme in TWIML_SCHEMES and answer.status < 300:
        return Answer(answer.status, EMPTY_TWIML, "text/xml")
    return answer


def with_query_secret(scheme: str, delivery: verify.Delivery) -> verify.Delivery:
    """Providers that cannot send headers (Tave's REST Hooks) carry the shared secret in the
    URL we subscribed with; present it to the verifier the way a header would be."""
    if scheme != "shared_secret" or "key" not in delivery.query:
        return delivery
    headers = {**delivery.headers, "X-WedSync-Secret": delivery.query["key"]}
    return verify.Delivery(
        body=delivery.body, headers=headers, url=delivery.url, query=delivery.query
    )


@dataclass(frozen=True)
class Admitted:
    """A verified delivery, ready to be written: its row, and whose drain to wake once it is."""

    values: dict[str, Any]
    scheme: str
    connection_id: Any
    organization_id: int

    @property
    def status(self) -> str:
        return self.values["status"]


def admit_at_connection(
    token: str, delivery: verify.Delivery, *, method: str, content_type: str
) -> Answer | Admitted:
    """A delivery to a connection's own URL: refused, answered (a handshake), or admitted."""
    if len(delivery.body) > max_body_bytes():
        return refuse(413, f"the body is larger than {max_body_bytes()} bytes")
    connection = connection_for_token(token)
    if connection is None:
        return refuse(404, "no connection has this webhook URL")
    try:
        spec = connection.spec
    except LookupError:
        return refuse(404, "this connection's provider is no longer offered")
    return admit(connection, spec, delivery, method=method, content_type=content_type)


class Deferred(enum.Enum):
    """Why `admit_known` could not admit a delivery without blocking."""

    NEEDS_DATABASE = "database"  # the connection is not in the lookup's cache
    NEEDS_PROVIDER = "provider"  # its scheme asks the provider (PayPal's verify API)


def admit_known(
    token: str, delivery: verify.Delivery, *, method: str, content_type: str
) -> Answer | Admitted | Deferred:
    """`admit_at_connection` without blocking, for an event loop, or why that cannot be."""
    connection = cached_connection(token)
    if connection is None:
        return Deferred.NEEDS_DATABASE
    try:
        scheme = connection.spec.webhook_scheme
    except LookupError:
        return Deferred.NEEDS_DATABASE
    if scheme in verify.NEEDS_PROVIDER_CONFIRMATION:
        return Deferred.NEEDS_PROVIDER
    return admit(connection, connection.spec, delivery, method=method, content_type=content_type)


def admit(
    connection: Connection,
    spec: ProviderSpec,
    delivery: verify.Delivery,
    *,
    method: str,
    content_type: str,
    secret: str | None = None,
) -> Answer | Admitted:
    """Everything before the write for one delivery to a known connection."""
    scheme = spec.webhook_scheme
    secret = secret if secret is not None else secret_for(connection)
    if len(delivery.body) > max_body_bytes():
        return refuse(413, f"the body is larger than {max_body_bytes()} bytes")
    if not secret:
        logger.warning(
            "webhook for %s refused: the connection has no webhook secret", connection.pk
        )
        return refuse(401, "this connection has no webhook secret; relink it")
    checked = verified(
        scheme,
        delivery,
        secret,
        handshake_secret=handshake_token(connection, scheme, secret),
        method=method,
        content_type=content_type,
        sender=f"connection {connection.pk}",
    )
    if isinstance(checked, Answer):
        return checked
    delivery, payload = checked
    if scheme in verify.NEEDS_PROVIDER_CONFIRMATION:
        refusal = refusal_unless_confirmed(connection, spec, delivery, secret)
        if refusal is not None:
            return refusal
    return admitted(connection, spec, delivery, event_type_of(scheme, delivery, payload))


def verified(
    scheme: str,
    delivery: verify.Delivery,
    secret: str,
    *,
    handshake_secret: str,
    method: str,
    content_type: str,
    sender: str,
) -> Answer | tuple[verify.Delivery, Any]:
    """The delivery (a shared secret from the URL presented as a header) and its parsed body,
    once its signature is verified over the raw bytes; or the answer instead: a subscription
    handshake (before the signature for a GET or Graph's validationToken, after it for one in
    the body), 401 for a bad signature (logged as `sender`'s, never with the secret), 400 for a
    bad body."""
    if method == "GET" or "validationToken" in delivery.query:
        handshake = verify.handshake_response(scheme, delivery, handshake_secret)
        if handshake is None:
            return refuse(405, "this endpoint takes POST")
        return Answer(*handshake)
    delivery = with_query_secret(scheme, delivery)
    try:
        verify.verify(scheme, delivery, secret)
    except verify.VerificationError as error:
        logger.warning("webhook for %s refused: %s", sender, error.reason)
        return refuse(401, f"signature verification failed: {error.reason}")
    try:
        payload = parse_payload(scheme, delivery, content_type)
    except ValueError as error:
        return refuse(400, str(error))
    handshake = verify.handshake_response(scheme, delivery, handshake_secret)
    if handshake is not None:
        return Answer(*handshake)
    return delivery, payload


def admit_at_provider(
    provider: str, delivery: verify.Delivery, *, method: str, content_type: str
) -> Answer | Admitted:
    """A delivery to a provider's fixed URL: checked with our app's signing secret for that
    provider, for the connection whose account id the body names."""
    try:
        spec = get_provider(provider)
    except LookupError:
        return refuse(404, f"unknown provider '{provider}'")
    secret = settings.WEBHOOK_APP_SECRETS.get(spec.key)
    if spec.webhook_route != "provider" or not secret:
        return refuse(404, f"{spec.name} posts to each connection's own URL")
    if len(delivery.body) > max_body_bytes():
        return refuse(413, f"the body is larger than {max_body_bytes()} bytes")
    checked = verified(
        spec.webhook_scheme,
        delivery,
        secret,
        handshake_secret=secret,
        method=method,
        content_type=content_type,
        sender=spec.key,
    )
    if isinstance(checked, Answer):
        return checked
    delivery, payload = checked
    account = dig(payload, spec.webhook_account_path)
    connection = (
        Connection.objects.exclude(status=Connection.Status.REVOKED)
        .filter(provider=spec.key, external_account_id=str(account or ""))
        .first()
        if account
        else None
    )
    if connection is None:
        return refuse(404, f"no connection for this {spec.name} account")
    event_type = event_type_of(spec.webhook_scheme, delivery, payload)
    return admitted(connection, spec, delivery, event_type)


def admitted(
    connection: Connection, spec: ProviderSpec, delivery: verify.Delivery, event_type: str
) -> Admitted:
    """The row a verified delivery is stored as: held while the connection is paused, ignored
    when the provider's spec does not take its event type, else received (to be processed)."""
    event_type = storable_text(event_type)
    if connection.status == Connection.Status.PAUSED:
        status = InboundEvent.Status.HELD
    elif event_type not in spec.webhook_events:
        status = InboundEvent.Status.IGNORED
    else:
        status = InboundEvent.Status.RECEIVED
    values = {
        "connection": connection.pk,
        "provider": spec.key,
        "dedup_key": storable_text(dedup_key_of(spec.webhook_scheme, delivery, event_type)),
        "event_type": event_type[:200],
        "body": delivery.body,
        "headers": storable_headers(dict(delivery.headers)),
        "status": status,
        "attempts": 0,
        "last_error": "",
        "outcome": "" if status != InboundEvent.Status.IGNORED else "unsupported event type",
        "received_at": timezone.now(),
    }
    return Admitted(values, spec.webhook_scheme, connection.pk, connection.organization_id)
