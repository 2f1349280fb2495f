"""Webhook authenticity: one verifier per scheme in specs.WEBHOOK_SCHEMES, plus handshakes and ids.

Pure functions over a `Delivery`, so the endpoint, the emulators and the tests share one
implementation and none of it needs a database. Every scheme signs (or echoes a token) over the
raw bytes, so build the Delivery from `request.body` before anything parses it.

Secrets and signatures are only ever compared with hmac.compare_digest. A failure raises
VerificationError, whose `reason` is a fixed phrase: never the secret, never the signature we
expected. Timestamped schemes check the header's shape, then the signature, then freshness, so
"stale timestamp" only ever describes an authentic delivery that arrived late (a replay).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import stripe
from slack_sdk.signature import SignatureVerifier
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

TEXT = "text/plain"
# verify() cannot prove these authentic by itself: the caller must also ask the provider.
NEEDS_PROVIDER_CONFIRMATION = frozenset({"paypal"})
PAYPAL_HEADERS = (
    "paypal-transmission-id",
    "paypal-transmission-time",
    "paypal-transmission-sig",
    "paypal-cert-url",
    "paypal-auth-algo",
)
_DEFAULT_PORTS = {"https": "443", "http": "80"}


class VerificationError(Exception):
    """A delivery that must not be trusted; `reason` is short and safe to log or return."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Delivery:
    """One inbound HTTP delivery, exactly as received.

    body     the raw request bytes
    headers  HTTP header names (Django's request.headers, not META); stored lower-cased so
             lookups ignore case; of two names differing only in case, the later wins
    url      the full URL the provider posted to, as the provider saw it: Twilio and Square sign
             it, so behind a proxy rebuild the public scheme, host and port
    query    the decoded query parameters, one value each
    """

    body: bytes
    headers: Mapping[str, str]
    url: str
    query: Mapping[str, str]

    def __post_init__(self) -> None:
        # Index each mapping rather than copying it: a Django QueryDict copies as lists.
        headers = {str(name).lower(): self.headers[name] for name in self.headers}
        object.__setattr__(self, "body", bytes(self.body))
        object.__setattr__(self, "headers", MappingProxyType(headers))
        object.__setattr__(self, "query", MappingProxyType({k: self.query[k] for k in self.query}))

    def header(self, name: str) -> str | None:
        """The header's value, or None when it is absent or empty."""
        return self.headers.get(name.lower()) or None


# -- shared pieces ----------------------------------------------------------------------------


