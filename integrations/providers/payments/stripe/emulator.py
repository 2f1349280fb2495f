"""An in-memory Stripe account: the v1 API the hub reads, plus signed webhook deliveries.

Contract: VENDORS.md section C1 "Stripe" and the compact "Stripe" notes after section F
[confirmed: `stripe/stripe-python` `stripe/_webhook.py` (WebhookSignature) and `stripe/_event.py`;
`docs.stripe.com/rate-limits`], note 5 of section F (429 with Retry-After), and the Stripe test
vector of section E, which the signature reproduces. What VENDORS.md leaves out follows Stripe's
own pages: `docs.stripe.com/api/pagination` (limit 1-100, default 10; starting_after and
ending_before are mutually exclusive; newest first), `docs.stripe.com/api/idempotent_requests`
(the first result is saved and replayed; reusing a key with other parameters is an
`idempotency_error`; failed validation saves nothing; keys up to 255 characters),
`docs.stripe.com/api/errors` (the `{"error": {type, code, message, param, doc_url}}` envelope)
and `docs.stripe.com/metadata` (50 keys, 40-character keys, 500-character values, "" unsets).
The paths are Stripe's own (`/v1/...`), so an SDK pointed at `emu.base_url` needs nothing else.

What the emulator serves:

* Auth: `Authorization: Bearer <key>` (or HTTP Basic with the key as user name, as `curl -u`).
  Secret keys `sk_test_`/`sk_live_` read and write; restricted keys `rk_test_`/`rk_live_` here
  read everything and write nothing (403). A missing or unknown key answers 401. Test and live
  keys see separate data, as at Stripe.
* Bodies are form-encoded with Stripe's bracket notation (`metadata[wedding_id]=w1`,
  `expand[]=customer`, `created[gt]=1700000000`); a POST with another content type is a 400.
  Unknown parameters answer 400 `parameter_unknown`.
* `GET /v1/account`.
* `GET|POST /v1/payment_intents`, `GET|POST /v1/payment_intents/{id}`,
  `POST /v1/payment_intents/{id}/cancel`; list filters `customer` and `created`.
* `GET|POST /v1/customers`, `GET|POST|DELETE /v1/customers/{id}`; list filters `email`, `created`.
  A deleted customer is retrieved as `{id, object, deleted: true}` and leaves lists.
* `GET /v1/events` (filters `type` with `*` wildcards, or `types[]`; `created`;
  `delivery_success`) and `GET /v1/events/{id}`. Events are recorded for `payment_intent.created`,
  `.succeeded`, `.payment_failed`, `.canceled` and `customer.created`, `.updated` (with
  `previous_attributes`), `.deleted`. Stripe has no `payment_intent.updated`: changing a
  PaymentIntent's description or metadata records no event.
* `GET|POST /v1/webhook_endpoints`, `GET|DELETE /v1/webhook_endpoints/{id}` (`url` and
  `enabled_events[]` required): the signing `secret` is returned by the create only.
* Lists: `{object: "list", data, has_more, url: "/v1/<resource>"}`, newest first; `created` takes
  an integer or `created[gt|gte|lt|lte]`.
* `Idempotency-Key` on POST: the first 2xx answer is saved per key and mode and replayed with
  `Idempotent-Replayed: true`; the same key with other parameters (or path) is a 400
  `idempotency_error`. Every answer carries a `Request-Id`.
* Faults: 429 (`Retry-After` when given), 5xx as `api_error`, unknown routes as Stripe's
  "Unrecognized request URL" 404.
* Webhooks: `send_webhook(url, event, secret)` POSTs the event as JSON with
  `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the whsec_ secret>`.
  Endpoints (made through the API or `add_webhook_endpoint`) get each matching new event on a
  thread; `pending_webhooks` counts the deliveries not yet answered with a 2xx.

Assumed where the docs are silent: the wording of most error messages (the 401 key mask shows
the last four characters); that an unknown `starting_after`/`ending_before` or `customer` id is a
400 `resource_missing` naming the parameter, while an unknown id in the path is a 404; that a
succeeded or canceled PaymentIntent accepts updates to `description`, `metadata` and
`receipt_email` only; that deliveries are made once, without Stripe's retries; that `expand` is
accepted and ignored; that amounts need only be positive integers (no per-currency minimum) and
any three-letter currency is accepted (lowercased); that an endpoint `url` must be https except
on loopback hosts (so tests need no TLS). Connect (`Stripe-Account`), confirmation,
charges, refunds, search, 24-hour key pruning and the 30-day event window are not modelled.
"""

from __future__ import annotations

import base64
import binascii
import copy
import fnmatch
import functools
import hashlib
import hmac
import itertools
import json
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.emulators.base import Emulator

