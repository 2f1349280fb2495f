"""An in-memory Táve / VSCO Workspace studio: the v2 REST API the hub calls, plus REST Hooks.

Contract: VENDORS.md section A1 "Táve, now VSCO Workspace" [confirmed via the published OpenAPI:
`api-evangelist/vsco` `openapi/_original/workspace-openapi-original.json`, a harvest of
`https://workspace.vsco.co/api/v2/openapi.json` v2.0.0; also `errors/vsco-problem-types.yml`,
`conventions/vsco-conventions.yml`, `asyncapi/vsco-workspace-webhooks.yml`], the Táve bullets of
section G, and note 3 of section F. Paths keep the documented `/api/v2` prefix: `emu.api_url`
stands for `https://workspace.vsco.co/api/v2`, so pointing the hub at `emu.base_url` is enough.

What the emulator serves:

* Auth: `X-API-KEY: <key>` or `Authorization: Bearer <key>`. A missing or unknown key answers
  401 `unauthorizedError`. Keys are Read/Write or Read Only, as in Settings > API Integrations.
* `GET /studio/me` (how the hub verifies a key).
* `GET/POST /job`, `GET/PUT/DELETE /job/{id}`: list filters `includeClosed` (default false) and
  `externalMappingId`, every documented `sortBy` value (`<field>[ asc|desc]`, default `id`).
* `GET/POST /address-book`, `GET/PUT/DELETE /address-book/{id}`: filters `email`, `includeHidden`.
* `GET/POST /job-contact` (links a contact to a job; the list filters `jobId`, `contactId` and
  `includeHidden`, sorts by `id|modified|created`, type `jobcontact-collection`).
* `GET/POST /event`, `GET/PUT/DELETE /event/{id}`: list filters `includeHidden` (default false),
  `externalMappingId` and `jobId`; `sortBy` `id|modified|created|name[ asc|desc]`. The server
  computes `startUtc`/`endUtc` (`2020-06-17T13:06:22+00:00`) from `startDate`+`startTime`
  (`endDate`+`endTime`) in the event's `timezoneName`, else the studio's zone; they are null
  when the date or the time is missing or `allDay` is true. Times are kept as `HH:MM:00`
  ("seconds are ignored").
* `GET/POST /payment`, `GET /payment/{id}`, `POST /payment/{id}/apply` (501): list filters
  `jobId` and `includeHidden` (default false); `sortBy` `id|modified|created|received[ asc|desc]`.
* `GET/POST /gallery`, `GET/PUT/DELETE /gallery/{id}`: list filters `includeHidden` (default
  false), `externalMappingId` and `jobId`; `sortBy` `id|modified|created|name[ asc|desc]`, default
  `name asc` (the OpenAPI's, where the other lists default to `id`; ties go by `id`).
* `GET/POST /rest-hook`, `GET/PUT/DELETE /rest-hook/{id}`: body `{event, url, limitTo?}`
  (the list is the OpenAPI's `listResourceRestHook`, which VENDORS.md does not mention).
* Collections: `{type: "job-collection"|"addressbook-collection"|"event-collection"|
  "payment-collection"|"gallery-collection"|"resthook-collection", items, meta: {currentPage,
  totalPages, totalItems, rows}}`; `page` >= 1 (default 1), `pageSize` 10..100 (default 100).
  Out-of-range values answer 400 `validation-error`.
* Records: lowercase ULID ids, `created`/`modified` as `2020-08-01T17:32:32Z`, `modified` bumped
  on every change, `links.self.href`. Creates answer 201, updates 200 (full-document `PUT`, there
  is no `PATCH`: 405), deletes 204; an unknown id answers 404.
* Errors: `{type, title, detail, status}` as `application/json`; `type` is `unknown`,
  `quota-limit` (429, with `Retry-After`), `not-implemented` (501) or `validation-error` (400,
  `detail` an object keyed by field, e.g. `{"stage": "Must be one of ..."}`).
* REST Hooks: `contact.created`, `job.created`, `order.booked`, `payment.created`, narrowed by
  `limitTo` `{contactKinds, jobTypes, brands, webLead}` (a payment's type and brand are its
  job's). The spec's "Rest Hooks" tag says that "for security reasons, only the `targetId` will
  be provided" and the receiver then fetches the entity through the API, so a delivery is an
  unsigned JSON `POST {"targetId": "<id>"}` (no signature or secret is documented; VENDORS.md
  F.3 has the hub put a secret in the URL).

Assumed where the docs are silent: the exact delivery body beyond "only the targetId"
[unconfirmed], and that deliveries are made once, asynchronously, without retries; that a
Read Only key gets 403 (type `unknown`) on writes; that a malformed or unknown id in a path is a
404 (type `unknown`, detail "The requested resource does not exist."); that `meta.rows` is the
page size and a page past the end is empty; that `X-API-KEY` wins when both headers are sent;
that a full-document `PUT` resets omitted writable fields to their defaults; that no `Job` field
is required (the schema lists none; `name` is nullable) while `Contact.kind` and
`JobContact.jobId`/`contactId` are; that new jobs start at stage `lead`; that `title` (generated
by Táve from data not modelled here) is the job's `name`; that money totals (balances, costs,
revenue) are 0 because orders are not modelled and payments do not feed them (use `trigger_hook`
for `order.booked`); that the `email` filter is a case-insensitive match on `email` or
`secondaryEmail`; that deleting a job or a contact removes its job-contact links; that the
`text/csv` representation is not offered (always JSON). `modified` never repeats for a record: a
change within the same second moves it on by one.

Events follow the OpenAPI's "Events" tag (`api-evangelist/vsco`
`openapi/vsco-events-api-openapi.yml`, VENDORS.md A1 names only `GET /job/{jobId}/event`). Assumed
where the docs are silent, for events: the Studio schema names its zone only by `timezoneId` (the
Timezones resource is not modelled), so the studio record carries an emulator-only `timezoneName`
(default `America/New_York`, changed with `edit_studio`; not sent by `GET /studio/me`) [not in the
schema]; an event's `timezoneId` is kept but not resolved; `timezoneName` must be an IANA zone
zoneinfo knows, else 400 on `timezoneName`; times may be `HH:MM` or `HH:MM:SS`; a `location`'s
address keeps only its writable properties (its read-only ones are accepted and dropped); `jobId`,
when given, must name an existing job, else 400 on `jobId`; a property not in the Event schema
answers 400 naming it (`additionalProperties: false`), while read-only ones sent back in a write (a
fetched document PUT back) are ignored; an end before the start is 400 on `endTime` (on `endDate`
when the end date is the earlier); deleting a job deletes its events; `hidden` is set only in
Táve's UI (`hide_event`), and hidden events are left out of the list unless `includeHidden=true`
but stay fetchable by id; `readOnly` is always false; `startUtc`/`endUtc` are recomputed when the
event is written, not when the studio's zone changes. No REST Hook event exists for events.

Payments follow the OpenAPI's "Payments" tag (`api-evangelist/vsco`
`openapi/vsco-payments-api-openapi.yml`): `jobId` and `amount` are required, `status` is one of
`future|confirmed-future|posted|failed|pending` and defaults to `posted` (the schema's default),
`amount` and `refundedAmount` are integers 0..99999999999 in the studio's currency (the studio's
`currencyCode`), `memo`/`checkNumber`/`transactionId`/`authCode` are nullable strings of at most
128/18/255/100 characters, `received` a nullable date. Creating one fires `payment.created`.
Assumed where the docs are silent, for payments: whether amounts are minor units is not stated,
and the emulator treats them as minor units (cents: 150000 is 1,500.00); the four strings default
to `""` and `received` to today's UTC date; `payerId`, `paymentMethodId` and `invoiceItemId` must
be ULIDs but are kept as given (those resources are not modelled), while `jobId` must name an
existing job, else 400 on `jobId`; `refundedAmount` (read-only in the schema) and `hidden` are set
only in Táve's UI (`add_payment`, `edit_payment`, `hide_payment`), and a refund may not exceed the
amount; read-only properties sent in a create are ignored, any other property not in the Payment
schema answers 400 naming it; `processedViaClientAccess` is false and `refunds` and
`paymentAllocations` are empty, since applying a payment to an order (`POST /payment/{id}/apply`)
is not modelled: it answers 501 `not-implemented` once the key and the id have been checked;
deleting a job deletes its payments. Not in the OpenAPI, whose list takes only `page`, `pageSize`
and `sortBy` `id|modified|created` (a job's payments are `GET /job/{id}/payment`, not served
here): the list's `jobId` and `includeHidden` filters and `sortBy=received`; hidden payments are
left out of the list unless `includeHidden=true` but stay fetchable by id. The OpenAPI also lists
`PUT` (with `amount` read-only) and `DELETE /payment/{id}`; they are not served (405), so a
payment changes only in Táve's UI (`edit_payment`, which fires no hook).

Galleries follow the OpenAPI's "Galleries" tag (`api-evangelist/vsco`
`openapi/vsco-galleries-api-openapi.yml`): `name` (1..255 characters), `clientUrl` and `adminUrl`
(URLs of at most 2000) are required; `status` is one of `pre-release|active|inactive|archived`,
default `active`; `requiresPassword` defaults to true; `orderCount`, `photoCount` and
`visitorCount` are integers >= 0, default 0, and writable (the schema does not mark them
read-only: the remote gallery service reports them); `remoteId` (at most 36 characters) "must be
unique for the studio", else 400 on `remoteId`; `slug` (at most 24) is lowercased and stripped of
all but letters, digits, `-` and `_`; `password`, `category` and `headline` are nullable strings of
at most 255; the four dates are nullable dates; `coverPhoto` is null or `{remoteUrl, focalPointX?,
focalPointY?, remoteId?}` (focal points 0..100, `remoteId` at most 32). No REST Hook event exists
for galleries. Assumed where the docs are silent, for galleries: `name` may not be null (the
schema marks it nullable as well as required); `public` defaults to false and `externalMappings`
to `[]`; `coverPhoto` is kept as given (Táve would import the image to its CDN and answer its own
`remoteUrl`); `remoteCreated` needs an offset and is answered in UTC (`+00:00`); `jobId` and
`eventId`, when given, must name an existing job or event, else 400 on that field (the event need
not be the job's); a property not in the Gallery schema answers 400 naming it, while read-only ones
sent back in a write are ignored; a full-document `PUT` resets omitted writable fields; `hidden` is
set only in Táve's UI (`add_gallery`, `edit_gallery`, `hide_gallery`), and hidden galleries are
left out of the list unless `includeHidden=true` but stay fetchable by id; deleting a job deletes
its galleries, and deleting an event sets its galleries' `eventId` to null (bumping `modified`).
Not in the OpenAPI (whose list takes no job filter): the list's `jobId` filter.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import re
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from ulid import ULID
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.emulators.base import Emulator

PAGE_SIZE_MIN, PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT = 10, 100, 100
HOOK_EVENTS = ("contact.created", "job.created", "order.booked", "payment.created")
CREATABLE_CONTACT_KINDS = ("person", "company", "location")
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
UTC_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S+00:00"
DEFAULT_STUDIO_TIMEZONE = "America/New_York"
NOT_FOUND_DETAIL = "The requested resource does not exist."
UNAUTHORIZED_DETAIL = "API key is missing or invalid."
READ_ONLY_DETAIL = "This API key is Read Only."
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_ULID_RE = re.compile(r"^[0-7][0-9a-hjkmnp-tv-z]{25}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")


API_PREFIX = "/api/v2"

# -- errors ------------------------------------------------------------------------------------


class TaveError(Exception):
    """Raised by a handler; becomes Táve's `{type, title, detail, status}` envelope."""

    def __init__(self, status: int, detail: Any, kind: str = "unknown") -> None:
        super().__init__(detail)
        self.status, self.detail, self.kind = status, detail, kind

    def body(self) -> dict[str, Any]:
        title = "Validation Error" if self.kind == "validation-error" else TITLES.get(self.status)
        return {"type": self.kind, "title": title, "detail": self.detail, "status": self.status}


