"""Google Calendar: events of one calendar as timeline items.

Incremental pulls use Google's syncToken; a 410 (fullSyncRequired) means the token is no longer
valid and a full listing starts again. Creates choose the event id (derived from our UUID), so a
retried create finds its own event instead of making a second one. Updates are conditional on
the etag (If-Match); a 412 goes up to the sync engine, which fetches, merges and retries.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from integrations.adapters.base import (
    AccountInfo,
    Change,
    PullResult,
    PushResult,
    WebhookItem,
)
from integrations.adapters.rest import RestAdapter, set_dotted
from integrations.errors import ProviderError

PAGE_SIZE = 250


def event_id_for(our_id: str) -> str:
    """Google event ids are base32hex ([a-v0-9], 5-1024 chars); a UUID's hex digits are too."""
    return uuid.UUID(str(our_id)).hex


class GoogleCalendarAdapter(RestAdapter):
    @property
    def calendar_id(self) -> str:
        return self.config.get("calendar_id", "primary")

    def _events_path(self, event_id: str | None = None) -> str:
        path = f"/calendars/{quote(self.calendar_id, safe='')}/events"
        return f"{path}/{quote(event_id, safe='')}" if event_id else path

    def check_connection(self) -> AccountInfo:
        items = self.call("GET", "/users/me/calendarList").json().get("items", [])
        primary = next((item for item in items if item.get("primary")), items[0] if items else {})
        return AccountInfo(account_id=primary.get("id"), account_name=primary.get("summary"))

    def pull(self, resource: str = "events", cursor: str | None = None) -> PullResult:
        spec = self.resource(resource)
        params: dict[str, Any] = {"maxResults": PAGE_SIZE}
        if cursor:
            params["syncToken"] = cursor
        records, next_sync_token = [], None
        try:
            while True:
                body = self.call("GET", self._events_path(), params=params).json()
                for item in body.get("items", []):
                    record = self.to_record(spec, item)
                    record.deleted = item.get("status") == "cancelled"
                    records.append(record)
                if body.get("nextPageToken"):
                    params["pageToken"] = body["nextPageToken"]
                    continue
                next_sync_token = body.get("nextSyncToken")
                break
        except ProviderError as error:
            if error.kind == "gone" and cursor:
                return self.pull(resource, None)  # the sync token expired: list everything
            raise
        return PullResult(records=records, cursor=next_sync_token, full=cursor is None)

    # -- push channels -----------------------------------------------------------------------

    def parse_webhook(self, event_type: str, payload: Any) -> list[WebhookItem]:
        """A notification names no event: it says the calendar changed, so the hub pulls."""
        if event_type not in self.spec.webhook_events:
            return []
        return [WebhookItem(resource="events", external_id="", pull=True)]

    def watch(self, address: str, token: str, ttl_s: int = 7 * 24 * 3600) -> dict[str, Any]:
        """Open a push channel to `address`; Google echoes `token` in X-Goog-Channel-Token."""
        body = {
            "id": uuid.uuid4().hex,
            "type": "web_hook",
            "address": address,
            "token": token,
            "params": {"ttl": str(ttl_s)},
        }
        channel = self.call("POST", f"{self._events_path()}/watch", json=body).json()
        return {
            "id": channel["id"],
            "resource_id": channel["resourceId"],
            "expires_at": int(channel.get("expiration", 0)) // 1000,
        }

    def stop_watch(self, channel: dict[str, Any]) -> None:
        try:
            self.call(
                "POST",
                "/channels/stop",
                json={"id": channel["id"], "resourceId": channel["resource_id"]},
            )
        except ProviderError as error:
            if not error.gone:
                raise

    def to_event(self, fields: dict[str, Any]) -> dict[str, Any]:
        event: dict[str, Any] = {}
        mapping = self.resource("events").fields
        for ours in ("title", "location", "notes"):
            if ours in fields:
                event[mapping[ours]] = fields[ours] or ""
        zone = fields.get("time_zone")
        times = dict(fields)
        if times.get("starts_at") and not times.get("ends_at") and "starts_at" in fields:
            # Google requires an end; a moment in our timeline is a zero-length event there.
            times["ends_at"] = times["starts_at"]
        for ours, key in (("starts_at", "start"), ("ends_at", "end")):
            value = times.get(ours)
            if value is None:
                continue
            text = value.isoformat() if hasattr(value, "isoformat") else str(value)
            set_dotted(event, f"{key}.dateTime", text)
            if zone:
                set_dotted(event, f"{key}.timeZone", zone)
        return event

    def push(self, change: Change) -> PushResult:
        spec = self.resource("events")
        if change.action == "create":
            event_id = event_id_for(change.our_id)
            try:
                response = self.call(
                    "POST",
                    self._events_path(),
                    json={"id": event_id, **self.to_event(change.fields)},
                    idempotent=True,
                )
            except ProviderError as error:
                if error.kind != "conflict":
                    raise
                # A create retried after a lost answer: the event is already ours.
                response = self.call("GET", self._events_path(event_id))
        elif change.action == "update":
            headers = {"If-Match": change.version} if change.version else {}
            response = self.call(
                "PATCH",
                self._events_path(change.external_id),
                json=self.to_event(change.fields),
                headers=headers,
                idempotent=True,
            )
        elif change.action == "delete":
            self.delete_unless_gone(self._events_path(change.external_id))
            return PushResult(external_id=change.external_id)
        else:
            raise ValueError(f"unknown action {change.action!r}")
        record = self.to_record(spec, response.json())
        return PushResult(external_id=record.external_id, version=record.version, raw=record.raw)