# The version stripe-python 16.1.0 pins; events use the caller's Stripe-Version when it sent one.
DEFAULT_API_VERSION = "2026-10-28.endive"
LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX = 10, 100
IDEMPOTENCY_KEY_MAX = 255
METADATA_MAX_KEYS, METADATA_KEY_MAX, METADATA_VALUE_MAX = 50, 40, 500
EVENT_TYPES_MAX = 20
ID_ALPHABET = string.ascii_letters + string.digits
KEY_PATTERN = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]+$")
CREATED_OPERATORS = ("gt", "gte", "lt", "lte")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
CANCELABLE = frozenset(
    {
        "requires_payment_method",
        "requires_capture",
        "requires_confirmation",
        "requires_action",
        "processing",
    }
)
FINAL_STATUSES = frozenset({"succeeded", "canceled"})
UPDATABLE_WHEN_FINAL = frozenset({"description", "metadata", "receipt_email", "expand"})
PAYMENT_INTENT_WRITE = frozenset(
    {
        "amount",
        "currency",
        "customer",
        "description",
        "metadata",
        "receipt_email",
        "payment_method_types",
        "setup_future_usage",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "expand",
    }
)
PAYMENT_INTENT_CREATE = PAYMENT_INTENT_WRITE | {"capture_method", "automatic_payment_methods"}
CUSTOMER_WRITE = frozenset({"name", "email", "phone", "description", "metadata", "expand"})
LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before", "created", "expand"})
CANCELLATION_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer", "abandoned"})
UNRECOGNIZED_URL = (
    "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can "
    "help at https://support.stripe.com/."
)
NO_KEY = (
    "You did not provide an API key. You need to provide your API key in the Authorization "
    "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See "
    "https://stripe.com/docs/api#authentication for details, or we can help at "
    "https://support.stripe.com/."
)
FORM_ONLY = (
    "Invalid request (check that your POST content type is application/x-www-form-urlencoded). "
    "If you have any questions, we can help at https://support.stripe.com/."
)
FAULT_MESSAGES = {
    429: "Too many requests hit the API too quickly. We recommend an exponential backoff of "
    "your requests.",
}


# -- errors and signatures ----------------------------------------------------------------------


