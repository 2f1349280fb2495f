"""An in-memory Acuity Scheduling account: the API v1 calls the hub makes, bookings made
test-side, and the signed form-encoded webhooks Acuity posts about them.

Contract: VENDORS.md section A15 "Acuity Scheduling" [confirmed: the official SDK
`AcuityScheduling/acuity-js` and developers.acuityscheduling.com] and the Acuity test vector of
section E, which `acuity_signature` reproduces. Paths are Acuity's own (`/api/v1/...`), so a
client pointed at `emu.base_url` + `/api/v1` needs nothing else.

What the emulator serves:

* Auth: HTTP Basic `userId:apiKey`. Anything else answers 401
  `{"status_code": 401, "message": "Unauthorized", "error": "unauthorized"}`.
* `GET /api/v1/me`: the account (`id`, `name`, `email`, `timezone`, ...).
* `GET /api/v1/appointments`: a bare JSON array, no pagination. `minDate` and `maxDate`
  (`YYYY-MM-DD`, inclusive, on the appointment's date in its calendar's zone), `canceled`
  (`true`: only canceled appointments; otherwise only the others), `calendarID`,
  `appointmentTypeID`, `email`, `direction` (`ASC` or `DESC`, the default, by `datetime`) and
  `max` (default 100).
* `GET /api/v1/appointments/{id}`, or 404 `{"status_code": 404, "message": "Appointment not
  found.", "error": "not_found"}`.
* Webhooks: `add_webhook(target, event)` registers a target for `appointment.scheduled`,
  `appointment.rescheduled`, `appointment.canceled` or `appointment.changed`, as
  `POST /webhooks {target, event}` does at Acuity (at most 25). `book`, `reschedule`, `cancel`
  and `change` update the appointment and POST, on a thread, the form
  `action=<scheduled|rescheduled|canceled|changed>&id=<id>&calendarID=<id>&appointmentTypeID=<id>`
  to every target registered for that event, signed `X-Acuity-Signature:
  base64(HMAC-SHA256(API key, raw body))`. `send_webhook` posts one form by hand.
* Faults: injected statuses (429 included, with Retry-After when asked) answer in the same
  `{status_code, message, error}` envelope.

Assumed where the docs are silent: the wording of the 404, 400 and 429 bodies; that the list's
date filters use the calendar's zone; that `max` has no upper bound; that `datetime` carries the
calendar's local time with a `+HHMM` offset, `timezone` the client's zone and `calendarTimezone`
the calendar's; that ids are integers; that deliveries are made once, without retries. The
webhook management endpoints (`/webhooks`), availability, appointment types, calendars, forms,
payments and `order.completed` are not modelled.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.emulators.base import Emulator

API = "/api/v1"
MAX_DEFAULT = 100
ACTIONS = ("scheduled", "rescheduled", "canceled", "changed")
EVENTS = tuple(f"appointment.{action}" for action in ACTIONS)
ERRORS = {
    400: ("Bad request.", "bad_request"),
    401: ("Unauthorized", "unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("Not found.", "not_found"),
    405: ("Method not allowed.", "method_not_allowed"),
    429: ("Too many requests.", "too_many_requests"),
    500: ("Internal server error.", "server_error"),
}


def acuity_signature(api_key: str, body: bytes | str) -> str:
    """`X-Acuity-Signature`: base64(HMAC-SHA256(API key, raw body)) (acuity-js
    verifyMessageSignature)."""
    raw = body.encode() if isinstance(body, str) else body
    return base64.b64encode(hmac.new(api_key.encode(), raw, hashlib.sha256).digest()).decode()


class AcuityApiError(Exception):
    def __init__(self, status: int, message: str | None = None, error: str | None = None) -> None:
        default_message, default_error = ERRORS.get(status, ERRORS[500 if status >= 500 else 400])
        super().__init__(message or default_message)
        self.status = status
        self.message = message or default_message
        self.error = error or default_error

    def body(self) -> dict[str, Any]:
        return {"status_code": self.status, "message": self.message, "error": self.error}


@dataclass
class WebhookDelivery:
    """One webhook the emulator POSTed on its own, and how the receiver answered."""

    action: str
    appointment_id: int
    url: str
    body: bytes
    status_code: int | None = None
    text: str | None = None
    error: str | None = None


def _offset_iso(moment: datetime) -> str:
    """`2027-06-12T14:00:00+0100`: Acuity's `datetime`, an offset without a colon."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S%z")


def _clock_time(moment: datetime) -> str:
    return moment.strftime("%I:%M%p").lstrip("0").lower()


