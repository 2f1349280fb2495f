"""An in-memory PayPal account: the REST calls the hub makes, plus signed webhook deliveries.

Contract: VENDORS.md section C3 "PayPal", the compact "PayPal" notes after section F and the
PayPal test vector of section E (`crc32_of` reproduces it); what they leave out follows
developer.paypal.com/api/rest/ (authentication, responses, webhooks and payments v2 pages). The
paths are PayPal's own, so a client pointed at `emu.base_url` needs nothing else.

What the emulator serves:

* `POST /v1/oauth2/token`: HTTP Basic `client_id:client_secret` of an app made with `add_app`,
  form `grant_type=client_credentials`; answers a Bearer token valid for `expires_in` seconds.
  OAuth errors use `{"error", "error_description"}` (401 `invalid_client`, 400
  `unsupported_grant_type`).
* Every other API call needs `Authorization: Bearer <token from this emulator>`, else 401
  `AUTHENTICATION_FAILURE`. Errors use PayPal's `{name, message, debug_id, details, links}`
  envelope, injected faults included (429 is `RATE_LIMIT_REACHED`); every answer carries a
  `Paypal-Debug-Id` header.
* `GET /v1/notifications/webhooks`: the account's webhook configurations.
* `POST /v1/notifications/verify-webhook-signature`: SUCCESS only for a delivery this emulator
  sent, whose parsed event is unchanged, to one of its webhooks, signed with its own key, and
  naming its cert URL; FAILURE otherwise. A missing field is a 400 `INVALID_REQUEST`.
* `GET /v2/payments/captures/{id}`: a capture (404 `RESOURCE_NOT_FOUND` when unknown).
* `GET /v1/notifications/certs/{name}`: the self-signed X.509 certificate (PEM, no auth) that
  `PAYPAL-CERT-URL` names; its key signs every delivery.
* Webhooks: `send_webhook` POSTs an event with the `PAYPAL-TRANSMISSION-*`, `PAYPAL-CERT-URL`
  and `PAYPAL-AUTH-ALGO` headers; capture changes made with `update_capture` deliver
  `PAYMENT.CAPTURE.*` events to every matching webhook on a thread.

Assumed where the docs are silent: error wording beyond PayPal's standard messages; that a
webhook configuration belongs to the account rather than one app; that `add_capture` seeds
without an event; that deliveries are made once, without PayPal's retries; and that a refund
event carries the capture (PayPal's carries the refund object). Orders, refunds, webhook
management through the API, event lookup and resend, pagination and token scopes are not
modelled.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import json
import secrets
import string
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.emulators.base import Emulator

AUTH_ALGO = "SHA256withRSA"
TOKEN_LIFETIME_S = 32400
SCOPE = (
    "https://uri.paypal.com/services/payments/payment/authcapture openid "
    "https://uri.paypal.com/services/payments/refund https://uri.paypal.com/services/webhooks"
)
ID_ALPHABET = string.ascii_uppercase + string.digits
ERROR_LINK = "https://developer.paypal.com/api/rest/responses/"
AUTH_ERROR_LINK = "https://developer.paypal.com/docs/api/overview/#error"
VERIFY_FIELDS = (
    "auth_algo",
    "cert_url",
    "transmission_id",
    "transmission_sig",
    "transmission_time",
    "webhook_id",
    "webhook_event",
)
# Status -> (name, PayPal's standard message), from developer.paypal.com/api/rest/responses/.
ERRORS = {
    400: (
        "INVALID_REQUEST",
        "Request is not well-formed, syntactically incorrect, or violates schema.",
    ),
    401: (
        "AUTHENTICATION_FAILURE",
        "Authentication failed due to invalid authentication credentials or a missing "
        "Authorization header.",
    ),
    403: ("NOT_AUTHORIZED", "Authorization failed due to insufficient permissions."),
    404: ("RESOURCE_NOT_FOUND", "The specified resource does not exist."),
    405: ("METHOD_NOT_SUPPORTED", "The server does not implement the requested HTTP method."),
    422: (
        "UNPROCESSABLE_ENTITY",
        "The requested action could not be performed, semantically incorrect, or failed "
        "business validation.",
    ),
    429: ("RATE_LIMIT_REACHED", "Too many requests. Blocked due to rate limiting."),
    500: ("INTERNAL_SERVER_ERROR", "An internal server error has occurred."),
    503: ("SERVICE_UNAVAILABLE", "Service Unavailable."),
}
# A capture's new status -> the event PayPal sends for it.
STATUS_EVENTS = {
    "COMPLETED": "PAYMENT.CAPTURE.COMPLETED",
    "PENDING": "PAYMENT.CAPTURE.PENDING",
    "DECLINED": "PAYMENT.CAPTURE.DENIED",
    "REFUNDED": "PAYMENT.CAPTURE.REFUNDED",
    "PARTIALLY_REFUNDED": "PAYMENT.CAPTURE.REFUNDED",
    "REVERSED": "PAYMENT.CAPTURE.REVERSED",
}
SUMMARIES = {
    "PAYMENT.CAPTURE.COMPLETED": "Payment completed for {amount}",
    "PAYMENT.CAPTURE.PENDING": "Payment pending for {amount}",
    "PAYMENT.CAPTURE.DENIED": "Payment denied for {amount}",
    "PAYMENT.CAPTURE.REFUNDED": "A {amount} capture payment was refunded",
    "PAYMENT.CAPTURE.REVERSED": "A {amount} capture payment was reversed",
}


# -- signatures -----------------------------------------------------------------------------------


def crc32_of(body: bytes) -> int:
    """The CRC32 of the raw body, unsigned, as PayPal puts it in the signed string."""
    return zlib.crc32(body) & 0xFFFFFFFF


def signed_string(
    transmission_id: str, transmission_time: str, webhook_id: str, body: bytes
) -> str:
    """`<transmission_id>|<transmission_time>|<webhook_id>|<crc32 of body>`."""
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc32_of(body)}"


def _sign(key: rsa.RSAPrivateKey, message: str) -> str:
    """Base64 RSA PKCS#1 v1.5 SHA-256 signature (PayPal's SHA256withRSA)."""
    signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def _signature_valid(public_key: rsa.RSAPublicKey, message: str, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        public_key.verify(signature, message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def _self_signed_certificate(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PayPal, Inc."),
            x509.NameAttribute(NameOID.COMMON_NAME, "messageverificationcerts.paypal.com"),
        ]
    )
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


# -- small helpers --------------------------------------------------------------------------------


def _random_id(length: int = 17) -> str:
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def _iso(timestamp: float) -> str:
    """ISO-8601 UTC to the second with a `Z`, as in `2026-11-29T21:00:00Z`."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _debug_id() -> str:
    return secrets.token_hex(7)


class PayPalApiError(Exception):
    """Raised by a handler; becomes PayPal's `{name, message, debug_id, details, links}`."""

    def __init__(self, status: int, details: list[dict[str, str]] | None = None) -> None:
        self.status = status
        self.name, self.message = ERRORS[status]
        self.details = details or []
        super().__init__(self.name)


@dataclass
class WebhookDelivery:
    """One event POST the emulator made on its own, and how the receiver answered."""

    webhook_id: str
    event_id: str
    url: str
    transmission_id: str | None = None
    status_code: int | None = None
    error: str | None = None


def api(handler: Callable[..., tuple[Any, int]]) -> Callable[..., Response]:
    """Wrap a handler `(self, request, **values) -> (body, status)`: Bearer auth and errors."""

    @functools.wraps(handler)
    def endpoint(self: PayPalEmulator, request: Request, **values: Any) -> Response:
        with self.lock:
            if not self._token_valid(request):
                return self._authentication_failure()
            try:
                body, status = handler(self, request, **values)
            except PayPalApiError as error:
                return self._error(error)
            return self.json(body, status=status, headers={"Paypal-Debug-Id": _debug_id()})

    return endpoint


# -- the emulator ---------------------------------------------------------------------------------


class PayPalEmulator(Emulator):
    """One PayPal business account: REST apps, webhook configurations, captures and events."""

    provider = "paypal"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.clock: Callable[[], float] = time.time  # token expiry and stamps; tests may pin it
        self._key = _new_key()
        self._other_key = _new_key()
        self.certificate = _self_signed_certificate(self._key)
        self.cert_name = (
            f"CERT-{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
        )
        super().__init__(host, port)

    def routes(self) -> list[Rule]:
        table = [
            ("/v1/oauth2/token", "POST", "issue_token"),
            ("/v1/notifications/webhooks", "GET", "list_webhooks"),
            ("/v1/notifications/verify-webhook-signature", "POST", "verify_webhook_signature"),
            ("/v1/notifications/certs/<name>", "GET", "get_cert"),
            ("/v2/payments/captures/<capture_id>", "GET", "get_capture"),
        ]
        return [Rule(path, methods=[method], endpoint=name) for path, method, name in table]

    def reset_state(self) -> None:
        with self.lock:
            self._apps: dict[str, dict[str, str]] = {}  # client_id -> app
            self._tokens: dict[str, tuple[str, float]] = {}  # token -> (client_id, expires at)
            self._webhooks: dict[str, dict[str, Any]] = {}
            self._captures: dict[str, dict[str, Any]] = {}
            self._events: list[dict[str, Any]] = []
            self._transmissions: dict[str, bytes] = {}  # transmission id -> raw body sent
            self._delivery_threads: list[threading.Thread] = []
            self.deliveries: list[WebhookDelivery] = []

    def error_response(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        """PayPal's envelope (injected faults, unknown routes): its standard name and message."""
        name, standard = ERRORS.get(status, ERRORS[500 if status >= 500 else 400])
        details = [] if message == standard else [{"issue": name, "description": message}]
        body = self._envelope(name, standard, details)
        headers = {"Paypal-Debug-Id": body["debug_id"], **(headers or {})}
        return self.json(body, status=status, headers=headers)

    @property
    def cert_url(self) -> str:
        """The `PAYPAL-CERT-URL` of every delivery; serves the signing certificate."""
        return f"{self.base_url}/v1/notifications/certs/{self.cert_name}"

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    # -- seeding and inspection helpers (Python-level, for tests and the sandbox) --------------

    def add_app(self, client_id: str | None = None, client_secret: str | None = None) -> dict:
        """Register REST app credentials (random when not given); returns a copy of the app."""
        app = {
            "client_id": client_id or "A" + secrets.token_urlsafe(60)[:79],
            "client_secret": client_secret or "E" + secrets.token_urlsafe(60)[:79],
            "app_id": f"APP-{_random_id()}",
        }
        with self.lock:
            self._apps[app["client_id"]] = app
        return dict(app)

    def add_webhook(self, url: str, event_types: Iterable[str] = ("*",)) -> dict[str, Any]:
        """A webhook configuration made in the Developer Dashboard; matching events go to it."""
        webhook_id = f"WH-{_random_id()}"
        webhook = {
            "id": webhook_id,
            "url": url,
            "event_types": [{"name": name} for name in event_types],
        }
        with self.lock:
            self._webhooks[webhook_id] = webhook
        return copy.deepcopy(webhook)

    def add_capture(self, **fields: Any) -> dict[str, Any]:
        """A capture made by a buyer's checkout (PENDING unless `status` is given); no event."""
        now = _iso(self.clock())
        capture = {
            "id": _random_id(),
            "status": "PENDING",
            "status_details": {"reason": "PENDING_REVIEW"},
            "amount": {"currency_code": "EUR", "value": "500.00"},
            "final_capture": True,
            "seller_protection": {"status": "ELIGIBLE"},
            "custom_id": "",
            "invoice_id": "",
            "create_time": now,
            "update_time": now,
        }
        capture.update(copy.deepcopy(fields))
        if capture["status"] != "PENDING" and "status_details" not in fields:
            del capture["status_details"]
        with self.lock:
            self._captures[capture["id"]] = capture
            return self._capture_view(capture)

    def update_capture(self, capture_id: str, **changes: Any) -> dict[str, Any]:
        """Change a capture, bump `update_time`; a new status sends its PAYMENT.CAPTURE.* event."""
        with self.lock:
            capture = self._captures[capture_id]
            old_status = capture["status"]
            capture.update(copy.deepcopy(changes))
            capture["update_time"] = _iso(self.clock())
            new_status = capture["status"]
            if new_status != "PENDING" and "status_details" not in changes:
                capture.pop("status_details", None)
            if new_status != old_status and new_status in STATUS_EVENTS:
                self._record_event(capture, STATUS_EVENTS[new_status])
            return self._capture_view(capture)

    def complete_capture(self, capture_id: str) -> dict[str, Any]:
        """The pending capture clears: COMPLETED, and PAYMENT.CAPTURE.COMPLETED is sent."""
        with self.lock:
            status = self._captures[capture_id]["status"]
            if status != "PENDING":
                raise ValueError(f"the capture is {status}, not PENDING")
            return self.update_capture(capture_id, status="COMPLETED")

    def captures(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self._capture_view(capture) for capture in self._captures.values()]

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """The events sent so far, oldest first."""
        with self.lock:
            return copy.deepcopy(
                [e for e in self._events if event_type is None or e["event_type"] == event_type]
            )

    def event_for(self, capture: dict[str, Any], event_type: str) -> dict[str, Any]:
        """A webhook event (PayPal's documented shape) whose resource is `capture`."""
        event_id = f"WH-{_random_id()}-{_random_id()}"
        amount = capture.get("amount") or {}
        money = f"{amount.get('currency_code', '')} {amount.get('value', '')} "
        money += amount.get("currency_code", "")
        events_url = f"{self.base_url}/v1/notifications/webhooks-events/{event_id}"
        return {
            "id": event_id,
            "event_version": "1.0",
            "create_time": _iso(self.clock()),
            "resource_type": "capture",
            "resource_version": "2.0",
            "event_type": event_type,
            "summary": SUMMARIES.get(event_type, event_type).format(amount=money.strip()),
            "resource": copy.deepcopy(capture),
            "links": [
                {"href": events_url, "rel": "self", "method": "GET"},
                {"href": f"{events_url}/resend", "rel": "resend", "method": "POST"},
            ],
        }

    # -- webhooks ---------------------------------------------------------------------------------

    def send_webhook(
        self,
        url: str,
        event: dict[str, Any],
        webhook_id: str,
        *,
        transmission_time: str | None = None,
        sign_with_other_key: bool = False,
        timeout: float = 5.0,
    ) -> requests.Response:
        """POST one event signed the way PayPal signs deliveries; the body is kept for verify."""
        body = json.dumps(event, separators=(",", ":")).encode()
        transmission_id = str(uuid.uuid4())
        stamp = transmission_time or _iso(time.time())
        key = self._other_key if sign_with_other_key else self._key
        with self.lock:
            self._transmissions[transmission_id] = body
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "PayPal/AUHD-214.0-emulator",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": stamp,
            "PAYPAL-TRANSMISSION-SIG": _sign(
                key, signed_string(transmission_id, stamp, webhook_id, body)
            ),
            "PAYPAL-CERT-URL": self.cert_url,
            "PAYPAL-AUTH-ALGO": AUTH_ALGO,
        }
        return requests.post(url, data=body, headers=headers, timeout=timeout)

    def _record_event(self, capture: dict[str, Any], event_type: str) -> None:
        """Record the event and deliver it, on a thread, to every webhook that wants it."""
        event = self.event_for(self._capture_view(capture), event_type)
        self._events.append(event)
        targets = [
            dict(webhook)
            for webhook in self._webhooks.values()
            if any(t["name"] in ("*", event_type) for t in webhook["event_types"])
        ]
        if targets:
            self.deliver_in_background(self._deliver, copy.deepcopy(event), targets)

    def _deliver(self, event: dict[str, Any], targets: list[dict[str, Any]]) -> None:
        for webhook in targets:
            record = WebhookDelivery(webhook["id"], event["id"], webhook["url"])
            try:
                response = self.send_webhook(webhook["url"], event, webhook["id"])
                record.transmission_id = response.request.headers["PAYPAL-TRANSMISSION-ID"]
                record.status_code = response.status_code
            except requests.RequestException as error:
                record.error = str(error)
            with self.lock:
                self.deliveries.append(record)

    # -- endpoints --------------------------------------------------------------------------------

    def issue_token(self, request: Request) -> Response:
        """OAuth 2 client credentials: Basic auth of an app, `grant_type=client_credentials`."""
        auth = request.authorization
        with self.lock:
            app = self._apps.get(auth.username) if auth and auth.type == "basic" else None
            if app is None or auth.password != app["client_secret"]:
                return self._oauth_error(401, "invalid_client", "Client Authentication failed")
            grant_type = request.form.get("grant_type")
            if grant_type != "client_credentials":
                description = "Grant Type is NULL" if not grant_type else "unsupported grant_type"
                return self._oauth_error(400, "unsupported_grant_type", description)
            token = "A21AA" + secrets.token_urlsafe(72)
            now = self.clock()
            self._tokens[token] = (app["client_id"], now + TOKEN_LIFETIME_S)
        body = {
            "scope": SCOPE,
            "access_token": token,
            "token_type": "Bearer",
            "app_id": app["app_id"],
            "expires_in": TOKEN_LIFETIME_S,
            "nonce": _iso(now) + secrets.token_urlsafe(32),
        }
        return self.json(body, headers={"Paypal-Debug-Id": _debug_id()})

    @api
    def list_webhooks(self, request: Request) -> tuple[dict[str, Any], int]:
        return {"webhooks": copy.deepcopy(list(self._webhooks.values()))}, 200

    @api
    def verify_webhook_signature(self, request: Request) -> tuple[dict[str, Any], int]:
        """SUCCESS only for an unchanged delivery this emulator signed for one of its webhooks."""
        fields = self._verify_fields(self.body_json(request))
        status = "SUCCESS" if self._delivery_authentic(fields) else "FAILURE"
        return {"verification_status": status}, 200

    @api
    def get_capture(self, request: Request, capture_id: str) -> tuple[dict[str, Any], int]:
        capture = self._captures.get(capture_id)
        if capture is None:
            raise PayPalApiError(
                404,
                [
                    {
                        "issue": "INVALID_RESOURCE_ID",
                        "description": "Specified resource ID does not exist. Please check the "
                        "resource ID and try again.",
                    }
                ],
            )
        return self._capture_view(capture), 200

    def get_cert(self, request: Request, name: str) -> Response:
        """The signing certificate, public as at PayPal (no Authorization needed)."""
        if name != self.cert_name:
            return self._error(PayPalApiError(404))
        return Response(self.certificate_pem, content_type="application/x-pem-file")

    # -- internals --------------------------------------------------------------------------------

    def _token_valid(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        issued = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        return issued is not None and self.clock() < issued[1]

    def _verify_fields(self, body: Any) -> dict[str, Any]:
        """The verify request's fields; a missing or blank one is a 400 naming it."""
        if not isinstance(body, dict):
            raise PayPalApiError(400, [{"issue": "MALFORMED_REQUEST_JSON"}])
        for name in VERIFY_FIELDS:
            value = body.get(name)
            wanted = dict if name == "webhook_event" else str
            if not value or not isinstance(value, wanted):
                raise PayPalApiError(
                    400,
                    [
                        {
                            "field": name,
                            "location": "body",
                            "issue": "MISSING_REQUIRED_PARAMETER",
                            "description": f"{name} is required.",
                        }
                    ],
                )
        return body

    def _delivery_authentic(self, fields: dict[str, Any]) -> bool:
        sent = self._transmissions.get(fields["transmission_id"])
        if (
            sent is None
            or fields["auth_algo"] != AUTH_ALGO
            or fields["cert_url"] != self.cert_url
            or fields["webhook_id"] not in self._webhooks
            or json.loads(sent) != fields["webhook_event"]
        ):
            return False
        expected = signed_string(
            fields["transmission_id"], fields["transmission_time"], fields["webhook_id"], sent
        )
        return _signature_valid(self._key.public_key(), expected, fields["transmission_sig"])

    def _capture_view(self, capture: dict[str, Any]) -> dict[str, Any]:
        """A copy of the capture as the API shows it, with its HATEOAS links."""
        url = f"{self.base_url}/v2/payments/captures/{capture['id']}"
        view = copy.deepcopy(capture)
        view["links"] = [
            {"href": url, "rel": "self", "method": "GET"},
            {"href": f"{url}/refund", "rel": "refund", "method": "POST"},
        ]
        return view

    def _envelope(self, name: str, message: str, details: list[dict[str, str]]) -> dict:
        return {
            "name": name,
            "message": message,
            "debug_id": _debug_id(),
            "details": details,
            "links": [{"href": f"{ERROR_LINK}#{name}", "rel": "information_link"}],
        }

    def _error(self, error: PayPalApiError) -> Response:
        body = self._envelope(error.name, error.message, error.details)
        return self.json(body, status=error.status, headers={"Paypal-Debug-Id": body["debug_id"]})

    def _authentication_failure(self) -> Response:
        """PayPal's 401 carries no debug_id or details, only the information link."""
        name, message = ERRORS[401]
        body = {
            "name": name,
            "message": message,
            "links": [{"href": AUTH_ERROR_LINK, "rel": "information_link"}],
        }
        return self.json(body, status=401, headers={"Paypal-Debug-Id": _debug_id()})

    def _oauth_error(self, status: int, error: str, description: str) -> Response:
        body = {"error": error, "error_description": description}
        return self.json(body, status=status, headers={"Paypal-Debug-Id": _debug_id()})
