"""Outlook calendars through Microsoft Graph: events of the signed-in user as timeline items.

Pulls use `calendarView/delta` over a window fixed by the first call: `@odata.nextLink` is
followed to the page carrying `@odata.deltaLink`, which is the cursor; a 410 on it (the sync state
is gone) starts a full listing again, as Google's 410 does. Graph does not let us choose event
ids, so a create carries `transactionId` (our UUID) and Graph answers a retried create with the
event it already made instead of a second one. Updates are conditional on `@odata.etag`
(If-Match); a 412 goes up to the sync engine, which fetches, merges and retries. Deleting an
event that is already gone (404) counts as done.

Times: Graph writes a wall-clock dateTime with a zone. We send the venue's wall time in the
venue's zone, and read every event in UTC (`Prefer: outlook.timezone="UTC"`), then show it in
the zone it was written in (`originalStartTimeZone`) when that is an IANA name, so a ceremony at
15:30 in Lisbon stays 15:30 there.

Change notifications name only the event; the hub pulls with its delta link. Subscriptions last
under three days and are renewed with PATCH before they lapse (integrations.sync.channels).
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Any
from urllib.parse import quote

import requests

from integrations.adapters.base import (
    AccountInfo,
    Change,
    ExternalRecord,
    PullResult,
    PushResult,
    WebhookItem,
)
from integrations.adapters.rest import RestAdapter, parse_timestamp, set_dotted
from integrations.errors import ProviderError
from integrations.specs import ResourceSpec

PAGE_SIZE = 100
READ_PREFER = 'outlook.timezone="UTC", outlook.body-content-type="text"'
# The delta window: weddings are booked up to a few years ahead; history matters less.
WINDOW_PAST = dt.timedelta(days=180)
WINDOW_AHEAD = dt.timedelta(days=3 * 365)
SUBSCRIPTION_LIFETIME = dt.timedelta(minutes=4200)  # Outlook allows 4230 (under three days)
# Lifecycle events after which no notification comes until the subscription is renewed.
CHANNEL_LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved"})
SYNC_STATE_CODES = frozenset({"syncstatenotfound", "syncstateinvalid", "resyncrequired"})


def transaction_id_for(our_id: str) -> str:
    """Graph de-duplicates creates by transactionId: ours is the timeline item's UUID."""
    return str(uuid.UUID(str(our_id)))


def _zone(name: Any) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name) if isinstance(name, str) and name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _graph_instant(when: Any) -> dt.datetime | None:
    """Graph's {dateTime (wall clock, up to seven fractional digits), timeZone} as an instant."""
    if not isinstance(when, dict) or not isinstance(when.get("dateTime"), str):
        return None
    head, dot, fraction = when["dateTime"].partition(".")
    try:
        moment = dt.datetime.fromisoformat(f"{head}.{fraction[:6]}" if dot else head)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(when.get("timeZone")) or dt.UTC)
    return moment


