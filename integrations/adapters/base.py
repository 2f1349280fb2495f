"""The adapter contract: what the hub asks of every provider."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests

from integrations.errors import ProviderError
from integrations.http import ProviderHTTP, dig
from integrations.specs import ProviderSpec

if TYPE_CHECKING:
    from integrations.webhooks.verify import Delivery


@dataclass(frozen=True)
class AccountInfo:
    """Who the credentials belong to at the provider."""

    account_id: str | None
    account_name: str | None


@dataclass
class ExternalRecord:
    """One record as the provider holds it, with its fields mapped onto ours."""

    resource: str
    kind: str  # canonical kind: wedding, timeline_item, contact, payment, message
    external_id: str
    fields: dict[str, Any]
    version: str | None = None
    modified: dt.datetime | None = None
    deleted: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    # The record as the provider stores it at `version`, for adapters whose updates merge
    # into it (CalDAV: the iCalendar object).
    body: str | None = field(default=None, repr=False)
    # Only some of the record's fields (a WhatsApp status names what became of a message, not
    # its text): they update the stored state instead of replacing it.
    partial: bool = False
    # The record this one lives in, as (resource, external id): a Táve event's job.
    parent: tuple[str, str] | None = None
    # Who the record is about, as {"email": ..., "phone": ...} (a Calendly booking's invitees):
    # how it finds its wedding, through the contact they are. Not part of its stored state.
    people: list[dict[str, str]] = field(default_factory=list, repr=False)


@dataclass
class PullResult:
    records: list[ExternalRecord]
    cursor: str | None  # where the next incremental pull starts
    full: bool  # True when this pull listed everything (deletions may be inferred)


@dataclass
class Change:
    """A change of ours to send to the provider."""

    resource: str
    action: str  # create | update | delete
    fields: dict[str, Any]
    our_id: str
    external_id: str | None = None
    version: str | None = None  # the etag/version last seen, for conditional writes
    base: str | None = None  # the record as the provider stores it at `version`, when known


@dataclass
class PushResult:
    external_id: str
    version: str | None = None
    body: str | None = None  # what the provider now stores at `version`, when known exactly
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class WebhookItem:
    """One record a verified webhook is about."""

    resource: str
    external_id: str
    record: ExternalRecord | None = None  # None: fetched back from the provider before trusted
    occurred_at: dt.datetime | None = None  # the provider's own time of the change
    deleted: bool = False
    pull: bool = False  # the webhook only says "something changed": pull the resource
    channel: bool = False  # the provider stopped announcing changes: renew its push channel


CredentialsRefresher = Callable[[], Mapping[str, Any]]


class Adapter:
    """Base of every adapter. Subclasses implement the calls their capabilities promise.

    credentials are the decrypted secrets of one connection; config its non-secret settings.
    For OAuth providers, `refresh_credentials` (given by the connection layer) refreshes the
    token under a lock and returns the new credentials.
    """

    def __init__(
        self,
        spec: ProviderSpec,
        credentials: Mapping[str, Any],
        config: Mapping[str, Any] | None = None,
        *,
        refresh_credentials: CredentialsRefresher | None = None,
    ) -> None:
        self.spec = spec
        self.credentials = dict(credentials)
        self.config = dict(config or {})
        self.refresh_credentials = refresh_credentials
        self.http = ProviderHTTP(spec, auth=self.auth_headers, classify=self.classify)

    @property
    def capabilities(self) -> tuple[str, ...]:
        return self.spec.capabilities

    # -- hooks a provider overrides -------------------------------------------------------

    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate a request with this connection's credentials."""
        auth = self.spec.auth
        if auth.method in ("api_key", "token"):
            secret_field = next(f.name for f in auth.fields if f.secret)
            return {auth.header: f"{auth.prefix}{self.credentials[secret_field]}"}
        if auth.method == "oauth2":
            return {"Authorization": f"Bearer {self.credentials['access_token']}"}
        if auth.method == "basic":
            return {
                "Authorization": requests.auth._basic_auth_str(
                    self.credentials["username"], self.credentials["password"]
                )
            }
        return {}

    def classify(self, response: requests.Response) -> ProviderError | None:
        """Turn a provider answer into None (success) or a ProviderError, worded with the
        provider's own error message when `error_message` can read one."""
        error = self.http.default_classify(response)
        if error is None:
            return None
        message = self.error_message(response)
        return dataclasses.replace(error, message=message) if message else error

    def error_message(self, response: requests.Response) -> str | None:
        """The provider's own words for a failed answer (never a credential), or None."""
        return None

    # -- the contract ---------------------------------------------------------------------

    def check_connection(self) -> AccountInfo:
        """Test the credentials with the provider's verification request."""
        raise NotImplementedError

    def pull(self, resource: str, cursor: str | None = None) -> PullResult:
        """Records changed since `cursor` (all of them when it is None)."""
        raise NotImplementedError

    def push(self, change: Change) -> PushResult:
        """Create, update or delete one record at the provider."""
        raise NotImplementedError

    def fetch(self, resource: str, external_id: str) -> ExternalRecord:
        """One record as the provider holds it now (ProviderError not_found when it is gone)."""
        raise NotImplementedError

    def parse_webhook(self, event_type: str, payload: Any) -> list[WebhookItem]:
        """The records a verified webhook (already parsed from JSON or a form) is about.

        The default reads the record id at the spec's `webhooks.id_path` and leaves the record
        to be fetched back, which is right for providers whose webhooks carry only an id.
        """
        resource = self.spec.webhook_events.get(event_type)
        if resource is None or not isinstance(payload, Mapping):
            return []
        external_id = dig(dict(payload), self.spec.webhook_id_path)
        if external_id in (None, ""):
            raise ValueError(f"the payload has no record id at '{self.spec.webhook_id_path}'")
        return [WebhookItem(resource=resource, external_id=str(external_id))]

    def webhook_secret_problem(self, value: str) -> str | None:
        """What is wrong with the webhook verification value a vendor pasted, when the provider
        can tell (PayPal lists its webhook ids); None when it looks right or cannot be known."""
        return None

    def confirm_webhook(self, delivery: Delivery, webhook_id: str) -> bool:
        """Whether the provider confirms a delivery is its own; for the schemes the hub cannot
        check itself (verify.NEEDS_PROVIDER_CONFIRMATION)."""
        raise NotImplementedError

    # -- shared helpers -------------------------------------------------------------------

    def delete_unless_gone(self, path: str, **kwargs: Any) -> None:
        """DELETE, counting a 404 or 410 as done: what is already gone needs no deleting."""
        try:
            self.call("DELETE", path, **kwargs)
        except ProviderError as error:
            if not error.gone:
                raise

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request that refreshes an OAuth token once when the provider answers 401."""
        try:
            return self.http.request(method, path, **kwargs)
        except ProviderError as error:
            if error.kind != "invalid_credentials" or self.refresh_credentials is None:
                raise
            self.credentials = dict(self.refresh_credentials())
            return self.http.request(method, path, **kwargs)
