"""Provider specs: each external system described as data, validated when the hub starts.

One `spec.yaml` per provider package (integrations/providers/<category>/<provider>/), in the
spirit of Nango's providers.yaml: auth, URLs, the verification request, pagination, rate-limit
signals, webhook scheme, the fields a vendor fills in to connect, and the mapping between the
provider's records and ours. A bad spec stops start-up with a message naming provider and field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CATEGORIES = (
    "photography_crm",
    "venue_management",
    "catering_system",
    "florist_software",
    "wedding_planning",
    "booking_system",
    "payment_processor",
    "communication",
    "calendar_system",
    "scheduling",
)
# bridge: no public API; the vendor's Zapier/Make step posts to the connection's unguessable URL
# with its shared secret.
AUTH_METHODS = ("api_key", "oauth2", "basic", "token", "bridge")
CAPABILITIES = ("pull", "push", "webhooks", "realtime")
PAGINATION_STYLES = ("none", "page", "cursor", "starting_after", "link")
WEBHOOK_SCHEMES = (
    "none",
    "shared_secret",
    "stripe",
    "standard_webhooks",
    "slack",
    "twilio",
    "square",
    "whatsapp",
    "acuity",
    "calendly",
    "paypal",
    "google_channel",
    "graph_client_state",
)
ERROR_KINDS = (
    "invalid_credentials",
    "forbidden",
    "account_suspended",
    "not_found",
    "conflict",
    "precondition_failed",
    "gone",
    "invalid_request",
    "rate_limited",
    "unavailable",
)
CANONICAL_KINDS = ("wedding", "timeline_item", "contact", "payment", "message", "document")


class SpecError(ValueError):
    """A provider spec that cannot be used; the message names the provider and the field."""

    def __init__(self, provider: str, field_path: str, problem: str) -> None:
        super().__init__(f"provider spec '{provider}', field '{field_path}': {problem}")
        self.provider = provider
        self.field_path = field_path


@dataclass(frozen=True)
class CredentialField:
    """A field a vendor fills in on the link form."""

    name: str
    title: str
    secret: bool = True
    pattern: str | None = None
    help: str = ""
    example: str = ""


@dataclass(frozen=True)
class AuthSpec:
    method: str
    header: str | None = None  # where an api_key/token goes
    prefix: str = ""  # e.g. "Bearer "
    fields: tuple[CredentialField, ...] = ()
    authorization_url: str | None = None
    token_url: str | None = None
    revoke_url: str | None = None
    scopes: tuple[str, ...] = ()
    pkce: bool = True
    authorization_params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestSpec:
    method: str
    path: str


@dataclass(frozen=True)
class VerificationSpec:
    request: RequestSpec
    account_id: str | None = None  # dotted path in the response
    account_name: str | None = None


@dataclass(frozen=True)
class PaginationSpec:
    style: str = "none"
    items: str | None = None  # dotted path of the list in a page
    page_param: str | None = None
    size_param: str | None = None
    page_size: int | None = None
    total_pages: str | None = None
    cursor_param: str | None = None
    next_cursor: str | None = None
    has_more: str | None = None


@dataclass(frozen=True)
class RateLimitSpec:
    status_codes: tuple[int, ...] = (429,)
    retry_after_header: str | None = "Retry-After"
    reset_header: str | None = None  # epoch seconds when the window resets
    remaining_header: str | None = None
    body_pattern: str | None = None  # a regex on the body that marks a rate-limit answer


@dataclass(frozen=True)
class ResourceSpec:
    """One kind of record the provider holds and how it maps onto ours."""

    name: str
    maps_to: str
    path: str
    item_path: str | None = None
    id_field: str = "id"
    version_field: str | None = None
    modified_field: str | None = None
    list_params: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)  # ours -> theirs (dotted)
    # For a provider that cannot take ids we choose: the list on a record that carries our id
    # (Táve's externalMappings) and the list filter that finds a record by it
    # (externalMappingId), so that a create asks first and a retried create finds the record
    # its first try made.
    our_id_field: str | None = None
    our_id_query: str | None = None
    # the provider's PUT replaces the whole document (omitted fields go back to defaults)
    put_replaces: bool = False
    # records that live inside a record of another resource (a Táve event in its job): that
    # resource, and the field naming the record; its link says which wedding they belong to
    parent_resource: str | None = None
    parent_field: str | None = None
    # pushed only to records the vendor already holds and we have linked: the hub does not
    # make them (a photographer's jobs and sessions are the photographer's to create)
    linked_only: bool = False


@dataclass(frozen=True)
class ProviderSpec:
    key: str
    name: str
    category: str
    auth: AuthSpec
    capabilities: tuple[str, ...]
    adapter: str  # "rest" for the spec-driven adapter, else "module:Class"
    base_url: str | None = None
    docs: str = ""
    verification: VerificationSpec | None = None
    pagination: PaginationSpec = PaginationSpec()
    rate_limit: RateLimitSpec = RateLimitSpec()
    errors: dict[int, str] = field(default_factory=dict)  # status -> error kind
    webhook_scheme: str = "none"
    # event type -> the resource it is about; other types are recorded as ignored
    webhook_events: dict[str, str] = field(default_factory=dict)
    # where the provider posts: "connection" (each connection's own URL) or "provider" (one
    # fixed URL per provider; the connection is found by the account id at webhook_account_path)
    webhook_route: str = "connection"
    webhook_account_path: str | None = None
    webhook_id_path: str = "id"  # where an id-only payload carries the record id
    # what the provider issues for verifying its webhooks (Stripe's whsec_, PayPal's webhook
    # id), asked for on the link form and kept as the connection's webhook secret
    webhook_secret_field: CredentialField | None = None
    # the credential field that also verifies webhooks (Twilio's Auth Token), when the
    # provider signs with a credential rather than with a value issued for webhooks
    webhook_secret_credential: str | None = None
    resources: dict[str, ResourceSpec] = field(default_factory=dict)
    setup_help: str = ""
    package: str = ""  # dotted package of the provider (spec, adapter, emulator)

    def has(self, capability: str) -> bool:
        return capability in self.capabilities


# -- parsing ---------------------------------------------------------------------------------


class _Reader:
    """Reads one spec mapping, reporting problems with the provider key and field path."""

    def __init__(self, provider: str, data: Any, path: str = "") -> None:
        self.provider, self.data, self.path = provider, data, path
        if not isinstance(data, dict):
            self.fail("", "must be a mapping")

    def fail(self, name: str, problem: str):
        where = ".".join(part for part in (self.path, name) if part) or "<root>"
        raise SpecError(self.provider, where, problem)

    def get(
        self,
        name: str,
        kind: type | tuple[type, ...],
        *,
        required: bool = False,
        default: Any = None,
    ) -> Any:
        if name not in self.data or self.data[name] is None:
            if required:
                self.fail(name, "is required")
            return default
        value = self.data[name]
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.fail(name, f"must be {names}, not {type(value).__name__}")
        return value

    def choice(
        self,
        name: str,
        choices: tuple[str, ...],
        *,
        required: bool = False,
        default: str | None = None,
    ) -> str | None:
        value = self.get(name, str, required=required, default=default)
        if value is not None and value not in choices:
            self.fail(name, f"'{value}' is not one of: {', '.join(choices)}")
        return value

    def url(self, name: str, *, required: bool = False) -> str | None:
        value = self.get(name, str, required=required)
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            self.fail(name, f"'{value}' is not an http(s) URL")
        return value.rstrip("/") if value else value

    def child(self, name: str, *, required: bool = False) -> _Reader | None:
        value = self.get(name, dict, required=required)
        return None if value is None else _Reader(self.provider, value, self._sub(name))

    def unknown_keys(self, allowed: set[str]) -> None:
        extra = sorted(set(self.data) - allowed)
        if extra:
            self.fail(extra[0], f"unknown field (allowed: {', '.join(sorted(allowed))})")

    def _sub(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name


def _parse_fields(reader: _Reader) -> tuple[CredentialField, ...]:
    items = reader.get("fields", list, default=[])
    return tuple(
        _parse_field(_Reader(reader.provider, item, f"{reader.path}.fields[{index}]"))
        for index, item in enumerate(items)
    )


def _parse_field(sub: _Reader) -> CredentialField:
    sub.unknown_keys({"name", "title", "secret", "pattern", "help", "example"})
    pattern = sub.get("pattern", str)
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as error:
            sub.fail("pattern", f"is not a valid regular expression ({error})")
    return CredentialField(
        name=sub.get("name", str, required=True),
        title=sub.get("title", str, required=True),
        secret=sub.get("secret", bool, default=True),
        pattern=pattern,
        help=sub.get("help", str, default=""),
        example=sub.get("example", str, default=""),
    )


def _parse_auth(reader: _Reader) -> AuthSpec:
    reader.unknown_keys(
        {
            "method",
            "header",
            "prefix",
            "fields",
            "authorization_url",
            "token_url",
            "revoke_url",
            "scopes",
            "pkce",
            "authorization_params",
        }
    )
    method = reader.choice("method", AUTH_METHODS, required=True)
    auth = AuthSpec(
        method=method,
        header=reader.get("header", str),
        prefix=reader.get("prefix", str, default=""),
        fields=_parse_fields(reader),
        authorization_url=reader.url("authorization_url", required=method == "oauth2"),
        token_url=reader.url("token_url", required=method == "oauth2"),
        revoke_url=reader.url("revoke_url"),
        scopes=tuple(reader.get("scopes", list, default=[])),
        pkce=reader.get("pkce", bool, default=True),
        authorization_params=dict(reader.get("authorization_params", dict, default={})),
    )
    if method in ("api_key", "token", "basic") and not auth.fields:
        reader.fail("fields", f"a {method} provider must list the fields a vendor fills in")
    if method == "basic" and {f.name for f in auth.fields} < {"username", "password"}:
        reader.fail("fields", "basic auth needs fields named 'username' and 'password'")
    if method in ("api_key", "token") and not auth.header:
        reader.fail("header", f"a {method} provider must say which header carries the credential")
    return auth


def _parse_resources(
    provider: str, reader: _Reader | None, *, needs_path: bool = True
) -> dict[str, ResourceSpec]:
    if reader is None:
        return {}
    resources = {}
    for name, data in reader.data.items():
        sub = _Reader(provider, data, f"resources.{name}")
        sub.unknown_keys(
            {
                "maps_to",
                "path",
                "item_path",
                "id",
                "version",
                "modified",
                "list_params",
                "fields",
                "our_id",
                "put_replaces",
                "parent",
                "linked_only",
            }
        )
        mapped = sub.get("fields", dict, default={})
        for ours, theirs in mapped.items():
            if not isinstance(theirs, str):
                sub.fail(f"fields.{ours}", "must name the provider's field as a string")
        resources[name] = ResourceSpec(
            name=name,
            maps_to=sub.choice("maps_to", CANONICAL_KINDS, required=True),
            path=sub.get("path", str, required=needs_path, default=""),
            item_path=sub.get("item_path", str),
            id_field=sub.get("id", str, default="id"),
            version_field=sub.get("version", str),
            modified_field=sub.get("modified", str),
            list_params={k: str(v) for k, v in sub.get("list_params", dict, default={}).items()},
            fields=dict(mapped),
            put_replaces=sub.get("put_replaces", bool, default=False),
            linked_only=sub.get("linked_only", bool, default=False),
            **_our_id(sub.child("our_id")),
            **_parent(sub.child("parent")),
        )
    for name, resource in resources.items():
        if resource.parent_resource and resource.parent_resource not in resources:
            _Reader(provider, {}, f"resources.{name}.parent").fail(
                "resource", f"'{resource.parent_resource}' is not a resource of this provider"
            )
    return resources


def _our_id(reader: _Reader | None) -> dict[str, str]:
    if reader is None:
        return {}
    reader.unknown_keys({"field", "query"})
    return {
        "our_id_field": reader.get("field", str, required=True),
        "our_id_query": reader.get("query", str, required=True),
    }


def _parent(reader: _Reader | None) -> dict[str, str]:
    if reader is None:
        return {}
    reader.unknown_keys({"resource", "field"})
    return {
        "parent_resource": reader.get("resource", str, required=True),
        "parent_field": reader.get("field", str, required=True),
    }


TOP_LEVEL = {
    "key",
    "name",
    "category",
    "docs",
    "base_url",
    "adapter",
    "auth",
    "capabilities",
    "verification",
    "pagination",
    "rate_limit",
    "errors",
    "webhooks",
    "resources",
    "setup_help",
    "extends",
}


def parse_spec(data: Any, *, package: str = "", expected_key: str | None = None) -> ProviderSpec:
    key = data.get("key", "<unnamed>") if isinstance(data, dict) else "<unnamed>"
    reader = _Reader(str(key), data)
    reader.unknown_keys(TOP_LEVEL)
    key = reader.get("key", str, required=True)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
        reader.fail("key", "must be lowercase letters, digits and underscores")
    if expected_key and key != expected_key:
        reader.fail("key", f"must match its package name '{expected_key}'")

    auth = _parse_auth(reader.child("auth", required=True))
    capabilities = tuple(reader.get("capabilities", list, required=True))
    for capability in capabilities:
        if capability not in CAPABILITIES:
            reader.fail("capabilities", f"'{capability}' is not one of: {', '.join(CAPABILITIES)}")
    base_url = reader.url("base_url", required=auth.method != "bridge")

    verification = None
    if (sub := reader.child("verification")) is not None:
        sub.unknown_keys({"method", "path", "account_id", "account_name"})
        verification = VerificationSpec(
            request=RequestSpec(
                sub.choice("method", ("GET", "POST"), default="GET"),
                sub.get("path", str, required=True),
            ),
            account_id=sub.get("account_id", str),
            account_name=sub.get("account_name", str),
        )
    elif auth.method not in ("bridge",):
        reader.fail("verification", "is required so credentials can be tested before saving")

    pagination = PaginationSpec()
    if (sub := reader.child("pagination")) is not None:
        sub.unknown_keys(
            {
                "style",
                "items",
                "page_param",
                "size_param",
                "page_size",
                "total_pages",
                "cursor_param",
                "next_cursor",
                "has_more",
            }
        )
        pagination = PaginationSpec(
            style=sub.choice("style", PAGINATION_STYLES, required=True),
            items=sub.get("items", str),
            page_param=sub.get("page_param", str),
            size_param=sub.get("size_param", str),
            page_size=sub.get("page_size", int),
            total_pages=sub.get("total_pages", str),
            cursor_param=sub.get("cursor_param", str),
            next_cursor=sub.get("next_cursor", str),
            has_more=sub.get("has_more", str),
        )
        required_by_style = {
            "page": ("page_param",),
            "cursor": ("cursor_param", "next_cursor"),
            "starting_after": ("has_more",),
        }
        for name in required_by_style.get(pagination.style, ()):
            if getattr(pagination, name) is None:
                sub.fail(name, f"is required for {pagination.style} pagination")

    rate_limit = RateLimitSpec()
    if (sub := reader.child("rate_limit")) is not None:
        sub.unknown_keys(
            {
                "status_codes",
                "retry_after_header",
                "reset_header",
                "remaining_header",
                "body_pattern",
            }
        )
        rate_limit = RateLimitSpec(
            status_codes=tuple(sub.get("status_codes", list, default=[429])),
            retry_after_header=sub.get("retry_after_header", str, default="Retry-After"),
            reset_header=sub.get("reset_header", str),
            remaining_header=sub.get("remaining_header", str),
            body_pattern=sub.get("body_pattern", str),
        )

    errors: dict[int, str] = {}
    for status, kind in reader.get("errors", dict, default={}).items():
        if not (isinstance(status, int) and 400 <= status <= 599):
            reader.fail(f"errors.{status}", "keys must be HTTP error statuses (400-599)")
        if kind not in ERROR_KINDS:
            reader.fail(f"errors.{status}", f"'{kind}' is not one of: {', '.join(ERROR_KINDS)}")
        errors[status] = kind

    webhooks = reader.child("webhooks")
    scheme, events, route, account_path, id_path = "none", {}, "connection", None, "id"
    secret_field = None
    secret_credential = None
    if webhooks is not None:
        webhooks.unknown_keys(
            {
                "scheme",
                "events",
                "route",
                "account_path",
                "id_path",
                "secret_field",
                "secret_credential",
            }
        )
        if (sub := webhooks.child("secret_field")) is not None:
            secret_field = _parse_field(sub)
        scheme = webhooks.choice("scheme", WEBHOOK_SCHEMES, required=True)
        events = dict(webhooks.get("events", dict, default={}))
        route = webhooks.choice("route", ("connection", "provider"), default="connection")
        account_path = webhooks.get("account_path", str)
        id_path = webhooks.get("id_path", str, default="id")
        secret_credential = webhooks.get("secret_credential", str)
        if secret_credential is not None:
            named = {f.name: f for f in auth.fields}
            if secret_credential not in named or not named[secret_credential].secret:
                webhooks.fail("secret_credential", "must name a secret auth field")
            if secret_field is not None:
                webhooks.fail(
                    "secret_credential", "a provider has a secret_field or this, not both"
                )
        if route == "provider" and not account_path:
            webhooks.fail("account_path", "a provider-routed webhook must say where the account is")
        for event_type, resource in events.items():
            if not isinstance(resource, str) or not resource:
                webhooks.fail(f"events.{event_type}", "must name the resource the event is about")
    if "webhooks" in capabilities and scheme == "none":
        reader.fail("webhooks.scheme", "a provider with the webhooks capability needs a scheme")

    adapter = reader.get("adapter", str, default="rest")
    if adapter != "rest" and not re.fullmatch(r"[\w.]+:\w+", adapter):
        reader.fail("adapter", "must be 'rest' or 'module.path:ClassName'")

    resources = _parse_resources(key, reader.child("resources"), needs_path=auth.method != "bridge")
    for event_type, resource in events.items():
        if resource not in resources:
            reader.fail(f"webhooks.events.{event_type}", f"names no resource: '{resource}'")

    return ProviderSpec(
        key=key,
        name=reader.get("name", str, required=True),
        category=reader.choice("category", CATEGORIES, required=True),
        docs=reader.get("docs", str, default=""),
        base_url=base_url,
        adapter=adapter,
        auth=auth,
        capabilities=capabilities,
        verification=verification,
        pagination=pagination,
        rate_limit=rate_limit,
        errors=errors,
        webhook_scheme=scheme,
        webhook_events=events,
        webhook_route=route,
        webhook_account_path=account_path,
        webhook_id_path=id_path,
        webhook_secret_field=secret_field,
        webhook_secret_credential=secret_credential,
        resources=resources,
        setup_help=reader.get("setup_help", str, default=""),
        package=package,
    )


TEMPLATES_ROOT = Path(__file__).resolve().parent / "providers" / "templates"


def merged(base: Any, override: Any) -> Any:
    """A spec over its template: mappings merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{k: merged(base.get(k), v) for k, v in override.items()}}
    return override


def _read_yaml(path: Path, provider: str) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise SpecError(provider, "<file>", f"is not valid YAML ({error})") from error


def load_spec_file(path: Path, providers_root: Path) -> ProviderSpec:
    """Read one spec.yaml; `extends: <template>` starts from providers/templates/<template>.yaml
    (the shape shared by every bridge provider, say), which the spec then overrides."""
    relative = path.parent.relative_to(providers_root.parent.parent)
    package = ".".join(relative.parts)
    provider = path.parent.name
    data = _read_yaml(path, provider)
    if isinstance(data, dict) and "extends" in data:
        template = TEMPLATES_ROOT / f"{data['extends']}.yaml"
        if not re.fullmatch(r"\w+", str(data["extends"])) or not template.exists():
            raise SpecError(provider, "extends", f"names no template: '{data['extends']}'")
        data = merged(_read_yaml(template, provider), data)
    return parse_spec(data, package=package, expected_key=provider)
