"""An in-memory WhatsApp Business phone number on the Cloud API (Meta's Graph API): the calls
the hub makes, signed message webhooks, and the callback-URL verification Meta runs when an app's
webhook is configured.

Contract: VENDORS.md section D4 "WhatsApp Cloud API (Meta)", the "WhatsApp Cloud API" notes
after section F and the WhatsApp test vector of section E (`signature` reproduces it). Paths are
Graph's own under the API version (`/v21.0/...`), so a client pointed at `emu.base_url` needs
nothing else.

What the emulator serves:

* Auth: `Authorization: Bearer <system-user access token>`. Anything else is a 401 with Graph's
  error body `{"error": {"message", "type": "OAuthException", "code": 190, "fbtrace_id"}}`.
* `GET /v21.0/{phone-number-id}`: the phone number (`id`, `verified_name`,
  `display_phone_number`, `quality_rating`, `code_verification_status`); another id is a 400
  with code 100 (Graph's "Unsupported get request"), as Graph answers for an object the token
  cannot see.
* `POST /v21.0/{phone-number-id}/messages`, JSON `{"messaging_product": "whatsapp", "to",
  "type": "text", "text": {"body"}}`: 200 with `{"messaging_product", "contacts": [{"input",
  "wa_id"}], "messages": [{"id": "wamid..."}]}`; then, on a thread, a signed `sent` status
  webhook when a callback URL is set. A missing or wrong `messaging_product` or `to` or body is
  a 400 with code 100; a type other than text is a 400 with code 131000 (not modelled).
* Inbound: `set_callback` configures the app's webhook (callback URL and verify token, as the
  App Dashboard does); `verify_callback` makes the GET `hub.mode=subscribe` call Meta makes
  when it is saved and returns the answer; `receive_text` stores an inbound message and POSTs
  the signed webhook to the callback on a thread; `send_webhook` posts any body by hand.
* Faults: an injected status answers in Graph's error body; 429 is code 130429 (throughput).

Assumed where the docs are silent: the wording of messages; ids (`wamid.` + base64 of random
bytes, 15-digit phone number ids); that statuses of a sent message are delivered once,
without retries; that one delivery carries one change. Templates, media, interactive
messages, read receipts sent by the business, and the 24-hour customer-service window are
not modelled.
"""

from __future__ import annotations

import base64
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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.emulators.base import Emulator

API_VERSION = "v21.0"
# Status -> (Graph error code, type, message) for faults and unknown routes.
STATUS_ERRORS = {
    400: (100, "OAuthException", "Invalid parameter"),
    401: (190, "OAuthException", "Invalid OAuth access token - Cannot parse access token"),
    403: (10, "OAuthException", "Application does not have permission for this action"),
    404: (803, "OAuthException", "Some of the aliases you requested do not exist"),
    405: (100, "OAuthException", "Unsupported request - method type"),
    429: (130429, "OAuthException", "(#130429) Rate limit hit"),
    500: (1, "OAuthException", "An unknown error occurred"),
    503: (2, "OAuthException", "Service temporarily unavailable"),
}


def signature(app_secret: str, body: bytes) -> str:
    """`X-Hub-Signature-256`: `sha256=` + hex HMAC-SHA256(app secret, raw body)."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def _wamid() -> str:
    return "wamid." + base64.b64encode(secrets.token_bytes(30)).decode()


def _digits(n: int) -> str:
    return str(secrets.randbelow(9) + 1) + "".join(
        secrets.choice(string.digits) for _ in range(n - 1)
    )


class GraphError(Exception):
    """Raised by a handler; becomes Graph's `{"error": {...}}` body."""

    def __init__(self, status: int, code: int, message: str, kind: str = "OAuthException"):
        super().__init__(message)
        self.status, self.code, self.message, self.kind = status, code, message, kind

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.kind,
                "code": self.code,
                "fbtrace_id": "A" + secrets.token_hex(10),
            }
        }


@dataclass
class WebhookDelivery:
    """One webhook the emulator POSTed on its own, and how the receiver answered."""

    url: str
    body: bytes
    status_code: int | None = None
    text: str | None = None
    error: str | None = None


