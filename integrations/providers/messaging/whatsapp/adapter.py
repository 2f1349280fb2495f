"""WhatsApp Cloud API: text messages through Meta's Graph API, on the spec-driven REST adapter.

The spec carries auth (a Bearer system-user token), verification, errors, webhooks and the
mapping. What it cannot say is added here:

* Every path names the business number: `{PhoneNumberId}` in a spec path is the
  `phone_number_id` credential.
* Errors come as Graph's `{"error": {"message", "type", "code", "fbtrace_id"}}`; code and
  message become the error's message, with the token cut out should Graph ever quote it.
* A push sends a text: `{"messaging_product": "whatsapp", "to", "type": "text", "text":
  {"body"}}`. A sent message cannot be edited or recalled, so updates and deletes are refused
  as permanent; a send is not retried blindly (Graph takes no idempotency key).
* Nothing can be fetched back: the webhook's messages and statuses are the records (carried,
  as the bridge's are). A status is partial: it updates what the hub holds of the message (the
  text it sent stays). A delivery for another number of the same business account is not this
  connection's and is skipped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import requests

from integrations.adapters.base import Change, ExternalRecord, PullResult, PushResult, WebhookItem
from integrations.adapters.rest import RestAdapter
from integrations.errors import ProviderError
from integrations.specs import ResourceSpec


def unix_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str | int) or not str(value).isdigit():
        return None
    return dt.datetime.fromtimestamp(int(value), dt.UTC)


def iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


class WhatsAppAdapter(RestAdapter):
    path_credentials = {"PhoneNumberId": "phone_number_id"}

    @property
    def phone_number_id(self) -> str:
        return self.credentials["phone_number_id"]

    def error_message(self, response: requests.Response) -> str | None:
        return self.graph_error(response)

    def graph_error(self, response: requests.Response) -> str | None:
        """`code: message` from Graph's error body, or None; never the token."""
        try:
            body = response.json()
        except ValueError:
            return None
        error = body.get("error") if isinstance(body, Mapping) else None
        if not isinstance(error, Mapping) or not error.get("message"):
            return None
        text = ": ".join(str(part) for part in (error.get("code"), error.get("message")) if part)
        token = str(self.credentials.get("access_token") or "")
        if token:
            text = text.replace(token, "[token]")
        return text[:300]

    def pull(self, resource: str, cursor: str | None = None) -> PullResult:
        raise ProviderError(
            self.spec.key,
            "invalid_request",
            "WhatsApp has no API to list messages; they arrive by webhook",
            permanent=True,
        )

    def fetch(self, resource: str, external_id: str) -> ExternalRecord:
        raise ProviderError(
            self.spec.key,
            "invalid_request",
            "WhatsApp has no API to fetch a message back; the webhook carried it",
            permanent=True,
        )

    def push(self, change: Change) -> PushResult:
        spec = self.resource(change.resource)
        if change.action != "create":
            raise ProviderError(
                self.spec.key,
                "invalid_request",
                f"a sent WhatsApp message cannot be changed ({change.action})",
                permanent=True,
            )
        to = re.sub(r"\D", "", str(change.fields.get("to") or ""))
        text = change.fields.get("text")
        missing = [name for name, value in (("to", to), ("text", text)) if not value]
        if missing:
            raise ProviderError(
                self.spec.key,
                "invalid_request",
                f"a WhatsApp message needs {', '.join(missing)}",
                permanent=True,
            )
        body = {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": text}}
        # Not retried on an unclear failure: Graph takes no idempotency key, and a repeat
        # would message the couple twice.
        answer = self.call("POST", spec.path, json=body, idempotent=False).json()
        messages = answer.get("messages") if isinstance(answer, Mapping) else None
        if not messages or not isinstance(messages[0], Mapping) or not messages[0].get("id"):
            raise ProviderError(self.spec.key, "unavailable", "the send answer names no message")
        return PushResult(external_id=str(messages[0]["id"]), raw=dict(answer))

    # -- webhooks ---------------------------------------------------------------------------

    def parse_webhook(self, event_type: str, payload: Any) -> list[WebhookItem]:
        """Every message and status of the delivery that is about this connection's number,
        each a record carried in the (verified) body."""
        resource_name = self.spec.webhook_events.get(event_type)
        if resource_name is None:
            return []
        if not isinstance(payload, Mapping) or payload.get("object") != (
            "whatsapp_business_account"
        ):
            raise ValueError("not a WhatsApp Business Account webhook")
        resource = self.spec.resources[resource_name]
        items: list[WebhookItem] = []
        for entry in payload.get("entry") or []:
            for change in entry.get("changes") or []:
                value = change.get("value") or {}
                if change.get("field") != event_type:
                    continue
                metadata = value.get("metadata") or {}
                if str(metadata.get("phone_number_id") or "") != self.phone_number_id:
                    continue  # another number of the business account
                ours = metadata.get("display_phone_number")
                for message in value.get("messages") or []:
                    items.append(self.inbound_item(resource, message, ours))
                for status in value.get("statuses") or []:
                    items.append(self.status_item(resource, status, ours))
        return items

    def inbound_item(
        self, resource: ResourceSpec, message: Mapping[str, Any], ours: str | None
    ) -> WebhookItem:
        external_id = message.get("id")
        if not external_id:
            raise ValueError("a message has no id")
        at = unix_time(message.get("timestamp"))
        kind = message.get("type")
        text = (message.get("text") or {}).get("body") if kind == "text" else None
        fields = {
            "text": text if text is not None else f"[{kind or 'unknown'} message]",
            "from": message.get("from"),
            "to": ours,
            "direction": "inbound",
            "status": "received",
            "sent_at": iso(at),
        }
        return self.carried(resource, str(external_id), fields, at)

    def status_item(
        self, resource: ResourceSpec, status: Mapping[str, Any], ours: str | None
    ) -> WebhookItem:
        """A status says only what became of a message sent: its record holds just that."""
        external_id = status.get("id")
        if not external_id or not status.get("status"):
            raise ValueError("a status has no message id or no status")
        at = unix_time(status.get("timestamp"))
        fields = {
            "from": ours,
            "to": status.get("recipient_id"),
            "direction": "outbound",
            "status": status.get("status"),
        }
        return self.carried(resource, str(external_id), fields, at, partial=True)

    @staticmethod
    def carried(
        resource: ResourceSpec,
        external_id: str,
        fields: dict[str, Any],
        at: dt.datetime | None,
        *,
        partial: bool = False,
    ) -> WebhookItem:
        record = ExternalRecord(
            resource=resource.name,
            kind=resource.maps_to,
            external_id=external_id,
            fields=fields,
            modified=at,
            raw={},
            partial=partial,
        )
        return WebhookItem(resource.name, external_id, record=record, occurred_at=at)