class StripeApiError(Exception):
    """Raised by a handler; becomes Stripe's `{"error": {...}}` envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.kind = (
            status,
            message,
            code,
            param,
            kind,
        )

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.kind}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


def _missing(object_name: str, object_id: str, param: str, status: int) -> StripeApiError:
    message = f"No such {object_name}: '{object_id}'"
    return StripeApiError(status, message, code="resource_missing", param=param)


def _unknown_parameter(name: str) -> StripeApiError:
    return StripeApiError(
        400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name
    )


def stripe_signature(secret: str, timestamp: int, body: bytes | str, *more: str) -> str:
    """`Stripe-Signature`: `t=<timestamp>,v1=<hex HMAC-SHA256 of "<t>.<body>">` per secret.

    Extra secrets add more `v1=` entries, as Stripe does while an endpoint secret is rolled.
    """
    payload = body.decode("utf-8") if isinstance(body, bytes) else body
    signed = f"{timestamp}.{payload}".encode()
    parts = [f"t={timestamp}"]
    for key in (secret, *more):
        parts.append("v1=" + hmac.new(key.encode("utf-8"), signed, hashlib.sha256).hexdigest())
    return ",".join(parts)


def mask_key(key: str) -> str:
    """A key as Stripe echoes it in errors: prefix, stars, last four characters."""
    prefix, _, rest = key.rpartition("_")
    if not prefix or len(rest) <= 4:
        return "*" * len(key)
    return f"{prefix}_{'*' * (len(rest) - 4)}{rest[-4:]}"


# -- parameters -------------------------------------------------------------------------------


_PARAM_NAME = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def decode_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket notation as data: `a[b]=1&c[]=x` is `{"a": {"b": "1"}, "c": ["x"]}`."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        match = _PARAM_NAME.match(name)
        if not match:
            raise StripeApiError(400, f"Invalid parameter name: {name}", param=name)
        path = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node: Any = root
        for part, after in itertools.pairwise(path):
            node = _child(node, part, list if after == "" or after.isdigit() else dict, name)
        _put(node, path[-1], value, name)
    return root


def _slot(container: list[Any], part: str, name: str) -> int:
    if part == "":
        container.append(None)
        return len(container) - 1
    if not part.isdigit():
        raise StripeApiError(400, f"Invalid array index in {name}", param=name)
    index = int(part)
    container.extend([None] * (index + 1 - len(container)))
    return index


def _child(node: Any, part: str, make: type, name: str) -> Any:
    if isinstance(node, list):
        index = _slot(node, part, name)
        if node[index] is None:
            node[index] = make()
        child = node[index]
    else:
        child = node.setdefault(part, make())
    if not isinstance(child, make):
        raise StripeApiError(400, f"Invalid value for {name}: mixed types", param=name)
    return child


def _put(node: Any, part: str, value: str, name: str) -> None:
    if isinstance(node, list):
        node[_slot(node, part, name)] = value
    elif isinstance(node.get(part), dict | list):
        raise StripeApiError(400, f"Invalid value for {name}: mixed types", param=name)
    else:
        node[part] = value


def _check_known(params: dict[str, Any], allowed: Iterable[str]) -> None:
    for name in params:
        if name not in allowed:
            raise _unknown_parameter(name)


def _integer(value: Any, param: str, *, minimum: int | None = None) -> int:
    if not isinstance(value, str) or not re.fullmatch(r"-?\d+", value.strip()):
        raise StripeApiError(
            400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=param
        )
    number = int(value)
    if minimum is not None and number < minimum:
        raise StripeApiError(
            400,
            f"This value must be greater than or equal to {minimum}.",
            code="parameter_invalid_integer",
            param=param,
        )
    return number


def _text(value: Any, param: str) -> str | None:
    """A string parameter; "" clears it."""
    if not isinstance(value, str):
        raise StripeApiError(400, f"Invalid string: {value!r}", param=param)
    return value or None


def _string_list(value: Any, param: str) -> list[str]:
    items = value if isinstance(value, list) else None
    if items is None or not all(isinstance(item, str) and item for item in items):
        raise StripeApiError(400, f"Invalid array: {param}", param=param)
    return list(items)


def _boolean(value: Any, param: str) -> bool:
    if value not in ("true", "false"):
        raise StripeApiError(400, f"Invalid boolean: {value}", param=param)
    return value == "true"


def _metadata(value: Any, current: dict[str, str] | None = None) -> dict[str, str]:
    """Merge `metadata` into `current`: a key set to "" is removed, metadata="" removes all."""
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise StripeApiError(400, "Invalid metadata: must be a hash", param="metadata")
    merged = dict(current or {})
    for key, item in value.items():
        if not isinstance(item, str):
            raise StripeApiError(400, f"Invalid value for metadata[{key}]", param="metadata")
        if len(key) > METADATA_KEY_MAX:
            raise StripeApiError(
                400,
                f"Metadata keys can have up to {METADATA_KEY_MAX} characters; '{key}' has "
                f"{len(key)}.",
                param=f"metadata[{key}]",
            )
        if len(item) > METADATA_VALUE_MAX:
            raise StripeApiError(
                400,
                f"Metadata values can have up to {METADATA_VALUE_MAX} characters.",
                param=f"metadata[{key}]",
            )
        if item == "":
            merged.pop(key, None)
        else:
            merged[key] = item
    if len(merged) > METADATA_MAX_KEYS:
        raise StripeApiError(
            400, f"Metadata can have up to {METADATA_MAX_KEYS} keys.", param="metadata"
        )
    return merged


def _currency(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z]{3}", value):
        raise StripeApiError(
            400, f"Invalid currency: {value}", code="parameter_invalid_string", param="currency"
        )
    return value.lower()


def _new_id(prefix: str, length: int = 24) -> str:
    return f"{prefix}_" + "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


# -- the request plumbing -----------------------------------------------------------------------


@dataclass
class ApiKey:
    key: str
    livemode: bool
    restricted: bool


@dataclass
class _Call:
    """One API request: who made it, its decoded parameters and its request id."""

    request: Request
    key: ApiKey
    params: dict[str, Any]
    fingerprint: tuple[Any, ...]
    request_id: str = field(default_factory=lambda: _new_id("req", 14))

    @property
    def idempotency_key(self) -> str | None:
        return (
            self.request.headers.get("Idempotency-Key") if self.request.method == "POST" else None
        )


@dataclass
class WebhookDelivery:
    """One webhook POST the emulator made on its own, and how the receiver answered."""

    endpoint_id: str
    event_id: str
    url: str
    status_code: int | None = None
    error: str | None = None


def api(*, write: bool = False, permission: str = "") -> Callable:
    """Wrap a handler `(self, call, **values) -> (body, status)`: auth, params, idempotency."""

    def decorate(handler: Callable[..., tuple[dict[str, Any], int]]) -> Callable[..., Response]:
        @functools.wraps(handler)
        def endpoint(self: StripeEmulator, request: Request, **values: Any) -> Response:
            request_id = _new_id("req", 14)
            headers = {"Request-Id": request_id}
            try:
                with self.lock:
                    call = self._open_call(request, request_id, write=write, permission=permission)
                    key = call.idempotency_key
                    if key is not None:
                        headers["Idempotency-Key"] = key
                        replay = self._replay(call, key)
                        if replay is not None:
                            status, body = replay
                            headers["Idempotent-Replayed"] = "true"
                            return self.json(body, status=status, headers=headers)
                    body, status = handler(self, call, **values)
                    if key is not None:
                        self._idempotent[(call.key.livemode, key)] = (
                            call.fingerprint,
                            status,
                            copy.deepcopy(body),
                        )
                    return self.json(body, status=status, headers=headers)
            except StripeApiError as error:
                return self.json(error.body(), status=error.status, headers=headers)

        return endpoint

    return decorate


class StripeEmulator(Emulator):
    """One Stripe account (test and live data) behind the v1 API, with signed webhooks."""

    provider = "stripe"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        business_name: str = "Lumen Photography",
        email: str = "billing@lumen.example",
    ) -> None:
        self.business_name, self.email = business_name, email
        self.clock: Callable[[], float] = time.time  # `created` stamps; tests may pin it
        super().__init__(host, port)

    def routes(self) -> list[Rule]:
        table = [
            ("/v1/account", "GET", "get_account"),
            ("/v1/payment_intents", "GET", "list_payment_intents"),
            ("/v1/payment_intents", "POST", "create_payment_intent"),
            ("/v1/payment_intents/<id>", "GET", "get_payment_intent"),
            ("/v1/payment_intents/<id>", "POST", "update_payment_intent"),
            ("/v1/payment_intents/<id>/cancel", "POST", "cancel_payment_intent"),
            ("/v1/customers", "GET", "list_customers"),
            ("/v1/customers", "POST", "create_customer"),
            ("/v1/customers/<id>", "GET", "get_customer"),
            ("/v1/customers/<id>", "POST", "update_customer"),
            ("/v1/customers/<id>", "DELETE", "delete_customer"),
            ("/v1/events", "GET", "list_events"),
            ("/v1/events/<id>", "GET", "get_event"),
            ("/v1/webhook_endpoints", "GET", "list_webhook_endpoints"),
            ("/v1/webhook_endpoints", "POST", "create_webhook_endpoint"),
            ("/v1/webhook_endpoints/<id>", "GET", "get_webhook_endpoint"),
            ("/v1/webhook_endpoints/<id>", "DELETE", "delete_webhook_endpoint"),
        ]
        rules = [Rule(path, methods=[method], endpoint=name) for path, method, name in table]
        # Everything else, including a known path with another method, is Stripe's 404.
        return [*rules, Rule("/<path:rest>", endpoint="unrecognized")]

    def reset_state(self) -> None:
        with self.lock:
            self._keys: dict[str, ApiKey] = {}
            self._order: dict[str, int] = {}  # object id -> creation sequence (list order)
            self._payment_intents: dict[str, dict[str, Any]] = {}
            self._customers: dict[str, dict[str, Any]] = {}
            self._events: dict[str, dict[str, Any]] = {}
            self._idempotent: dict[tuple[bool, str], tuple[tuple[Any, ...], int, Any]] = {}
            self._endpoints: dict[str, dict[str, Any]] = {}
            self._delivery_threads: list[threading.Thread] = []
            self.deliveries: list[WebhookDelivery] = []
            self.account = self._new_account()

    def error_response(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        """Stripe's envelope for injected faults: 5xx are `api_error`, the rest requests'."""
        kind = "api_error" if status >= 500 else "invalid_request_error"
        body = {"error": {"message": FAULT_MESSAGES.get(status, message), "type": kind}}
        headers = {"Request-Id": _new_id("req", 14), **(headers or {})}
        return self.json(body, status=status, headers=headers)

    def unrecognized(self, request: Request, rest: str = "") -> Response:
        message = UNRECOGNIZED_URL.format(method=request.method, path=request.path)
        return self.json(
            {"error": {"message": message, "type": "invalid_request_error"}},
            status=404,
            headers={"Request-Id": _new_id("req", 14)},
        )

    # -- seeding and inspection helpers (Python-level, for tests and the sandbox) ----------------

    def add_api_key(
        self, key: str | None = None, *, live: bool = False, restricted: bool = False
    ) -> str:
        """Register a key as if made under Developers > API keys; its prefix sets mode and kind."""
        if key is None:
            key = f"{'rk' if restricted else 'sk'}_{'live' if live else 'test'}_{_new_id('x')[2:]}"
        match = KEY_PATTERN.match(key)
        if not match:
            raise ValueError("a Stripe key starts sk_test_, sk_live_, rk_test_ or rk_live_")
        with self.lock:
            self._keys[key] = ApiKey(key, match.group(2) == "live", match.group(1) == "rk")
        return key

    def add_customer(
        self, *, livemode: bool = False, created: int | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A customer made in the Dashboard (records `customer.created`); a copy."""
        with self.lock:
            customer = self._insert_customer(fields, livemode, created, None)
            return copy.deepcopy(customer)

    def add_payment_intent(
        self,
        amount: int = 50000,
        currency: str = "gbp",
        *,
        livemode: bool = False,
        created: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """A PaymentIntent made outside the hub (records `payment_intent.created`); a copy."""
        with self.lock:
            values = {"amount": amount, "currency": currency.lower(), **fields}
            intent = self._insert_payment_intent(values, livemode, created, None)
            return copy.deepcopy(intent)

    def succeed(self, payment_intent_id: str) -> dict[str, Any]:
        """The customer pays: status `succeeded`, `payment_intent.succeeded` recorded."""
        with self.lock:
            intent = self._payment_intents[payment_intent_id]
            if intent["status"] in FINAL_STATUSES:
                raise ValueError(f"the PaymentIntent is already {intent['status']}")
            intent.update(
                status="succeeded",
                amount_received=intent["amount"],
                last_payment_error=None,
                latest_charge=intent["latest_charge"] or _new_id("ch"),
                payment_method=intent["payment_method"] or _new_id("pm"),
            )
            self._record_event("payment_intent.succeeded", intent, None)
            return copy.deepcopy(intent)

    def fail(self, payment_intent_id: str, message: str = "Your card was declined.") -> dict:
        """A payment attempt is declined: `payment_intent.payment_failed` recorded."""
        with self.lock:
            intent = self._payment_intents[payment_intent_id]
            if intent["status"] in FINAL_STATUSES:
                raise ValueError(f"the PaymentIntent is already {intent['status']}")
            intent.update(
                status="requires_payment_method",
                last_payment_error={
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "message": message,
                    "type": "card_error",
                },
            )
            self._record_event("payment_intent.payment_failed", intent, None)
            return copy.deepcopy(intent)

    def edit_payment_intent(self, payment_intent_id: str, **changes: Any) -> dict[str, Any]:
        """Change a PaymentIntent as the Dashboard would (no event: Stripe has no `.updated`)."""
        with self.lock:
            intent = self._payment_intents[payment_intent_id]
            intent.update(copy.deepcopy(changes))
            return copy.deepcopy(intent)

    def payment_intents(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self._newest_first(self._payment_intents.values()))

    def customers(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self._newest_first(self._customers.values()))

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            events = self._newest_first(self._events.values())
            return copy.deepcopy([e for e in events if type_ is None or e["type"] == type_])

    # -- webhooks -------------------------------------------------------------------------------

    def send_webhook(
        self,
        url: str,
        event: dict[str, Any] | str,
        secret: str,
        *,
        timestamp: int | None = None,
        also_signed_with: Iterable[str] = (),
        timeout: float = 5.0,
    ) -> requests.Response:
        """POST one event (a dict or an event id) signed the way Stripe signs deliveries."""
        if isinstance(event, str):
            with self.lock:
                event = copy.deepcopy(self._events[event])
        body = json.dumps(event, indent=2).encode()
        stamp = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": stripe_signature(secret, stamp, body, *also_signed_with),
        }
        return requests.post(url, data=body, headers=headers, timeout=timeout)

    def add_webhook_endpoint(
        self,
        url: str,
        *,
        enabled_events: Iterable[str] = ("*",),
        secret: str | None = None,
        livemode: bool = False,
    ) -> dict[str, Any]:
        """An endpoint as made in the Dashboard: new matching events are POSTed to it.

        Returns the endpoint with its signing `secret` (Stripe shows it only at creation).
        """
        with self.lock:
            return dict(self._insert_endpoint(url, list(enabled_events), livemode, secret))

    def _insert_endpoint(
        self, url: str, enabled_events: list[str], livemode: bool, secret: str | None = None
    ) -> dict[str, Any]:
        endpoint = {
            "id": _new_id("we"),
            "object": "webhook_endpoint",
            "api_version": None,
            "created": int(self.clock()),
            "description": None,
            "enabled_events": enabled_events,
            "livemode": livemode,
            "metadata": {},
            "secret": secret or _new_id("whsec", 32),
            "status": "enabled",
            "url": url,
        }
        self._remember(self._endpoints, endpoint)
        return endpoint

    def _deliver(self, event_id: str, targets: list[dict[str, Any]]) -> None:
        for endpoint in targets:
            record = WebhookDelivery(endpoint["id"], event_id, endpoint["url"])
            try:
                response = self.send_webhook(endpoint["url"], event_id, endpoint["secret"])
                record.status_code = response.status_code
            except requests.RequestException as error:
                record.error = str(error)
            with self.lock:
                self.deliveries.append(record)
                if record.status_code is not None and 200 <= record.status_code < 300:
                    self._events[event_id]["pending_webhooks"] -= 1

    # -- endpoints: account and payment intents -------------------------------------------------

    @api()
    def get_account(self, call: _Call) -> tuple[dict[str, Any], int]:
        return copy.deepcopy(self.account), 200

    @api()
    def list_payment_intents(self, call: _Call) -> tuple[dict[str, Any], int]:
        _check_known(call.params, LIST_PARAMS | {"customer"})
        customer = call.params.get("customer")
        intents = [
            intent
            for intent in self._payment_intents.values()
            if customer is None or intent["customer"] == customer
        ]
        return self._list(call, "/v1/payment_intents", "payment_intent", intents), 200

    @api(write=True, permission="payment_intent")
    def create_payment_intent(self, call: _Call) -> tuple[dict[str, Any], int]:
        params = call.params
        _check_known(params, PAYMENT_INTENT_CREATE)
        for name in ("amount", "currency"):
            if name not in params:
                raise StripeApiError(
                    400, f"Missing required param: {name}.", code="parameter_missing", param=name
                )
        values = self._payment_intent_values(call, params)
        if "capture_method" in params:
            if params["capture_method"] not in ("automatic", "automatic_async", "manual"):
                raise StripeApiError(400, "Invalid capture_method", param="capture_method")
            values["capture_method"] = params["capture_method"]
        if "automatic_payment_methods" in params:
            enabled = dig_enabled(params["automatic_payment_methods"])
            values["automatic_payment_methods"] = {"enabled": enabled}
        intent = self._insert_payment_intent(values, call.key.livemode, None, call)
        return copy.deepcopy(intent), 200

    @api()
    def get_payment_intent(self, call: _Call, id: str) -> tuple[dict[str, Any], int]:
        return copy.deepcopy(self._payment_intent(call, id)), 200

    @api(write=True, permission="payment_intent")
    def update_payment_intent(self, call: _Call, id: str) -> tuple[dict[str, Any], int]:
        intent = self._payment_intent(call, id)
        params = call.params
        _check_known(params, PAYMENT_INTENT_WRITE)
        if intent["status"] in FINAL_STATUSES and set(params) - UPDATABLE_WHEN_FINAL:
            raise StripeApiError(
                400,
                f"This PaymentIntent's {sorted(set(params) - UPDATABLE_WHEN_FINAL)[0]} could not "
                f"be updated because it has a status of {intent['status']}.",
                code="payment_intent_unexpected_state",
            )
        intent.update(self._payment_intent_values(call, params, intent))
        return copy.deepcopy(intent), 200

    @api(write=True, permission="payment_intent")
    def cancel_payment_intent(self, call: _Call, id: str) -> tuple[dict[str, Any], int]:
        intent = self._payment_intent(call, id)
        _check_known(call.params, {"cancellation_reason", "expand"})
        reason = call.params.get("cancellation_reason")
        if reason is not None and reason not in CANCELLATION_REASONS:
            raise StripeApiError(
                400, f"Invalid cancellation_reason: {reason}", param="cancellation_reason"
            )
        if intent["status"] not in CANCELABLE:
            raise StripeApiError(
                400,
                f"You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses may "
                f"be canceled: {', '.join(sorted(CANCELABLE))}.",
                code="payment_intent_unexpected_state",
            )
        intent.update(status="canceled", canceled_at=int(self.clock()), cancellation_reason=reason)
        self._record_event("payment_intent.canceled", intent, call)
        return copy.deepcopy(intent), 200

    # -- endpoints: customers -------------------------------------------------------------------

    @api()
    def list_customers(self, call: _Call) -> tuple[dict[str, Any], int]:
        _check_known(call.params, LIST_PARAMS | {"email"})
        email = call.params.get("email")
        customers = [
            customer
            for customer in self._customers.values()
            if not customer.get("deleted") and (email is None or customer["email"] == email)
        ]
        return self._list(call, "/v1/customers", "customer", customers), 200

    @api(write=True, permission="customer")
    def create_customer(self, call: _Call) -> tuple[dict[str, Any], int]:
        _check_known(call.params, CUSTOMER_WRITE)
        values = self._customer_values(call.params)
        return copy.deepcopy(self._insert_customer(values, call.key.livemode, None, call)), 200

    @api()
    def get_customer(self, call: _Call, id: str) -> tuple[dict[str, Any], int]:
        customer = self._customer(call, id, allow_deleted=True)
        if customer.get("deleted"):
            return {"id": id, "object": "customer", "deleted": True}, 200
        return copy.deepcopy(customer), 200

    @api(write=True, permission="customer")
    def update_customer(self, call: _Call, id: str) -> tuple[dict[str, Any], int]:
        customer = self._customer(call, id)
        _check_known(call.params, CUSTOMER_WRITE)
        changes = self._customer_values(call.params, customer)
        previous = {
            name: _changed_part(customer[name], value)
            for name, value in changes.items()
            if customer[name] != value
        }
        customer.update(changes)
        if previous:
            self._record_event("customer.updated", customer, call, previous)
        return copy.deepcopy(customer), 200

    @api(write=True, permission="customer")
    def delete_customer(self, call: _Call, id: str) -> tuple[dict[str, Any], int]:
        customer = self._customer(call, id)
        _check_known(call.params, set())
        self._record_event("customer.deleted", customer, call)
        customer["deleted"] = True
        return {"id": id, "object": "customer", "deleted": True}, 200

    # -- endpoints: events ----------------------------------------------------------------------

    @api()
    def list_events(self, call: _Call) -> tuple[dict[str, Any], int]:
        params = call.params
        _check_known(params, LIST_PARAMS | {"type", "types", "delivery_success"})
        if "type" in params and "types" in params:
            raise StripeApiError(400, "You may only specify one of these parameters: type, types.")
        patterns = [params["type"]] if "type" in params else None
        if "types" in params:
            patterns = _string_list(params["types"], "types")
            if len(patterns) > EVENT_TYPES_MAX:
                raise StripeApiError(
                    400, f"types can have at most {EVENT_TYPES_MAX} entries.", param="types"
                )
        delivered = (
            _boolean(params["delivery_success"], "delivery_success")
            if "delivery_success" in params
            else None
        )
        events = [
            event
            for event in self._events.values()
            if (patterns is None or any(fnmatch.fnmatchcase(event["type"], p) for p in patterns))
            and (delivered is None or (event["pending_webhooks"] == 0) == delivered)
        ]
        return self._list(call, "/v1/events", "event", events), 200

    @api()
    def get_event(self, call: _Call, id: str) -> tuple[dict[str, Any], int]:
        event = self._events.get(id)
        if event is None or event["livemode"] != call.key.livemode:
            raise _missing("event", id, "id", 404)
        return copy.deepcopy(event), 200

    # -- endpoints: webhook endpoints -----------------------------------------------------------

    @api()
    def list_webhook_endpoints(self, call: _Call) -> tuple[dict[str, Any], int]:
        _check_known(call.params, LIST_PARAMS - {"created"})
        page = self._list(
            call, "/v1/webhook_endpoints", "webhook_endpoint", list(self._endpoints.values())
        )
        page["data"] = [_without_secret(endpoint) for endpoint in page["data"]]
        return page, 200

    @api(write=True, permission="webhook")
    def create_webhook_endpoint(self, call: _Call) -> tuple[dict[str, Any], int]:
        params = call.params
        _check_known(params, {"url", "enabled_events", "description", "metadata", "expand"})
        for name in ("url", "enabled_events"):
            if name not in params:
                raise StripeApiError(
                    400, f"Missing required param: {name}.", code="parameter_missing", param=name
                )
        url = params["url"]
        parts = urlsplit(url) if isinstance(url, str) else None
        loopback = parts is not None and parts.hostname in LOOPBACK_HOSTS
        if parts is None or not parts.netloc or (parts.scheme != "https" and not loopback):
            raise StripeApiError(400, f"Invalid URL: {url}", code="url_invalid", param="url")
        events = _string_list(params["enabled_events"], "enabled_events")
        endpoint = self._insert_endpoint(url, events, call.key.livemode)
        if "description" in params:
            endpoint["description"] = _text(params["description"], "description")
        if "metadata" in params:
            endpoint["metadata"] = _metadata(params["metadata"])
        return copy.deepcopy(endpoint), 200

    @api()
    def get_webhook_endpoint(self, call: _Call, id: str) -> tuple[dict[str, Any], int]:
        return _without_secret(self._endpoint(call, id)), 200

    @api(write=True, permission="webhook")
    def delete_webhook_endpoint(self, call: _Call, id: str) -> tuple[dict[str, Any], int]:
        self._endpoint(call, id)
        del self._endpoints[id]
        return {"id": id, "object": "webhook_endpoint", "deleted": True}, 200

    # -- internals: requests --------------------------------------------------------------------

    def _open_call(
        self, request: Request, request_id: str, *, write: bool, permission: str
    ) -> _Call:
        key = self._authenticate(request)
        if write and key.restricted:
            raise StripeApiError(
                403,
                f"The provided key '{mask_key(key.key)}' does not have the required permissions "
                f"for this endpoint on account '{self.account['id']}'. Having the "
                f"'rak_{permission}_write' permission would allow this request to continue.",
            )
        if request.method == "POST":
            body = request.get_data()
            content_type = request.mimetype or ""
            if body and content_type != "application/x-www-form-urlencoded":
                raise StripeApiError(400, FORM_ONLY)
            pairs = parse_qsl(request.query_string.decode("utf-8"), keep_blank_values=True)
            pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        else:
            pairs = parse_qsl(request.query_string.decode("utf-8"), keep_blank_values=True)
        key_header = request.headers.get("Idempotency-Key")
        too_long = key_header is not None and len(key_header) > IDEMPOTENCY_KEY_MAX
        if request.method == "POST" and (key_header == "" or too_long):
            raise StripeApiError(
                400, f"Idempotency keys are 1 to {IDEMPOTENCY_KEY_MAX} characters long."
            )
        fingerprint = (request.method, request.path, tuple(sorted(pairs)))
        params = decode_params(pairs)
        return _Call(request, key, params, fingerprint, request_id)

    def _authenticate(self, request: Request) -> ApiKey:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        token = credentials.strip()
        if scheme.lower() == "basic" and token:
            try:
                token = base64.b64decode(token).decode("utf-8").partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                token = ""
        elif scheme.lower() != "bearer":
            token = ""
        if not token:
            raise StripeApiError(401, NO_KEY)
        found = self._keys.get(token)
        if found is None:
            raise StripeApiError(401, f"Invalid API Key provided: {mask_key(token)}")
        return found

    def _replay(self, call: _Call, key: str) -> tuple[int, Any] | None:
        saved = self._idempotent.get((call.key.livemode, key))
        if saved is None:
            return None
        fingerprint, status, body = saved
        if fingerprint != call.fingerprint:
            raise StripeApiError(
                400,
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                kind="idempotency_error",
            )
        return status, copy.deepcopy(body)

    def _list(
        self, call: _Call, url: str, object_name: str, objects: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """One page of `objects` (of the caller's mode), newest first, with Stripe's cursors."""
        params = call.params
        limit = LIST_LIMIT_DEFAULT
        if "limit" in params:
            limit = _integer(params["limit"], "limit", minimum=1)
            if limit > LIST_LIMIT_MAX:
                raise StripeApiError(
                    400,
                    f"This value must be less than or equal to {LIST_LIMIT_MAX}.",
                    code="parameter_invalid_integer",
                    param="limit",
                )
        after, before = params.get("starting_after"), params.get("ending_before")
        if after is not None and before is not None:
            raise StripeApiError(
                400, "You may only specify one of these parameters: ending_before, starting_after."
            )
        mode = call.key.livemode
        matching = self._created_filter(params.get("created"))
        ordered = self._newest_first(
            o for o in objects if o["livemode"] == mode and matching(o["created"])
        )
        cursor = after if after is not None else before
        if cursor is None:
            window, has_more = ordered[:limit], len(ordered) > limit
        else:
            param = "starting_after" if after is not None else "ending_before"
            if not isinstance(cursor, str) or cursor not in self._order:
                raise _missing(object_name, str(cursor), param, 400)
            mark = self._sort_key(cursor)
            if after is not None:
                older = [o for o in ordered if self._sort_key(o["id"]) < mark]
                window, has_more = older[:limit], len(older) > limit
            else:
                newer = [o for o in ordered if self._sort_key(o["id"]) > mark]
                window, has_more = newer[-limit:], len(newer) > limit
        return {
            "object": "list",
            "data": copy.deepcopy(window),
            "has_more": has_more,
            "url": url,
        }

    def _created_filter(self, value: Any) -> Callable[[int], bool]:
        if value is None:
            return lambda created: True
        if isinstance(value, str):
            exact = _integer(value, "created")
            return lambda created: created == exact
        if not isinstance(value, dict):
            raise StripeApiError(
                400, "Invalid created: must be an integer or a hash", param="created"
            )
        bounds = {}
        for operator, raw in value.items():
            if operator not in CREATED_OPERATORS:
                raise _unknown_parameter(f"created[{operator}]")
            bounds[operator] = _integer(raw, f"created[{operator}]")
        checks = {
            "gt": lambda created, bound: created > bound,
            "gte": lambda created, bound: created >= bound,
            "lt": lambda created, bound: created < bound,
            "lte": lambda created, bound: created <= bound,
        }
        return lambda created: all(checks[op](created, bound) for op, bound in bounds.items())

    def _sort_key(self, object_id: str) -> tuple[int, int]:
        for table in (self._payment_intents, self._customers, self._events, self._endpoints):
            if object_id in table:
                return table[object_id]["created"], self._order[object_id]
        return 0, self._order[object_id]

    def _newest_first(self, objects: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(objects, key=lambda o: self._sort_key(o["id"]), reverse=True)

    # -- internals: records and events ----------------------------------------------------------

    def _new_account(self) -> dict[str, Any]:
        return {
            "id": _new_id("acct", 16),
            "object": "account",
            "business_profile": {
                "mcc": None,
                "name": self.business_name,
                "product_description": None,
                "support_email": self.email,
                "support_phone": None,
                "support_url": None,
                "url": None,
            },
            "business_type": "company",
            "capabilities": {"card_payments": "active", "transfers": "active"},
            "charges_enabled": True,
            "country": "GB",
            "created": int(self.clock()),
            "default_currency": "gbp",
            "details_submitted": True,
            "email": self.email,
            "metadata": {},
            "payouts_enabled": True,
            "settings": {
                "dashboard": {"display_name": self.business_name, "timezone": "Europe/London"}
            },
            "type": "standard",
        }

    def _remember(self, table: dict[str, dict[str, Any]], record: dict[str, Any]) -> None:
        self._order[record["id"]] = len(self._order)
        table[record["id"]] = record

    def _payment_intent(self, call: _Call, intent_id: str) -> dict[str, Any]:
        intent = self._payment_intents.get(intent_id)
        if intent is None or intent["livemode"] != call.key.livemode:
            raise _missing("payment_intent", intent_id, "intent", 404)
        return intent

    def _customer(self, call: _Call, customer_id: str, *, allow_deleted: bool = False) -> dict:
        customer = self._customers.get(customer_id)
        if (
            customer is None
            or customer["livemode"] != call.key.livemode
            or (customer.get("deleted") and not allow_deleted)
        ):
            raise _missing("customer", customer_id, "customer", 404)
        return customer

    def _endpoint(self, call: _Call, endpoint_id: str) -> dict[str, Any]:
        endpoint = self._endpoints.get(endpoint_id)
        if endpoint is None or endpoint["livemode"] != call.key.livemode:
            raise _missing("webhook_endpoint", endpoint_id, "webhook_endpoint", 404)
        return endpoint

    def _payment_intent_values(
        self, call: _Call, params: dict[str, Any], current: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "amount" in params:
            values["amount"] = _integer(params["amount"], "amount", minimum=1)
        if "currency" in params:
            values["currency"] = _currency(params["currency"])
        if "customer" in params:
            customer_id = params["customer"]
            if customer_id:
                found = self._customers.get(customer_id)
                if found is None or found.get("deleted") or found["livemode"] != call.key.livemode:
                    raise _missing("customer", str(customer_id), "customer", 400)
            values["customer"] = customer_id or None
        for name in (
            "description",
            "receipt_email",
            "statement_descriptor",
            "statement_descriptor_suffix",
            "setup_future_usage",
        ):
            if name in params:
                values[name] = _text(params[name], name)
        if "payment_method_types" in params:
            values["payment_method_types"] = _string_list(
                params["payment_method_types"], "payment_method_types"
            )
            values["automatic_payment_methods"] = None
        if "metadata" in params:
            values["metadata"] = _metadata(params["metadata"], (current or {}).get("metadata"))
        return values

    def _customer_values(
        self, params: dict[str, Any], current: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            name: _text(params[name], name)
            for name in ("name", "email", "phone", "description")
            if name in params
        }
        if "metadata" in params:
            values["metadata"] = _metadata(params["metadata"], (current or {}).get("metadata"))
        return values

    def _insert_payment_intent(
        self, values: dict[str, Any], livemode: bool, created: int | None, call: _Call | None
    ) -> dict[str, Any]:
        intent_id = _new_id("pi")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": None,
            "amount_capturable": 0,
            "amount_received": 0,
            "automatic_payment_methods": {"allow_redirects": "always", "enabled": True},
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic_async",
            "client_secret": f"{intent_id}_secret_{_new_id('x', 25)[2:]}",
            "confirmation_method": "automatic",
            "created": int(self.clock()) if created is None else created,
            "currency": None,
            "customer": None,
            "description": None,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": livemode,
            "metadata": {},
            "next_action": None,
            "payment_method": None,
            "payment_method_types": ["card"],
            "receipt_email": None,
            "setup_future_usage": None,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": "requires_payment_method",
        }
        intent.update(copy.deepcopy(values))
        self._remember(self._payment_intents, intent)
        self._record_event("payment_intent.created", intent, call)
        return intent

    def _insert_customer(
        self, values: dict[str, Any], livemode: bool, created: int | None, call: _Call | None
    ) -> dict[str, Any]:
        customer = {
            "id": _new_id("cus", 14),
            "object": "customer",
            "address": None,
            "balance": 0,
            "created": int(self.clock()) if created is None else created,
            "currency": None,
            "delinquent": False,
            "description": None,
            "email": None,
            "invoice_prefix": secrets.token_hex(4).upper(),
            "livemode": livemode,
            "metadata": {},
            "name": None,
            "phone": None,
            "preferred_locales": [],
            "shipping": None,
            "tax_exempt": "none",
        }
        customer.update(copy.deepcopy(values))
        self._remember(self._customers, customer)
        self._record_event("customer.created", customer, call)
        return customer

    def _record_event(
        self,
        event_type: str,
        obj: dict[str, Any],
        call: _Call | None,
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Record one event (a snapshot of `obj`) and start its deliveries to endpoints."""
        snapshot = {k: copy.deepcopy(v) for k, v in obj.items() if k != "deleted"}
        data: dict[str, Any] = {"object": snapshot}
        if previous:
            data["previous_attributes"] = copy.deepcopy(previous)
        version = call.request.headers.get("Stripe-Version") if call else None
        targets = [
            endpoint
            for endpoint in self._endpoints.values()
            if endpoint["livemode"] == obj["livemode"]
            and any(fnmatch.fnmatchcase(event_type, p) for p in endpoint["enabled_events"])
        ]
        created = obj["created"] if event_type.endswith(".created") else int(self.clock())
        event = {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": version or DEFAULT_API_VERSION,
            "created": max(created, obj["created"]),
            "data": data,
            "livemode": obj["livemode"],
            "pending_webhooks": len(targets),
            "request": {
                "id": call.request_id if call else None,
                "idempotency_key": call.idempotency_key if call else None,
            },
            "type": event_type,
        }
        self._remember(self._events, event)
        if targets:
            self.deliver_in_background(self._deliver, event["id"], targets)
        return event


def dig_enabled(value: Any) -> bool:
    """`automatic_payment_methods[enabled]`, which Stripe requires when the hash is sent."""
    if not isinstance(value, dict) or "enabled" not in value:
        raise StripeApiError(
            400,
            "Missing required param: automatic_payment_methods[enabled].",
            code="parameter_missing",
            param="automatic_payment_methods[enabled]",
        )
    return _boolean(value["enabled"], "automatic_payment_methods[enabled]")


def _without_secret(endpoint: dict[str, Any]) -> dict[str, Any]:
    """Stripe returns an endpoint's signing secret only when it is created."""
    return {k: copy.deepcopy(v) for k, v in endpoint.items() if k != "secret"}


def _changed_part(old: Any, new: Any) -> Any:
    """What `previous_attributes` holds for a field: for metadata, only the keys that changed."""
    if isinstance(old, dict) and isinstance(new, dict):
        return {k: old.get(k) for k in set(old) | set(new) if old.get(k) != new.get(k)}
    return copy.deepcopy(old)
