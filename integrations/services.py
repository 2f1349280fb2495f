"""Linking, testing, pausing and disconnecting connections: what the link pages, the API,
the admin and the tasks all call."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from wedsync.models import Organization

from . import oauth
from .adapters.base import AccountInfo, Adapter
from .errors import ProviderError
from .models import Connection
from .registry import adapter_class_for, get_provider
from .specs import CredentialField, ProviderSpec


def clean_credentials(spec: ProviderSpec, submitted: Mapping[str, Any]) -> dict[str, str]:
    """The credential fields the spec asks for, checked against their patterns."""
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    for field in spec.auth.fields:
        value = str(submitted.get(field.name) or "").strip()
        if not value:
            errors[field.name] = f"{field.title} is required."
        elif problem := pattern_problem(spec, field, value):
            errors[field.name] = problem
        else:
            cleaned[field.name] = value
    unknown = sorted(set(submitted) - {f.name for f in spec.auth.fields})
    if unknown:
        errors[unknown[0]] = f"{spec.name} does not use a field called '{unknown[0]}'."
    if errors:
        raise ValidationError(errors)
    return cleaned


def clean_webhook_secret(spec: ProviderSpec, value: Any) -> str | None:
    """What the provider issued for verifying its webhooks, checked against the spec's pattern;
    None when not given (the connection then refuses webhooks until it is set)."""
    value = str(value or "").strip()
    if not value:
        return None
    field = spec.webhook_secret_field
    if field is None:
        raise ValidationError(
            {"webhook_secret": f"{spec.name} webhooks are not verified with a value you paste."}
        )
    if problem := pattern_problem(spec, field, value):
        raise ValidationError({"webhook_secret": problem})
    return value


def pattern_problem(spec: ProviderSpec, field: CredentialField, value: str) -> str | None:
    if field.pattern and not re.fullmatch(field.pattern, value):
        return f"This does not look like a {spec.name} {field.title.lower()}."
    return None


def adapter_for(connection: Connection) -> Adapter:
    """The connection's adapter, with OAuth tokens refreshed before they expire."""
    spec = connection.spec
    credentials = dict(connection.credentials or {})
    if spec.auth.method == "oauth2" and oauth.expires_soon(credentials):
        credentials = oauth.refresh_access_token(connection.pk)

    adapter: Adapter

    def refresh():
        return oauth.refresh_access_token(
            connection.pk, failed_token=adapter.credentials.get("access_token")
        )

    adapter = adapter_class_for(spec)(
        spec,
        credentials,
        connection.config,
        refresh_credentials=refresh if spec.auth.method == "oauth2" else None,
    )
    return adapter


def test_credentials(
    spec: ProviderSpec, credentials: Mapping[str, Any], config: Mapping[str, Any] | None = None
) -> AccountInfo:
    """Ask the provider whether these credentials work (raises ProviderError if not)."""
    return adapter_class_for(spec)(spec, credentials, config).check_connection()


def connect(
    *,
    organization: Organization,
    provider: str,
    credentials: Mapping[str, Any],
    config: Mapping[str, Any] | None = None,
    webhook_secret: str | None = None,
    user=None,
) -> Connection:
    """Test, then save: a connection is stored only once the provider accepted it.

    Raises ValidationError for malformed input and ProviderError when the provider refuses.
    """
    spec = get_provider(provider)
    if spec.auth.method in ("oauth2", "bridge"):
        raise ValidationError(
            {
                "provider": f"{spec.name} is linked through its own flow "
                f"({spec.auth.method}), not with pasted credentials."
            }
        )
    cleaned = clean_credentials(spec, credentials)
    signing = clean_webhook_secret(spec, webhook_secret)
    adapter = adapter_class_for(spec)(spec, cleaned, config)
    account = adapter.check_connection()
    if signing and (problem := adapter.webhook_secret_problem(signing)):
        raise ValidationError({"webhook_secret": problem})
    return save_connection(
        organization=organization,
        spec=spec,
        credentials=adapter.credentials,  # as checked (CalDAV: the calendar it found)
        config=config,
        account=account,
        webhook_secret=signing,
        user=user,
    )


