"""Square: payments over the Payments API v2, on the spec-driven REST adapter.

The spec carries auth, verification, pagination, rate limits, webhooks and the mapping. What it
cannot say is added here:

* Every call carries `Square-Version: SQUARE_VERSION` beside the Bearer token. Square answers
  in the shapes of the version asked for; without the header it would use whatever version the
  application is set to in the Developer Console, which can change under the hub.
* `GET /v2/payments` lists only the seller's main location unless given `location_id`, so a
  pull lists each location's payments in turn (newest change first, stopping at the cursor).
* `GET /v2/payments/{id}` wraps the payment: `{"payment": {...}}`.
* Errors come as `{"errors": [{category, code, detail, field}]}`; the first one's code and
  detail become the message (Square's details never quote the token).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import requests

from integrations.adapters.base import ExternalRecord, PullResult, WebhookItem
from integrations.adapters.rest import RestAdapter, parse_timestamp
from integrations.errors import ProviderError

# The Square API version the hub is written against (developer.squareup.com/docs/build-basics/
# versioning-overview); a newer one is adopted by changing it here and re-running the tests.
SQUARE_VERSION = "2025-10-16"
LOCATIONS_PATH = "/v2/locations"
# resource -> the key its single-object answers wrap it in
ITEM_KEYS = {"payments": "payment"}


def square_error(response: requests.Response) -> str | None:
    """`CODE: detail` of the first error in Square's envelope, or None."""
    try:
        body = response.json()
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, Mapping) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    if not isinstance(first, Mapping):
        return None
    code, detail = first.get("code"), first.get("detail")
    text = ": ".join(str(part) for part in (code, detail) if part)
    return text[:300] or None


class SquareAdapter(RestAdapter):
    def auth_headers(self) -> dict[str, str]:
        return {**super().auth_headers(), "Square-Version": SQUARE_VERSION}

    def error_message(self, response: requests.Response) -> str | None:
        return square_error(response)

    def location_ids(self) -> list[str]:
        """Every location of the seller, active or not (old payments stay with closed ones)."""
        body = self.call("GET", LOCATIONS_PATH).json()
        locations = body.get("locations") if isinstance(body, Mapping) else None
        return [
            str(location["id"])
            for location in locations or []
            if isinstance(location, Mapping) and location.get("id")
        ]

    def pull(self, resource: str, cursor: str | None = None) -> PullResult:
        """Payments changed since the cursor (an `updated_at`), every location's in turn.

        Each location's list comes newest change first (the spec's list_params), so its pages
        stop at the first payment not newer than the cursor.
        """
        spec = self.resource(resource)
        since = parse_timestamp(cursor) if cursor else None
        records: list[ExternalRecord] = []
        newest = since
        for location_id in self.location_ids():
            params = {**spec.list_params, "location_id": location_id}
            for items in self.pages(spec.path, params):
                fresh = []
                for item in items:
                    record = self.to_record(spec, item)
                    if since and record.modified and record.modified <= since:
                        break
                    fresh.append(record)
                records.extend(fresh)
                for record in fresh:
                    if record.modified and (newest is None or record.modified > newest):
                        newest = record.modified
                if len(fresh) < len(items):
                    break  # reached what an earlier pull saw: the rest is older
        next_cursor = newest.isoformat().replace("+00:00", "Z") if newest else cursor
        return PullResult(records=records, cursor=next_cursor, full=since is None)

    def fetch(self, resource: str, external_id: str) -> ExternalRecord:
        spec = self.resource(resource)
        item_path = spec.item_path or f"{spec.path}/{{id}}"
        response = self.call("GET", item_path.format(id=quote(str(external_id), safe="")))
        body = response.json()
        key = ITEM_KEYS.get(spec.name, spec.maps_to)
        item = body.get(key) if isinstance(body, Mapping) else None
        if not isinstance(item, Mapping) or "id" not in item:
            raise ProviderError(
                self.spec.key,
                "unavailable",
                f"the answer has no {spec.maps_to}",
                response.status_code,
            )
        return self.to_record(spec, dict(item))

    def parse_webhook(self, event_type: str, payload: Any) -> list[WebhookItem]:
        """The payment an event names, to be fetched back; its snapshot is never used."""
        items = super().parse_webhook(event_type, payload)
        if items and (payload.get("data") or {}).get("type") != ITEM_KEYS[items[0].resource]:
            raise ValueError(f"a {event_type} event whose data is not a payment")
        return items
