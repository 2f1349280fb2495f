"""Calendly: the linked user's scheduled events as timeline items.

Calendly names every resource by a URI (`https://api.calendly.com/scheduled_events/<uuid>`);
the record id is the uuid, its last path segment, and single resources come wrapped in
`{"resource": ...}`. Scheduled events carry UTC instants and no zone of their own: the hub writes
them in the host's zone (the linked user's `timezone`), with that zone as `time_zone`, the way
the calendar providers hand over an event's local time and zone.

Pulls: Calendly filters scheduled events by start time, never by change time, so an incremental
pull could not see a booking canceled since the last one. Every pull lists all of the user's
events (canceled ones included, read as deleted) and is a full listing; unchanged records store
nothing. Webhooks name the scheduled event, which is fetched back before anything is stored,
with its invitees (a second call): a booking by a wedding's contact lands on that wedding
without the connection being set to one. Pulls do not list invitees (a call per event).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from integrations.adapters.base import AccountInfo, ExternalRecord, PullResult, WebhookItem
from integrations.adapters.rest import RestAdapter, parse_timestamp
from integrations.errors import ProviderError
from integrations.http import dig
from integrations.specs import ResourceSpec

ENVELOPE = "resource"  # GET of one resource answers {"resource": {...}}
CANCELED = "canceled"
_UUID_SEGMENT = re.compile(r"[A-Za-z0-9-]{1,64}")


def uuid_of(uri: Any) -> str:
    """The last path segment of a Calendly URI (ValueError when there is none to read)."""
    if not isinstance(uri, str):
        raise ValueError(f"not a Calendly URI: {uri!r}")
    segment = urlsplit(uri).path.rstrip("/").rpartition("/")[2]
    if not _UUID_SEGMENT.fullmatch(segment):
        raise ValueError(f"no uuid at the end of {uri!r}")
    return segment


class CalendlyAdapter(RestAdapter):
    _me: dict[str, Any] | None = None

    # -- the linked user --------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """The token's user (GET /users/me), asked once per adapter."""
        if self._me is None:
            body = self.call("GET", self.spec.verification.request.path).json()
            user = body.get(ENVELOPE) if isinstance(body, Mapping) else None
            if not isinstance(user, Mapping) or not isinstance(user.get("uri"), str):
                raise ProviderError(self.spec.key, "unavailable", "GET /users/me named no user")
            self._me = dict(user)
        return self._me

    def check_connection(self) -> AccountInfo:
        body = {ENVELOPE: self.me()}
        verification = self.spec.verification
        return AccountInfo(
            account_id=uuid_of(dig(body, verification.account_id)),
            account_name=dig(body, verification.account_name),
        )

    def time_zone(self) -> str:
        """The host's IANA zone, or UTC when Calendly gives none this machine knows."""
        name = self.me().get("timezone")
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            return "UTC"
        return name

    # -- reading ----------------------------------------------------------------------------

    def pull(self, resource: str, cursor: str | None = None) -> PullResult:
        """Every scheduled event of the user, whatever the cursor (see the module docstring)."""
        spec = self.resource(resource)
        params = {**spec.list_params, "user": self.me()["uri"]}
        records = [
            self.to_record(spec, item) for page in self.pages(spec.path, params) for item in page
        ]
        return PullResult(records=records, cursor=None, full=True)

    def fetch(self, resource: str, external_id: str) -> ExternalRecord:
        spec = self.resource(resource)
        path = spec.item_path.format(id=quote(str(external_id), safe=""))
        body = self.call("GET", path).json()
        item = body.get(ENVELOPE) if isinstance(body, Mapping) else None
        if not isinstance(item, Mapping):
            raise ProviderError(self.spec.key, "unavailable", f"GET {spec.path}/... held no record")
        record = self.to_record(spec, dict(item))
        if not record.deleted:
            record.people = self.invitees(record.external_id)
        return record

    def invitees(self, event_uuid: str) -> list[dict[str, str]]:
        """Who booked the event (its active invitees, by email and reminder number): how a
        booking finds its wedding, the one whose contact they are. One call, one page (a
        wedding's bookings have a guest or two, not a hundred)."""
        path = f"{self.resource('scheduled_events').path}/{quote(event_uuid, safe='')}/invitees"
        body = self.call("GET", path, params={"status": "active", "count": 100}).json()
        listed = body.get("collection") if isinstance(body, Mapping) else None
        return [
            {
                "email": invitee.get("email") or "",
                "phone": invitee.get("text_reminder_number") or "",
            }
            for invitee in listed or []
            if isinstance(invitee, Mapping)
        ]

    def to_record(self, resource: ResourceSpec, item: dict[str, Any]) -> ExternalRecord:
        """The event's fields with its times in the host's zone; a canceled one is deleted."""
        fields = {ours: dig(item, theirs) for ours, theirs in resource.fields.items()}
        zone = self.time_zone()
        local = zoneinfo.ZoneInfo(zone)
        for name in ("starts_at", "ends_at"):
            moment = parse_timestamp(fields.get(name))
            fields[name] = moment.astimezone(local).isoformat() if moment else None
        if not fields.get("location") and fields.get("join_url"):
            fields["location"] = fields["join_url"]
        fields["time_zone"] = zone
        return ExternalRecord(
            resource=resource.name,
            kind=resource.maps_to,
            external_id=uuid_of(dig(item, resource.id_field)),
            fields=fields,
            modified=parse_timestamp(dig(item, resource.modified_field)),
            deleted=item.get("status") == CANCELED,
            raw=item,
        )

    # -- webhooks ---------------------------------------------------------------------------

    def parse_webhook(self, event_type: str, payload: Any) -> list[WebhookItem]:
        """The scheduled event an invitee notification is about, to be fetched back.

        Only the event's uuid is read from the body: its state (a cancellation included) comes
        from Calendly's API, so deliveries in any order end in Calendly's current state.
        """
        items = super().parse_webhook(event_type, payload)
        for item in items:
            item.external_id = uuid_of(item.external_id)
            item.occurred_at = parse_timestamp(payload.get("created_at"))
        return items