class AcuityEmulator(Emulator):
    """One Acuity account (one owner) with one calendar."""

    provider = "acuity"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        user_id: str | None = None,
        api_key: str | None = None,
        name: str = "Lumen Photography",
        timezone: str = "Europe/Lisbon",
        calendar: str = "Maya Lumen",
    ) -> None:
        self.clock: Callable[[], float] = time.time
        self.user_id = user_id or str(10_000_000 + secrets.randbelow(89_999_999))
        self.api_key = api_key or secrets.token_hex(16)
        self.name, self.timezone, self.calendar_name = name, timezone, calendar
        self.calendar_id = 4_000_000 + secrets.randbelow(999_999)
        super().__init__(host, port)

    def routes(self) -> list[Rule]:
        return [
            Rule(f"{API}/me", endpoint="get_me", methods=["GET"]),
            Rule(f"{API}/appointments", endpoint="list_appointments", methods=["GET"]),
            Rule(f"{API}/appointments/<int:appointment_id>", endpoint="get_appointment"),
        ]

    def reset_state(self) -> None:
        with self.lock:
            self._appointments: dict[int, dict[str, Any]] = {}
            self._ids = itertools.count(700_000_000 + secrets.randbelow(99_999_999))
            self._type_ids: dict[str, int] = {}
            self._webhooks: list[dict[str, Any]] = []
            self._delivery_threads = []
            self.deliveries: list[WebhookDelivery] = []

    def error_response(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        """Acuity's `{status_code, message, error}` for faults and unknown routes."""
        return self.json(AcuityApiError(status).body(), status=status, headers=headers)

    # -- test-side helpers ------------------------------------------------------------------------

    def book(
        self,
        start: datetime | str,
        *,
        type: str = "Consultation",
        duration_minutes: int = 60,
        first_name: str = "Ana",
        last_name: str = "Silva",
        email: str = "ana@example.com",
        location: str = "Quinta da Regaleira, Sintra",
        client_timezone: str | None = None,
        notify: bool = True,
    ) -> dict[str, Any]:
        """A client books an appointment (`start` is an aware instant or ISO text with an
        offset); `appointment.scheduled` is delivered. Returns a copy."""
        with self.lock:
            appointment_id = next(self._ids)
            type_id = self._type_ids.setdefault(type, 9_000_000 + len(self._type_ids))
            now = datetime.fromtimestamp(self.clock(), UTC).astimezone(ZoneInfo(self.timezone))
            appointment = {
                "id": appointment_id,
                "firstName": first_name,
                "lastName": last_name,
                "phone": "",
                "email": email,
                "price": "0.00",
                "priceSold": "0.00",
                "paid": "no",
                "amountPaid": "0.00",
                "type": type,
                "appointmentTypeID": type_id,
                "classID": None,
                "addonIDs": [],
                "category": "",
                "duration": str(duration_minutes),
                "calendar": self.calendar_name,
                "calendarID": self.calendar_id,
                "certificate": None,
                "confirmationPage": (
                    f"https://app.acuityscheduling.com/schedule.php?owner={self.user_id}"
                    f"&action=appt&id%5B%5D={secrets.token_hex(16)}"
                ),
                "location": location,
                "notes": "",
                "timezone": client_timezone or self.timezone,
                "calendarTimezone": self.timezone,
                "canceled": False,
                "canClientCancel": True,
                "canClientReschedule": True,
                "labels": None,
                "forms": [],
                "formsText": "",
                "dateCreated": now.strftime("%B %-d, %Y"),
                "datetimeCreated": _offset_iso(now),
            }
            self._set_time(appointment, start)
            self._appointments[appointment_id] = appointment
        if notify:
            self._notify("scheduled", appointment)
        return copy.deepcopy(appointment)

    def reschedule(self, appointment_id: int, start: datetime | str) -> dict[str, Any]:
        """The appointment moves; `appointment.rescheduled` is delivered."""
        return self._update(appointment_id, "rescheduled", lambda a: self._set_time(a, start))

    def cancel(self, appointment_id: int) -> dict[str, Any]:
        """The appointment is canceled (it stays readable, `canceled: true`)."""
        return self._update(appointment_id, "canceled", lambda a: a.update(canceled=True))

    def change(self, appointment_id: int, **fields: Any) -> dict[str, Any]:
        """Acuity fields (`location`, `notes`, ...) are edited; `appointment.changed`."""
        return self._update(appointment_id, "changed", lambda a: a.update(fields))

    def appointment(self, appointment_id: int) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._appointments[appointment_id])

    def add_webhook(self, target: str, event: str) -> dict[str, Any]:
        """Register `target` for one event, as `POST /webhooks {target, event}` does."""
        if event not in EVENTS:
            raise ValueError(f"not an appointment event: {event}")
        with self.lock:
            if len(self._webhooks) >= 25:
                raise ValueError("Acuity keeps at most 25 webhooks")
            webhook = {
                "id": len(self._webhooks) + 1,
                "target": target,
                "event": event,
                "status": "active",
            }
            self._webhooks.append(webhook)
            return dict(webhook)

    def form(self, action: str, appointment: dict[str, Any]) -> bytes:
        """The body Acuity posts for `action` about `appointment`."""
        return urlencode(
            {
                "action": action,
                "id": appointment["id"],
                "calendarID": appointment["calendarID"],
                "appointmentTypeID": appointment["appointmentTypeID"],
            }
        ).encode()

    def send_webhook(
        self,
        url: str,
        body: bytes,
        *,
        api_key: str | None = None,
        signed_body: bytes | None = None,
        sign: bool = True,
        timeout: float = 5.0,
    ) -> requests.Response:
        """POST `body` form-encoded to `url`, signed with `api_key` (default: the account's)
        over `signed_body` (default: `body`)."""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "AcuityScheduling-Webhook",
        }
        if sign:
            headers["X-Acuity-Signature"] = acuity_signature(
                api_key or self.api_key, body if signed_body is None else signed_body
            )
        return requests.post(url, data=body, headers=headers, timeout=timeout)

    # -- endpoints --------------------------------------------------------------------------------

    def get_me(self, request: Request) -> Response:
        if (refused := self._refusal(request)) is not None:
            return refused
        return self.json(
            {
                "id": int(self.user_id),
                "email": "maya@lumen.example",
                "timezone": self.timezone,
                "name": self.name,
                "schedulingPage": f"https://app.acuityscheduling.com/schedule.php?owner={self.user_id}",
                "plan": "Powerhouse",
                "currency": "EUR",
            }
        )

    def get_appointment(self, request: Request, appointment_id: int) -> Response:
        if (refused := self._refusal(request)) is not None:
            return refused
        with self.lock:
            appointment = self._appointments.get(appointment_id)
            if appointment is None:
                return self._error(AcuityApiError(404, "Appointment not found."))
            return self.json(copy.deepcopy(appointment))

    def list_appointments(self, request: Request) -> Response:
        if (refused := self._refusal(request)) is not None:
            return refused
        args = request.args
        try:
            low, high = self._date(args, "minDate"), self._date(args, "maxDate")
            size = int(args.get("max", MAX_DEFAULT))
            if size < 1:
                raise ValueError
        except ValueError:
            return self._error(AcuityApiError(400, "Invalid request parameters.", "invalid_args"))
        direction = args.get("direction", "DESC").upper()
        if direction not in ("ASC", "DESC"):
            return self._error(AcuityApiError(400, "Invalid direction.", "invalid_direction"))
        canceled = args.get("canceled", "false").lower() == "true"
        with self.lock:
            rows = [
                a
                for a in self._appointments.values()
                if a["canceled"] == canceled
                and (low is None or self._local_date(a) >= low)
                and (high is None or self._local_date(a) <= high)
                and all(
                    str(a[name]) == args[name]
                    for name in ("calendarID", "appointmentTypeID", "email")
                    if name in args
                )
            ]
            rows.sort(key=self._instant, reverse=direction == "DESC")
            return self.json(copy.deepcopy(rows[:size]))

    # -- internals --------------------------------------------------------------------------------

    def _refusal(self, request: Request) -> Response | None:
        auth = request.authorization
        if (
            auth is None
            or auth.type != "basic"
            or not hmac.compare_digest(str(auth.username or ""), self.user_id)
            or not hmac.compare_digest(str(auth.password or ""), self.api_key)
        ):
            return self._error(AcuityApiError(401))
        return None

    def _error(self, error: AcuityApiError) -> Response:
        return self.json(error.body(), status=error.status)

    @staticmethod
    def _date(args: Any, name: str) -> date | None:
        value = args.get(name)
        return date.fromisoformat(value) if value else None

    @staticmethod
    def _instant(appointment: dict[str, Any]) -> datetime:
        return datetime.strptime(appointment["datetime"], "%Y-%m-%dT%H:%M:%S%z")

    def _local_date(self, appointment: dict[str, Any]) -> date:
        return self._instant(appointment).date()  # `datetime` is already the calendar's time

    def _set_time(self, appointment: dict[str, Any], start: datetime | str) -> None:
        moment = datetime.fromisoformat(start) if isinstance(start, str) else start
        if moment.tzinfo is None:
            raise ValueError("an appointment's start needs a time zone")
        local = moment.astimezone(ZoneInfo(appointment["calendarTimezone"]))
        end = local + timedelta(minutes=int(appointment["duration"]))
        appointment.update(
            datetime=_offset_iso(local),
            date=local.strftime("%B %-d, %Y"),
            time=_clock_time(local),
            endTime=_clock_time(end),
        )

    def _update(self, appointment_id: int, action: str, edit: Callable[[dict], None]) -> dict:
        with self.lock:
            appointment = self._appointments[appointment_id]
            edit(appointment)
            result = copy.deepcopy(appointment)
        self._notify(action, result)
        return result

    def _notify(self, action: str, appointment: dict[str, Any]) -> None:
        with self.lock:
            targets = [w["target"] for w in self._webhooks if w["event"] == f"appointment.{action}"]
        if targets:
            body = self.form(action, appointment)
            self.deliver_in_background(self._deliver, action, appointment["id"], targets, body)

    def _deliver(self, action: str, appointment_id: int, targets: list[str], body: bytes) -> None:
        for target in targets:
            record = WebhookDelivery(action, appointment_id, target, body)
            try:
                response = self.send_webhook(target, body)
                record.status_code, record.text = response.status_code, response.text
            except requests.RequestException as error:
                record.error = str(error)
            with self.lock:
                self.deliveries.append(record)