def _same(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time equality; str is encoded first, as compare_digest rejects non-ASCII str."""
    return hmac.compare_digest(
        a.encode() if isinstance(a, str) else a, b.encode() if isinstance(b, str) else b
    )


def _mac(key: str, message: bytes, digest: Any = hashlib.sha256) -> bytes:
    return hmac.new(key.encode(), message, digest).digest()


def _required(delivery: Delivery, name: str, reason: str = "missing signature header") -> str:
    value = delivery.header(name)
    if value is None:
        raise VerificationError(reason)
    return value


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise VerificationError("body is not UTF-8") from None


def _unix_time(value: str) -> int:
    """Whole seconds, digits only: the signed string must be the header exactly as sent."""
    if not (value.isascii() and value.isdigit()) or len(value) > 10:
        raise VerificationError("malformed timestamp")
    return int(value)


def _iso_time(value: str) -> float:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise VerificationError("malformed timestamp") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _check_fresh(sent_at: float, now: float | None, tolerance_s: int) -> None:
    """Symmetric window: Stripe's SDK only refuses old stamps, but far-future ones replay too."""
    now = time.time() if now is None else now
    if sent_at < now - tolerance_s:
        raise VerificationError("stale timestamp")
    if sent_at > now + tolerance_s:
        raise VerificationError("timestamp in the future")


def _timestamped(header: str) -> tuple[str, list[str]]:
    """'t=1,v1=a,v1=b' (Stripe, Calendly) -> ('1', ['a', 'b']); exactly one t, some v1."""
    pairs: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            pairs.setdefault(key, []).append(value)
    stamps, signatures = pairs.get("t", []), pairs.get("v1", [])
    if len(stamps) != 1 or not signatures:
        raise VerificationError("malformed signature header")
    return stamps[0], signatures


# -- one verifier per scheme ------------------------------------------------------------------


def _stripe(delivery: Delivery, secret: str, now: float | None, tolerance_s: int) -> None:
    """Stripe's SDK checks the v1 signatures; it reads the wall clock, so freshness is ours."""
    header = _required(delivery, "stripe-signature")
    sent_at = _unix_time(_timestamped(header)[0])
    try:
        stripe.WebhookSignature.verify_header(_text(delivery.body), header, secret, tolerance=None)
    except stripe.SignatureVerificationError:
        raise VerificationError("bad signature") from None
    _check_fresh(sent_at, now, tolerance_s)


def _standard_webhooks(
    delivery: Delivery, secret: str, now: float | None, tolerance_s: int
) -> None:
    """The standardwebhooks package decodes the whsec_ secret and signs; its verify() reads the
    wall clock with a fixed window and lets malformed headers escape as ValueError, so the
    header parsing, comparison and freshness are done here."""
    msg_id = _required(delivery, "webhook-id")
    stamp = _required(delivery, "webhook-timestamp")
    offered = _required(delivery, "webhook-signature")
    sent_at = _unix_time(stamp)
    try:
        signer = Webhook(secret)
    except (ValueError, EmptyWebhookSecretError):
        raise VerificationError("unusable secret") from None
    signed = signer.sign(msg_id, datetime.fromtimestamp(sent_at, UTC), _text(delivery.body))
    expected = base64.b64decode(signed.partition(",")[2])
    if not any(_same(expected, candidate) for candidate in _v1_signatures(offered)):
        raise VerificationError("bad signature")
    _check_fresh(sent_at, now, tolerance_s)


def _v1_signatures(header: str) -> Iterator[bytes]:
    """Space-separated 'v1,<base64>' entries; other versions and junk are skipped."""
    for entry in header.split():
        version, sep, value = entry.partition(",")
        if version == "v1" and sep:
            try:
                yield base64.b64decode(value, validate=True)
            except binascii.Error:
                continue


def _slack(delivery: Delivery, secret: str, now: float | None, tolerance_s: int) -> None:
    offered = _required(delivery, "x-slack-signature")
    stamp = _required(delivery, "x-slack-request-timestamp")
    sent_at = _unix_time(stamp)
    expected = SignatureVerifier(secret).generate_signature(
        timestamp=stamp, body=_text(delivery.body)
    )
    if expected is None or not _same(expected, offered):
        raise VerificationError("bad signature")
    _check_fresh(sent_at, now, tolerance_s)


def _twilio(delivery: Delivery, secret: str, now: float | None, tolerance_s: int) -> None:
    """Form bodies: the URL plus sorted params is signed. JSON bodies: the URL carries
    bodySHA256 and is signed alone, then the body must hash to it."""
    offered = _required(delivery, "x-twilio-signature")
    body_hash = parse_qs(urlsplit(delivery.url).query).get("bodySHA256")
    params = {} if body_hash else parse_qs(_text(delivery.body), keep_blank_values=True)
    if not any(
        _same(_twilio_signature(secret, url, params), offered)
        for url in _port_variants(delivery.url)
    ):
        raise VerificationError("bad signature")
    if body_hash and not _same(hashlib.sha256(delivery.body).hexdigest(), body_hash[0].lower()):
        raise VerificationError("body hash mismatch")


def _twilio_signature(token: str, url: str, params: Mapping[str, list[str]]) -> str:
    message = url + "".join(
        name + value for name in sorted(params) for value in sorted(params[name])
    )
    return base64.b64encode(_mac(token, message.encode(), hashlib.sha1)).decode()


def _port_variants(url: str) -> list[str]:
    """The URL as given, plus it with the default port added or dropped: Twilio signs the URL
    as configured, and a proxy may or may not show ':443'."""
    netloc = urlsplit(url).netloc
    start = url.find("://") + 3
    default = _DEFAULT_PORTS.get(url[: max(start - 3, 0)].lower())
    if start < 3 or default is None or url[start : start + len(netloc)] != netloc:
        return [url]
    head, tail = url[:start], url[start + len(netloc) :]
    host, colon, port = netloc.rpartition(":")
    if colon and port.isdigit():
        return [url, head + host + tail] if port == default else [url]
    return [url, f"{head}{netloc}:{default}{tail}"]


def _square(delivery: Delivery, secret: str, now: float | None, tolerance_s: int) -> None:
    """Only the HMAC-SHA256 header; the deprecated SHA-1 x-square-signature is not accepted."""
    offered = _required(delivery, "x-square-hmacsha256-signature")
    expected = base64.b64encode(_mac(secret, delivery.url.encode() + delivery.body)).decode()
    if not _same(expected, offered):
        raise VerificationError("bad signature")


def _whatsapp(delivery: Delivery, secret: str, now: float | None, tolerance_s: int) -> None:
    algorithm, sep, offered = _required(delivery, "x-hub-signature-256").partition("=")
    if algorithm != "sha256" or not sep:
        raise VerificationError("malformed signature header")
    if not _same(_mac(secret, delivery.body).hex(), offered.lower()):
        raise VerificationError("bad signature")


def _acuity(delivery: Delivery, secret: str, now: float | None, tolerance_s: int) -> None:
    """No timestamp in this scheme: replays can only be caught by de-duplication."""
    offered = _required(delivery, "x-acuity-signature")
    if not _same(base64.b64encode(_mac(secret, delivery.body)).decode(), offered):
        raise VerificationError("bad signature")


def _calendly(delivery: Delivery, secret: str, now: float | None, tolerance_s: int) -> None:
    stamp, offered = _timestamped(_required(delivery, "calendly-webhook-signature"))
    sent_at = _unix_time(stamp)
    expected = _mac(secret, stamp.encode() + b"." + delivery.body).hex()
    if not any(_same(expected, candidate.lower()) for candidate in offered):
        raise VerificationError("bad signature")
    _check_fresh(sent_at, now, tolerance_s)


def _paypal(delivery: Delivery, secret: str, now: float | None, tolerance_s: int) -> None:
    """Header presence and freshness only: NOT proof of authenticity. PayPal signs with RSA
    keys it serves itself; the caller must POST paypal_verification_request() to
    /v1/notifications/verify-webhook-signature and require verification_status SUCCESS.
    `secret` is not used."""
    for name in PAYPAL_HEADERS:
        _required(delivery, name, "missing transmission headers")
    _check_fresh(_iso_time(_required(delivery, "paypal-transmission-time")), now, tolerance_s)


def _google_channel(delivery: Delivery, secret: str, now: float | None, tolerance_s: int) -> None:
    """No HMAC: the channel token we set on watch is echoed back and is the whole proof."""
    _required(delivery, "x-goog-channel-id", "missing channel id")
    token = _required(delivery, "x-goog-channel-token", "missing channel token")
    if not _same(token, secret):
        raise VerificationError("bad channel token")


def _graph_client_state(
    delivery: Delivery, secret: str, now: float | None, tolerance_s: int
) -> None:
    """No HMAC: every notification in the batch must echo the subscription's clientState."""
    notifications = _list(_json(delivery), "value")
    if not notifications or not all(isinstance(item, dict) for item in notifications):
        raise VerificationError("malformed notification body")
    for item in notifications:
        state = item.get("clientState")
        if not isinstance(state, str) or not _same(state, secret):
            raise VerificationError("bad clientState")


def _shared_secret(delivery: Delivery, secret: str, now: float | None, tolerance_s: int) -> None:
    """X-WedSync-Secret or 'Authorization: Bearer <secret>', for senders that cannot sign."""
    offered = [value] if (value := delivery.header("x-wedsync-secret")) else []
    kind, _, token = (delivery.header("authorization") or "").partition(" ")
    if kind.lower() == "bearer" and token.strip():
        offered.append(token.strip())
    if not offered:
        raise VerificationError("missing secret header")
    if not any(_same(candidate, secret) for candidate in offered):
        raise VerificationError("bad secret")


def _none(delivery: Delivery, secret: str, now: float | None, tolerance_s: int) -> None:
    raise VerificationError("unsigned deliveries are never trusted")


_VERIFIERS: dict[str, Callable[[Delivery, str, float | None, int], None]] = {
    "none": _none,
    "shared_secret": _shared_secret,
    "stripe": _stripe,
    "standard_webhooks": _standard_webhooks,
    "slack": _slack,
    "twilio": _twilio,
    "square": _square,
    "whatsapp": _whatsapp,
    "acuity": _acuity,
    "calendly": _calendly,
    "paypal": _paypal,
    "google_channel": _google_channel,
    "graph_client_state": _graph_client_state,
}
_SECRETLESS = frozenset({"none", "paypal"})


def verify(
    scheme: str,
    delivery: Delivery,
    secret: str,
    *,
    now: float | None = None,
    tolerance_s: int = 300,
) -> None:
    """Raise VerificationError unless `delivery` is authentic under `scheme`.

    `secret` is the connection's signing secret, token or key for that scheme. `now` (Unix
    seconds) and `tolerance_s` govern the timestamped schemes. For schemes in
    NEEDS_PROVIDER_CONFIRMATION (PayPal) passing is necessary but not sufficient.
    Unknown schemes raise ValueError: that is a programming error, not a bad delivery.
    """
    check = _VERIFIERS.get(scheme)
    if check is None:
        raise ValueError(f"unknown webhook scheme: {scheme!r}")
    if scheme not in _SECRETLESS and not (secret or "").strip():
        raise VerificationError("no secret configured")
    check(delivery, secret, now, tolerance_s)


def paypal_verification_request(delivery: Delivery, webhook_id: str) -> dict[str, Any]:
    """The JSON body for PayPal's POST /v1/notifications/verify-webhook-signature.

    `webhook_id` is the id of our webhook configuration at PayPal, not the event's id. The
    caller POSTs this with its OAuth token and trusts the event only on
    {"verification_status": "SUCCESS"}.
    """
    values = {
        name: _required(delivery, name, "missing transmission headers") for name in PAYPAL_HEADERS
    }
    event = _json(delivery)
    if not isinstance(event, dict):
        raise VerificationError("malformed body")
    return {
        "auth_algo": values["paypal-auth-algo"],
        "cert_url": values["paypal-cert-url"],
        "transmission_id": values["paypal-transmission-id"],
        "transmission_sig": values["paypal-transmission-sig"],
        "transmission_time": values["paypal-transmission-time"],
        "webhook_id": webhook_id,
        "webhook_event": event,
    }


# -- subscription handshakes ------------------------------------------------------------------


def handshake_response(
    scheme: str,
    delivery: Delivery,
    secret: str,
    *,
    now: float | None = None,
    tolerance_s: int = 300,
) -> tuple[int, str, str] | None:
    """(status, body, content type) when `delivery` is a subscription handshake, else None.

    WhatsApp: `secret` is the verify token typed into Meta's dashboard (wrong token -> 403).
    Graph: the validationToken is echoed; Graph sends nothing to verify it by.
    Slack: url_verification is answered only once signed; a bad one raises VerificationError.
    """
    if scheme == "whatsapp":
        return _whatsapp_handshake(delivery, secret)
    if scheme == "graph_client_state" and "validationToken" in delivery.query:
        return 200, delivery.query["validationToken"], TEXT
    if scheme == "slack":
        payload = _json(delivery)
        if isinstance(payload, dict) and payload.get("type") == "url_verification":
            verify(scheme, delivery, secret, now=now, tolerance_s=tolerance_s)
            challenge = payload.get("challenge")
            if not isinstance(challenge, str) or not challenge:
                return 400, "missing challenge", TEXT
            return 200, challenge, TEXT
    return None


def _whatsapp_handshake(delivery: Delivery, token: str) -> tuple[int, str, str] | None:
    mode = delivery.query.get("hub.mode")
    if mode is None:
        return None
    challenge = delivery.query.get("hub.challenge", "")
    offered = delivery.query.get("hub.verify_token", "")
    if mode == "subscribe" and challenge and token and _same(offered, token):
        return 200, challenge, TEXT
    return 403, "forbidden", TEXT


# -- ids and types, for de-duplication and routing --------------------------------------------


def _json(delivery: Delivery) -> Any:
    try:
        return json.loads(delivery.body)
    except (ValueError, RecursionError):
        return None


def _form(delivery: Delivery) -> dict[str, str]:
    try:
        return dict(parse_qsl(delivery.body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return {}


def _field(data: Any, *path: str) -> str | None:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, str) and data else None


def _list(data: Any, key: str) -> list[Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def _whatsapp_values(delivery: Delivery) -> list[tuple[str | None, dict[str, Any]]]:
    """(field, value) of every entry[].changes[]."""
    return [
        (_field(change, "field"), change["value"])
        for entry in _list(_json(delivery), "entry")
        for change in _list(entry, "changes")
        if isinstance(change, dict) and isinstance(change.get("value"), dict)
    ]


def _whatsapp_id(delivery: Delivery) -> str | None:
    """Only a single-item delivery gets an id: a joined list could outgrow the stored key, and
    Meta retries a batch byte for byte, so the body hash de-duplicates it as well."""
    ids: set[str] = set()
    for _, value in _whatsapp_values(delivery):
        for message in _list(value, "messages"):
            if mid := _field(message, "id"):
                ids.add(mid)
        for status in _list(value, "statuses"):
            sid, state = _field(status, "id"), _field(status, "status")
            if sid and state:
                ids.add(f"{sid}:{state}")
    return ids.pop() if len(ids) == 1 else None


def _twilio_id(delivery: Delivery) -> str | None:
    form = _form(delivery)
    sid = form.get("MessageSid") or form.get("SmsSid")
    status = form.get("MessageStatus")
    return (f"{sid}:{status}" if status else sid) if sid else None


def _google_id(delivery: Delivery) -> str | None:
    channel, number = delivery.header("x-goog-channel-id"), delivery.header("x-goog-message-number")
    return f"{channel}:{number}" if channel and number else None


def _only(values: list[str | None]) -> str | None:
    distinct = set(values)
    return distinct.pop() if len(distinct) == 1 else None


# Acuity, Calendly and Graph resend the same fields for distinct changes (an appointment
# "changed" twice, one event updated twice), so they get no id: the body hash tells them apart.
_EVENT_IDS: dict[str, Callable[[Delivery], str | None]] = {
    "stripe": lambda d: _field(_json(d), "id"),
    "standard_webhooks": lambda d: d.header("webhook-id"),
    "slack": lambda d: _field(_json(d), "event_id"),
    "twilio": _twilio_id,
    "square": lambda d: _field(_json(d), "event_id"),
    "whatsapp": _whatsapp_id,
    "paypal": lambda d: _field(_json(d), "id"),
    "google_channel": _google_id,
}

_EVENT_TYPES: dict[str, Callable[[Delivery], str | None]] = {
    "stripe": lambda d: _field(_json(d), "type"),
    "standard_webhooks": lambda d: _field(_json(d), "type"),
    "slack": lambda d: _field(_json(d), "event", "type") or _field(_json(d), "type"),
    "twilio": lambda d: _form(d).get("MessageStatus") or _form(d).get("SmsStatus") or None,
    "square": lambda d: _field(_json(d), "type"),
    "whatsapp": lambda d: _only([name for name, _ in _whatsapp_values(d)]),
    "acuity": lambda d: _form(d).get("action") or None,
    "calendly": lambda d: _field(_json(d), "event"),
    "paypal": lambda d: _field(_json(d), "event_type"),
    "google_channel": lambda d: d.header("x-goog-resource-state"),
    "graph_client_state": lambda d: _graph_batch_type(
        [_field(n, "lifecycleEvent") or _field(n, "changeType") for n in _list(_json(d), "value")]
    ),
}

GRAPH_DATA_CHANGES = frozenset({"created", "updated", "deleted"})


def _graph_batch_type(values: list[str | None]) -> str | None:
    """Graph batches notifications, and one POST may mix created, updated and deleted. Each
    only makes the hub pull the delta, so a mix of data changes reads as `updated`; a mix with
    a lifecycle event has no single type."""
    if (single := _only(values)) is not None:
        return single
    if values and set(values) <= GRAPH_DATA_CHANGES:
        return "updated"
    return None


def event_id(scheme: str, delivery: Delivery) -> str | None:
    """The provider's own id for this delivery, when it has a trustworthy one; else None and
    the caller de-duplicates on a SHA-256 of the body. Never raises on a malformed body."""
    reader = _EVENT_IDS.get(scheme)
    return reader(delivery) if reader else None


def event_type(scheme: str, delivery: Delivery) -> str | None:
    """The provider's event type (Stripe `type`, Google's resource state, ...), or None."""
    reader = _EVENT_TYPES.get(scheme)
    return reader(delivery) if reader else None