def _iso_z(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GraphCalendarAdapter(RestAdapter):
    def classify(self, response: requests.Response) -> ProviderError | None:
        error = super().classify(response)
        if error is not None and error.kind != "gone":
            try:
                code = str(response.json()["error"]["code"]).lower()
            except (ValueError, KeyError, TypeError):
                code = ""
            if code in SYNC_STATE_CODES:
                return ProviderError(self.spec.key, "gone", code, response.status_code)
        return error

    def check_connection(self) -> AccountInfo:
        me = self.call("GET", "/me").json()
        return AccountInfo(
            account_id=me.get("id"),
            account_name=me.get("mail") or me.get("userPrincipalName") or me.get("displayName"),
        )

    # -- reading ---------------------------------------------------------------------------

    def to_record(self, resource: ResourceSpec, item: dict[str, Any]) -> ExternalRecord:
        if "@removed" in item:
            return ExternalRecord(
                resource=resource.name,
                kind=resource.maps_to,
                external_id=str(item["id"]),
                fields={},
                deleted=True,
                raw=item,
            )
        start, end = _graph_instant(item.get("start")), _graph_instant(item.get("end"))
        written_in = item.get("originalStartTimeZone")
        local = _zone(written_in) or _zone((item.get("start") or {}).get("timeZone")) or dt.UTC
        zone_name = written_in if _zone(written_in) else str(local)
        fields = {
            "title": item.get("subject") or "",
            "location": (item.get("location") or {}).get("displayName") or "",
            "notes": (item.get("body") or {}).get("content") or "",
            "starts_at": start.astimezone(local).isoformat() if start else None,
            "ends_at": end.astimezone(local).isoformat() if end else None,
            "time_zone": zone_name,
        }
        return ExternalRecord(
            resource=resource.name,
            kind=resource.maps_to,
            external_id=str(item["id"]),
            fields=fields,
            version=item.get("@odata.etag"),
            modified=parse_timestamp(item.get("lastModifiedDateTime")),
            deleted=bool(item.get("isCancelled")),
            raw=item,
        )

    def pull(self, resource: str = "events", cursor: str | None = None) -> PullResult:
        spec = self.resource(resource)
        headers = {"Prefer": f"{READ_PREFER}, odata.maxpagesize={PAGE_SIZE}"}
        if cursor:
            url, params = cursor, None
        else:
            now = dt.datetime.now(dt.UTC)
            url = "/me/calendarView/delta"
            params = {
                "startDateTime": _iso_z(now - WINDOW_PAST),
                "endDateTime": _iso_z(now + WINDOW_AHEAD),
            }
        by_id: dict[str, ExternalRecord] = {}
        try:
            while True:
                body = self.call("GET", url, params=params, headers=headers).json()
                for item in body.get("value", []):
                    record = self.to_record(spec, item)
                    by_id.pop(record.external_id, None)
                    by_id[record.external_id] = record  # a later page's state wins
                params = None  # the links carry the query
                if body.get("@odata.nextLink"):
                    url = body["@odata.nextLink"]
                    continue
                delta_link = body.get("@odata.deltaLink")
                break
        except ProviderError as error:
            if error.kind == "gone" and cursor:
                return self.pull(resource, None)  # the sync state is gone: list everything
            raise
        return PullResult(records=list(by_id.values()), cursor=delta_link, full=cursor is None)

    def fetch(self, resource: str, external_id: str) -> ExternalRecord:
        spec = self.resource(resource)
        item = self.call(
            "GET", self._event_path(external_id), headers={"Prefer": READ_PREFER}
        ).json()
        return self.to_record(spec, item)

    # -- writing ---------------------------------------------------------------------------

    @staticmethod
    def _event_path(event_id: str) -> str:
        return f"/me/events/{quote(event_id, safe='')}"

    def to_event(self, fields: dict[str, Any]) -> dict[str, Any]:
        event: dict[str, Any] = {}
        if "title" in fields:
            event["subject"] = fields["title"] or ""
        if "location" in fields:
            set_dotted(event, "location.displayName", fields["location"] or "")
        if "notes" in fields:
            event["body"] = {"contentType": "text", "content": fields["notes"] or ""}
        zone_name = fields.get("time_zone") or "UTC"
        zone = _zone(zone_name) or dt.UTC
        times = dict(fields)
        if times.get("starts_at") and not times.get("ends_at") and "starts_at" in fields:
            times["ends_at"] = times["starts_at"]  # a moment in our timeline: zero length there
        for ours, key in (("starts_at", "start"), ("ends_at", "end")):
            value = times.get(ours)
            if value is None:
                continue
            moment = value if isinstance(value, dt.datetime) else parse_timestamp(str(value))
            if moment is None:
                raise ValueError(f"'{ours}' is not a time: {value!r}")
            wall = moment.astimezone(zone).replace(tzinfo=None)
            event[key] = {"dateTime": wall.isoformat(timespec="seconds"), "timeZone": str(zone)}
        return event

    def push(self, change: Change) -> PushResult:
        spec = self.resource("events")
        prefer = {"Prefer": READ_PREFER}
        if change.action == "create":
            body = {"transactionId": transaction_id_for(change.our_id)}
            body.update(self.to_event(change.fields))
            # Safe to repeat: Graph answers a repeated transactionId with the first event.
            response = self.call(
                "POST", "/me/calendar/events", json=body, headers=prefer, idempotent=True
            )
        elif change.action == "update":
            headers = {**prefer, **({"If-Match": change.version} if change.version else {})}
            response = self.call(
                "PATCH",
                self._event_path(change.external_id),
                json=self.to_event(change.fields),
                headers=headers,
                idempotent=True,
            )
        elif change.action == "delete":
            self.delete_unless_gone(self._event_path(change.external_id))
            return PushResult(external_id=change.external_id)
        else:
            raise ValueError(f"unknown action {change.action!r}")
        record = self.to_record(spec, response.json())
        return PushResult(external_id=record.external_id, version=record.version, raw=record.raw)

    # -- change notifications ----------------------------------------------------------------

    def parse_webhook(self, event_type: str, payload: Any) -> list[WebhookItem]:
        """A notification names the event but carries none of it: the hub pulls its delta.

        Lifecycle notifications: `missed` ones mean changes went unannounced (pull);
        `reauthorizationRequired` and `subscriptionRemoved` mean notifications have stopped, so
        the subscription is renewed or opened again (`channel`) and the delta pulled for what
        changed meanwhile."""
        if event_type not in self.spec.webhook_events:
            return []
        if not isinstance(payload, dict) or not isinstance(payload.get("value"), list):
            raise ValueError("the notification has no 'value' list")
        channel = event_type in CHANNEL_LIFECYCLE_EVENTS
        return [WebhookItem(resource="events", external_id="", pull=True, channel=channel)]

    def watch(self, address: str, token: str) -> dict[str, Any]:
        """Subscribe `address` to the calendar's changes; Graph validates it first (the
        validationToken handshake) and echoes `token` as each notification's clientState."""
        expires = dt.datetime.now(dt.UTC) + SUBSCRIPTION_LIFETIME
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": address,
            "resource": "me/events",
            "expirationDateTime": _iso_z(expires),
            "clientState": token,
            # Lifecycle notifications come to the same URL, verified by the same clientState.
            "lifecycleNotificationUrl": address,
        }
        return self._channel(self.call("POST", "/subscriptions", json=body).json())

    def renew_watch(self, channel: dict[str, Any]) -> dict[str, Any]:
        """Move the subscription's expiry on (PATCH); not_found when it has lapsed already."""
        expires = dt.datetime.now(dt.UTC) + SUBSCRIPTION_LIFETIME
        answer = self.call(
            "PATCH",
            f"/subscriptions/{quote(channel['id'], safe='')}",
            json={"expirationDateTime": _iso_z(expires)},
        )
        return self._channel(answer.json())

    def stop_watch(self, channel: dict[str, Any]) -> None:
        self.delete_unless_gone(f"/subscriptions/{quote(channel['id'], safe='')}")

    @staticmethod
    def _channel(subscription: dict[str, Any]) -> dict[str, Any]:
        expires = parse_timestamp(subscription.get("expirationDateTime"))
        return {
            "id": subscription["id"],
            "resource": subscription.get("resource"),
            "expires_at": int(expires.timestamp()) if expires else 0,
        }