class ValidationFailed(TaveError):
    """400 `validation-error` whose `detail` maps each failing field to why it failed."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(400, errors, "validation-error")
        self.errors = errors


def _not_found() -> TaveError:
    return TaveError(404, NOT_FOUND_DETAIL)


# -- field checks (each returns why a non-null value is invalid, or None) ----------------------

Check = Callable[[Any], str | None]


class Field(NamedTuple):
    check: Check
    default: Any = None
    nullable: bool = True


def _text(max_length: int | None = None, min_length: int = 0) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "Must be a string."
        if max_length is not None and len(value) > max_length:
            return f"Must be at most {max_length} characters."
        return None if len(value) >= min_length else f"Must be at least {min_length} characters."

    return check


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "Must be a boolean."


def _integer(low: int, high: int) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "Must be an integer."
        return None if low <= value <= high else f"Must be between {low} and {high}."

    return check


def _one_of(*choices: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"Must be one of {', '.join(choices)}."

    return check


def _date(value: Any) -> str | None:
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            date.fromisoformat(value)
            return None
        except ValueError:
            pass
    return "Must be a date (YYYY-MM-DD)."


def _time(value: Any) -> str | None:
    ok = isinstance(value, str) and _TIME_RE.match(value)
    return None if ok else "Must be a 24-hour time (HH:MM:SS)."


def _zone_name(value: Any) -> str | None:
    if isinstance(value, str):
        try:
            ZoneInfo(value)
            return None
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return "Must be a time zone name, e.g. America/New_York."


def _ulid(value: Any) -> str | None:
    return None if isinstance(value, str) and _ULID_RE.match(value) else "Must be a lowercase ULID."


def _email(max_length: int) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str) or not _EMAIL_RE.match(value):
            return "Must be an email address."
        return None if len(value) <= max_length else f"Must be at most {max_length} characters."

    return check


def _uri(value: Any) -> str | None:
    parts = urlparse(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        return "Must be an absolute http(s) URL."
    return None


def _url(max_length: int) -> Check:
    def check(value: Any) -> str | None:
        problem = _uri(value)
        if problem or len(value) <= max_length:
            return problem
        return f"Must be at most {max_length} characters."

    return check


def _date_time(value: Any) -> str | None:
    """A date-time with an offset (`2020-06-17T13:06:22+00:00`); stored in UTC, see `_in_utc`."""
    try:
        if isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None:
            return None
    except ValueError:
        pass
    return "Must be a date-time with an offset, e.g. 2020-06-17T13:06:22+00:00."


def _in_utc(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(UTC).strftime(UTC_DATETIME_FORMAT)


def _cover_photo(value: Any) -> str | None:
    """`{remoteUrl, focalPointX?, focalPointY?, remoteId?}`, as the Gallery schema has it."""
    if not isinstance(value, dict):
        return "Must be an object."
    unknown = sorted(value.keys() - {"remoteUrl", "focalPointX", "focalPointY", "remoteId"})
    if unknown:
        return f"{unknown[0]}: Not a property of coverPhoto."
    if _uri(value.get("remoteUrl")):
        return "remoteUrl is required (an absolute http(s) URL)."
    for axis in ("focalPointX", "focalPointY"):
        point = value.get(axis)
        if point is not None and (
            isinstance(point, bool) or not isinstance(point, int | float) or not 0 <= point <= 100
        ):
            return f"{axis}: Must be a number from 0 to 100."
    remote_id = value.get("remoteId")
    problem = None if remote_id is None else _text(32)(remote_id)
    return f"remoteId: {problem}" if problem else None


def _object(value: Any) -> str | None:
    return None if isinstance(value, dict) else "Must be an object."


def _list_of(item: Check) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return "Must be an array."
        for index, element in enumerate(value):
            problem = item(element)
            if problem:
                return f"Item {index}: {problem}"
        return None

    return check


def _external_mapping(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "Must be an object with id and url."
    mapping_id, url = value.get("id"), value.get("url")
    if not isinstance(mapping_id, str) or not 1 <= len(mapping_id) <= 64:
        return "id is required (1 to 64 characters)."
    if _uri(url) or not 12 <= len(url) <= 255:
        return "url is required (an absolute URL of 12 to 255 characters)."
    return None


def _custom_field(value: Any) -> str | None:
    if not isinstance(value, dict) or _ulid(value.get("fieldId")):
        return "fieldId is required (a lowercase ULID)."
    if value.get("value") is not None and not isinstance(value["value"], str):
        return "value must be a string or null."
    return None


def _words(text: str) -> frozenset[str]:
    """The spec's long `sortBy` lists, written as words."""
    return frozenset(text.split())


