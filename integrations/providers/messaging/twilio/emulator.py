"""An in-memory Twilio account: the Programmable Messaging calls the hub makes, plus signed
inbound-SMS webhooks and status callbacks.

Contract: VENDORS.md section D3 "Twilio", the compact "Twilio" notes after section F, note 5 of
section F (429 with error code 20429) and the Twilio test vector of section E (`signature`
reproduces it). The paths are Twilio's own (`/2010-04-01/...`), so a client pointed at
`emu.base_url` needs nothing else.

What the emulator serves:

* Auth: HTTP Basic `AccountSid:AuthToken`. Anything else is a 401 with Twilio's error body
  `{"code": 20003, "message": "Authenticate", "more_info": ..., "status": 401}`; a path naming
  another account than the one authenticated is a 404 (code 20404).
* `GET /2010-04-01/Accounts/{AccountSid}.json`: the account (`sid`, `friendly_name`, `status`).
* `GET /2010-04-01/Accounts/{AccountSid}/Messages.json`: newest first (by `date_created`),
  `PageSize` 1-1000 (default 50), `Page` and `PageToken` as Twilio builds them in
  `next_page_uri` (null on the last page), optional `To`, `From` and `DateSent>=YYYY-MM-DD`.
* `GET /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}.json`, or 404 code 20404.
* `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`, `From`, `Body`
  (optional `StatusCallback`): 201 with the message `queued`; then, on a thread, it becomes
  `sent` and, when a StatusCallback was given, a signed status callback (`MessageStatus=sent`)
  is POSTed to it. Missing `To` is 400 code 21604, missing `Body` 21602, a `From` that is not
  the account's number 21606.
* Inbound SMS: `set_sms_url` configures the number's "A message comes in" webhook, as the
  Console does; `receive_sms` stores an inbound message (`received`) and POSTs the signed,
  form-encoded webhook to it on a thread. `send_webhook` posts any form by hand.
* Faults: an injected status answers in Twilio's error body (429 is code 20429).

Assumed where the docs are silent: the wording of most messages; the shapes of ids (`AC`, `SM`
and `PN` followed by 32 hex digits); dates in RFC 2822 (`Thu, 30 Jul 2015 20:12:31 +0000`), one
second apart at most as the clock gives them; that a PageToken is `PA` + the sid of the last
message of the previous page; and that deliveries are made once, without retries. MMS media,
Messaging Services, message redaction and deletion, scheduling and the Accounts list are not
modelled.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.emulators.base import Emulator

API_VERSION = "2010-04-01"
PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 1000
# Status -> (Twilio error code, message) for faults and unknown routes.
STATUS_ERRORS = {
    400: (20001, "Bad request"),
    401: (20003, "Authenticate"),
    403: (20403, "Forbidden"),
    404: (20404, "The requested resource was not found"),
    405: (20004, "Method not allowed"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    502: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
    504: (20500, "Internal Server Error"),
}


def signature(auth_token: str, url: str, params: Mapping[str, str | list[str]]) -> str:
    """`X-Twilio-Signature`: base64(HMAC-SHA1(auth token, URL + each param name, in sorted
    order, followed by each of its values, sorted)) (RequestValidator.compute_signature)."""
    message = url
    for name in sorted(params):
        values = params[name]
        for value in sorted([values] if isinstance(values, str) else values):
            message += name + value
    mac = hmac.new(auth_token.encode(), message.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def _rfc2822(seconds: float) -> str:
    return format_datetime(datetime.fromtimestamp(int(seconds), UTC)).replace("-0000", "+0000")


class TwilioApiError(Exception):
    """Raised by a handler; becomes Twilio's `{code, message, more_info, status}` body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


@dataclass
class WebhookDelivery:
    """One webhook the emulator POSTed on its own, and how the receiver answered."""

    message_sid: str
    url: str
    params: dict[str, str]
    status_code: int | None = None
    content_type: str | None = None
    text: str | None = None
    error: str | None = None


