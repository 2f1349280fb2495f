"""Táve through the spec-driven REST adapter, with its events' times in Táve's own shape.

A Táve event keeps its start as a local `startDate` and `startTime` in `timezoneName` (the
studio's zone when it names none) and answers with the instant it means in `startUtc`, which is
read-only. Pulls read the instant; pushes write the local date and time in the wedding's zone,
so 15:30 at the venue stays 15:30 there on the daylight-saving weekend. A hidden event (hidden
in Táve's own UI; the API cannot hide one) is gone as far as the hub is concerned.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from integrations.adapters.base import ExternalRecord
from integrations.adapters.rest import RestAdapter, parse_timestamp
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


class TaveAdapter(RestAdapter):
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
        if resource.name == "event" and item.get("hidden"):
            record.deleted = True
        return record