_MONEY = _integer(-99999999999, 99999999999)
_PHONE = Field(_object)
_COMMON_CONTACT_FIELDS = {
    "address": Field(_object),
    "chatAccount1": Field(_object),
    "chatAccount2": Field(_object),
    "chatAccount3": Field(_object),
    "customFields": Field(_list_of(_custom_field)),
    "email": Field(_email(255)),
    "externalMappings": Field(_list_of(_external_mapping)),
    "facebookUsername": Field(_text(50)),
    "pinned": Field(_boolean, False),
    "secondaryEmail": Field(_email(64)),
    "twitterUsername": Field(_text(15)),
    "url": Field(_uri),
}
_PERSON_FIELDS = {
    "anniversary": Field(_date),
    "birthdate": Field(_date),
    "brandId": Field(_ulid),
    "cellPhone": _PHONE,
    "companyName": Field(_text(128)),
    "contactPreference": Field(_one_of("email", "cell-phone", "home-phone", "work-phone")),
    "fax": _PHONE,
    "firstName": Field(_text(48)),
    "gender": Field(_one_of("male", "female")),
    "homePhone": _PHONE,
    "jobTitle": Field(_text(64)),
    "lastName": Field(_text(48)),
    "maidenName": Field(_text(48)),
    "mailingAddress": Field(_object),
    "salutation": Field(_one_of("mr", "miss", "mrs", "ms", "dr")),
    "vendorRoleId": Field(_ulid),
    "workPhone": _PHONE,
}
CONTACT_FIELDS: dict[str, dict[str, Field]] = {
    "person": {
        **_COMMON_CONTACT_FIELDS,
        **_PERSON_FIELDS,
        "bestDayToCall": Field(
            _one_of(
                "weekdays",
                "weekends",
                "mondays",
                "tuesdays",
                "wednesdays",
                "thursdays",
                "fridays",
                "saturdays",
                "sundays",
            )
        ),
        "bestTimeToCall": Field(_one_of("mornings", "afternoons", "evenings")),
        "previousClient": Field(_boolean),
        "privacyOptIn": Field(_boolean, False),
        "requireStrictPrivacy": Field(_boolean, False),
        "schoolGradYear": Field(_integer(1900, 2100)),
        "schoolName": Field(_text(255)),
        "sport": Field(_text(255)),
        "startingCost": Field(_MONEY),
        "startingRevenue": Field(_MONEY),
        "teamName": Field(_text(255)),
        "teamPosition": Field(_text(255)),
    },
    "employee": {**_COMMON_CONTACT_FIELDS, **_PERSON_FIELDS, "displayAs": Field(_text(64))},
    "company": {
        **_COMMON_CONTACT_FIELDS,
        "accountNumber": Field(_text(50)),
        "brandId": Field(_ulid),
        "cellPhone": _PHONE,
        "fax": _PHONE,
        "mailingAddress": Field(_object),
        "name": Field(_text(255)),
        "phone": _PHONE,
        "primaryContactFirstName": Field(_text(48)),
        "primaryContactLastName": Field(_text(48)),
        "startingCost": Field(_MONEY),
        "startingRevenue": Field(_MONEY),
        "tollFree": _PHONE,
        "vendorRoleId": Field(_ulid),
    },
    "location": {
        **_COMMON_CONTACT_FIELDS,
        "name": Field(_text(255)),
        "phone": _PHONE,
        "tollFree": _PHONE,
    },
}
# Read-only contact fields Táve computes; totals stay 0 (orders are not modelled, payments do
# not feed them).
CONTACT_COMPUTED = {
    "person": {"accountBalance": 0, "creditBalance": 0, "anonymized": False},
    "employee": {},
    "company": {"accountBalance": 0, "creditBalance": 0},
    "location": {},
}
CONTACT_SORT_FIELDS = _words(
    "id modified created name kind accountBalance anniversary anonymized bestDayToCall "
    "bestTimeToCall cellPhone companyName contactPreference creditBalance email fax "
    "firstName gender homePhone jobTitle lastName maidenName previousClient privacyOptIn "
    "requireStrictPrivacy salutation schoolGradYear schoolName sport teamName "
    "teamPosition workPhone"
)

JOB_FIELDS = {
    "bookingDate": Field(_date),
    "brandId": Field(_ulid),
    "closed": Field(_boolean, False, nullable=False),
    "closedDate": Field(_date),
    "closedReasonId": Field(_ulid),
    "completedDate": Field(_date),
    "contactFormId": Field(_ulid),
    "customFields": Field(_list_of(_custom_field)),
    "eventDate": Field(_date),
    "externalMappings": Field(_list_of(_external_mapping)),
    "fulfillmentDate": Field(_date),
    "guestCount": Field(_integer(0, 99999999999)),
    "inquiryDate": Field(_date),
    "jobTypeId": Field(_ulid),
    "leadConfidence": Field(_one_of("low", "medium", "high")),
    "leadDecisionExpectedByDate": Field(_date),
    "leadMaxBudget": Field(_MONEY),
    "leadNotes": Field(_text()),
    "leadRating": Field(_integer(1, 5)),
    "leadSourceId": Field(_ulid),
    "leadStatusId": Field(_ulid),
    "name": Field(_text()),
    "pinned": Field(_boolean, False),
    "stage": Field(_one_of("lead", "booked", "fulfillment", "completed"), "lead", nullable=False),
    "webLead": Field(_boolean, False, nullable=False),
    "workflowId": Field(_ulid),
}
# Read-only job fields Táve computes from data this emulator does not model.
JOB_COMPUTED = {
    "accountBalance": 0,
    "closedReasonName": None,
    "creditBalance": 0,
    "customNumber": None,
    "jobTypeName": None,
    "lastClientActivity": None,
    "leadSourceName": None,
    "leadStatusChangedAt": None,
    "leadStatusName": None,
    "nextInteractionDate": None,
    "nextInteractionItem": None,
    "previousInteractionDate": None,
    "previousInteractionItem": None,
    "primarySessionId": None,
    "sample": False,
    "staleDate": None,
    "totalCost": 0,
    "totalProfit": 0,
    "totalRevenue": 0,
    "workflowName": None,
}
JOB_SORT_FIELDS = _words(
    "id modified created name accountBalance bookingDate closed closedDate completedDate "
    "creditBalance customNumber eventDate fulfillmentDate guestCount inquiryDate "
    "lastClientActivity leadConfidence leadDecisionExpectedByDate leadMaxBudget "
    "leadRating leadStatusChangedAt pinned previousInteractionDate stage staleDate title "
    "totalCost totalGratuity totalProfit totalRevenue webLead"
)
JOB_CONTACT_FIELDS = {
    "client": Field(_boolean, False),
    "contactId": Field(_ulid, nullable=False),
    "externalMappings": Field(_list_of(_external_mapping)),
    "jobId": Field(_ulid, nullable=False),
    "jobRoles": Field(_list_of(_ulid)),
}
HOOK_SORT_FIELDS = frozenset({"id", "modified", "created"})
JOB_CONTACT_SORT_FIELDS = HOOK_SORT_FIELDS
_ADDRESS_LIMITS = {
    "streetAddress": 512,
    "village": 255,
    "city": 255,
    "state": 255,
    "postalCode": 255,
    "country": 2,
}
_ADDRESS_READ_ONLY = _words(
    "links id created modified hidden name latitude longitude googlePlaceId timezone"
)


def _location(value: Any) -> str | None:
    """`{id, address}`; the Address's read-only properties are allowed (and dropped)."""
    if not isinstance(value, dict):
        return "Must be an object."
    unknown = sorted(value.keys() - {"id", "address"})
    if unknown:
        return f"{unknown[0]}: Not a property of location."
    if value.get("id") is not None and _ulid(value["id"]):
        return "id: Must be a lowercase ULID."
    address = value.get("address")
    if address is None:
        return None
    if not isinstance(address, dict):
        return "address: Must be an object."
    for name, item in address.items():
        if name in _ADDRESS_LIMITS:
            problem = None if item is None else _text(_ADDRESS_LIMITS[name])(item)
        else:
            problem = None if name in _ADDRESS_READ_ONLY else "Not a property of Address."
        if problem:
            return f"address.{name}: {problem}"
    return None


def _stored_location(location: dict[str, Any]) -> dict[str, Any]:
    address = location.get("address")
    kept = None if address is None else {name: address.get(name) for name in _ADDRESS_LIMITS}
    return {"id": location.get("id"), "address": kept}


