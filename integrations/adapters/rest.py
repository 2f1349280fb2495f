"""The spec-driven adapter: a provider that speaks plain REST + JSON needs only its spec.

Verification, pagination, record mapping and CRUD come from the spec's `verification`,
`pagination` and `resources` sections. Incremental pulls use the resource's `modified` field:
the list is requested newest-first (the spec's list_params say how) and the pull stops at the
first record not newer than the cursor.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings
from django.urls import NoReverseMatch, reverse

from integrations.errors import ProviderError
from integrations.http import dig
from integrations.specs import ResourceSpec

from .base import AccountInfo, Adapter, Change, ExternalRecord, PullResult, PushResult


def parse_timestamp(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        if not isinstance(target.get(part), dict):  # absent, or null in a fetched record
            target[part] = {}
        target = target[part]
    target[last] = value


class RestAdapter(Adapter):
    # "{Name}" in the spec's paths -> the credential field filling it, for providers whose
    # account is part of every URL (Twilio's {AccountSid}, WhatsApp's {PhoneNumberId}).
    path_credentials: dict[str, str] = {}

    def with_credentials(self, path: str) -> str:
        for name, field_name in self.path_credentials.items():
            value = quote(str(self.credentials[field_name]), safe="")
            path = path.replace(f"{{{name}}}", value)
        return path

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if self.path_credentials:
            path = self.with_credentials(path)
        return super().call(method, path, **kwargs)

    def check_connection(self) -> AccountInfo:
        verification = self.spec.verification
        response = self.call(verification.request.method, verification.request.path)
        body = response.json() if response.content else {}
        account_id = dig(body, verification.account_id)
        return AccountInfo(
            account_id=str(account_id) if account_id is not None else None,
            account_name=dig(body, verification.account_name),
        )

    # -- reading ----------------------------------------------------------------------------

    def resource(self, name: str) -> ResourceSpec:
        try:
            spec = self.spec.resources[name]
        except KeyError:
            raise ProviderError(
                self.spec.key,
                "invalid_request",
                f"no resource '{name}' in the spec",
                permanent=True,
            ) from None
        if not self.path_credentials:
            return spec
        return dataclasses.replace(
            spec,
            path=self.with_credentials(spec.path),
            item_path=self.with_credentials(spec.item_path) if spec.item_path else None,
        )

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list endpoint, following the spec's pagination style."""
        paging = self.spec.pagination
        params = dict(params)
        if paging.size_param and paging.page_size:
            params[paging.size_param] = paging.page_size
        page = 1
        while True:
            if paging.style == "page":
                params[paging.page_param] = page
            body = self.call("GET", path, params=params).json()
            items = dig(body, paging.items) if paging.items else body
            items = items or []
            yield items
            if paging.style == "page":
                total = dig(body, paging.total_pages)
                if not items or (total is not None and page >= int(total)):
                    return
                page += 1
            elif paging.style == "cursor":
                cursor = dig(body, paging.next_cursor)
                if not cursor:
                    return
                params[paging.cursor_param] = cursor
            elif paging.style == "starting_after":
                if not dig(body, paging.has_more) or not items:
                    return
                params["starting_after"] = items[-1]["id"]
            else:
                return

    def to_record(self, resource: ResourceSpec, item: dict[str, Any]) -> ExternalRecord:
        version = dig(item, resource.version_field) if resource.version_field else None
        parent = dig(item, resource.parent_field) if resource.parent_field else None
        return ExternalRecord(
            resource=resource.name,
            kind=resource.maps_to,
            external_id=str(item[resource.id_field]),
            fields={ours: dig(item, theirs) for ours, theirs in resource.fields.items()},
            version=str(version) if version is not None else None,
            modified=parse_timestamp(dig(item, resource.modified_field)),
            raw=item,
            parent=(resource.parent_resource, str(parent)) if parent else None,
        )

    def pull(self, resource: str, cursor: str | None = None) -> PullResult:
        spec = self.resource(resource)
        since = parse_timestamp(cursor) if cursor else None
        records: list[ExternalRecord] = []
        newest = since
        done = False
        for items in self.pages(spec.path, spec.list_params):
            for item in items:
                record = self.to_record(spec, item)
                # `<`, not `<=`: a record changed within the cursor's own second after the last
                # pull read the list carries the cursor's timestamp; records of that second are
                # read again, and their unchanged hash makes them no change
                if since and record.modified and record.modified < since:
                    done = True  # newest-first: everything after this is older
                    break
                records.append(record)
                if record.modified and (newest is None or record.modified > newest):
                    newest = record.modified
            if done:
                break
        next_cursor = newest.isoformat().replace("+00:00", "Z") if newest else cursor
        return PullResult(records=records, cursor=next_cursor, full=since is None)

    def fetch(self, resource: str, external_id: str) -> ExternalRecord:
        spec = self.resource(resource)
        item_path = spec.item_path or f"{spec.path}/{{id}}"
        item = self.call("GET", item_path.format(id=quote(str(external_id), safe=""))).json()
        return self.to_record(spec, item)

    # -- writing ----------------------------------------------------------------------------

    def their_fields(self, resource: ResourceSpec, fields: dict[str, Any]) -> dict[str, Any]:
        """Our fields under the provider's (dotted) names; adapters whose provider splits or
        joins fields (a date and a time for our one datetime) override it."""
        return {theirs: fields[ours] for ours, theirs in resource.fields.items() if ours in fields}

    def to_payload(self, resource: ResourceSpec, fields: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        for theirs, value in self.their_fields(resource, fields).items():
            set_dotted(payload, theirs, value)
        return payload

    def made_before(self, resource: ResourceSpec, our_id: str) -> str | None:
        """The id of the record an earlier try of this create made, for a provider that files
        our id on its records (`our_id` in the resource's spec); None when there is none."""
        if not resource.our_id_query:
            return None
        params = {**resource.list_params, resource.our_id_query: our_id}
        first_page = next(self.pages(resource.path, params), [])
        return str(first_page[0][resource.id_field]) if first_page else None

    def our_id_entry(self, our_id: str, kind: str) -> dict[str, str]:
        """What a record we create carries of ours: our id, and where the record lives here."""
        base = settings.PUBLIC_URL.rstrip("/") or "http://localhost"
        try:
            path = reverse(f"{kind.replace('_', '-')}-detail", args=[our_id])
        except NoReverseMatch:
            path = "/"
        return {"id": our_id, "url": base + path}

    def put_fields(
        self, resource: ResourceSpec, external_id: str, fields: dict[str, Any]
    ) -> requests.Response:
        """PUT our fields. Where the provider's PUT replaces the whole document (`put_replaces`),
        the record is read first and written back with only our fields changed: sending our
        fields alone would reset every other field the vendor keeps on it."""
        item_path = resource.item_path or f"{resource.path}/{{id}}"
        path = item_path.format(id=quote(str(external_id), safe=""))
        if not resource.put_replaces:
            return self.call("PUT", path, json=self.to_payload(resource, fields))
        document = self.call("GET", path).json()
        for theirs, value in self.their_fields(resource, fields).items():
            set_dotted(document, theirs, value)
        return self.call("PUT", path, json=document)

    def push(self, change: Change) -> PushResult:
        spec = self.resource(change.resource)
        item_path = spec.item_path or f"{spec.path}/{{id}}"
        if change.action == "create":
            made = self.made_before(spec, change.our_id)
            if made is not None:
                response = self.put_fields(spec, made, change.fields)
            else:
                payload = self.to_payload(spec, change.fields)
                if spec.our_id_field:
                    payload[spec.our_id_field] = [self.our_id_entry(change.our_id, spec.maps_to)]
                response = self.call("POST", spec.path, json=payload)
        elif change.action == "update":
            response = self.put_fields(spec, change.external_id, change.fields)
        elif change.action == "delete":
            self.delete_unless_gone(item_path.format(id=change.external_id))
            return PushResult(external_id=change.external_id)
        else:
            raise ValueError(f"unknown action {change.action!r}")
        record = self.to_record(spec, response.json())
        return PushResult(external_id=record.external_id, version=record.version, raw=record.raw)