def save_connection(
    *,
    organization: Organization,
    spec: ProviderSpec,
    credentials: dict,
    config: Mapping[str, Any] | None,
    account: AccountInfo | None,
    webhook_secret: str | None = None,
    user=None,
) -> Connection:
    connection = Connection(
        organization=organization,
        provider=spec.key,
        credentials=credentials,
        config=dict(config or {}),
        status=Connection.Status.ACTIVE,
        created_by=user,
        external_account_id=(account.account_id or "") if account else "",
        external_account_name=(account.account_name or "") if account else "",
    )
    if spec.webhook_scheme == "shared_secret":
        # The provider does not sign; the secret we subscribe with authenticates its hooks.
        connection.webhook_secret = secrets.token_urlsafe(32)
    elif webhook_secret:
        connection.webhook_secret = webhook_secret
    connection.record_success()
    connection.save()
    return connection


def create_bridge_connection(
    *, organization: Organization, provider: str, user=None
) -> tuple[Connection, str]:
    """A connection for a vendor with no API; returns it and its shared secret (shown once)."""
    spec = get_provider(provider)
    if spec.auth.method != "bridge":
        raise ValidationError({"provider": f"{spec.name} has an API; link it with credentials."})
    secret = secrets.token_urlsafe(32)
    connection = Connection.objects.create(
        organization=organization,
        provider=spec.key,
        webhook_secret=secret,
        status=Connection.Status.ACTIVE,
        created_by=user,
    )
    return connection, secret


def check(connection: Connection) -> AccountInfo:
    """Test a stored connection and record its health either way."""
    try:
        account = adapter_for(connection).check_connection()
    except ProviderError as error:
        connection.refresh_health()
        connection.record_failure(str(error))
        if error.kind in ("invalid_credentials", "needs_reauth", "account_suspended"):
            connection.status = (
                Connection.Status.NEEDS_REAUTH
                if connection.spec.auth.method == "oauth2"
                else Connection.Status.ERROR
            )
        connection.save_health()
        raise
    connection.refresh_health()
    connection.record_success()
    if connection.status in (Connection.Status.ERROR, Connection.Status.NEEDS_REAUTH):
        connection.status = Connection.Status.ACTIVE
    connection.save_health()
    return account


def pause(connection: Connection) -> Connection:
    if connection.status == Connection.Status.REVOKED:
        raise ValidationError("A disconnected connection cannot be paused; link it again.")
    connection.status = Connection.Status.PAUSED
    connection.save(update_fields=["status", "updated_at"])
    return connection


def resume(connection: Connection) -> Connection:
    if connection.status != Connection.Status.PAUSED:
        raise ValidationError("Only a paused connection can be resumed.")
    connection.status = Connection.Status.ACTIVE
    connection.save(update_fields=["status", "updated_at"])
    release_held_events(connection)
    return connection


def release_held_events(connection: Connection) -> int:
    """Queue the events that arrived while the connection was paused, oldest first."""
    from integrations.models import InboundEvent
    from integrations.webhooks.dispatch import queue_processing

    with transaction.atomic():
        held = list(
            InboundEvent.objects.select_for_update()
            .filter(connection=connection, status=InboundEvent.Status.HELD)
            .order_by("received_at", "pk")
            .values_list("pk", flat=True)
        )
        InboundEvent.objects.filter(pk__in=held).update(status=InboundEvent.Status.RECEIVED)
        for event_id in held:
            transaction.on_commit(
                lambda event_id=event_id: queue_processing(event_id, connection.organization_id)
            )
    return len(held)


@transaction.atomic
def disconnect(connection: Connection) -> Connection:
    """Revoke at the provider where it supports that, then forget every secret."""
    if connection.spec.auth.method == "oauth2":
        oauth.revoke(connection)
    connection.credentials = None
    connection.webhook_secret = None
    connection.status = Connection.Status.REVOKED
    connection.save()
    return connection