EVENT_FIELDS = {
    "allDay": Field(_boolean, False),
    "channel": Field(_one_of("InPerson", "Phone", "Virtual"), "InPerson", nullable=False),
    "confirmed": Field(_boolean, False),
    "descriptionHtml": Field(_text()),
    "endDate": Field(_date),
    "endTime": Field(_time),
    "externalMappings": Field(_list_of(_external_mapping)),
    "galleryId": Field(_ulid),
    "jobId": Field(_ulid),
    "location": Field(_location),
    "name": Field(_text(255)),
    "phoneNumber": _PHONE,
    "startDate": Field(_date),
    "startTime": Field(_time),
    "timezoneName": Field(_zone_name),
    "timezoneId": Field(_ulid),
    "typeId": Field(_ulid),
    "virtualUrl": Field(_uri),
}
EVENT_READ_ONLY = _words("links id created modified hidden readOnly startUtc endUtc")
EVENT_SORT_FIELDS = _words("id modified created name")
_POSITIVE_MONEY = _integer(0, 99999999999)
PAYMENT_STATUSES = ("future", "confirmed-future", "posted", "failed", "pending")
PAYMENT_FIELDS = {
    "amount": Field(_POSITIVE_MONEY, nullable=False),
    "authCode": Field(_text(100), ""),
    "checkNumber": Field(_text(18), ""),
    "invoiceItemId": Field(_ulid),
    "jobId": Field(_ulid, nullable=False),
    "memo": Field(_text(128), ""),
    "payerId": Field(_ulid),
    "paymentMethodId": Field(_ulid),
    "received": Field(_date),  # today when omitted: see _payment_fields
    "status": Field(_one_of(*PAYMENT_STATUSES), "posted", nullable=False),
    "transactionId": Field(_text(255), ""),
}
# What Táve's UI sets besides (`add_payment`, `edit_payment`): read-only to the API.
PAYMENT_UI_FIELDS = {
    **PAYMENT_FIELDS,
    "hidden": Field(_boolean, False, nullable=False),
    "refundedAmount": Field(_POSITIVE_MONEY, 0, nullable=False),
}
PAYMENT_READ_ONLY = _words(
    "links id created modified hidden refundedAmount processedViaClientAccess refunds "
    "paymentAllocations"
)
PAYMENT_SORT_FIELDS = _words("id modified created received")
_COUNT = _integer(0, 2147483647)
_WEB_ADDRESS = _url(2000)
GALLERY_STATUSES = ("pre-release", "active", "inactive", "archived")
GALLERY_FIELDS = {
    "adminUrl": Field(_WEB_ADDRESS, nullable=False),
    "category": Field(_text(255)),
    "clientUrl": Field(_WEB_ADDRESS, nullable=False),
    "coverPhoto": Field(_cover_photo),
    "eventDate": Field(_date),
    "eventId": Field(_ulid),
    "expirationDate": Field(_date),
    "externalMappings": Field(_list_of(_external_mapping), []),
    "headline": Field(_text(255)),
    "jobId": Field(_ulid),
    "name": Field(_text(255, min_length=1), nullable=False),
    "orderCount": Field(_COUNT, 0, nullable=False),
    "orderDueDate": Field(_date),
    "password": Field(_text(255)),
    "photoCount": Field(_COUNT, 0, nullable=False),
    "public": Field(_boolean, False, nullable=False),
    "releaseDate": Field(_date),
    "remoteCreated": Field(_date_time),
    "remoteId": Field(_text(36)),
    "requiresPassword": Field(_boolean, True),
    "slug": Field(_text(24)),
    "status": Field(_one_of(*GALLERY_STATUSES), "active", nullable=False),
    "visitorCount": Field(_COUNT, 0, nullable=False),
}
GALLERY_REQUIRED = ("name", "clientUrl", "adminUrl")
# What Táve's UI sets besides (`add_gallery`, `edit_gallery`): read-only to the API.
GALLERY_UI_FIELDS = {**GALLERY_FIELDS, "hidden": Field(_boolean, False, nullable=False)}
GALLERY_READ_ONLY = _words("links id created modified hidden")
GALLERY_SORT_FIELDS = _words("id modified created name")


def _validate(
    body: dict[str, Any], fields: dict[str, Field], required: Iterable[str] = ()
) -> dict[str, Any]:
    """The writable fields of a full document (defaults for omitted ones), or ValidationFailed."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {name: "This field is required." for name in required}
    for name, field in fields.items():
        if name not in body:
            values[name] = copy.deepcopy(field.default)
            continue
        errors.pop(name, None)
        value = body[name]
        problem = (
            (None if field.nullable else "Must not be null.")
            if value is None
            else field.check(value)
        )
        if problem:
            errors[name] = problem
        else:
            values[name] = copy.deepcopy(value)
    if errors:
        raise ValidationFailed(errors)
    return values


def _validate_limit_to(event: Any, limit: Any) -> dict[str, str]:
    """Why a hook's `limitTo` does not fit its event (empty when it fits)."""
    if limit is None:
        return {}
    if not isinstance(limit, dict):
        return {"limitTo": "Must be an object or null."}
    checks = {
        "contactKinds": _list_of(_one_of(*CREATABLE_CONTACT_KINDS)),
        "jobTypes": _list_of(_ulid),
        "brands": _list_of(_ulid),
        "webLead": _boolean,
    }
    errors = {}
    for name, value in limit.items():
        problem = checks[name](value) if name in checks else "Unknown property."
        if name == "contactKinds" and event != "contact.created":
            problem = "Only available for contact.created events."
        elif name == "jobTypes" and event == "contact.created":
            problem = "Not available on contact.created events."
        elif name == "webLead" and event != "job.created":
            problem = "Only available for job.created events."
        if problem:
            errors[f"limitTo.{name}"] = problem
    return errors


def _limit_allows(limit: dict[str, Any] | None, facts: dict[str, Any]) -> bool:
    """Whether a record with these facts (kind, jobTypeId, brandId, webLead) passes `limitTo`."""
    if not limit:
        return True
    pairs = (("contactKinds", "kind"), ("jobTypes", "jobTypeId"), ("brands", "brandId"))
    for limit_key, fact_key in pairs:
        if limit.get(limit_key) and facts.get(fact_key) not in limit[limit_key]:
            return False
    return limit.get("webLead") is None or facts.get("webLead") == limit["webLead"]


def _query_bool(request: Request, name: str, errors: dict[str, str]) -> bool:
    raw = request.args.get(name)
    if raw is None or raw.lower() in ("false", "0"):
        return False
    if raw.lower() in ("true", "1"):
        return True
    errors[name] = "Must be a boolean (true or false)."
    return False


def _stamp(previous: str | None = None) -> str:
    """Now in UTC to the second; always after `previous`, so every change moves `modified` on."""
    now = datetime.now(UTC).replace(microsecond=0)
    if previous:
        last = datetime.strptime(previous, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
        now = max(now, last + timedelta(seconds=1))
    return now.strftime(TIMESTAMP_FORMAT)


def _end_problem(values: dict[str, Any]) -> dict[str, str]:
    """Why an event's end comes before its start (empty when it does not)."""
    start_date, end_date = values["startDate"], values["endDate"]
    if not (start_date and end_date):
        return {}
    if end_date < start_date:
        return {"endDate": "Must not be before startDate."}
    start_time, end_time = values["startTime"], values["endTime"]
    if end_date > start_date or values["allDay"] or not (start_time and end_time):
        return {}
    return {"endTime": "The end must not be before the start."} if end_time < start_time else {}


def _utc(day: str | None, clock: str | None, zone: ZoneInfo) -> str | None:
    """A local date and time in `zone` as Táve's UTC date-time, or None when either is missing."""
    if not day or not clock:
        return None
    local = datetime.fromisoformat(f"{day}T{clock}").replace(tzinfo=zone)
    return local.astimezone(UTC).strftime(UTC_DATETIME_FORMAT)


def _sort_key(value: Any) -> tuple[bool, Any]:
    """Nulls first; objects (phones, addresses) compare by their JSON text."""
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True)
    return value is not None, value


def _body_object(request: Request) -> dict[str, Any]:
    body = Emulator.body_json(request)
    if not isinstance(body, dict):
        raise ValidationFailed({"body": "Must be a JSON object."})
    return body


@dataclass
class HookDelivery:
    """One REST Hook POST the emulator made: where, what, and how the receiver answered."""

    hook_id: str
    event: str
    url: str
    body: dict[str, Any]
    status_code: int | None = None
    error: str | None = None


