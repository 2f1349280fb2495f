"""The bridge: vendor systems with no API post the hub's bridge format from Zapier or Make.

The payload carries the record itself, in our field names, so it is not fetched back; the
connection's unguessable URL and shared secret authenticate it, and `occurred_at` (the change's
time in the vendor's system) orders it against other deliveries for the same record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .base import AccountInfo, Adapter, ExternalRecord, WebhookItem
from .rest import parse_timestamp


class BridgeAdapter(Adapter):
    def check_connection(self) -> AccountInfo:
        # Nothing to call: the vendor proves the link by posting with the secret.
        return AccountInfo(account_id=None, account_name=None)

    def parse_webhook(self, event_type: str, payload: Any) -> list[WebhookItem]:
        resource_name = self.spec.webhook_events.get(event_type)
        if resource_name is None:
            return []
        if not isinstance(payload, Mapping):
            raise ValueError("the bridge body must be a JSON object")
        external_id = payload.get("id")
        if external_id in (None, ""):
            raise ValueError("the bridge body has no 'id'")
        data = payload.get("data") or {}
        if not isinstance(data, Mapping):
            raise ValueError("'data' must be a JSON object")
        occurred_at = parse_timestamp(payload.get("occurred_at"))
        if payload.get("occurred_at") and occurred_at is None:
            raise ValueError("'occurred_at' is not an ISO 8601 time")
        resource = self.spec.resources[resource_name]
        deleted = event_type.endswith(".deleted")
        parent = data.get(resource.parent_field) if resource.parent_field else None
        record = ExternalRecord(
            resource=resource_name,
            kind=resource.maps_to,
            external_id=str(external_id),
            fields={}
            if deleted
            else {
                ours: data.get(theirs) for ours, theirs in resource.fields.items() if theirs in data
            },
            modified=occurred_at,
            deleted=deleted,
            raw=dict(payload),
            parent=(resource.parent_resource, str(parent)) if parent not in (None, "") else None,
        )
        return [
            WebhookItem(
                resource=resource_name,
                external_id=str(external_id),
                record=record,
                occurred_at=occurred_at,
                deleted=deleted,
            )
        ]