def api(handler: Callable[..., tuple[int, dict[str, Any]]]) -> Callable[..., Response]:
    """Wrap a handler `(self, request, **values) -> (status, body)`: auth, number, errors."""

    @functools.wraps(handler)
    def endpoint(self: WhatsAppEmulator, request: Request, number_id: str, **values: Any):
        try:
            with self.lock:
                self._authenticate(request)
                if number_id != self.phone_number_id:
                    raise GraphError(
                        400,
                        100,
                        f"Unsupported get request. Object with ID '{number_id}' does not "
                        "exist, cannot be loaded due to missing permissions, or does not "
                        "support this operation.",
                        "GraphMethodException",
                    )
                status, body = handler(self, request, **values)
        except GraphError as error:
            return self.json(error.body(), status=error.status)
        return self.json(body, status=status)

    return endpoint


class WhatsAppEmulator(Emulator):
    """One WhatsApp Business Account with one phone number, and the Meta app whose webhook
    receives its messages."""

    provider = "whatsapp"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        access_token: str | None = None,
        app_secret: str | None = None,
        phone_number_id: str | None = None,
        waba_id: str | None = None,
        verified_name: str = "Lumen Photography",
        display_phone_number: str = "+44 7700 900123",
    ) -> None:
        alphabet = string.ascii_letters + string.digits
        self.clock: Callable[[], float] = time.time
        self.access_token = access_token or "EAA" + "".join(
            secrets.choice(alphabet) for _ in range(180)
        )
        self.app_secret = app_secret or secrets.token_hex(16)
        self.phone_number_id = phone_number_id or _digits(15)
        self.waba_id = waba_id or _digits(15)
        self.verified_name, self.display_phone_number = verified_name, display_phone_number
        super().__init__(host, port)

    def routes(self) -> list[Rule]:
        base = f"/{API_VERSION}/<number_id>"
        return [
            Rule(base, endpoint="get_number", methods=["GET"]),
            Rule(f"{base}/messages", endpoint="send_message", methods=["POST"]),
        ]

    def reset_state(self) -> None:
        with self.lock:
            self._messages: dict[str, dict[str, Any]] = {}
            self._order: list[str] = []
            self._callback: tuple[str, str] | None = None  # (URL, verify token)
            self._delivery_threads: list[threading.Thread] = []
            self.deliveries: list[WebhookDelivery] = []

    def error_response(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        """Graph's error body for injected faults and unknown routes."""
        code, kind, text = STATUS_ERRORS.get(status, STATUS_ERRORS[500 if status >= 500 else 400])
        body = GraphError(status, code, text, kind).body()
        return self.json(body, status=status, headers=headers)

    # -- seeding and inspection helpers (Python-level, for tests and the sandbox) -------------

    @property
    def number_path(self) -> str:
        return f"/{API_VERSION}/{self.phone_number_id}"

    @property
    def business_number(self) -> str:
        """The number as WhatsApp writes a sender or recipient: digits only."""
        return re.sub(r"\D", "", self.display_phone_number)

    def messages(self) -> list[dict[str, Any]]:
        """Every message, sent or received, oldest first."""
        with self.lock:
            return [copy.deepcopy(self._messages[mid]) for mid in self._order]

    def set_callback(self, url: str, verify_token: str) -> None:
        """The app's webhook (Callback URL and Verify token), subscribed to `messages`."""
        with self.lock:
            self._callback = (url, verify_token)

    def verify_callback(
        self,
        url: str | None = None,
        verify_token: str | None = None,
        *,
        challenge: str | None = None,
        timeout: float = 5.0,
    ) -> tuple[requests.Response, str]:
        """The GET Meta sends when a callback URL is saved: the answer and the challenge sent
        (Meta accepts the URL only on a 200 whose body is exactly the challenge)."""
        with self.lock:
            configured = self._callback or ("", "")
        challenge = challenge or str(secrets.randbelow(10**9) + 10**9)
        params = {
            "hub.mode": "subscribe",
            "hub.challenge": challenge,
            "hub.verify_token": configured[1] if verify_token is None else verify_token,
        }
        response = requests.get(url or configured[0], params=params, timeout=timeout)
        return response, challenge

    def envelope(self, value: dict[str, Any]) -> dict[str, Any]:
        """A webhook body with one `messages` change holding `value` (its messages/statuses)."""
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": self.waba_id,
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": self.business_number,
                                    "phone_number_id": self.phone_number_id,
                                },
                                **value,
                            },
                        }
                    ],
                }
            ],
        }

    def text_message(
        self, body: str, *, from_: str, name: str = "", at: float | None = None
    ) -> dict[str, Any]:
        """A message as an inbound webhook carries it; also stored as received."""
        message = {
            "from": re.sub(r"\D", "", from_),
            "id": _wamid(),
            "timestamp": str(int(self.clock() if at is None else at)),
            "type": "text",
            "text": {"body": body},
        }
        with self.lock:
            self._messages[message["id"]] = {**message, "direction": "inbound", "name": name}
            self._order.append(message["id"])
        return message

    def inbound_value(self, message: dict[str, Any], name: str = "") -> dict[str, Any]:
        return {
            "contacts": [{"profile": {"name": name or "Guest"}, "wa_id": message["from"]}],
            "messages": [message],
        }

    def status_value(self, message_id: str, status: str, recipient: str) -> dict[str, Any]:
        return {
            "statuses": [
                {
                    "id": message_id,
                    "status": status,
                    "timestamp": str(int(self.clock())),
                    "recipient_id": recipient,
                }
            ]
        }

    def receive_text(self, body: str, *, from_: str, name: str = "") -> dict[str, Any]:
        """Someone messages the business number: stored and, when a callback is set, the
        signed webhook is POSTed to it on a thread. Returns the message as delivered."""
        message = self.text_message(body, from_=from_, name=name)
        payload = self.envelope(self.inbound_value(message, name))
        with self.lock:
            target = self._callback
        if target is not None:
            self.deliver_in_background(self._deliver, target[0], self.encode(payload))
        return message

    @staticmethod
    def encode(payload: Any) -> bytes:
        return json.dumps(payload, separators=(",", ":")).encode()

    def send_webhook(
        self,
        url: str,
        body: bytes | dict[str, Any],
        *,
        app_secret: str | None = None,
        signed_body: bytes | None = None,
        sign: bool = True,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
    ) -> requests.Response:
        """POST `body` as Meta does, signed with `app_secret` (default: the app's) over
        `signed_body` (default: `body`)."""
        raw = body if isinstance(body, bytes) else self.encode(body)
        sent = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
        if sign:
            sent["X-Hub-Signature-256"] = signature(
                app_secret or self.app_secret, raw if signed_body is None else signed_body
            )
        return requests.post(url, data=raw, headers={**sent, **(headers or {})}, timeout=timeout)

    def _deliver(self, url: str, body: bytes) -> None:
        record = WebhookDelivery(url, body)
        try:
            response = self.send_webhook(url, body)
            record.status_code, record.text = response.status_code, response.text
        except requests.RequestException as error:
            record.error = str(error)
        with self.lock:
            self.deliveries.append(record)

    # -- endpoints --------------------------------------------------------------------------------

    @api
    def get_number(self, request: Request) -> tuple[int, dict[str, Any]]:
        return 200, {
            "verified_name": self.verified_name,
            "code_verification_status": "VERIFIED",
            "display_phone_number": self.display_phone_number,
            "quality_rating": "GREEN",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "STANDARD"},
            "id": self.phone_number_id,
        }

    @api
    def send_message(self, request: Request) -> tuple[int, dict[str, Any]]:
        body = self.body_json(request)
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            raise GraphError(
                400, 100, "(#100) The parameter messaging_product is required.", "OAuthException"
            )
        to = body.get("to")
        if not isinstance(to, str) or not re.fullmatch(r"\+?\d{6,15}", to):
            raise GraphError(400, 100, "(#100) Invalid parameter", "OAuthException")
        if body.get("type", "text") != "text":
            raise GraphError(400, 131000, "Something went wrong", "OAuthException")
        text = body.get("text")
        if not isinstance(text, dict) or not isinstance(text.get("body"), str) or not text["body"]:
            raise GraphError(
                400, 100, "(#100) The parameter text['body'] is required.", "OAuthException"
            )
        wa_id = to.lstrip("+")
        message = {
            "id": _wamid(),
            "direction": "outbound",
            "to": wa_id,
            "timestamp": str(int(self.clock())),
            "type": "text",
            "text": {"body": text["body"]},
            "status": "accepted",
        }
        self._messages[message["id"]] = message
        self._order.append(message["id"])
        self.deliver_in_background(self._mark_sent, message["id"])
        return 200, {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": wa_id}],
            "messages": [{"id": message["id"]}],
        }

    def _mark_sent(self, message_id: str) -> None:
        with self.lock:
            message = self._messages[message_id]
            message["status"] = "sent"
            target = self._callback
        if target is not None:
            value = self.status_value(message_id, "sent", message["to"])
            self._deliver(target[0], self.encode(self.envelope(value)))

    # -- internals --------------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> None:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), self.access_token.encode()
        ):
            raise GraphError(
                401, 190, "Invalid OAuth access token - Cannot parse access token", "OAuthException"
            )
