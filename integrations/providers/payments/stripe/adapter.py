"""Stripe: PaymentIntents (payments) and Customers (contacts) through the official SDK.

The stripe-python SDK speaks Stripe's encoding (bracket-notation forms, list objects, typed
errors); the hub keeps its own policy on top. SDK retries are off and reads are retried here the
way ProviderHTTP retries them, so a 429's Retry-After and the inline-wait ceiling behave as for
every other provider, and every SDK error becomes a ProviderError. The client reaches the
provider origin of PROVIDER_ORIGINS, so an emulator stands in for api.stripe.com.

Incremental pulls: Stripe has no modified-since filter; a list can only be narrowed by
`created`. The cursor is the newest `created` seen plus the ids created in that same second, and
the next pull lists `created[gte]` it, skipping those ids, so a record made later in the same
second is not lost. A change to an existing object (a PaymentIntent that succeeds, a customer's
new email) is not seen by an incremental pull: the safety net for updates is Stripe's events,
delivered as webhooks and fetched back here, and the periodic full pull.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import stripe

from integrations.adapters.base import AccountInfo, Adapter, ExternalRecord, PullResult, WebhookItem
from integrations.errors import ProviderError
from integrations.http import DEFAULT_KIND_BY_STATUS, dig, parse_retry_after
from integrations.registry import provider_url
from integrations.specs import ProviderSpec, ResourceSpec

logger = logging.getLogger("integrations.http")

PAGE_SIZE = 100  # Stripe's maximum `limit`
# Resource name in the spec -> the SDK's service under StripeClient.v1.
SERVICES = {"payment_intents": "payment_intents", "customers": "customers"}

T = TypeVar("T")


def api_origin(spec: ProviderSpec) -> str:
    """The origin the SDK calls (it adds `/v1/...` itself): Stripe's, or its stand-in."""
    parts = urlsplit(spec.base_url or "")
    return provider_url(spec, f"{parts.scheme}://{parts.netloc}")


def parse_cursor(cursor: str | None) -> tuple[int | None, frozenset[str]]:
    """`"<created>:<id>,<id>"` -> (created, ids made in that second); (None, {}) for none."""
    if not cursor:
        return None, frozenset()
    created, _, ids = cursor.partition(":")
    try:
        return int(created), frozenset(filter(None, ids.split(",")))
    except ValueError:
        return None, frozenset()  # an unreadable cursor: list everything again


