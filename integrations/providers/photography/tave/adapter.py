"""Táve through the spec-driven REST adapter, with its events' times in Táve's own shape.

A Táve event keeps its start as a local `startDate` and `startTime` in `timezoneName` (the
studio's zone when it names none) and answers with the instant it means in `startUtc`, which is
read-only. Pulls read the instant; pushes write the local date and time in the wedding's zone,
so 15:30 at the venue stays 15:30 there on the daylight-saving weekend. A hidden event or
payment (hidden in Táve's own UI; the API cannot hide one) is gone as far as the hub is
concerned. Payments name no currency: they are in the studio's (`GET /studio/me`, asked once).

Táve announces new jobs, contacts and payments through REST Hooks, which the hub subscribes
(and renews) as a push channel once PUBLIC_URL tells it where Táve can reach it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any
from urllib.parse import quote, urlencode

from integrations.adapters.base import ExternalRecord
from integrations.adapters.rest import RestAdapter, parse_timestamp
from integrations.errors import ProviderError
from integrations.specs import ResourceSpec

# our datetime field -> Táve's local date and time fields
EVENT_TIMES = {"starts_at": ("startDate", "startTime"), "ends_at": ("endDate", "endTime")}


def local_date_and_time(value: Any, zone: str | None) -> tuple[str | None, str | None]:
    """An ISO datetime as Táve's date and time in `zone` (or at its own offset without one)."""
    moment = value if isinstance(value, dt.datetime) else parse_timestamp(value)
    if moment is None:
        return None, None
    if zone:
        moment = moment.astimezone(zoneinfo.ZoneInfo(zone))
    return moment.date().isoformat(), moment.strftime("%H:%M:%S")


HIDEABLE = frozenset({"event", "payment", "gallery"})
# REST Hooks do not expire; the hub subscribes again this often (integrations.sync.channels
# opens the new ones before it deletes the old), so a hook deleted in Táve comes back.
RESUBSCRIBE_EVERY = dt.timedelta(days=30)


class TaveAdapter(RestAdapter):
    _currency: str | None = None

    def studio_currency(self) -> str:
        """The studio's currency code, asked once per adapter."""
        if self._currency is None:
            studio = self.call("GET", self.spec.verification.request.path).json()
            self._currency = str((studio or {}).get("currencyCode") or "").upper()
        return self._currency

    # -- REST Hooks, as a push channel -------------------------------------------------------

    def watch(self, address: str, token: str) -> dict[str, Any]:
        """Subscribe a REST Hook for each event the hub takes. Táve cannot send a header, so
        the event and the connection's secret ride in the URL (`?event=...&key=...`)."""
        hooks = {}
        for event in sorted(self.spec.webhook_events):
            url = f"{address}?{urlencode({'event': event, 'key': token})}"
            hook = self.call("POST", "/rest-hook", json={"event": event, "url": url}).json()
            hooks[event] = hook["id"]
        expires = dt.datetime.now(dt.UTC) + RESUBSCRIBE_EVERY
        return {"hooks": hooks, "expires_at": int(expires.timestamp())}

    def stop_watch(self, channel: dict[str, Any]) -> None:
        for hook_id in channel.get("hooks", {}).values():
            try:
                self.call("DELETE", f"/rest-hook/{quote(str(hook_id), safe='')}")
            except ProviderError as error:
                if not error.gone:
                    raise  # deleted in Táve already is done

    # -- the couple of a job ---------------------------------------------------------------------

    def clients_of(self, record: ExternalRecord) -> list[dict[str, str]]:
        """A job's clients (its job contacts marked `client`), as {name, email, phone}: who a
        wedding made from a new job is for. A call for the links and one per client."""
        if record.resource != "job":
            return []
        people = []
        for page in self.pages("/job-contact", {"jobId": record.external_id}):
            for link in page:
                if not link.get("client") or link.get("hidden"):
                    continue
                path = f"/address-book/{quote(str(link['contactId']), safe='')}"
                person = self.call("GET", path).json()
                name = " ".join(
                    part for part in (person.get("firstName"), person.get("lastName")) if part
                )
                people.append(
                    {
                        "name": name or str(person.get("name") or ""),
                        "email": str(person.get("email") or ""),
                        "phone": str(((person.get("cellPhone") or {}).get("e164")) or ""),
                    }
                )
        return people

    # -- records -------------------------------------------------------------------------------

    def their_fields(self, resource: ResourceSpec, fields: dict[str, Any]) -> dict[str, Any]:
        theirs = super().their_fields(resource, fields)
        if resource.name != "event":
            return theirs
        if not fields.get("location"):  # no place of ours: leave Táve's location as it is
            theirs.pop(resource.fields.get("location"), None)
        zone = fields.get("time_zone")
        for ours, (date_field, time_field) in EVENT_TIMES.items():
            read_only = resource.fields.get(ours)
            theirs.pop(read_only, None)
            if ours in fields:
                theirs[date_field], theirs[time_field] = local_date_and_time(fields[ours], zone)
        return theirs

    def to_record(self, resource: ResourceSpec, item: dict[str, Any]) -> ExternalRecord:
        record = super().to_record(resource, item)
        if resource.name in HIDEABLE and item.get("hidden"):
            record.deleted = True
        if resource.name == "payment":
            record.fields["currency"] = self.studio_currency()
        return record
