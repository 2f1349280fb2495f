"""An in-memory Calendly: the v2 API the hub reads, bookings made test-side, signed webhooks.

Contract: VENDORS.md section A16 "Calendly" [confirmed for the signature; the endpoints come
from the harvested OpenAPI in `api-evangelist/calendly`: `openapi/calendly-users-api-openapi.yml`,
`calendly-scheduled-events-api-openapi.yml`, `calendly-invitees-api-openapi.yml`,
`calendly-webhook-subscriptions-api-openapi.yml` and `asyncapi/calendly-webhook-api-asyncapi.yml`],
the Calendly test vector of section E, which the signature reproduces, and the rate-limit notes
of section G. Resource URIs are Calendly's own (`https://api.calendly.com/...`, whatever port
the emulator serves on): clients read ids from them and never follow them.

What the emulator serves:

* Auth: `Authorization: Bearer <personal access token>`. Tokens are JWT-like strings issued by
  `issue_token`; a missing or unknown one answers 401
  `{"title": "Unauthenticated", "message": "The access token is invalid"}`.
* `GET /users/me`, `GET /users/{uuid}` (a user of the caller's organization): `{resource: User}`.
* `GET /scheduled_events?user=|organization=` with `status`, `invitee_email`,
  `min_start_time`, `max_start_time`, `sort` (`start_time:asc`, the default, or
  `start_time:desc`), `count` (1-100, default 20) and `page_token`. Lists answer
  `{collection, pagination: {count, next_page, previous_page, next_page_token,
  previous_page_token}}`; both statuses are listed unless `status` narrows them.
* `GET /scheduled_events/{uuid}`; `POST /scheduled_events/{uuid}/cancellation` (`{reason}`), the
  host's cancellation: the event and every active invitee are canceled, one `invitee.canceled`
  per invitee.
* `GET /scheduled_events/{uuid}/invitees` (`status`, `email`, `sort` on `created_at`, `count`,
  `page_token`) and `GET /scheduled_events/{uuid}/invitees/{uuid}`.
* `GET|POST /webhook_subscriptions`, `GET|DELETE /webhook_subscriptions/{uuid}`. A create takes
  `{url, events, organization, scope, user (scope user), signing_key}`, answers 201
  `{resource}` and keeps the signing key, which no answer ever shows.
* Rate limits: every authenticated answer carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`
  and `X-RateLimit-Reset` (seconds until the window resets); past `rate_limit` requests per
  user in a 60 s window the answer is 429. Injected 429s carry the same headers (the fault's
  `retry_after` as the reset), not Retry-After.
* Errors: Calendly's `{title, message, details?}` envelope; `details` is a list of
  `{parameter, message}` for invalid arguments.
* Webhooks: each booking, cancellation and reschedule records a notification
  `{created_at, created_by, event, payload}` whose payload is the invitee with its
  `scheduled_event` embedded, and POSTs it, on a thread, to every active subscription that wants
  the event for that host (scope `user`) or organization (scope `organization`), with
  `Calendly-Webhook-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` keyed by the
  subscription's signing key. `send_webhook` posts one notification by hand.

Test-side helpers (Python, not HTTP): `add_user`, `issue_token`, `book`, `add_invitee`,
`cancel_invitee`, `cancel_event`, `reschedule`, `submit_routing_form`, `add_webhook_subscription`,
`notifications`, `scheduled_events`.

Assumed where the docs are silent: the wording of error titles and messages beyond the 401's;
that a missing Authorization header gets the same 401 as a bad token; that page tokens are
opaque and bound to the query that issued them (another query, or an unknown token, is a 400
naming `page_token`); that one-on-one events (invitee limit 1) are canceled when their invitee
cancels, while group events stay active; that the host's cancellation answers 200 (as the
harvested OpenAPI says) and that canceling a canceled event is a 403; that a subscription's URL
must be https except on loopback hosts (so tests need no TLS), and a second subscription with the
same URL for the same owner is a 409; that a subscription made without a signing key delivers
unsigned (OAuth apps get a generated key at Calendly; personal tokens are all this emulator
models); that deliveries are made once, without Calendly's retries; that `routing_form_submission
.created` carries the submission, not an invitee. Event types, availability, organization
memberships beyond "same organization", no-shows and the Scheduling API's `POST /invitees` are
not modelled.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.emulators.base import Emulator, Fault

API_ORIGIN = "https://api.calendly.com"
BOOKING_ORIGIN = "https://calendly.com"
WEBHOOK_EVENTS = ("invitee.created", "invitee.canceled", "routing_form_submission.created")
SIGNATURE_HEADER = "Calendly-Webhook-Signature"
COUNT_DEFAULT, COUNT_MAX = 20, 100
RATE_LIMIT_PAID = 500  # requests per user per minute on paid plans (50 on Free)
RATE_WINDOW_S = 60
REASON_MAX = 10000
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TITLES = {
    400: "Invalid Argument",
    401: "Unauthenticated",
    403: "Permission Denied",
    404: "Resource Not Found",
    409: "Already Exists",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
NOT_FOUND = "The server could not find the requested resource."
INVALID_TOKEN = "The access token is invalid"  # noqa: S105 - an error message
TOO_MANY = "You have exceeded the rate limit. Please wait before making more requests."


def calendly_signature(signing_key: str, timestamp: int, body: bytes | str) -> str:
    """`Calendly-Webhook-Signature`: `t=<timestamp>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    raw = body.encode() if isinstance(body, str) else body
    digest = hmac.new(signing_key.encode(), f"{timestamp}.".encode() + raw, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def _iso(timestamp: float) -> str:
    """Calendly's timestamps: UTC with microseconds, `2027-06-12T13:00:00.000000Z`."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _instant(value: datetime | str) -> datetime:
    """An aware datetime from a datetime or an ISO string with an offset (or Z)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return moment.astimezone(UTC)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _uuid_of(reference: Any) -> str:
    """The uuid of a resource given as its dict, its URI or the uuid itself."""
    if isinstance(reference, dict):
        reference = reference["uri"]
    return str(reference).rstrip("/").rsplit("/", 1)[-1]


class CalendlyApiError(Exception):
    """Raised by a handler; becomes Calendly's `{title, message, details?}` envelope."""

    def __init__(
        self, status: int, message: str, details: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"title": TITLES.get(self.status, "Error"), "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


def _invalid(parameter: str, message: str) -> CalendlyApiError:
    return CalendlyApiError(
        400, "The supplied parameters are invalid.", [{"parameter": parameter, "message": message}]
    )


def _not_found() -> CalendlyApiError:
    return CalendlyApiError(404, NOT_FOUND)


@dataclass
class WebhookDelivery:
    """One webhook POST the emulator made on its own, and how the receiver answered."""

    subscription: str  # the subscription's URI
    event: str
    url: str
    status_code: int | None = None
    error: str | None = None


@dataclass
class _Window:
    started: float
    used: int = 0


def api(handler: Callable[..., tuple[Any, int]]) -> Callable[..., Response]:
    """Wrap a handler `(self, request, user, **values) -> (body, status)`: the token, the rate
    limit and its headers, and Calendly's error envelope."""

    @functools.wraps(handler)
    def endpoint(self: CalendlyEmulator, request: Request, **values: Any) -> Response:
        with self.lock:
            user = self._authenticated(request)
            if user is None:
                return self._error(CalendlyApiError(401, INVALID_TOKEN))
            headers, allowed = self._spend(user["uri"])
            if not allowed:
                return self._error(CalendlyApiError(429, TOO_MANY), headers)
            try:
                body, status = handler(self, request, user, **values)
            except CalendlyApiError as error:
                return self._error(error, headers)
            if status == 204:
                return Response(status=204, headers=headers)
            return self.json(body, status=status, headers=headers)

    return endpoint


class CalendlyEmulator(Emulator):
    """Calendly users, their scheduled events and invitees, and webhook subscriptions."""

    provider = "calendly"

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, rate_limit: int = RATE_LIMIT_PAID
    ) -> None:
        self.rate_limit = rate_limit
        self.clock: Callable[[], float] = time.time  # stamps and rate windows; tests may move it
        super().__init__(host, port)

    def routes(self) -> list[Rule]:
        table = [
            ("/users/me", "GET", "get_me"),
            ("/users/<user_uuid>", "GET", "get_user"),
            ("/scheduled_events", "GET", "list_scheduled_events"),
            ("/scheduled_events/<event_uuid>", "GET", "get_scheduled_event"),
            ("/scheduled_events/<event_uuid>/cancellation", "POST", "cancel_scheduled_event"),
            ("/scheduled_events/<event_uuid>/invitees", "GET", "list_invitees"),
            ("/scheduled_events/<event_uuid>/invitees/<invitee_uuid>", "GET", "get_invitee"),
            ("/webhook_subscriptions", "GET", "list_webhook_subscriptions"),
            ("/webhook_subscriptions", "POST", "create_webhook_subscription"),
            ("/webhook_subscriptions/<subscription_uuid>", "GET", "get_webhook_subscription"),
            ("/webhook_subscriptions/<subscription_uuid>", "DELETE", "delete_webhook_subscription"),
        ]
        return [Rule(path, methods=[method], endpoint=name) for path, method, name in table]

    def reset_state(self) -> None:
        with self.lock:
            self._users: dict[str, dict[str, Any]] = {}  # uri -> user
            self._tokens: dict[str, str] = {}  # token -> user uri
            self._event_types: dict[tuple[str, str], str] = {}  # (user uri, name) -> uri
            self._events: dict[str, dict[str, Any]] = {}  # uuid -> scheduled event
            self._invitees: dict[str, dict[str, dict[str, Any]]] = {}  # event uuid -> uuid -> inv
            self._subscriptions: dict[str, dict[str, Any]] = {}  # uuid -> subscription (+ key)
            self._page_tokens: dict[str, tuple[str, tuple[tuple[str, str], ...], int]] = {}
            self._windows: dict[str, _Window] = {}
            self._notifications: list[dict[str, Any]] = []
            self._delivery_threads: list[threading.Thread] = []
            self.deliveries: list[WebhookDelivery] = []

    def error_response(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        """Calendly's envelope for unknown routes and injected faults."""
        if status == 404:
            message = NOT_FOUND
        return self._error(CalendlyApiError(status, message), headers)

    def _fault_response(self, fault: Fault) -> Response:
        """An injected 429 reads like Calendly's: X-RateLimit-* headers, no Retry-After."""
        if fault.status != 429:
            return super()._fault_response(fault)
        if fault.delay_s:
            time.sleep(fault.delay_s)
        reset = fault.retry_after if fault.retry_after is not None else RATE_WINDOW_S
        headers = {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        }
        return self._error(CalendlyApiError(429, TOO_MANY), headers)

    # -- seeding and inspection helpers (Python-level, for tests and the sandbox) --------------

    def add_user(
        self,
        name: str = "Maya Lumen",
        email: str = "maya@lumen.example",
        timezone: str = "Europe/Lisbon",
        *,
        organization: str | None = None,
    ) -> dict[str, Any]:
        """A Calendly user, in its own organization unless one (a URI) is given."""
        now = _iso(self.clock())
        user_uuid = str(uuid.uuid4())
        slug = "-".join(name.lower().split()) or user_uuid[:8]
        user = {
            "uri": f"{API_ORIGIN}/users/{user_uuid}",
            "name": name,
            "slug": slug,
            "email": email,
            "scheduling_url": f"{BOOKING_ORIGIN}/{slug}",
            "timezone": timezone,
            "avatar_url": None,
            "created_at": now,
            "updated_at": now,
            "current_organization": organization or f"{API_ORIGIN}/organizations/{uuid.uuid4()}",
        }
        with self.lock:
            self._users[user["uri"]] = user
        return copy.deepcopy(user)

    def issue_token(self, user: Any, token: str | None = None) -> str:
        """A personal access token for `user` (a JWT-like string unless one is given)."""
        with self.lock:
            uri = self._user(user)["uri"]
            if token is None:
                header = {"kid": secrets.token_hex(32), "typ": "PAT", "alg": "ES256"}
                claims = {
                    "iss": "https://auth.calendly.com",
                    "iat": int(self.clock()),
                    "jti": str(uuid.uuid4()),
                    "user_uuid": _uuid_of(uri),
                }
                token = ".".join(
                    [
                        _b64url(json.dumps(header, separators=(",", ":")).encode()),
                        _b64url(json.dumps(claims, separators=(",", ":")).encode()),
                        _b64url(secrets.token_bytes(64)),
                    ]
                )
            self._tokens[token] = uri
        return token

    def book(
        self,
        start_time: datetime | str,
        *,
        user: Any = None,
        name: str = "Venue walk-through",
        duration_minutes: int = 60,
        location: dict[str, Any] | None = None,
        invitee_name: str = "Ana Ferreira",
        invitee_email: str = "ana@example.com",
        invitee_timezone: str = "Europe/Lisbon",
        max_invitees: int = 1,
        questions_and_answers: Iterable[dict[str, Any]] = (),
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """An invitee books `name` with `user` (the first user by default): the scheduled event
        and its invitee are made and `invitee.created` is sent. Returns both."""
        start = _instant(start_time)
        end = start + timedelta(minutes=duration_minutes)
        if location is None:
            location = {"type": "physical", "location": "Quinta da Regaleira, Sintra"}
        with self.lock:
            event = self._new_event(self._user(user), name, start, end, location, max_invitees)
            invitee = self._new_invitee(
                event,
                invitee_name,
                invitee_email,
                invitee_timezone,
                questions_and_answers=list(questions_and_answers),
            )
            return copy.deepcopy(event), copy.deepcopy(invitee)

    def add_invitee(
        self,
        event: Any,
        name: str,
        email: str,
        timezone: str = "Europe/Lisbon",
    ) -> dict[str, Any]:
        """Another invitee books a group event that has room; `invitee.created` is sent."""
        with self.lock:
            scheduled = self._event(event)
            counter = scheduled["invitees_counter"]
            if scheduled["status"] != "active" or counter["active"] >= counter["limit"]:
                raise ValueError("the event is canceled or full")
            return copy.deepcopy(self._new_invitee(scheduled, name, email, timezone))

    def cancel_invitee(
        self,
        event: Any,
        invitee: Any,
        *,
        reason: str = "",
        canceler_type: str = "invitee",
        canceled_by: str | None = None,
    ) -> dict[str, Any]:
        """The invitee (or the host for them) cancels: `invitee.canceled` is sent, and a
        one-on-one event is canceled with it."""
        with self.lock:
            scheduled = self._event(event)
            found = self._invitee(scheduled, invitee)
            if found["status"] != "active":
                raise ValueError("the invitee is already canceled")
            by = canceled_by or (
                found["name"] if canceler_type == "invitee" else self._host(scheduled)["name"]
            )
            cancellation = self._cancellation(by, reason, canceler_type)
            self._cancel(scheduled, found, cancellation)
            if scheduled["invitees_counter"]["limit"] == 1:
                scheduled["status"] = "canceled"
                scheduled["cancellation"] = copy.deepcopy(cancellation)
            scheduled["updated_at"] = cancellation["created_at"]
            self._notify("invitee.canceled", scheduled, found)
            return copy.deepcopy(found)

    def cancel_event(self, event: Any, *, reason: str = "", canceled_by: str | None = None) -> dict:
        """The host cancels the event: every active invitee is canceled, each with its
        `invitee.canceled`. Returns the cancellation."""
        with self.lock:
            return copy.deepcopy(self._cancel_event(self._event(event), reason, canceled_by))

    def reschedule(
        self, event: Any, invitee: Any, start_time: datetime | str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The invitee moves the booking: the old invitee is canceled (`rescheduled: true`,
        `new_invitee` set) and a new event is booked for them (`old_invitee` set); Calendly sends
        `invitee.canceled` for the old booking, then `invitee.created` for the new one."""
        start = _instant(start_time)
        with self.lock:
            scheduled = self._event(event)
            old = self._invitee(scheduled, invitee)
            if old["status"] != "active":
                raise ValueError("the invitee is already canceled")
            length = _instant(scheduled["end_time"]) - _instant(scheduled["start_time"])
            new_event = self._new_event(
                self._host(scheduled),
                scheduled["name"],
                start,
                start + length,
                scheduled["location"],
                scheduled["invitees_counter"]["limit"],
            )
            new_invitee = self._new_invitee(
                new_event,
                old["name"],
                old["email"],
                old["timezone"],
                questions_and_answers=old["questions_and_answers"],
                old_invitee=old["uri"],
                notify=False,
            )
            old["rescheduled"] = True
            old["new_invitee"] = new_invitee["uri"]
            self.cancel_invitee(scheduled, old, reason="Rescheduled")
            self._notify("invitee.created", new_event, new_invitee)
            return copy.deepcopy(new_event), copy.deepcopy(new_invitee)

    def submit_routing_form(
        self, answers: dict[str, str], *, user: Any = None, form_name: str = "Enquiry"
    ) -> dict[str, Any]:
        """Someone submits a routing form of `user`'s organization; its
        `routing_form_submission.created` is sent. Returns the submission."""
        with self.lock:
            host = self._user(user)
            now = _iso(self.clock())
            form = uuid.uuid5(uuid.NAMESPACE_URL, f"{host['uri']}/{form_name}")
            submission = {
                "uri": f"{API_ORIGIN}/routing_form_submissions/{uuid.uuid4()}",
                "routing_form": f"{API_ORIGIN}/routing_forms/{form}",
                "questions_and_answers": [
                    {"question_uuid": str(uuid.uuid4()), "question": q, "answer": a}
                    for q, a in answers.items()
                ],
                "tracking": self._tracking(),
                "result": {"type": "event_type", "value": self._event_type(host["uri"], form_name)},
                "submitter": None,
                "submitter_type": None,
                "created_at": now,
                "updated_at": now,
            }
            self._record(
                {
                    "created_at": now,
                    "created_by": host["uri"],
                    "event": "routing_form_submission.created",
                    "payload": submission,
                },
                host,
            )
            return copy.deepcopy(submission)

    def add_webhook_subscription(
        self,
        url: str,
        *,
        signing_key: str | None = None,
        events: Iterable[str] = ("invitee.created", "invitee.canceled"),
        user: Any = None,
        scope: str = "user",
    ) -> dict[str, Any]:
        """A subscription as made through the API by `user`; returns its view (no key)."""
        with self.lock:
            owner = self._user(user)
            return self._view_subscription(
                self._insert_subscription(url, list(events), owner, scope, signing_key)
            )

    def scheduled_events(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self._events.values()))

    def notifications(self, event: str | None = None) -> list[dict[str, Any]]:
        """Every webhook notification recorded so far, oldest first."""
        with self.lock:
            return copy.deepcopy(
                [n for n in self._notifications if event is None or n["event"] == event]
            )

    # -- webhooks -------------------------------------------------------------------------------

    def send_webhook(
        self,
        url: str,
        notification: dict[str, Any],
        signing_key: str | None,
        *,
        timestamp: int | None = None,
        timeout: float = 5.0,
    ) -> requests.Response:
        """POST one notification as Calendly delivers it; signed when there is a key. The same
        notification is the same bytes every time, as a redelivery is."""
        body = json.dumps(notification, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "Calendly-Webhooks"}
        if signing_key:
            stamp = int(time.time()) if timestamp is None else timestamp
            headers[SIGNATURE_HEADER] = calendly_signature(signing_key, stamp, body)
        return requests.post(url, data=body, headers=headers, timeout=timeout)

    def _record(self, notification: dict[str, Any], host: dict[str, Any]) -> None:
        """Keep the notification and deliver it, on a thread, to the subscriptions wanting it."""
        self._notifications.append(notification)
        targets = [
            (subscription["uri"], subscription["callback_url"], subscription["signing_key"])
            for subscription in self._subscriptions.values()
            if subscription["state"] == "active"
            and notification["event"] in subscription["events"]
            and (
                subscription["user"] == host["uri"]
                if subscription["scope"] == "user"
                else subscription["organization"] == host["current_organization"]
            )
        ]
        if targets:
            self.deliver_in_background(self._deliver, copy.deepcopy(notification), targets)

    def _deliver(self, notification: dict[str, Any], targets: list[tuple[str, str, str]]) -> None:
        for subscription, url, signing_key in targets:
            record = WebhookDelivery(subscription, notification["event"], url)
            try:
                record.status_code = self.send_webhook(url, notification, signing_key).status_code
            except requests.RequestException as error:
                record.error = str(error)
            with self.lock:
                self.deliveries.append(record)

    def _notify(self, name: str, event: dict[str, Any], invitee: dict[str, Any]) -> None:
        host = self._host(event)
        payload = copy.deepcopy(invitee)
        payload["scheduled_event"] = copy.deepcopy(event)
        notification = {
            "created_at": invitee["updated_at"],
            "created_by": host["uri"],
            "event": name,
            "payload": payload,
        }
        self._record(notification, host)

    # -- endpoints: users and scheduled events ----------------------------------------------------

    @api
    def get_me(self, request: Request, user: dict[str, Any]) -> tuple[Any, int]:
        return {"resource": copy.deepcopy(user)}, 200

    @api
    def get_user(self, request: Request, user: dict[str, Any], user_uuid: str):
        found = self._users.get(f"{API_ORIGIN}/users/{user_uuid}")
        if found is None or found["current_organization"] != user["current_organization"]:
            raise _not_found()
        return {"resource": copy.deepcopy(found)}, 200

    @api
    def list_scheduled_events(self, request: Request, user: dict[str, Any]):
        args = request.args
        hosts = self._owners(args, user)
        status = self._choice(args, "status", ("active", "canceled"))
        sort = self._choice(args, "sort", ("start_time:asc", "start_time:desc")) or "start_time:asc"
        earliest = self._time_arg(args, "min_start_time")
        latest = self._time_arg(args, "max_start_time")
        email = (args.get("invitee_email") or "").lower()
        selected = []
        for event_uuid, event in self._events.items():
            start = _instant(event["start_time"])
            if self._host(event)["uri"] not in hosts or (status and event["status"] != status):
                continue
            if (earliest and start < earliest) or (latest and start >= latest):
                continue
            invitees = self._invitees[event_uuid].values()
            if email and not any(i["email"].lower() == email for i in invitees):
                continue
            selected.append(event)
        selected.sort(key=lambda e: (e["start_time"], e["uri"]), reverse=sort.endswith("desc"))
        return self._page(request, "/scheduled_events", selected), 200

    @api
    def get_scheduled_event(self, request: Request, user: dict[str, Any], event_uuid: str):
        return {"resource": copy.deepcopy(self._visible_event(user, event_uuid))}, 200

    @api
    def cancel_scheduled_event(self, request: Request, user: dict[str, Any], event_uuid: str):
        event = self._visible_event(user, event_uuid)
        body = self.body_json(request)
        body = {} if body is None else body
        if not isinstance(body, dict):
            raise _invalid("reason", "The request body must be a JSON object.")
        reason = body.get("reason", "")
        if not isinstance(reason, str) or len(reason) > REASON_MAX:
            raise _invalid("reason", f"must be a string of at most {REASON_MAX} characters")
        if event["status"] == "canceled":
            raise CalendlyApiError(403, "The event is already canceled.")
        return {"resource": self._cancel_event(event, reason, user["name"])}, 200

    @api
    def list_invitees(self, request: Request, user: dict[str, Any], event_uuid: str):
        self._visible_event(user, event_uuid)
        args = request.args
        status = self._choice(args, "status", ("active", "canceled"))
        sort = self._choice(args, "sort", ("created_at:asc", "created_at:desc")) or "created_at:asc"
        email = (args.get("email") or "").lower()
        selected = [
            invitee
            for invitee in self._invitees[event_uuid].values()
            if (not status or invitee["status"] == status)
            and (not email or invitee["email"].lower() == email)
        ]
        selected.sort(key=lambda i: (i["created_at"], i["uri"]), reverse=sort.endswith("desc"))
        return self._page(request, f"/scheduled_events/{event_uuid}/invitees", selected), 200

    @api
    def get_invitee(
        self, request: Request, user: dict[str, Any], event_uuid: str, invitee_uuid: str
    ):
        self._visible_event(user, event_uuid)
        found = self._invitees[event_uuid].get(invitee_uuid)
        if found is None:
            raise _not_found()
        return {"resource": copy.deepcopy(found)}, 200

    # -- endpoints: webhook subscriptions ---------------------------------------------------------

    @api
    def list_webhook_subscriptions(self, request: Request, user: dict[str, Any]):
        args = request.args
        organization = self._organization(args.get("organization"), user)
        scope = self._choice(args, "scope", ("user", "organization"))
        if scope is None:
            raise _invalid("scope", "is required")
        owner = self._owner(args.get("user"), user) if scope == "user" else None
        selected = [
            s
            for s in self._subscriptions.values()
            if s["organization"] == organization
            and s["scope"] == scope
            and (owner is None or s["user"] == owner["uri"])
        ]
        selected.sort(key=lambda s: (s["created_at"], s["uri"]))
        views = [self._view_subscription(s) for s in selected]
        return self._page(request, "/webhook_subscriptions", views), 200

    @api
    def create_webhook_subscription(self, request: Request, user: dict[str, Any]):
        body = self.body_json(request)
        if not isinstance(body, dict):
            raise _invalid("url", "The request body must be a JSON object.")
        url = body.get("url")
        if not isinstance(url, str) or not _acceptable_url(url):
            raise _invalid("url", "must be a valid https URL")
        events = body.get("events")
        if (
            not isinstance(events, list)
            or not events
            or not all(isinstance(e, str) and e in WEBHOOK_EVENTS for e in events)
        ):
            raise _invalid("events", f"must list some of: {', '.join(WEBHOOK_EVENTS)}")
        scope = body.get("scope")
        if scope not in ("user", "organization"):
            raise _invalid("scope", "must be user or organization")
        self._organization(body.get("organization"), user)
        owner = self._owner(body.get("user"), user) if scope == "user" else user
        signing_key = body.get("signing_key")
        if signing_key is not None and (not isinstance(signing_key, str) or not signing_key):
            raise _invalid("signing_key", "must be a non-empty string")
        subscription = self._insert_subscription(
            url, list(dict.fromkeys(events)), owner, scope, signing_key, creator=user
        )
        return {"resource": self._view_subscription(subscription)}, 201

    @api
    def get_webhook_subscription(
        self, request: Request, user: dict[str, Any], subscription_uuid: str
    ):
        subscription = self._subscription(user, subscription_uuid)
        return {"resource": self._view_subscription(subscription)}, 200

    @api
    def delete_webhook_subscription(
        self, request: Request, user: dict[str, Any], subscription_uuid: str
    ):
        self._subscription(user, subscription_uuid)
        del self._subscriptions[subscription_uuid]
        return None, 204

    # -- internals --------------------------------------------------------------------------------

    def _error(self, error: CalendlyApiError, headers: dict[str, str] | None = None) -> Response:
        return self.json(error.body(), status=error.status, headers=headers)

    def _authenticated(self, request: Request) -> dict[str, Any] | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        uri = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        return self._users.get(uri) if uri else None

    def _spend(self, user_uri: str) -> tuple[dict[str, str], bool]:
        """Count one request in the user's window; the headers and whether it is allowed."""
        now = self.clock()
        window = self._windows.get(user_uri)
        if window is None or now - window.started >= RATE_WINDOW_S:
            window = self._windows[user_uri] = _Window(now)
        allowed = window.used < self.rate_limit
        if allowed:
            window.used += 1
        headers = {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(0, self.rate_limit - window.used)),
            "X-RateLimit-Reset": str(max(1, math.ceil(window.started + RATE_WINDOW_S - now))),
        }
        return headers, allowed

    def _user(self, reference: Any) -> dict[str, Any]:
        if reference is None:
            if not self._users:
                raise ValueError("add a user first")
            return next(iter(self._users.values()))
        return self._users[f"{API_ORIGIN}/users/{_uuid_of(reference)}"]

    def _host(self, event: dict[str, Any]) -> dict[str, Any]:
        return self._users[event["event_memberships"][0]["user"]]

    def _event(self, reference: Any) -> dict[str, Any]:
        return self._events[_uuid_of(reference)]

    def _invitee(self, event: dict[str, Any], reference: Any) -> dict[str, Any]:
        return self._invitees[_uuid_of(event)][_uuid_of(reference)]

    def _visible_event(self, user: dict[str, Any], event_uuid: str) -> dict[str, Any]:
        event = self._events.get(event_uuid)
        if event is None or (
            self._host(event)["current_organization"] != user["current_organization"]
        ):
            raise _not_found()
        return event

    def _organization(self, organization: str | None, user: dict[str, Any]) -> str:
        """A required organization URI, which must be the caller's."""
        if not organization:
            raise _invalid("organization", "is required")
        if organization != user["current_organization"]:
            raise CalendlyApiError(403, "You do not have access to this organization.")
        return organization

    def _owner(self, uri: str | None, user: dict[str, Any]) -> dict[str, Any]:
        """A required user URI, which must be a user of the caller's organization."""
        if not uri:
            raise _invalid("user", "is required when scope is user")
        owner = self._users.get(uri)
        if owner is None or owner["current_organization"] != user["current_organization"]:
            raise CalendlyApiError(403, "You do not have access to this user.")
        return owner

    def _owners(self, args: Any, user: dict[str, Any]) -> set[str]:
        """The hosts whose events a list covers: `user=` or `organization=`, one required."""
        if args.get("user"):
            return {self._owner(args["user"], user)["uri"]}
        if args.get("organization"):
            organization = self._organization(args["organization"], user)
            return {
                u["uri"] for u in self._users.values() if u["current_organization"] == organization
            }
        raise _invalid("user", "One of user or organization must be provided.")

    @staticmethod
    def _choice(args: Any, name: str, choices: tuple[str, ...]) -> str | None:
        value = args.get(name)
        if value is not None and value not in choices:
            raise _invalid(name, f"must be one of: {', '.join(choices)}")
        return value

    @staticmethod
    def _time_arg(args: Any, name: str) -> datetime | None:
        value = args.get(name)
        if value is None:
            return None
        try:
            return _instant(value.replace("Z", "+00:00"))
        except ValueError:
            raise _invalid(name, "must be a UTC time in ISO 8601 format") from None

    def _page(self, request: Request, path: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        """One page of `items` by `count` and `page_token`; tokens are bound to the query."""
        args = request.args
        raw_count = args.get("count", str(COUNT_DEFAULT))
        if not raw_count.isdigit() or not 1 <= int(raw_count) <= COUNT_MAX:
            raise _invalid("count", f"must be an integer from 1 to {COUNT_MAX}")
        count = int(raw_count)
        query = tuple(sorted((k, v) for k, v in args.items() if k not in ("page_token",)))
        offset = 0
        if "page_token" in args:
            issued = self._page_tokens.get(args["page_token"])
            if issued is None or issued[:2] != (path, query):
                raise _invalid("page_token", "is invalid")
            offset = issued[2]
        page = items[offset : offset + count]

        def token_for(at: int) -> str:
            token = secrets.token_urlsafe(24)
            self._page_tokens[token] = (path, query, at)
            return token

        def link(token: str | None) -> str | None:
            if token is None:
                return None
            return f"{API_ORIGIN}{path}?{urlencode([*query, ('page_token', token)])}"

        next_token = token_for(offset + count) if offset + count < len(items) else None
        previous_token = token_for(max(0, offset - count)) if offset > 0 else None
        return {
            "collection": copy.deepcopy(page),
            "pagination": {
                "count": len(page),
                "next_page": link(next_token),
                "previous_page": link(previous_token),
                "next_page_token": next_token,
                "previous_page_token": previous_token,
            },
        }

    def _event_type(self, user_uri: str, name: str) -> str:
        key = (user_uri, name)
        if key not in self._event_types:
            self._event_types[key] = f"{API_ORIGIN}/event_types/{uuid.uuid4()}"
        return self._event_types[key]

    @staticmethod
    def _tracking() -> dict[str, None]:
        names = ("utm_campaign", "utm_source", "utm_medium", "utm_content", "utm_term")
        return {**dict.fromkeys(names), "salesforce_uuid": None}

    def _new_event(
        self,
        host: dict[str, Any],
        name: str,
        start: datetime,
        end: datetime,
        location: dict[str, Any],
        max_invitees: int,
    ) -> dict[str, Any]:
        now = _iso(self.clock())
        event_uuid = str(uuid.uuid4())
        event = {
            "uri": f"{API_ORIGIN}/scheduled_events/{event_uuid}",
            "name": name,
            "meeting_notes_plain": None,
            "status": "active",
            "start_time": _iso(start.timestamp()),
            "end_time": _iso(end.timestamp()),
            "event_type": self._event_type(host["uri"], name),
            "location": copy.deepcopy(location),
            "invitees_counter": {"total": 0, "active": 0, "limit": max_invitees},
            "created_at": now,
            "updated_at": now,
            "event_memberships": [
                {"user": host["uri"], "user_email": host["email"], "user_name": host["name"]}
            ],
            "event_guests": [],
        }
        self._events[event_uuid] = event
        self._invitees[event_uuid] = {}
        return event

    def _new_invitee(
        self,
        event: dict[str, Any],
        name: str,
        email: str,
        timezone: str,
        *,
        questions_and_answers: list[dict[str, Any]] | None = None,
        old_invitee: str | None = None,
        notify: bool = True,
    ) -> dict[str, Any]:
        now = _iso(self.clock())
        invitee_uuid = str(uuid.uuid4())
        first, _, last = name.partition(" ")
        invitee = {
            "uri": f"{event['uri']}/invitees/{invitee_uuid}",
            "email": email,
            "first_name": first or None,
            "last_name": last or None,
            "name": name,
            "status": "active",
            "timezone": timezone,
            "event": event["uri"],
            "text_reminder_number": None,
            "rescheduled": False,
            "old_invitee": old_invitee,
            "new_invitee": None,
            "cancel_url": f"{BOOKING_ORIGIN}/cancellations/{invitee_uuid}",
            "reschedule_url": f"{BOOKING_ORIGIN}/reschedulings/{invitee_uuid}",
            "routing_form_submission": None,
            "questions_and_answers": copy.deepcopy(questions_and_answers or []),
            "tracking": self._tracking(),
            "payment": None,
            "no_show": None,
            "reconfirmation": None,
            "created_at": now,
            "updated_at": now,
        }
        self._invitees[_uuid_of(event)][invitee_uuid] = invitee
        counter = event["invitees_counter"]
        counter["total"] += 1
        counter["active"] += 1
        event["updated_at"] = now
        if notify:
            self._notify("invitee.created", event, invitee)
        return invitee

    def _cancellation(self, canceled_by: str, reason: str, canceler_type: str) -> dict[str, str]:
        return {
            "canceled_by": canceled_by,
            "reason": reason,
            "canceler_type": canceler_type,
            "created_at": _iso(self.clock()),
        }

    def _cancel(self, event: dict[str, Any], invitee: dict[str, Any], cancellation: dict) -> None:
        invitee["status"] = "canceled"
        invitee["cancellation"] = copy.deepcopy(cancellation)
        invitee["updated_at"] = cancellation["created_at"]
        event["invitees_counter"]["active"] -= 1

    def _cancel_event(
        self, event: dict[str, Any], reason: str, canceled_by: str | None
    ) -> dict[str, str]:
        if event["status"] == "canceled":
            raise ValueError("the event is already canceled")
        cancellation = self._cancellation(canceled_by or self._host(event)["name"], reason, "host")
        event["status"] = "canceled"
        event["cancellation"] = copy.deepcopy(cancellation)
        event["updated_at"] = cancellation["created_at"]
        for invitee in self._invitees[_uuid_of(event)].values():
            if invitee["status"] == "active":
                self._cancel(event, invitee, cancellation)
                self._notify("invitee.canceled", event, invitee)
        return copy.deepcopy(cancellation)

    def _insert_subscription(
        self,
        url: str,
        events: list[str],
        owner: dict[str, Any],
        scope: str,
        signing_key: str | None,
        *,
        creator: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        user_uri = owner["uri"] if scope == "user" else None
        for existing in self._subscriptions.values():
            if (
                existing["callback_url"] == url
                and existing["scope"] == scope
                and existing["organization"] == owner["current_organization"]
                and existing["user"] == user_uri
            ):
                raise CalendlyApiError(409, "Hook with this url already exists")
        now = _iso(self.clock())
        subscription_uuid = str(uuid.uuid4())
        subscription = {
            "uri": f"{API_ORIGIN}/webhook_subscriptions/{subscription_uuid}",
            "callback_url": url,
            "created_at": now,
            "updated_at": now,
            "retry_started_at": None,
            "state": "active",
            "events": events,
            "scope": scope,
            "organization": owner["current_organization"],
            "user": user_uri,
            "group": None,
            "creator": (creator or owner)["uri"],
            "signing_key": signing_key,
        }
        self._subscriptions[subscription_uuid] = subscription
        return subscription

    def _subscription(self, user: dict[str, Any], subscription_uuid: str) -> dict[str, Any]:
        subscription = self._subscriptions.get(subscription_uuid)
        if subscription is None or subscription["organization"] != user["current_organization"]:
            raise _not_found()
        return subscription

    @staticmethod
    def _view_subscription(subscription: dict[str, Any]) -> dict[str, Any]:
        """The subscription as the API shows it: never its signing key."""
        return {k: copy.deepcopy(v) for k, v in subscription.items() if k != "signing_key"}


def _acceptable_url(url: str) -> bool:
    parts = urlsplit(url)
    if not parts.netloc:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)