def format_cursor(created: int, ids: set[str] | frozenset[str]) -> str:
    return f"{created}:{','.join(sorted(ids))}"


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A response header, whatever the case of its name."""
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


class StripeAdapter(Adapter):
    """Reads PaymentIntents and Customers; confirms webhook events by fetching objects back."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._client: stripe.StripeClient | None = None

    @property
    def client(self) -> stripe.StripeClient:
        if self._client is None:
            self._client = stripe.StripeClient(
                self.credentials["secret_key"],
                base_addresses={"api": api_origin(self.spec)},
                max_network_retries=0,  # retries are the hub's (see `_request`)
                http_client=stripe.RequestsClient(timeout=self.http.timeout),
            )
        return self._client

    # -- the contract ---------------------------------------------------------------------

    def check_connection(self) -> AccountInfo:
        account = self._request("GET", "/account", self.client.v1.accounts.retrieve_current)
        data = account.to_dict()
        name = (
            dig(data, "business_profile.name")
            or dig(data, "settings.dashboard.display_name")
            or data.get("email")
        )
        return AccountInfo(account_id=data.get("id"), account_name=name)

    def pull(self, resource: str, cursor: str | None = None) -> PullResult:
        """Every object created since the cursor (all of them without one), newest first.

        Stripe has no modified-since filter, so updates to older objects reach the hub through
        webhooks (events) and full pulls, not through this cursor (see the module docstring).
        """
        spec = self.resource(resource)
        since, seen = parse_cursor(cursor)
        filters = {"created": {"gte": since}} if since is not None else {}
        newest, at_newest = since, set(seen)
        records: list[ExternalRecord] = []
        for item in self._list_all(spec, filters):
            created = item.get("created")
            if created == since and item["id"] in seen:
                continue  # already returned by the pull that made this cursor
            records.append(self.to_record(spec, item))
            if isinstance(created, int):
                if newest is None or created > newest:
                    newest, at_newest = created, {item["id"]}
                elif created == newest:
                    at_newest.add(item["id"])
        next_cursor = format_cursor(newest, at_newest) if newest is not None else cursor
        return PullResult(records=records, cursor=next_cursor, full=since is None)

    def fetch(self, resource: str, external_id: str) -> ExternalRecord:
        """The object as Stripe holds it now; a deleted customer comes back as deleted."""
        spec = self.resource(resource)
        service = self._service(spec)
        item = self._request(
            "GET", f"{spec.path}/{{id}}", functools.partial(service.retrieve, external_id)
        ).to_dict()
        if item.get("deleted"):
            return ExternalRecord(
                resource=spec.name,
                kind=spec.maps_to,
                external_id=str(external_id),
                fields={},
                deleted=True,
                raw=item,
            )
        return self.to_record(spec, item)

    def parse_webhook(self, event_type: str, payload: Any) -> list[WebhookItem]:
        """The object an event is about, to be fetched back, stamped with the event's time.

        Stripe may deliver events out of order; the event's `created` lets the store keep the
        newest state, and fetching the object back means the state stored is the current one.
        """
        items = super().parse_webhook(event_type, payload)
        created = payload.get("created") if isinstance(payload, Mapping) else None
        occurred = dt.datetime.fromtimestamp(created, dt.UTC) if isinstance(created, int) else None
        for item in items:
            item.occurred_at = occurred
            item.deleted = event_type.endswith(".deleted")
        return items

    def register_webhook_endpoint(self, url: str) -> tuple[str, str]:
        """Subscribe `url` to the events the spec maps; returns (endpoint id, whsec_ secret).

        Stripe returns the signing secret only in this answer, so the caller stores it at once.
        One idempotency key serves every attempt of this call, so a retried create cannot make
        a second endpoint.
        """
        params = {"url": url, "enabled_events": sorted(self.spec.webhook_events)}
        options = {"idempotency_key": f"wedsync-{uuid.uuid4()}"}
        create = functools.partial(self.client.v1.webhook_endpoints.create, params, options)
        endpoint = self._request("POST", "/webhook_endpoints", create)
        return endpoint.id, endpoint.secret

    # -- mapping ----------------------------------------------------------------------------

    def resource(self, name: str) -> ResourceSpec:
        spec = self.spec.resources.get(name)
        if spec is None or name not in SERVICES:
            raise ProviderError(
                self.spec.key, "invalid_request", f"no resource '{name}'", permanent=True
            )
        return spec

    def to_record(self, spec: ResourceSpec, item: dict[str, Any]) -> ExternalRecord:
        """No `modified` or version: Stripe objects carry neither, only `created`."""
        return ExternalRecord(
            resource=spec.name,
            kind=spec.maps_to,
            external_id=str(item[spec.id_field]),
            fields={ours: dig(item, theirs) for ours, theirs in spec.fields.items()},
            raw=item,
        )

    # -- calls ------------------------------------------------------------------------------

    def _service(self, spec: ResourceSpec) -> Any:
        return getattr(self.client.v1, SERVICES[spec.name])

    def _list_all(self, spec: ResourceSpec, filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every page, following `starting_after`; each page is one retried call."""
        service = self._service(spec)
        params: dict[str, Any] = {"limit": PAGE_SIZE, **filters}
        while True:
            page = self._request("GET", spec.path, functools.partial(service.list, dict(params)))
            items = [item.to_dict() for item in page.data]
            yield from items
            if not page.has_more or not items:
                return
            params["starting_after"] = items[-1]["id"]

    def _request(self, method: str, path: str, operation: Callable[[], T]) -> T:
        """One SDK call under the hub's retry policy; a failure raises ProviderError.

        Only reads and POSTs carrying an idempotency key reach here, so all may be retried.
        A wait longer than the shared client's ceiling goes up with `retry_after` instead.
        """
        policy = self.http
        for attempt in range(1, policy.max_attempts + 1):
            started = time.perf_counter()
            try:
                result = operation()
            except stripe.StripeError as error:
                problem = self.translate(error)
                self._log(method, path, problem.status or problem.kind, started)
                if problem.permanent or attempt == policy.max_attempts:
                    raise problem from error
            else:
                self._log(method, path, 200, started)
                return result
            wait = problem.retry_after
            if wait is None:  # exponential backoff with full jitter
                wait = random.uniform(0, policy.backoff_base_s * 2 ** (attempt - 1))  # noqa: S311
            if wait > policy.max_inline_wait_s:
                raise problem
            time.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def translate(self, error: stripe.StripeError) -> ProviderError:
        """An SDK error as the hub's ProviderError. Messages never quote the key."""
        key = self.spec.key
        if isinstance(error, stripe.APIConnectionError):
            if isinstance(error.__cause__, requests.Timeout):
                return ProviderError(key, "timeout", "no answer in time")
            return ProviderError(key, "connection", "could not connect")
        status = error.http_status
        retry_after = parse_retry_after(_header(error.headers, "Retry-After"))
        if isinstance(error, stripe.RateLimitError) or status == 429:
            return ProviderError(
                key, "rate_limited", "too many requests", status, retry_after, permanent=False
            )
        if isinstance(error, stripe.APIError) or status is None or status >= 500:
            message = (error.user_message or f"HTTP {status}")[:300]
            return ProviderError(key, "unavailable", message, status, retry_after, permanent=False)
        kind = self.spec.errors.get(status) or DEFAULT_KIND_BY_STATUS.get(status, "invalid_request")
        if isinstance(error, stripe.IdempotencyError):
            kind = "invalid_request"
        if kind == "invalid_credentials":
            message = "the API key was not accepted"
        elif kind == "forbidden":
            message = "the key does not allow this request"
        else:
            message = (error.user_message or f"HTTP {status}")[:300]
        # Stripe-Should-Retry: true marks a failure (a lock timeout, say) worth another try.
        permanent = False if _header(error.headers, "Stripe-Should-Retry") == "true" else None
        return ProviderError(key, kind, message, status, retry_after, permanent=permanent)

    def _log(self, method: str, path: str, outcome: Any, started: float) -> None:
        """One line per call, as ProviderHTTP writes: never the key, the query or the body."""
        elapsed_ms = (time.perf_counter() - started) * 1000
        full_path = f"{urlsplit(self.spec.base_url or '').path}{path}"
        logger.info(
            "%s %s %s -> %s in %.0f ms", self.spec.key, method, full_path, outcome, elapsed_ms
        )
