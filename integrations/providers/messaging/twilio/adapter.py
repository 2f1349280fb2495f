"""Twilio: SMS messages over the REST API 2010-04-01, on the spec-driven REST adapter.

The spec carries auth (HTTP Basic, Account SID and Auth Token), verification, errors, webhooks
and the mapping. What it cannot say is added here:

* Every path names the account: `{AccountSid}` in a spec path is the `username` credential.
* Lists page through `next_page_uri`, a path from the host (`/2010-04-01/Accounts/...`) with
  the query of the next page, null on the last; it is followed as given.
* Dates are RFC 2822 (`Thu, 30 Jul 2015 20:12:31 +0000`). A list can be narrowed only by day
  (`DateSent>=YYYY-MM-DD`), so an incremental pull asks from the cursor's day and keeps what
  changed after the cursor.
* Errors come as `{"code": 20003, "message": "Authenticate", ...}`; code and message become
  the error's message (Twilio's messages never quote the token).
* A push creates an SMS: a form-encoded POST with To, From (the connection's `from_number`
  unless the change names one) and Body. A sent SMS cannot be edited or recalled, so updates
  and deletes are refused as permanent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from integrations.adapters.base import Change, ExternalRecord, PullResult, PushResult, WebhookItem
from integrations.adapters.rest import RestAdapter
from integrations.errors import ProviderError
from integrations.http import dig
from integrations.specs import ResourceSpec


def rfc2822(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def twilio_error(response: requests.Response) -> str | None:
    """`code: message` from Twilio's error body, or None."""
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, Mapping) or not body.get("message"):
        return None
    text = ": ".join(str(part) for part in (body.get("code"), body.get("message")) if part)
    return text[:300]


class TwilioAdapter(RestAdapter):
    path_credentials = {"AccountSid": "username"}

    @property
    def account_sid(self) -> str:
        return self.credentials["username"]

    def error_message(self, response: requests.Response) -> str | None:
        return twilio_error(response)

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Each page, following `next_page_uri` from the host of the base URL."""
        paging = self.spec.pagination
        params = dict(params)
        if paging.size_param and paging.page_size:
            params[paging.size_param] = paging.page_size
        base = urlsplit(self.spec.base_url)
        origin = f"{base.scheme}://{base.netloc}"
        target: str | None = path
        while target:
            response = self.call("GET", target, params=params if target == path else None)
            body = response.json()
            yield dig(body, paging.items) or []
            next_uri = body.get("next_page_uri") if isinstance(body, Mapping) else None
            target = origin + next_uri if next_uri else None

    def to_record(self, resource: ResourceSpec, item: dict[str, Any]) -> ExternalRecord:
        record = super().to_record(resource, item)
        record.modified = rfc2822(dig(item, resource.modified_field))
        return record

    def pull(self, resource: str, cursor: str | None = None) -> PullResult:
        """Messages changed since the cursor (an ISO `date_updated`), all of them without one."""
        spec = self.resource(resource)
        since = rfc2822_or_iso(cursor)
        params = dict(spec.list_params)
        if since is not None:
            params["DateSent>"] = since.date().isoformat()  # sent: `DateSent>=YYYY-MM-DD`
        records: list[ExternalRecord] = []
        newest = since
        for items in self.pages(spec.path, params):
            for item in items:
                record = self.to_record(spec, item)
                if since and record.modified and record.modified < since:
                    continue  # the cursor's own second is read again (whole-second times)
                records.append(record)
                if record.modified and (newest is None or record.modified > newest):
                    newest = record.modified
        next_cursor = newest.isoformat().replace("+00:00", "Z") if newest else cursor
        return PullResult(records=records, cursor=next_cursor, full=since is None)

    def push(self, change: Change) -> PushResult:
        spec = self.resource(change.resource)
        if change.action != "create":
            raise ProviderError(
                self.spec.key,
                "invalid_request",
                f"a sent SMS cannot be changed ({change.action})",
                permanent=True,
            )
        fields = change.fields
        form = {
            "To": fields.get("to"),
            "From": fields.get("from") or self.config.get("from_number"),
            "Body": fields.get("text"),
        }
        missing = [name for name, value in form.items() if not value]
        if missing:
            raise ProviderError(
                self.spec.key,
                "invalid_request",
                f"an SMS needs {', '.join(missing)}",
                permanent=True,
            )
        # Not retried on an unclear failure: Twilio takes no idempotency key, and a repeat
        # would text the couple twice.
        response = self.call("POST", spec.path, data=form, idempotent=False)
        record = self.to_record(spec, response.json())
        return PushResult(external_id=record.external_id, raw=record.raw)

    def parse_webhook(self, event_type: str, payload: Any) -> list[WebhookItem]:
        """The message a webhook names (MessageSid), to be fetched back; only this account's."""
        items = super().parse_webhook(event_type, payload)
        if items and payload.get("AccountSid") != self.account_sid:
            raise ValueError("a webhook about another Twilio account")
        return items


def rfc2822_or_iso(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return rfc2822(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
