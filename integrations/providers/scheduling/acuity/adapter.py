"""Acuity Scheduling: the account's appointments as timeline items.

Appointments carry `datetime`, the calendar's wall-clock time with its offset
(`2027-06-12T14:00:00+0100`), `duration` in minutes, `timezone` (the client's zone: where the
couple booked from) and `calendarTimezone`. As with Calendly, the hub writes the times in the
host's zone, here the calendar's (the account's `/me` timezone when an appointment names none),
with that zone as `time_zone`; the client's zone does not matter.

Pulls: Acuity has no pagination, no cursor and no change time. `GET /appointments` answers a bare
array of at most `max` appointments, filtered by date (`minDate`/`maxDate`) and by `canceled`
(false by default: canceled appointments are listed only when asked for). A pull therefore
lists a bounded window, from PAST_DAYS ago to AHEAD_DAYS ahead, both ways (active, then
canceled, read as deleted), oldest first; when an answer is full, the next request starts again
at the last day it held, and appointments already seen are skipped. It is not a full listing
(`full=False`): an appointment outside the window is neither read nor taken for deleted.
Webhooks name the appointment, which is fetched back before anything is stored.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator, Mapping
from typing import Any

from integrations.adapters.base import AccountInfo, ExternalRecord, PullResult, WebhookItem
from integrations.adapters.rest import RestAdapter, parse_timestamp
from integrations.errors import ProviderError
from integrations.http import dig
from integrations.specs import ResourceSpec

PAST_DAYS = 31  # appointments a month old still show their cancellations
AHEAD_DAYS = 3 * 366  # weddings are booked up to about three years ahead
LARGEST_PAGE = 1600  # `max` doubles while one day holds a full answer, up to this


def _zone(name: Any) -> str | None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return None
    return name


class AcuityAdapter(RestAdapter):
    _me: dict[str, Any] | None = None

    # -- the account ------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """The account (GET /me), asked once per adapter."""
        if self._me is None:
            body = self.call("GET", self.spec.verification.request.path).json()
            if not isinstance(body, Mapping) or body.get("id") in (None, ""):
                raise ProviderError(self.spec.key, "unavailable", "GET /me named no account")
            self._me = dict(body)
        return self._me

    def check_connection(self) -> AccountInfo:
        verification = self.spec.verification
        me = self.me()
        return AccountInfo(
            account_id=str(dig(me, verification.account_id)),
            account_name=dig(me, verification.account_name),
        )

    def time_zone(self, item: Mapping[str, Any]) -> str:
        """The appointment's calendar zone, else the account's, else UTC."""
        return _zone(item.get("calendarTimezone")) or _zone(self.me().get("timezone")) or "UTC"

    # -- reading ----------------------------------------------------------------------------

    def pull(self, resource: str, cursor: str | None = None) -> PullResult:
        """Every appointment in the window, whatever the cursor (see the module docstring)."""
        spec = self.resource(resource)
        today = dt.datetime.now(dt.UTC).date()
        low, high = today - dt.timedelta(days=PAST_DAYS), today + dt.timedelta(days=AHEAD_DAYS)
        records = [
            self.to_record(spec, item)
            for canceled in ("false", "true")
            for item in self.window(spec, low, high, canceled)
        ]
        return PullResult(records=records, cursor=None, full=False)

    def window(
        self, spec: ResourceSpec, low: dt.date, high: dt.date, canceled: str
    ) -> Iterator[dict[str, Any]]:
        """The appointments from `low` to `high` (inclusive), oldest first, each once."""
        paging = self.spec.pagination
        size = paging.page_size or 100
        seen: set[Any] = set()
        start = low
        while True:
            params = {
                **spec.list_params,
                "minDate": start.isoformat(),
                "maxDate": high.isoformat(),
                "canceled": canceled,
                paging.size_param: size,
            }
            items = self.call("GET", spec.path, params=params).json()
            if not isinstance(items, list):
                raise ProviderError(self.spec.key, "unavailable", "GET /appointments held no list")
            fresh = [item for item in items if item.get("id") not in seen]
            seen.update(item.get("id") for item in fresh)
            yield from fresh
            if len(items) < size:
                return
            if not fresh:  # one day holds a full answer: ask for more at once
                size *= 2
                if size > LARGEST_PAGE:
                    raise ProviderError(
                        self.spec.key,
                        "unavailable",
                        f"more than {LARGEST_PAGE // 2} appointments on {start.isoformat()}",
                    )
                continue
            last = parse_timestamp(items[-1].get("datetime"))
            if last is None:
                raise ProviderError(self.spec.key, "unavailable", "an appointment has no datetime")
            start = last.date()  # `datetime` is the calendar's local time: its date is Acuity's

    def to_record(self, resource: ResourceSpec, item: dict[str, Any]) -> ExternalRecord:
        """The appointment's fields, its times in the calendar's zone; a canceled one is
        deleted. Acuity keeps no change time, so `modified` is unknown."""
        fields = {ours: dig(item, theirs) for ours, theirs in resource.fields.items()}
        zone = self.time_zone(item)
        start = parse_timestamp(fields.get("starts_at"))
        try:
            minutes = int(fields.get("duration_minutes"))
        except (TypeError, ValueError):
            minutes = None
        if start is not None:
            start = start.astimezone(zoneinfo.ZoneInfo(zone))
        fields["starts_at"] = start.isoformat() if start else None
        fields["ends_at"] = (
            (start + dt.timedelta(minutes=minutes)).isoformat()
            if start is not None and minutes is not None
            else None
        )
        fields["time_zone"] = zone
        return ExternalRecord(
            resource=resource.name,
            kind=resource.maps_to,
            external_id=str(item[resource.id_field]),
            fields=fields,
            deleted=item.get("canceled") is True,
            raw=item,
        )

    # -- webhooks ---------------------------------------------------------------------------

    def parse_webhook(self, event_type: str, payload: Any) -> list[WebhookItem]:
        """The appointment a delivery names (`id`), to be fetched back: its state, a
        cancellation included, comes from Acuity's API, never from the form."""
        items = super().parse_webhook(event_type, payload)
        for item in items:
            if not item.external_id.isdigit():
                raise ValueError(f"not an Acuity appointment id: {item.external_id!r}")
        return items