def api(*, write: bool = False) -> Callable:
    """Wrap a handler `(self, request, **values) -> Response`: auth, lock, Táve's error envelope."""

    def decorate(handler: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(handler)
        def endpoint(self: TaveEmulator, request: Request, **values: Any) -> Response:
            try:
                with self.lock:
                    self._authenticate(request, write=write)
                    return handler(self, request, **values)
            except TaveError as error:
                return self.json(error.body(), status=error.status)

        return endpoint

    return decorate


class TaveEmulator(Emulator):
    """One VSCO Workspace studio behind the v2 API, with REST Hook deliveries to the hub."""

    provider = "tave"

    @property
    def api_url(self) -> str:
        """Where the documented `https://workspace.vsco.co/api/v2` lives on this emulator."""
        return self.base_url + API_PREFIX

    def routes(self) -> list[Rule]:
        table = [
            ("/studio/me", "GET", "get_studio"),
            ("/job", "GET", "list_jobs"),
            ("/job", "POST", "create_job"),
            ("/job/<id>", "GET", "get_job"),
            ("/job/<id>", "PUT", "update_job"),
            ("/job/<id>", "DELETE", "delete_job"),
            ("/address-book", "GET", "list_contacts"),
            ("/address-book", "POST", "create_contact"),
            ("/address-book/<id>", "GET", "get_contact"),
            ("/address-book/<id>", "PUT", "update_contact"),
            ("/address-book/<id>", "DELETE", "delete_contact"),
            ("/job-contact", "POST", "create_job_contact"),
            ("/job-contact", "GET", "list_job_contacts"),
            ("/event", "GET", "list_events"),
            ("/event", "POST", "create_event"),
            ("/event/<id>", "GET", "get_event"),
            ("/event/<id>", "PUT", "update_event"),
            ("/event/<id>", "DELETE", "delete_event"),
            ("/payment", "GET", "list_payments"),
            ("/payment", "POST", "create_payment"),
            ("/payment/<id>", "GET", "get_payment"),
            ("/payment/<id>/apply", "POST", "apply_payment"),
            ("/gallery", "GET", "list_galleries"),
            ("/gallery", "POST", "create_gallery"),
            ("/gallery/<id>", "GET", "get_gallery"),
            ("/gallery/<id>", "PUT", "update_gallery"),
            ("/gallery/<id>", "DELETE", "delete_gallery"),
            ("/rest-hook", "GET", "list_hooks"),
            ("/rest-hook", "POST", "create_hook"),
            ("/rest-hook/<id>", "GET", "get_hook"),
            ("/rest-hook/<id>", "PUT", "update_hook"),
            ("/rest-hook/<id>", "DELETE", "delete_hook"),
        ]
        return [
            Rule(API_PREFIX + path, methods=[method], endpoint=name) for path, method, name in table
        ]

    def reset_state(self) -> None:
        with self.lock:
            self._last_ulid = 0
            self._keys: dict[str, bool] = {}  # key -> read only
            self._jobs: dict[str, dict[str, Any]] = {}
            self._contacts: dict[str, dict[str, Any]] = {}
            self._job_contacts: dict[str, dict[str, Any]] = {}
            self._events: dict[str, dict[str, Any]] = {}
            self._payments: dict[str, dict[str, Any]] = {}
            self._galleries: dict[str, dict[str, Any]] = {}
            self._hooks: dict[str, dict[str, Any]] = {}
            self._delivery_threads: list[threading.Thread] = []
            self.deliveries: list[HookDelivery] = []
            self._studio = self._new_studio()

    def error_response(
        self, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        """Táve's envelope for injected faults and unknown routes (429 is `quota-limit`)."""
        kind = {429: "quota-limit", 501: "not-implemented"}.get(status, "unknown")
        if status == 429:
            message = "Exceeded request quota, see Retry-After header"
        elif status == 404:
            message = NOT_FOUND_DETAIL
        body = {"type": kind, "title": TITLES.get(status, "Error"), "detail": message}
        return self.json({**body, "status": status}, status=status, headers=headers)

    # -- credentials and the studio (Python-level helpers) --------------------------------------

    def add_api_key(self, key: str | None = None, *, read_only: bool = False) -> str:
        """Register a key as if made under Settings > API Integrations; returns it."""
        key = key or secrets.token_urlsafe(32)
        with self.lock:
            self._keys[key] = read_only
        return key

    def set_read_only(self, key: str, read_only: bool = True) -> None:
        """Switch a key between Read Only (writes answer 403) and Read/Write."""
        with self.lock:
            if key not in self._keys:
                raise KeyError(key)
            self._keys[key] = read_only

    def revoke_api_key(self, key: str) -> None:
        """Delete a key in Táve's settings: it answers 401 from now on."""
        with self.lock:
            del self._keys[key]

    @property
    def studio(self) -> dict[str, Any]:
        """The studio as `GET /studio/me` returns it (a copy)."""
        with self.lock:
            return self._present(self._studio, "studio/me")

    def edit_studio(self, **fields: Any) -> dict[str, Any]:
        """Change studio settings (name, email, currencyCode, ...) as if in Táve's UI."""
        with self.lock:
            self._studio.update(fields)
            self._studio["modified"] = _stamp(self._studio["modified"])
            return self.studio

    # -- records (Python-level helpers for tests and sandbox seeding) ---------------------------

    def add_job(self, **fields: Any) -> dict[str, Any]:
        """Create a job (camelCase Job fields) and fire `job.created`; raises ValidationFailed."""
        with self.lock:
            job = self._insert_job(fields)
        self._fire_created("job.created", job)
        return job

    def add_contact(self, kind: str = "person", **fields: Any) -> dict[str, Any]:
        """Create an address-book entry (also `employee`) and fire `contact.created`."""
        with self.lock:
            contact = self._insert_contact({**fields, "kind": kind}, kinds=tuple(CONTACT_FIELDS))
        self._fire_created("contact.created", contact)
        return contact

    def link_contact(self, job_id: str, contact_id: str, **fields: Any) -> dict[str, Any]:
        """Attach a contact to a job, as `POST /job-contact` does (fields: client, jobRoles)."""
        with self.lock:
            return self._insert_job_contact({**fields, "jobId": job_id, "contactId": contact_id})

    def edit_job(self, job_id: str, **changes: Any) -> dict[str, Any]:
        """A user edits the job in Táve's UI (any field, even read-only); `modified` bumped."""
        return self._edit(self._jobs, job_id, changes, "job")

    def edit_contact(self, contact_id: str, **changes: Any) -> dict[str, Any]:
        """A user edits the contact in Táve's UI (e.g. `hidden=True`); `modified` bumped."""
        return self._edit(self._contacts, contact_id, changes, "address-book")

    def jobs(self) -> list[dict[str, Any]]:
        """Every job, closed ones included, oldest first (copies)."""
        with self.lock:
            return [self._present(job, f"job/{job['id']}") for job in self._jobs.values()]

    def contacts(self) -> list[dict[str, Any]]:
        """Every address-book entry, hidden ones included, oldest first (copies)."""
        with self.lock:
            return [self._present(c, f"address-book/{c['id']}") for c in self._contacts.values()]

    def job_contacts(self, job_id: str | None = None) -> list[dict[str, Any]]:
        """Job-contact links, optionally of one job (copies)."""
        return self._of_job(self._job_contacts, "job-contact", job_id)

    def add_event(self, **fields: Any) -> dict[str, Any]:
        """Create an event (camelCase Event fields); raises ValidationFailed."""
        with self.lock:
            return self._insert_event(fields)

    def edit_event(self, event_id: str, **changes: Any) -> dict[str, Any]:
        """A user edits the event in Táve's UI: only these fields change (of the read-only ones,
        only `hidden`), `startUtc`/`endUtc` follow, `modified` bumped; raises ValidationFailed."""
        with self.lock:
            event = self._events[event_id]
            event.update(self._event_fields({**{k: event[k] for k in EVENT_FIELDS}, **changes}))
            if "hidden" in changes:
                event["hidden"] = changes["hidden"]
            self._schedule(event)
            event["modified"] = _stamp(event["modified"])
            return self._present(event, f"event/{event_id}")

    def hide_event(self, event_id: str) -> dict[str, Any]:
        """Hide the event, as only Táve's UI can."""
        return self.edit_event(event_id, hidden=True)

    def events(self, job_id: str | None = None) -> list[dict[str, Any]]:
        """Every event, hidden ones included, optionally of one job, oldest first (copies)."""
        return self._of_job(self._events, "event", job_id)

    def add_payment(self, **fields: Any) -> dict[str, Any]:
        """Record a payment as in Táve's UI (camelCase Payment fields, `jobId` and `amount`
        required, also `refundedAmount` and `hidden`) and fire `payment.created`; raises
        ValidationFailed."""
        with self.lock:
            payment = self._insert_payment(fields, PAYMENT_UI_FIELDS)
            self.trigger_hook("payment.created", payment["id"], job_id=payment["jobId"])
        return payment

    def edit_payment(self, payment_id: str, **changes: Any) -> dict[str, Any]:
        """A user edits the payment in Táve's UI (e.g. `status="posted"`, `refundedAmount=5000`):
        only these fields change, `modified` bumped, no hook fired; raises ValidationFailed."""
        with self.lock:
            payment = self._payments[payment_id]
            current = {name: payment[name] for name in PAYMENT_UI_FIELDS}
            payment.update(self._payment_fields({**current, **changes}, PAYMENT_UI_FIELDS))
            payment["modified"] = _stamp(payment["modified"])
            return self._present(payment, f"payment/{payment_id}")

    def hide_payment(self, payment_id: str) -> dict[str, Any]:
        """Hide the payment, as only Táve's UI can."""
        return self.edit_payment(payment_id, hidden=True)

    def payments(self, job_id: str | None = None) -> list[dict[str, Any]]:
        """Every payment, hidden ones included, optionally of one job, oldest first (copies)."""
        return self._of_job(self._payments, "payment", job_id)

    def add_gallery(self, **fields: Any) -> dict[str, Any]:
        """Create a gallery (camelCase Gallery fields, `name`, `clientUrl` and `adminUrl`
        required, also `hidden`); raises ValidationFailed."""
        with self.lock:
            return self._insert_gallery(fields, GALLERY_UI_FIELDS)

    def edit_gallery(self, gallery_id: str, **changes: Any) -> dict[str, Any]:
        """A user edits the gallery in Táve's UI (e.g. `status="archived"`, `hidden=True`): only
        these fields change, `modified` bumped; raises ValidationFailed."""
        with self.lock:
            gallery = self._galleries[gallery_id]
            current = {name: gallery[name] for name in GALLERY_UI_FIELDS}
            values = {**current, **changes}
            gallery.update(self._gallery_fields(values, GALLERY_UI_FIELDS, gallery_id))
            gallery["modified"] = _stamp(gallery["modified"])
            return self._present(gallery, f"gallery/{gallery_id}")

    def hide_gallery(self, gallery_id: str) -> dict[str, Any]:
        """Hide the gallery, as only Táve's UI can."""
        return self.edit_gallery(gallery_id, hidden=True)

    def galleries(self, job_id: str | None = None) -> list[dict[str, Any]]:
        """Every gallery, hidden ones included, optionally of one job, oldest first (copies)."""
        return self._of_job(self._galleries, "gallery", job_id)

    def _of_job(
        self, table: dict[str, dict[str, Any]], path: str, job_id: str | None
    ) -> list[dict[str, Any]]:
        with self.lock:
            return [
                self._present(record, f"{path}/{record['id']}")
                for record in table.values()
                if job_id is None or record["jobId"] == job_id
            ]

    def hooks(self) -> list[dict[str, Any]]:
        """The REST Hook subscriptions now active (copies)."""
        with self.lock:
            return [self._present(hook, f"rest-hook/{hook['id']}") for hook in self._hooks.values()]

    # -- REST Hook deliveries -------------------------------------------------------------------

    def deliver(self, url: str, target_id: str, *, timeout: float = 5.0) -> requests.Response:
        """POST one delivery in Táve's scheme: unsigned JSON `{"targetId": ...}`."""
        return requests.post(url, json={"targetId": target_id}, timeout=timeout)

    def trigger_hook(self, event: str, target_id: str, *, job_id: str | None = None) -> None:
        """Fire any event (e.g. `order.booked`, for orders, which are not modelled here); `job_id`
        names the job whose type and brand `limitTo` filters on."""
        if event not in HOOK_EVENTS:
            raise ValueError(f"unknown REST Hook event {event!r}")
        with self.lock:
            facts = dict(self._jobs[job_id]) if job_id else {}
        self._fire(event, target_id, facts)

    def _fire_created(self, event: str, record: dict[str, Any]) -> None:
        self._fire(event, record["id"], record)

    def _fire(self, event: str, target_id: str, facts: dict[str, Any]) -> None:
        """Deliver to every matching subscription on a background thread, as Táve does."""
        with self.lock:
            targets = [
                (hook["id"], hook["url"])
                for hook in self._hooks.values()
                if hook["event"] == event and _limit_allows(hook["limitTo"], facts)
            ]
            if not targets:
                return
        self.deliver_in_background(self._deliver_all, event, target_id, targets)

    def _deliver_all(self, event: str, target_id: str, targets: list[tuple[str, str]]) -> None:
        for hook_id, url in targets:
            record = HookDelivery(hook_id, event, url, {"targetId": target_id})
            try:
                record.status_code = self.deliver(url, target_id).status_code
            except requests.RequestException as error:
                record.error = str(error)
            with self.lock:
                self.deliveries.append(record)

    # -- endpoints: studio and jobs -------------------------------------------------------------

    @api()
    def get_studio(self, request: Request) -> Response:
        studio = self.studio
        studio.pop("timezoneName")  # emulator-only: real Táve does not send it
        return self.json(studio)

    @api()
    def list_jobs(self, request: Request) -> Response:
        errors: dict[str, str] = {}
        include_closed = _query_bool(request, "includeClosed", errors)
        mapping_id = request.args.get("externalMappingId")
        jobs = [
            job
            for job in self._jobs.values()
            if (include_closed or not job["closed"])
            and (mapping_id is None or self._has_mapping(job, mapping_id))
        ]
        return self._collection(request, "job", jobs, JOB_SORT_FIELDS, errors)

    @api(write=True)
    def create_job(self, request: Request) -> Response:
        job = self._insert_job(_body_object(request))
        self._fire_created("job.created", job)
        return self.json(job, status=201)

    @api()
    def get_job(self, request: Request, id: str) -> Response:
        return self.json(self._present(self._get(self._jobs, id), f"job/{id}"))

    @api(write=True)
    def update_job(self, request: Request, id: str) -> Response:
        job = self._get(self._jobs, id)
        job.update(_validate(_body_object(request), JOB_FIELDS))
        job["title"] = job["name"]
        job["modified"] = _stamp(job["modified"])
        return self.json(self._present(job, f"job/{id}"))

    @api(write=True)
    def delete_job(self, request: Request, id: str) -> Response:
        self._get(self._jobs, id)
        del self._jobs[id]
        self._unlink(lambda link: link["jobId"] == id)
        for table in (self._events, self._payments, self._galleries):
            for record_id in [i for i, record in table.items() if record["jobId"] == id]:
                del table[record_id]
        self._detach_galleries()
        return Response(status=204)

    # -- endpoints: address book and job contacts -----------------------------------------------

    @api()
    def list_contacts(self, request: Request) -> Response:
        errors: dict[str, str] = {}
        include_hidden = _query_bool(request, "includeHidden", errors)
        email = (request.args.get("email") or "").strip().lower()
        contacts = [
            contact
            for contact in self._contacts.values()
            if (include_hidden or not contact["hidden"])
            and (not email or email in self._emails_of(contact))
        ]
        return self._collection(
            request, "address-book", contacts, CONTACT_SORT_FIELDS, errors, "addressbook"
        )

    @api(write=True)
    def create_contact(self, request: Request) -> Response:
        contact = self._insert_contact(_body_object(request), kinds=CREATABLE_CONTACT_KINDS)
        self._fire_created("contact.created", contact)
        return self.json(contact, status=201)

    @api()
    def get_contact(self, request: Request, id: str) -> Response:
        return self.json(self._present(self._get(self._contacts, id), f"address-book/{id}"))

    @api(write=True)
    def update_contact(self, request: Request, id: str) -> Response:
        contact = self._get(self._contacts, id)
        body = _body_object(request)
        if "kind" not in body:
            raise ValidationFailed({"kind": "This field is required."})
        if body["kind"] != contact["kind"]:
            raise ValidationFailed({"kind": "The kind of a contact cannot be changed."})
        if contact["kind"] not in CREATABLE_CONTACT_KINDS:
            raise ValidationFailed({"kind": "Must be one of person, company, location."})
        contact.update(_validate(body, CONTACT_FIELDS[contact["kind"]]))
        contact["name"] = self._contact_name(contact)
        contact["modified"] = _stamp(contact["modified"])
        return self.json(self._present(contact, f"address-book/{id}"))

    @api(write=True)
    def delete_contact(self, request: Request, id: str) -> Response:
        self._get(self._contacts, id)
        del self._contacts[id]
        self._unlink(lambda link: link["contactId"] == id)
        return Response(status=204)

    @api(write=True)
    def create_job_contact(self, request: Request) -> Response:
        return self.json(self._insert_job_contact(_body_object(request)), status=201)

    @api()
    def list_job_contacts(self, request: Request) -> Response:
        errors: dict[str, str] = {}
        include_hidden = _query_bool(request, "includeHidden", errors)
        wanted = {name: request.args.get(name) for name in ("jobId", "contactId")}
        for name, value in wanted.items():
            if value is not None and _ulid(value):
                errors[name] = "Must be a lowercase ULID."
        links = [
            link
            for link in self._job_contacts.values()
            if (include_hidden or not link["hidden"])
            and all(value is None or link[name] == value for name, value in wanted.items())
        ]
        return self._collection(
            request, "job-contact", links, JOB_CONTACT_SORT_FIELDS, errors, type_prefix="jobcontact"
        )

    # -- endpoints: events -----------------------------------------------------------------------

    @api()
    def list_events(self, request: Request) -> Response:
        errors: dict[str, str] = {}
        include_hidden = _query_bool(request, "includeHidden", errors)
        mapping_id, job_id = request.args.get("externalMappingId"), request.args.get("jobId")
        if mapping_id is not None and len(mapping_id) > 64:
            errors["externalMappingId"] = "Must be at most 64 characters."
        if job_id is not None and _ulid(job_id):
            errors["jobId"] = "Must be a lowercase ULID."
        events = [
            event
            for event in self._events.values()
            if (include_hidden or not event["hidden"])
            and (mapping_id is None or self._has_mapping(event, mapping_id))
            and (job_id is None or event["jobId"] == job_id)
        ]
        return self._collection(request, "event", events, EVENT_SORT_FIELDS, errors)

    @api(write=True)
    def create_event(self, request: Request) -> Response:
        return self.json(self._insert_event(_body_object(request)), status=201)

    @api()
    def get_event(self, request: Request, id: str) -> Response:
        return self.json(self._present(self._get(self._events, id), f"event/{id}"))

    @api(write=True)
    def update_event(self, request: Request, id: str) -> Response:
        event = self._get(self._events, id)
        event.update(self._event_fields(_body_object(request)))
        self._schedule(event)
        event["modified"] = _stamp(event["modified"])
        return self.json(self._present(event, f"event/{id}"))

    @api(write=True)
    def delete_event(self, request: Request, id: str) -> Response:
        self._get(self._events, id)
        del self._events[id]
        self._detach_galleries()
        return Response(status=204)

    # -- endpoints: payments -------------------------------------------------------------------

    @api()
    def list_payments(self, request: Request) -> Response:
        errors: dict[str, str] = {}
        include_hidden = _query_bool(request, "includeHidden", errors)
        job_id = request.args.get("jobId")
        if job_id is not None and _ulid(job_id):
            errors["jobId"] = "Must be a lowercase ULID."
        payments = [
            payment
            for payment in self._payments.values()
            if (include_hidden or not payment["hidden"])
            and (job_id is None or payment["jobId"] == job_id)
        ]
        return self._collection(request, "payment", payments, PAYMENT_SORT_FIELDS, errors)

    @api(write=True)
    def create_payment(self, request: Request) -> Response:
        payment = self._insert_payment(_body_object(request), PAYMENT_FIELDS)
        self.trigger_hook("payment.created", payment["id"], job_id=payment["jobId"])
        return self.json(payment, status=201)

    @api()
    def get_payment(self, request: Request, id: str) -> Response:
        return self.json(self._present(self._get(self._payments, id), f"payment/{id}"))

    @api(write=True)
    def apply_payment(self, request: Request, id: str) -> Response:
        self._get(self._payments, id)
        detail = "Applying a payment to an order is not modelled by this emulator."
        raise TaveError(501, detail, "not-implemented")

    # -- endpoints: galleries -------------------------------------------------------------------

    @api()
    def list_galleries(self, request: Request) -> Response:
        errors: dict[str, str] = {}
        include_hidden = _query_bool(request, "includeHidden", errors)
        mapping_id, job_id = request.args.get("externalMappingId"), request.args.get("jobId")
        if mapping_id is not None and len(mapping_id) > 64:
            errors["externalMappingId"] = "Must be at most 64 characters."
        if job_id is not None and _ulid(job_id):
            errors["jobId"] = "Must be a lowercase ULID."
        galleries = [
            gallery
            for gallery in self._galleries.values()
            if (include_hidden or not gallery["hidden"])
            and (mapping_id is None or self._has_mapping(gallery, mapping_id))
            and (job_id is None or gallery["jobId"] == job_id)
        ]
        return self._collection(
            request, "gallery", galleries, GALLERY_SORT_FIELDS, errors, default_sort="name asc"
        )

    @api(write=True)
    def create_gallery(self, request: Request) -> Response:
        return self.json(self._insert_gallery(_body_object(request), GALLERY_FIELDS), status=201)

    @api()
    def get_gallery(self, request: Request, id: str) -> Response:
        return self.json(self._present(self._get(self._galleries, id), f"gallery/{id}"))

    @api(write=True)
    def update_gallery(self, request: Request, id: str) -> Response:
        gallery = self._get(self._galleries, id)
        gallery.update(self._gallery_fields(_body_object(request), GALLERY_FIELDS, id))
        gallery["modified"] = _stamp(gallery["modified"])
        return self.json(self._present(gallery, f"gallery/{id}"))

    @api(write=True)
    def delete_gallery(self, request: Request, id: str) -> Response:
        self._get(self._galleries, id)
        del self._galleries[id]
        return Response(status=204)

    # -- endpoints: REST Hooks ------------------------------------------------------------------

    @api()
    def list_hooks(self, request: Request) -> Response:
        errors: dict[str, str] = {}
        _query_bool(request, "includeHidden", errors)
        hooks = list(self._hooks.values())
        return self._collection(request, "rest-hook", hooks, HOOK_SORT_FIELDS, errors, "resthook")

    @api(write=True)
    def create_hook(self, request: Request) -> Response:
        now = _stamp()
        hook = {"id": self._new_id(), "created": now, "modified": now, "hidden": False}
        hook.update(self._hook_fields(_body_object(request)))
        self._hooks[hook["id"]] = hook
        return self.json(self._present(hook, f"rest-hook/{hook['id']}"), status=201)

    @api()
    def get_hook(self, request: Request, id: str) -> Response:
        return self.json(self._present(self._get(self._hooks, id), f"rest-hook/{id}"))

    @api(write=True)
    def update_hook(self, request: Request, id: str) -> Response:
        hook = self._get(self._hooks, id)
        hook.update(self._hook_fields(_body_object(request)))
        hook["modified"] = _stamp(hook["modified"])
        return self.json(self._present(hook, f"rest-hook/{id}"))

    @api(write=True)
    def delete_hook(self, request: Request, id: str) -> Response:
        self._get(self._hooks, id)
        del self._hooks[id]
        return Response(status=204)

    # -- internals ------------------------------------------------------------------------------

    def _authenticate(self, request: Request, *, write: bool) -> None:
        key = request.headers.get("X-API-KEY")
        if key is None:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            key = token.strip() if scheme.lower() == "bearer" else None
        if not key or key not in self._keys:
            raise TaveError(401, UNAUTHORIZED_DETAIL)
        if write and self._keys[key]:
            raise TaveError(403, READ_ONLY_DETAIL)

    def _new_id(self) -> str:
        """A lowercase ULID, strictly increasing so `id` order is creation order."""
        value = max(int(ULID()), self._last_ulid + 1)
        self._last_ulid = value
        return str(ULID.from_int(value)).lower()

    def _new_studio(self) -> dict[str, Any]:
        now = _stamp()
        return {
            "id": self._new_id(),
            "created": now,
            "modified": now,
            "hidden": False,
            "name": "WedSync Demo Studio",
            "email": "studio@example.com",
            "currencyCode": "USD",
            "dateFormat": "n/j/Y",
            "decimalSeparator": ".",
            "thousandsSeparator": ",",
            "timeFormat": "g:ia",
            "weekStartsOn": "Sunday",
            "timezoneId": None,
            "timezoneName": DEFAULT_STUDIO_TIMEZONE,  # emulator-only: see the module docstring
            "defaultBrandId": None,
            "externalMappings": None,
            "firstName": None,
            "lastName": None,
            "readonlyEnabled": False,
            "readonlyEnabledAt": None,
        }

    def _present(self, record: dict[str, Any], path: str) -> dict[str, Any]:
        """A copy of the record with its `links.self` pointing at this emulator."""
        return {"links": {"self": {"href": f"{self.api_url}/{path}"}}, **copy.deepcopy(record)}

    def _get(self, table: dict[str, dict[str, Any]], record_id: str) -> dict[str, Any]:
        if record_id not in table:
            raise _not_found()
        return table[record_id]

    def _new_record(self) -> dict[str, Any]:
        now = _stamp()
        return {"id": self._new_id(), "created": now, "modified": now}

    def _insert_job(self, body: dict[str, Any]) -> dict[str, Any]:
        job = {**self._new_record(), **copy.deepcopy(JOB_COMPUTED)}
        job.update(_validate(body, JOB_FIELDS))
        job["title"] = job["name"]
        self._jobs[job["id"]] = job
        return self._present(job, f"job/{job['id']}")

    def _insert_contact(self, body: dict[str, Any], *, kinds: tuple[str, ...]) -> dict[str, Any]:
        kind = body.get("kind")
        if kind not in kinds:
            choices = ", ".join(kinds)
            problem = "This field is required." if kind is None else f"Must be one of {choices}."
            raise ValidationFailed({"kind": problem})
        contact = {**self._new_record(), "hidden": False, "kind": kind, "customNumber": None}
        contact.update({"totalCost": 0, "totalRevenue": 0, **CONTACT_COMPUTED[kind]})
        contact.update(_validate(body, CONTACT_FIELDS[kind]))
        contact["name"] = self._contact_name(contact)
        self._contacts[contact["id"]] = contact
        return self._present(contact, f"address-book/{contact['id']}")

    def _insert_job_contact(self, body: dict[str, Any]) -> dict[str, Any]:
        values = _validate(body, JOB_CONTACT_FIELDS, required=("jobId", "contactId"))
        missing = {
            name: "No such record."
            for name, table in (("jobId", self._jobs), ("contactId", self._contacts))
            if values[name] not in table
        }
        if missing:
            raise ValidationFailed(missing)
        link = {**self._new_record(), "hidden": False, **values}
        link["roleKinds"] = ["client"] if link["client"] else []
        self._job_contacts[link["id"]] = link
        return self._present(link, f"job-contact/{link['id']}")

    def _insert_event(self, body: dict[str, Any]) -> dict[str, Any]:
        event = {**self._new_record(), "hidden": False, "readOnly": False}
        event.update(self._event_fields(body))
        self._schedule(event)
        self._events[event["id"]] = event
        return self._present(event, f"event/{event['id']}")

    def _event_fields(self, body: dict[str, Any]) -> dict[str, Any]:
        """The writable fields of a full Event document; read-only ones are ignored, others 400."""
        errors = {
            name: "Not a property of Event."
            for name in body
            if name not in EVENT_FIELDS and name not in EVENT_READ_ONLY
        }
        try:
            values = _validate(body, EVENT_FIELDS)
        except ValidationFailed as failed:
            raise ValidationFailed({**failed.errors, **errors}) from None
        for name in ("startTime", "endTime"):
            if values[name]:
                values[name] = values[name][:5] + ":00"
        if values["jobId"] is not None and values["jobId"] not in self._jobs:
            errors["jobId"] = "No such record."
        errors.update(_end_problem(values))
        if errors:
            raise ValidationFailed(errors)
        if values["location"] is not None:
            values["location"] = _stored_location(values["location"])
        return values

    def _insert_payment(self, body: dict[str, Any], fields: dict[str, Field]) -> dict[str, Any]:
        payment = {**self._new_record(), "hidden": False, "refundedAmount": 0}
        payment.update({"processedViaClientAccess": False, "refunds": [], "paymentAllocations": []})
        payment.update(self._payment_fields(body, fields))
        self._payments[payment["id"]] = payment
        return self._present(payment, f"payment/{payment['id']}")

    def _payment_fields(self, body: dict[str, Any], fields: dict[str, Field]) -> dict[str, Any]:
        """The `fields` (the API's or Táve UI's) of a Payment; read-only ones are ignored, others
        400."""
        errors = {
            name: "Not a property of Payment."
            for name in body
            if name not in fields and name not in PAYMENT_READ_ONLY
        }
        try:
            values = _validate(body, fields, required=("jobId", "amount"))
        except ValidationFailed as failed:
            raise ValidationFailed({**failed.errors, **errors}) from None
        if values["jobId"] not in self._jobs:
            errors["jobId"] = "No such record."
        if values.get("refundedAmount", 0) > values["amount"]:
            errors["refundedAmount"] = "Must not be more than amount."
        if errors:
            raise ValidationFailed(errors)
        if "received" not in body:
            values["received"] = datetime.now(UTC).date().isoformat()
        return values

    def _insert_gallery(self, body: dict[str, Any], fields: dict[str, Field]) -> dict[str, Any]:
        gallery = {**self._new_record(), "hidden": False}
        gallery.update(self._gallery_fields(body, fields))
        self._galleries[gallery["id"]] = gallery
        return self._present(gallery, f"gallery/{gallery['id']}")

    def _gallery_fields(
        self, body: dict[str, Any], fields: dict[str, Field], gallery_id: str | None = None
    ) -> dict[str, Any]:
        """The `fields` (the API's or Táve UI's) of a full Gallery document; read-only ones are
        ignored, others 400."""
        errors = {
            name: "Not a property of Gallery."
            for name in body
            if name not in fields and name not in GALLERY_READ_ONLY
        }
        try:
            values = _validate(body, fields, required=GALLERY_REQUIRED)
        except ValidationFailed as failed:
            raise ValidationFailed({**failed.errors, **errors}) from None
        for name, table in (("jobId", self._jobs), ("eventId", self._events)):
            if values[name] is not None and values[name] not in table:
                errors[name] = "No such record."
        remote_id = values["remoteId"]
        if remote_id is not None and any(
            other["remoteId"] == remote_id
            for other_id, other in self._galleries.items()
            if other_id != gallery_id
        ):
            errors["remoteId"] = "Must be unique for the studio."
        if errors:
            raise ValidationFailed(errors)
        if values["slug"] is not None:
            values["slug"] = re.sub(r"[^a-z0-9_-]", "", values["slug"].lower())
        if values["remoteCreated"] is not None:
            values["remoteCreated"] = _in_utc(values["remoteCreated"])
        return values

    def _detach_galleries(self) -> None:
        """Galleries whose event is gone keep no `eventId` (a change: `modified` bumped)."""
        for gallery in self._galleries.values():
            if gallery["eventId"] is not None and gallery["eventId"] not in self._events:
                gallery["eventId"] = None
                gallery["modified"] = _stamp(gallery["modified"])

    def _schedule(self, event: dict[str, Any]) -> None:
        """`startUtc`/`endUtc` from the local dates and times, in the event's or studio's zone."""
        zone = ZoneInfo(event["timezoneName"] or self._studio["timezoneName"])
        for end in ("start", "end"):
            local = (event[f"{end}Date"], event[f"{end}Time"])
            event[f"{end}Utc"] = None if event["allDay"] else _utc(*local, zone)

    def _hook_fields(self, body: dict[str, Any]) -> dict[str, Any]:
        event, url, limit = body.get("event"), body.get("url"), body.get("limitTo")
        errors = _validate_limit_to(event, limit)
        if event not in HOOK_EVENTS:
            errors["event"] = (
                "This field is required."
                if event is None
                else f"Must be one of {', '.join(HOOK_EVENTS)}."
            )
        if url is None or _uri(url):
            errors["url"] = "This field is required." if url is None else str(_uri(url))
        if errors:
            raise ValidationFailed(errors)
        return {"event": event, "url": url, "limitTo": copy.deepcopy(limit)}

    def _edit(
        self, table: dict[str, dict[str, Any]], record_id: str, changes: dict[str, Any], path: str
    ) -> dict[str, Any]:
        with self.lock:
            record = table[record_id]
            record.update(copy.deepcopy(changes))
            if path == "job" and "name" in changes:
                record["title"] = record["name"]
            if path == "address-book":
                record["name"] = self._contact_name(record)
            record["modified"] = _stamp(record["modified"])
            return self._present(record, f"{path}/{record_id}")

    def _unlink(self, doomed: Callable[[dict[str, Any]], bool]) -> None:
        for link_id in [i for i, link in self._job_contacts.items() if doomed(link)]:
            del self._job_contacts[link_id]

    def _collection(
        self,
        request: Request,
        path: str,
        records: list[dict[str, Any]],
        sortable: frozenset[str],
        errors: dict[str, str],
        type_prefix: str | None = None,
        default_sort: str = "id",
    ) -> Response:
        """One page of `records` in Táve's collection envelope, or the query's validation error."""
        page = self._int_param(request, "page", 1, 1, None, errors)
        size = self._int_param(
            request, "pageSize", PAGE_SIZE_DEFAULT, PAGE_SIZE_MIN, PAGE_SIZE_MAX, errors
        )
        field, descending = self._sort_param(request, sortable, errors, default_sort)
        if errors:
            raise ValidationFailed(errors)
        ordered = sorted(records, key=lambda record: record["id"])
        ordered.sort(key=lambda record: _sort_key(record.get(field)), reverse=descending)
        window = ordered[(page - 1) * size : page * size]
        return self.json(
            {
                "type": f"{type_prefix or path}-collection",
                "items": [self._present(record, f"{path}/{record['id']}") for record in window],
                "meta": {
                    "currentPage": page,
                    "totalPages": math.ceil(len(ordered) / size),
                    "totalItems": len(ordered),
                    "rows": size,
                },
            }
        )

    @staticmethod
    def _int_param(
        request: Request,
        name: str,
        default: int,
        low: int,
        high: int | None,
        errors: dict[str, str],
    ) -> int:
        raw = request.args.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            errors[name] = "Must be an integer."
            return default
        if value < low or (high is not None and value > high):
            errors[name] = (
                f"Must be between {low} and {high}."
                if high is not None
                else f"Must be at least {low}."
            )
        return value

    @staticmethod
    def _sort_param(
        request: Request, sortable: frozenset[str], errors: dict[str, str], default: str = "id"
    ) -> tuple[str, bool]:
        field, _, direction = (request.args.get("sortBy") or default).partition(" ")
        if field not in sortable or direction not in ("", "asc", "desc"):
            errors["sortBy"] = "Must be a sortable property, optionally followed by asc or desc."
        return field, direction == "desc"

    @staticmethod
    def _has_mapping(record: dict[str, Any], mapping_id: str) -> bool:
        return any(m.get("id") == mapping_id for m in record.get("externalMappings") or [])

    @staticmethod
    def _emails_of(contact: dict[str, Any]) -> set[str]:
        return {(contact.get(k) or "").lower() for k in ("email", "secondaryEmail")} - {""}

    @staticmethod
    def _person_name(contact: dict[str, Any]) -> str:
        return " ".join(p for p in (contact.get("firstName"), contact.get("lastName")) if p)

    def _contact_name(self, contact: dict[str, Any]) -> str | None:
        """People's `name` is read-only, first plus last name; companies and places set theirs."""
        if contact["kind"] in ("person", "employee"):
            return self._person_name(contact)
        return contact.get("name")
