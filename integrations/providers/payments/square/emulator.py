"""An in-memory Square seller: the Payments API v2 calls the hub makes, plus signed webhooks.

Contract: VENDORS.md section C2 "Square", the compact "Square" notes after section F, note 5 of
section F (429 `RATE_LIMITED`), the Square test vector of section E (`hmac_sha256_signature`
reproduces it) and the note on the legacy header in section G. What they leave out follows
developer.squareup.com: the ListPayments, GetPayment, RetrieveMerchant and ListLocations
reference pages, "Pagination", "Handling errors" (the `errors` envelope and its codes) and the
webhook pages (step2subscribe: HTTPS notification URL, signature key, the `square-environment`
and `square-initial-delivery-timestamp` headers; step3validate). The paths are Square's own
(`/v2/...`), so a client pointed at `emu.base_url` needs nothing else.

What the emulator serves:

* Auth: `Authorization: Bearer <access token>` with a token made by `add_access_token`
  (Square's `EAAA...`); anything else is a 401 `{"errors": [{"category":
  "AUTHENTICATION_ERROR", "code": "UNAUTHORIZED", "detail": ...}]}`.
* `Square-Version: YYYY-MM-DD` on every API call, checked after auth: missing is a 400
  `MISSING_REQUIRED_PARAMETER` naming the header, malformed a 400
  `INVALID_SQUARE_VERSION_FORMAT`. Square itself falls back to the application's default
  version when the header is missing; the emulator refuses, so a client that forgets it fails
  here rather than silently reading another version's shapes.
* Errors use Square's envelope `{"errors": [{category, code, detail, field?}]}`, injected faults
  and unknown routes included (429 is `RATE_LIMIT_ERROR`/`RATE_LIMITED`, 5xx `API_ERROR`).
* `GET /v2/merchants/me` (or the merchant's own id): `{"merchant": {...}}`.
* `GET /v2/locations`, `GET /v2/locations/{id}` (`main` names the main location).
* `GET /v2/payments`: newest first by `created_at`; `sort_field=UPDATED_AT` sorts by
  `updated_at` and `sort_order=ASC` reverses. `begin_time`/`end_time` bound `created_at`
  (default: from one year ago up to now), `updated_at_begin_time`/`updated_at_end_time` bound
  `updated_at` (both inclusive). Only the seller's main location unless `location_id` names
  another. `limit` 1-100, default 100 (a larger value is ignored: 100). An opaque `cursor` for
  the next page, absent on the last page, valid only with the query that made it. An empty
  result is `{}` (Square leaves empty fields out).
* `GET /v2/payments/{id}`: `{"payment": {...}}`, or 404 `NOT_FOUND`.
* Webhooks: `add_webhook_subscription` registers a subscription as the Developer Console does
  (notification URL, event types, signature key). `add_payment` records a `payment.created`
  event and `update_payment` a `payment.updated` one; each event is POSTed, on a thread, to
  every enabled subscription that wants its type, with `x-square-hmacsha256-signature` =
  base64(HMAC-SHA256(signature key, notification URL + raw body)), the legacy
  `x-square-signature` (the same with SHA-1), `square-environment` and
  `square-initial-delivery-timestamp`. `send_webhook` posts one event by hand.

Assumed where the docs are silent: the wording of most error details; that an unknown
`location_id` is a 400 `INVALID_VALUE` naming it; that a cursor used with another query is a 400
`INVALID_CURSOR`; that `end_time` is inclusive; the shapes of ids (merchant and location ids 13
upper-case characters, payment and order ids 29, subscription ids `wbhk_` and 32 hex digits,
signature keys 22 URL-safe base64 characters); that `square-environment` is `Production` unless
the emulator is made with `environment="Sandbox"`; and that deliveries are made once, without
Square's retries (so no `square-retry-number` header). CreatePayment and every other write,
refunds, orders, customers, OAuth, token expiry and the Webhook Subscriptions API are not
modelled: tests make and change payments and subscriptions in Python.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import hashlib
import hmac
import json
import re
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.emulators.base import Emulator

# The Square-Version a subscription is made with when a test does not say.
DEFAULT_API_VERSION = "2025-10-16"
PAYMENT_EVENTS = ("payment.created", "payment.updated")
PAGE_SIZE_MAX = 100
YEAR_MS = 365 * 24 * 3600 * 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
UPPER_ALNUM = string.ascii_uppercase + string.digits
ID_ALPHABET = string.ascii_letters + string.digits
VERSION_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SORT_FIELDS = {"CREATED_AT": "created", "UPDATED_AT": "updated"}
# Status -> (category, code, detail) for faults and unknown routes.
STATUS_ERRORS = {
    400: ("INVALID_REQUEST_ERROR", "BAD_REQUEST", "Bad request."),
    401: ("AUTHENTICATION_ERROR", "UNAUTHORIZED", "This request could not be authorized."),
    403: ("AUTHORIZATION_ERROR", "FORBIDDEN", "You are not authorized to make this request."),
    404: ("INVALID_REQUEST_ERROR", "NOT_FOUND", "Resource not found."),
    405: ("INVALID_REQUEST_ERROR", "METHOD_NOT_ALLOWED", "Method not allowed."),
    429: ("RATE_LIMIT_ERROR", "RATE_LIMITED", "Rate limit exceeded."),
    500: ("API_ERROR", "INTERNAL_SERVER_ERROR", "An internal error has occurred."),
    502: ("API_ERROR", "BAD_GATEWAY", "Bad gateway."),
    503: ("API_ERROR", "SERVICE_UNAVAILABLE", "Service unavailable."),
    504: ("API_ERROR", "GATEWAY_TIMEOUT", "Gateway timeout."),
}
NO_AUTHORIZATION = (
    "Your request did not include an `Authorization` http header with an access token. The "
    'header value is expected to be of the format "Bearer TOKEN" (without quotation marks), '
    "where TOKEN is to be replaced with your access token."
)
# card_details.status for each payment status
CARD_STATUSES = {
    "APPROVED": "AUTHORIZED",
    "PENDING": "AUTHORIZED",
    "COMPLETED": "CAPTURED",
    "CANCELED": "VOIDED",
    "FAILED": "FAILED",
}


# -- signatures -----------------------------------------------------------------------------------


def hmac_sha256_signature(signature_key: str, notification_url: str, body: bytes) -> str:
    """`x-square-hmacsha256-signature`: base64(HMAC-SHA256(key, notification URL + raw body))."""
    mac = hmac.new(signature_key.encode(), notification_url.encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def legacy_signature(signature_key: str, notification_url: str, body: bytes) -> str:
    """The deprecated `x-square-signature`: the same message with HMAC-SHA1."""
    mac = hmac.new(signature_key.encode(), notification_url.encode() + body, hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def signed_headers(
    signature_key: str,
    notification_url: str,
    body: bytes,
    *,
    sha256: bool = True,
    legacy: bool = True,
) -> dict[str, str]:
    """The signature headers Square puts on a notification to `notification_url`."""
    headers = {}
    if sha256:
        headers["x-square-hmacsha256-signature"] = hmac_sha256_signature(
            signature_key, notification_url, body
        )
    if legacy:
        headers["x-square-signature"] = legacy_signature(signature_key, notification_url, body)
    return headers


# -- small helpers --------------------------------------------------------------------------------


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _ms(seconds: float) -> int:
    """Unix seconds as whole milliseconds: Square's timestamps go no finer."""
    return int(seconds * 1000)