def api(handler: Callable[..., tuple[int, dict[str, Any]]]) -> Callable[..., Response]:
    """Wrap a handler `(self, request, **values) -> (status, body)`: auth, account, errors."""

    @functools.wraps(handler)
    def endpoint(self: TwilioEmulator, request: Request, account_sid: str, **values: Any):
        try:
            with self.lock:
                self._authenticate(request)
                if account_sid != self.account_sid:
                    raise TwilioApiError(
                        404,
                        20404,
                        f"The requested resource /{API_VERSION}/Accounts/"
                        f"{account_sid}.json was not found",
                    )
                status, body = handler(self, request, **values)
        except TwilioApiError as error:
            return self.json(error.body(), status=error.status)
        return self.json(body, status=status)

    return endpoint


class TwilioEmulator(Emulator):
    """One Twilio account with one SMS-capable number."""

    provider = "twilio"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        friendly_name: str = "Lumen Photography",
        phone_number: str = "+447700900123",
    ) -> None:
        self.clock: Callable[[], float] = time.time
        self.account_sid = account_sid or _sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.friendly_name, self.phone_number = friendly_name, phone_number
        super().__init__(host, port)

    def routes(self) -> list[Rule]:
        base = f"/{API_VERSION}/Accounts/<account_sid>"
        return [
            Rule(f"{base}.json", endpoint="get_account", methods=["GET"]),
            Rule(f"{base}/Messages.json", endpoint="list_messages", methods=["GET"]),
            Rule(f"{base}/Messages.json", endpoint="create_message", methods=["POST"]),
            Rule(f"{base}/Messages/<message_sid>.json", endpoint="get_message", methods=["GET"]),
        ]

    def reset_state(self) -> None:
        with self.lock:
            now = self.clock()
            self.account = {
                "sid": self.account_sid,
                "friendly_name": self.friendly_name,
                "status": "active",
                "type": "Full",
                "owner_account_sid": self.account_sid,
                "date_created": _rfc2822(now - 400 * 86400),
                "date_updated": _rfc2822(now - 400 * 86400),
                "uri": f"/{API_VERSION}/Accounts/{self.account_sid}.json",
            }
            self._messages: dict[str, dict[str, Any]] = {}
            self._order: list[str] = []  # oldest first
            self._sms_url: tuple[str, str] | None = None  # (signed URL, where the POST goes)
            self._delivery_threads: list[threading.Thread] = []
            self.deliveries: list[WebhookDelivery] = []

    def error_response(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        """Twilio's error body for injected faults and unknown routes."""
        code, text = STATUS_ERRORS.get(status, STATUS_ERRORS[500 if status >= 500 else 400])
        return self.json(TwilioApiError(status, code, text).body(), status=status, headers=headers)

    # -- seeding and inspection helpers (Python-level, for tests and the sandbox) --------------

    @property
    def messages_path(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    def add_message(
        self,
        body: str,
        *,
        from_: str,
        to: str,
        direction: str = "inbound",
        status: str = "received",
        at: float | None = None,
    ) -> dict[str, Any]:
        """Store a message as Twilio holds it; returns a copy."""
        sid = _sid("SM")
        when = _rfc2822(self.clock() if at is None else at)
        sent = None if status in ("queued", "accepted", "scheduled") else when
        message = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": when,
            "date_sent": sent,
            "date_updated": when,
            "direction": direction,
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "GBP",
            "sid": sid,
            "status": status,
            "subresource_uris": {
                "media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}/Media.json"
            },
            "to": to,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        with self.lock:
            self._messages[sid] = message
            self._order.append(sid)
        return copy.deepcopy(message)

    def messages(self) -> list[dict[str, Any]]:
        """Every message, oldest first."""
        with self.lock:
            return [copy.deepcopy(self._messages[sid]) for sid in self._order]

    def set_sms_url(self, url: str, *, deliver_to: str | None = None) -> None:
        """The number's "A message comes in" webhook. Twilio signs with `url`; `deliver_to`
        is where the POST really goes when a proxy stands in front (default: `url`)."""
        with self.lock:
            self._sms_url = (url, deliver_to or url)

    def inbound_params(self, message: Mapping[str, Any]) -> dict[str, str]:
        """The form Twilio posts to the number's webhook for an inbound message."""
        return {
            "ToCountry": "GB",
            "ToState": "",
            "SmsMessageSid": message["sid"],
            "NumMedia": "0",
            "ToCity": "",
            "FromZip": "",
            "SmsSid": message["sid"],
            "FromState": "",
            "SmsStatus": "received",
            "FromCity": "",
            "Body": message["body"],
            "FromCountry": "GB",
            "To": message["to"],
            "ToZip": "",
            "NumSegments": "1",
            "MessageSid": message["sid"],
            "AccountSid": self.account_sid,
            "From": message["from"],
            "ApiVersion": API_VERSION,
        }

    def status_params(self, message: Mapping[str, Any]) -> dict[str, str]:
        """The form of a status callback about an outbound message."""
        return {
            "SmsSid": message["sid"],
            "SmsStatus": message["status"],
            "MessageStatus": message["status"],
            "To": message["to"],
            "MessageSid": message["sid"],
            "AccountSid": self.account_sid,
            "From": message["from"],
            "ApiVersion": API_VERSION,
        }

    def receive_sms(self, body: str, *, from_: str, to: str | None = None) -> dict[str, Any]:
        """Someone texts the account's number: the message is stored and, when an SMS URL is
        set, the signed webhook is POSTed to it on a thread."""
        message = self.add_message(body, from_=from_, to=to or self.phone_number)
        with self.lock:
            target = self._sms_url
        if target is not None:
            self.deliver_in_background(
                self._deliver, message["sid"], target, self.inbound_params(message)
            )
        return message

    def delivery_headers(self, signed_url: str, params: Mapping[str, str]) -> dict[str, str]:
        return {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": secrets.token_hex(16),
            "X-Twilio-Signature": signature(self.auth_token, signed_url, params),
        }

    def send_webhook(
        self,
        url: str,
        params: Mapping[str, str],
        *,
        auth_token: str | None = None,
        signed_url: str | None = None,
        signed_params: Mapping[str, str] | None = None,
        sign: bool = True,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
    ) -> requests.Response:
        """POST `params` form-encoded to `url`, signed with `auth_token` (default: the
        account's) over `signed_url` (default: `url`) and `signed_params` (default: `params`)."""
        sent = self.delivery_headers(signed_url or url, params)
        sent["X-Twilio-Signature"] = signature(
            auth_token or self.auth_token, signed_url or url, signed_params or params
        )
        if not sign:
            del sent["X-Twilio-Signature"]
        return requests.post(
            url,
            data=urlencode(params).encode(),
            headers={**sent, **(headers or {})},
            timeout=timeout,
        )

    def _deliver(self, sid: str, target: tuple[str, str], params: dict[str, str]) -> None:
        signed_url, address = target
        record = WebhookDelivery(sid, address, dict(params))
        try:
            response = self.send_webhook(address, params, signed_url=signed_url)
            record.status_code = response.status_code
            record.content_type = response.headers.get("Content-Type")
            record.text = response.text
        except requests.RequestException as error:
            record.error = str(error)
        with self.lock:
            self.deliveries.append(record)

    def _mark_sent(self, sid: str, callback: str | None) -> None:
        """The carrier took the message: queued becomes sent; then the status callback."""
        with self.lock:
            message = self._messages[sid]
            now = _rfc2822(self.clock())
            message.update(status="sent", date_sent=now, date_updated=now)
            params = self.status_params(message)
        if callback:
            self._deliver(sid, (callback, callback), params)

    # -- endpoints --------------------------------------------------------------------------------

    @api
    def get_account(self, request: Request) -> tuple[int, dict[str, Any]]:
        return 200, copy.deepcopy(self.account)

    @api
    def get_message(self, request: Request, message_sid: str) -> tuple[int, dict[str, Any]]:
        message = self._messages.get(message_sid)
        if message is None:
            raise TwilioApiError(404, 20404, f"The requested resource {request.path} was not found")
        return 200, copy.deepcopy(message)

    @api
    def create_message(self, request: Request) -> tuple[int, dict[str, Any]]:
        form = request.form
        to, from_, body = form.get("To"), form.get("From"), form.get("Body")
        if not to:
            raise TwilioApiError(400, 21604, "A 'To' phone number is required.")
        if not body:
            raise TwilioApiError(400, 21602, "Message body is required.")
        if from_ != self.phone_number:
            raise TwilioApiError(
                400,
                21606,
                f"The From phone number {from_} is not a valid, SMS-capable inbound phone "
                "number or short code for your account.",
            )
        message = self.add_message(
            body, from_=from_, to=to, direction="outbound-api", status="queued"
        )
        self.deliver_in_background(self._mark_sent, message["sid"], form.get("StatusCallback"))
        return 201, message

    @api
    def list_messages(self, request: Request) -> tuple[int, dict[str, Any]]:
        args = request.args
        size = args.get("PageSize", str(PAGE_SIZE_DEFAULT))
        page = args.get("Page", "0")
        if not size.isdigit() or not 1 <= int(size) <= PAGE_SIZE_MAX:
            raise TwilioApiError(400, 20001, f"Invalid PageSize: {size}")
        if not page.isdigit():
            raise TwilioApiError(400, 20001, f"Invalid Page: {page}")
        size_n, page_n = int(size), int(page)
        rows = [
            self._messages[sid]
            for sid in reversed(self._order)
            if self._wanted(self._messages[sid], args)
        ]
        offset = 0
        token = args.get("PageToken")
        if token:
            after = token[2:] if token.startswith("PA") else ""
            sids = [m["sid"] for m in rows]
            if after not in sids:
                raise TwilioApiError(400, 20001, f"Invalid PageToken: {token}")
            offset = sids.index(after) + 1
        chunk = rows[offset : offset + size_n]
        filters = [(k, v) for k, v in args.items(multi=True) if k not in ("Page", "PageToken")]
        filters = [(k, v) for k, v in filters if k != "PageSize"]

        def uri(page: int, extra: list[tuple[str, str]]) -> str:
            query = urlencode([*filters, ("PageSize", str(size_n)), ("Page", str(page)), *extra])
            return f"{self.messages_path}?{query}"

        next_uri = None
        if offset + size_n < len(rows) and chunk:
            next_uri = uri(page_n + 1, [("PageToken", "PA" + chunk[-1]["sid"])])
        return 200, {
            "messages": copy.deepcopy(chunk),
            "end": offset + len(chunk) - 1 if chunk else 0,
            "first_page_uri": uri(0, []),
            "next_page_uri": next_uri,
            "page": page_n,
            "page_size": size_n,
            "previous_page_uri": uri(page_n - 1, []) if page_n > 0 else None,
            "start": offset,
            "uri": f"{self.messages_path}?{urlencode(list(args.items(multi=True)))}",
        }

    # -- internals --------------------------------------------------------------------------------

    @staticmethod
    def _wanted(message: Mapping[str, Any], args: Any) -> bool:
        if args.get("To") and message["to"] != args["To"]:
            return False
        if args.get("From") and message["from"] != args["From"]:
            return False
        since = args.get("DateSent>")
        if since:
            sent = message["date_sent"]
            if sent is None:
                return False
            day = datetime.strptime(sent, "%a, %d %b %Y %H:%M:%S %z").date().isoformat()
            return day >= since
        return True

    def _authenticate(self, request: Request) -> None:
        auth = request.authorization
        if (
            auth is None
            or auth.type != "basic"
            or not hmac.compare_digest(str(auth.username or ""), self.account_sid)
            or not hmac.compare_digest(str(auth.password or ""), self.auth_token)
        ):
            raise TwilioApiError(401, 20003, "Authenticate")