def _iso(milliseconds: int) -> str:
    """RFC 3339 UTC with milliseconds and a `Z`, as Square writes `2021-10-13T19:34:33.524Z`."""
    moment = EPOCH + timedelta(milliseconds=milliseconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse_time(value: str) -> int | None:
    """An RFC 3339 timestamp as Unix milliseconds (finer digits dropped), or None."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(milliseconds=1)


class SquareApiError(Exception):
    """Raised by a handler; becomes Square's `{"errors": [...]}` envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        category: str = "INVALID_REQUEST_ERROR",
        field: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.category, self.field = category, field

    def body(self) -> dict[str, Any]:
        error = {"category": self.category, "code": self.code, "detail": self.detail}
        if self.field:
            error["field"] = self.field
        return {"errors": [error]}


@dataclass
class WebhookDelivery:
    """One notification the emulator POSTed on its own, and how the receiver answered."""

    subscription_id: str
    event_id: str
    url: str
    status_code: int | None = None
    error: str | None = None


def api(handler: Callable[..., dict[str, Any]]) -> Callable[..., Response]:
    """Wrap a handler `(self, request, **values) -> body`: auth, Square-Version, errors."""

    @functools.wraps(handler)
    def endpoint(self: SquareEmulator, request: Request, **values: Any) -> Response:
        try:
            with self.lock:
                self._authenticate(request)
                self._check_version(request)
                body = handler(self, request, **values)
        except SquareApiError as error:
            return self.json(error.body(), status=error.status)
        return self.json(body)

    return endpoint


# -- the emulator ---------------------------------------------------------------------------------


class SquareEmulator(Emulator):
    """One Square seller: access tokens, locations, payments, events and webhook subscriptions."""

    provider = "square"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        business_name: str = "Lumen Photography",
        country: str = "GB",
        currency: str = "GBP",
        environment: str = "Production",
    ) -> None:
        self.clock: Callable[[], float] = time.time  # timestamps and the default window
        self.business_name, self.country, self.currency = business_name, country, currency
        self.environment = environment
        super().__init__(host, port)

    def routes(self) -> list[Rule]:
        table = [
            ("/v2/merchants/<merchant_id>", "get_merchant"),
            ("/v2/locations", "list_locations"),
            ("/v2/locations/<location_id>", "get_location"),
            ("/v2/payments", "list_payments"),
            ("/v2/payments/<payment_id>", "get_payment"),
        ]
        return [Rule(path, endpoint=name, methods=["GET"]) for path, name in table]

    def reset_state(self) -> None:
        with self.lock:
            now = _ms(self.clock())
            self._tokens: set[str] = set()
            self.merchant = {
                "id": _random(UPPER_ALNUM, 13),
                "business_name": self.business_name,
                "country": self.country,
                "language_code": "en-GB" if self.country == "GB" else "en-US",
                "currency": self.currency,
                "status": "ACTIVE",
                "main_location_id": "",
                "created_at": _iso(now - 2 * YEAR_MS),
            }
            self._locations: dict[str, dict[str, Any]] = {}
            self._payments: dict[str, dict[str, Any]] = {}
            self._times: dict[str, tuple[int, int]] = {}  # payment id -> (created, updated) in ms
            self._events: list[dict[str, Any]] = []
            self._subscriptions: dict[str, dict[str, Any]] = {}
            self._deliver_to: dict[str, str] = {}  # subscription id -> where the POST goes
            self._delivery_threads: list[threading.Thread] = []
            self.deliveries: list[WebhookDelivery] = []
            main = self.add_location(self.business_name)
            self.merchant["main_location_id"] = main["id"]

    def error_response(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        """Square's envelope for injected faults and unknown routes."""
        category, code, detail = STATUS_ERRORS.get(
            status, STATUS_ERRORS[500 if status >= 500 else 400]
        )
        body = SquareApiError(status, code, detail, category=category).body()
        return self.json(body, status=status, headers=headers)

    # -- seeding and inspection helpers (Python-level, for tests and the sandbox) --------------

    @property
    def main_location_id(self) -> str:
        return self.merchant["main_location_id"]

    def add_access_token(self, token: str | None = None) -> str:
        """An access token the API accepts (a personal access token, say); random unless given."""
        token = token or "EAAA" + secrets.token_urlsafe(45)[:60]
        with self.lock:
            self._tokens.add(token)
        return token

    def revoke_access_token(self, token: str) -> None:
        with self.lock:
            self._tokens.discard(token)

    def add_location(self, name: str, *, status: str = "ACTIVE") -> dict[str, Any]:
        location = {
            "id": _random(UPPER_ALNUM, 13),
            "name": name,
            "timezone": "Europe/London" if self.country == "GB" else "America/Los_Angeles",
            "capabilities": ["CREDIT_CARD_PROCESSING", "AUTOMATIC_TRANSFERS"],
            "status": status,
            "created_at": _iso(_ms(self.clock())),
            "merchant_id": self.merchant["id"],
            "country": self.country,
            "language_code": self.merchant["language_code"],
            "currency": self.currency,
            "business_name": self.business_name,
            "type": "PHYSICAL",
            "mcc": "7221",  # photographic studios
        }
        with self.lock:
            self._locations[location["id"]] = location
        return copy.deepcopy(location)

    def add_payment(
        self,
        amount: int,
        currency: str | None = None,
        *,
        status: str = "COMPLETED",
        location_id: str | None = None,
        created_at: float | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A card payment taken `created_at` (Unix seconds, default now); records
        `payment.created` and delivers it. Extra fields (`reference_id`, `note`, ...) are set
        on the payment as given."""
        with self.lock:
            created = _ms(self.clock() if created_at is None else created_at)
            location = self._locations[location_id or self.main_location_id]
            money = {"amount": int(amount), "currency": currency or location["currency"]}
            payment_id = _random(ID_ALPHABET, 29)
            payment = {
                "id": payment_id,
                "created_at": _iso(created),
                "updated_at": _iso(created),
                "amount_money": dict(money),
                "total_money": dict(money),
                "approved_money": dict(money),
                "status": status,
                "delay_duration": "PT168H",
                "source_type": "CARD",
                "card_details": {
                    "status": CARD_STATUSES.get(status, "AUTHORIZED"),
                    "card": {
                        "card_brand": "VISA",
                        "last_4": "1111",
                        "exp_month": 11,
                        "exp_year": 2029,
                        "card_type": "CREDIT",
                        "bin": "411111",
                    },
                    "entry_method": "KEYED",
                    "cvv_status": "CVV_ACCEPTED",
                    "avs_status": "AVS_ACCEPTED",
                },
                "location_id": location["id"],
                "order_id": _random(ID_ALPHABET, 29),
                "receipt_number": payment_id[:4],
                "receipt_url": f"https://squareup.com/receipt/preview/{payment_id}",
                "application_details": {"square_product": "ECOMMERCE_API"},
                "version_token": secrets.token_urlsafe(33),
            }
            payment.update(copy.deepcopy(fields))
            self._payments[payment_id] = payment
            self._times[payment_id] = (created, created)
            self._record_event("payment.created", payment)
            return copy.deepcopy(payment)

    def update_payment(self, payment_id: str, **changes: Any) -> dict[str, Any]:
        """Change a payment: a new `updated_at` (always later than the last) and
        `version_token`; records `payment.updated` and delivers it."""
        with self.lock:
            payment = self._payments[payment_id]
            payment.update(copy.deepcopy(changes))
            if "status" in changes:
                payment["card_details"]["status"] = CARD_STATUSES.get(changes["status"], "FAILED")
            created, updated = self._times[payment_id]
            updated = max(_ms(self.clock()), updated + 1)
            self._times[payment_id] = (created, updated)
            payment["updated_at"] = _iso(updated)
            payment["version_token"] = secrets.token_urlsafe(33)
            self._record_event("payment.updated", payment)
            return copy.deepcopy(payment)

    def complete_payment(self, payment_id: str) -> dict[str, Any]:
        """An APPROVED (authorized) payment is captured: COMPLETED, and `payment.updated`."""
        with self.lock:
            status = self._payments[payment_id]["status"]
            if status != "APPROVED":
                raise ValueError(f"the payment is {status}, not APPROVED")
            return self.update_payment(payment_id, status="COMPLETED")

    def payments(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self._payments.values()))

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """The events recorded so far, oldest first."""
        with self.lock:
            return copy.deepcopy(
                [e for e in self._events if event_type is None or e["type"] == event_type]
            )

    def event_for(self, payment: dict[str, Any], event_type: str) -> dict[str, Any]:
        """A notification body in Square's shape (`PaymentUpdatedEvent`) about `payment`."""
        return {
            "merchant_id": self.merchant["id"],
            "type": event_type,
            "event_id": str(uuid.uuid4()),
            "created_at": _iso(_ms(self.clock())),
            "data": {
                "type": "payment",
                "id": payment["id"],
                "object": {"payment": copy.deepcopy(payment)},
            },
        }

    # -- webhooks ---------------------------------------------------------------------------------

    def add_webhook_subscription(
        self,
        notification_url: str,
        *,
        event_types: Iterable[str] = PAYMENT_EVENTS,
        signature_key: str | None = None,
        enabled: bool = True,
        api_version: str = DEFAULT_API_VERSION,
        name: str = "WedSync Hub",
        deliver_to: str | None = None,
    ) -> dict[str, Any]:
        """A subscription made in the Developer Console; returns it with its signature key.

        Square signs with `notification_url`; `deliver_to` is where the POST really goes when
        a proxy stands in front of the receiver (default: the notification URL itself).
        """
        parts = urlsplit(notification_url)
        loopback = parts.hostname in LOOPBACK_HOSTS
        if not parts.netloc or (parts.scheme != "https" and not loopback):
            raise ValueError("Square notification URLs must be https (loopback excepted)")
        now = _iso(_ms(self.clock()))
        subscription = {
            "id": f"wbhk_{secrets.token_hex(16)}",
            "name": name,
            "enabled": enabled,
            "event_types": list(event_types),
            "notification_url": notification_url,
            "api_version": api_version,
            "signature_key": signature_key or secrets.token_urlsafe(16),
            "created_at": now,
            "updated_at": now,
        }
        with self.lock:
            self._subscriptions[subscription["id"]] = subscription
            self._deliver_to[subscription["id"]] = deliver_to or notification_url
        return copy.deepcopy(subscription)

    @staticmethod
    def event_body(event: dict[str, Any]) -> bytes:
        """The raw bytes Square sends for an event (compact JSON)."""
        return json.dumps(event, separators=(",", ":")).encode()

    def delivery_headers(
        self, signature_key: str, notification_url: str, body: bytes, **which: bool
    ) -> dict[str, str]:
        """Every header of a notification (`sha256`/`legacy` choose the signatures)."""
        return {
            "Content-Type": "application/json",
            "square-environment": self.environment,
            "square-initial-delivery-timestamp": _iso(_ms(self.clock())),
            **signed_headers(signature_key, notification_url, body, **which),
        }

    def send_webhook(
        self,
        url: str,
        event: dict[str, Any],
        signature_key: str,
        *,
        notification_url: str | None = None,
        sha256: bool = True,
        legacy: bool = True,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
    ) -> requests.Response:
        """POST one event to `url`, signed for `notification_url` (default: `url`)."""
        body = self.event_body(event)
        sent = self.delivery_headers(
            signature_key, notification_url or url, body, sha256=sha256, legacy=legacy
        )
        return requests.post(url, data=body, headers={**sent, **(headers or {})}, timeout=timeout)

    def _record_event(self, event_type: str, payment: dict[str, Any]) -> None:
        """Record the event and deliver it, on a thread, to every subscription that wants it."""
        event = self.event_for(payment, event_type)
        self._events.append(event)
        targets = [
            (dict(subscription), self._deliver_to[subscription["id"]])
            for subscription in self._subscriptions.values()
            if subscription["enabled"] and event_type in subscription["event_types"]
        ]
        if targets:
            self.deliver_in_background(self._deliver, copy.deepcopy(event), targets)

    def _deliver(self, event: dict[str, Any], targets: list[tuple[dict[str, Any], str]]) -> None:
        for subscription, address in targets:
            record = WebhookDelivery(subscription["id"], event["event_id"], address)
            try:
                response = self.send_webhook(
                    address,
                    event,
                    subscription["signature_key"],
                    notification_url=subscription["notification_url"],
                )
                record.status_code = response.status_code
            except requests.RequestException as error:
                record.error = str(error)
            with self.lock:
                self.deliveries.append(record)

    # -- endpoints --------------------------------------------------------------------------------

    @api
    def get_merchant(self, request: Request, merchant_id: str) -> dict[str, Any]:
        if merchant_id not in ("me", self.merchant["id"]):
            raise SquareApiError(404, "NOT_FOUND", f"Merchant {merchant_id} not found.")
        return {"merchant": copy.deepcopy(self.merchant)}

    @api
    def list_locations(self, request: Request) -> dict[str, Any]:
        return {"locations": copy.deepcopy(list(self._locations.values()))}

    @api
    def get_location(self, request: Request, location_id: str) -> dict[str, Any]:
        if location_id == "main":
            location_id = self.main_location_id
        location = self._locations.get(location_id)
        if location is None:
            raise SquareApiError(404, "NOT_FOUND", f"Location {location_id} not found.")
        return {"location": copy.deepcopy(location)}

    @api
    def get_payment(self, request: Request, payment_id: str) -> dict[str, Any]:
        payment = self._payments.get(payment_id)
        if payment is None:
            raise SquareApiError(404, "NOT_FOUND", f"Could not find payment with id: {payment_id}")
        return {"payment": copy.deepcopy(payment)}

    @api
    def list_payments(self, request: Request) -> dict[str, Any]:
        args = request.args
        now = _ms(self.clock())
        created_from = self._time_arg(args, "begin_time", now - YEAR_MS)
        created_to = self._time_arg(args, "end_time", now)
        updated_from = self._time_arg(args, "updated_at_begin_time", None)
        updated_to = self._time_arg(args, "updated_at_end_time", None)
        order = args.get("sort_order", "DESC")
        if order not in ("ASC", "DESC"):
            raise SquareApiError(
                400, "INVALID_SORT_ORDER", f"Invalid sort order: {order}", field="sort_order"
            )
        sort_field = args.get("sort_field", "CREATED_AT")
        if sort_field not in SORT_FIELDS:
            raise SquareApiError(
                400,
                "INVALID_ENUM_VALUE",
                f"`{sort_field}` is not a valid enum value for `sort_field`.",
                field="sort_field",
            )
        location_id = args.get("location_id") or self.main_location_id
        if location_id not in self._locations:
            raise SquareApiError(
                400, "INVALID_VALUE", f"Invalid location id: {location_id}", field="location_id"
            )
        limit = self._limit(args.get("limit"))
        query = json.dumps(sorted((k, v) for k, v in args.items(multi=True) if k != "cursor"))
        query_hash = hashlib.sha256(query.encode()).hexdigest()[:16]
        offset = self._offset(args.get("cursor"), query_hash)

        def wanted(payment_id: str) -> bool:
            created, updated = self._times[payment_id]
            return (
                self._payments[payment_id]["location_id"] == location_id
                and created_from <= created <= created_to
                and (updated_from is None or updated >= updated_from)
                and (updated_to is None or updated <= updated_to)
            )

        index = 0 if SORT_FIELDS[sort_field] == "created" else 1
        rows = sorted(
            (pid for pid in self._payments if wanted(pid)),
            key=lambda pid: (self._times[pid][index], pid),
            reverse=order == "DESC",
        )
        page = rows[offset : offset + limit]
        body: dict[str, Any] = {}
        if page:
            body["payments"] = [copy.deepcopy(self._payments[pid]) for pid in page]
        if offset + limit < len(rows):
            body["cursor"] = self._cursor(offset + limit, query_hash)
        return body

    # -- internals --------------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        if not header:
            raise SquareApiError(
                401, "UNAUTHORIZED", NO_AUTHORIZATION, category="AUTHENTICATION_ERROR"
            )
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token.strip() not in self._tokens:
            raise SquareApiError(
                401,
                "UNAUTHORIZED",
                "This request could not be authorized.",
                category="AUTHENTICATION_ERROR",
            )

    @staticmethod
    def _check_version(request: Request) -> None:
        version = request.headers.get("Square-Version")
        if not version:
            raise SquareApiError(
                400,
                "MISSING_REQUIRED_PARAMETER",
                "The Square-Version header is required.",
                field="Square-Version",
            )
        valid = VERSION_FORMAT.match(version) is not None
        if valid:
            try:
                datetime.strptime(version, "%Y-%m-%d")
            except ValueError:
                valid = False
        if not valid:
            raise SquareApiError(
                400,
                "INVALID_SQUARE_VERSION_FORMAT",
                f"Invalid Square-Version format: {version}. Expected YYYY-MM-DD.",
            )

    @staticmethod
    def _time_arg(args: Any, name: str, default: int | None) -> int | None:
        value = args.get(name)
        if value is None:
            return default
        parsed = _parse_time(value)
        if parsed is None:
            raise SquareApiError(400, "INVALID_TIME", f"Invalid {name}: {value}", field=name)
        return parsed

    @staticmethod
    def _limit(value: str | None) -> int:
        if value is None:
            return PAGE_SIZE_MAX
        if not re.fullmatch(r"\d+", value) or int(value) < 1:
            raise SquareApiError(400, "INVALID_VALUE", f"Invalid limit: {value}", field="limit")
        return min(int(value), PAGE_SIZE_MAX)  # above the maximum, Square uses its default

    @staticmethod
    def _cursor(offset: int, query_hash: str) -> str:
        raw = json.dumps({"o": offset, "q": query_hash}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def _offset(cursor: str | None, query_hash: str) -> int:
        if not cursor:
            return 0
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            offset, made_for = int(data["o"]), data["q"]
        except (binascii.Error, ValueError, KeyError, TypeError):
            made_for, offset = None, -1
        if made_for != query_hash or offset < 0:
            raise SquareApiError(
                400, "INVALID_CURSOR", "The pagination cursor is not valid.", field="cursor"
            )
        return offset
