"""Push channels that expire (Google Calendar watch channels, Microsoft Graph subscriptions) are
renewed before they lapse.

A provider that can extend a channel (Graph: PATCH the subscription) does so; otherwise, or when
the channel has lapsed already, a new channel opens before the old one is stopped, so no change
goes unannounced in between. The connection's webhook secret is the channel token Google echoes
back, or Graph's clientState.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.utils import timezone

from integrations import services
from integrations.errors import ProviderError
from integrations.models import Connection
from integrations.webhooks.addresses import webhook_address

RENEW_BEFORE = dt.timedelta(days=1)


def ensure_channel(
    connection: Connection, *, now: dt.datetime | None = None, force: bool = False
) -> str:
    """Open or renew the connection's push channel; returns what it did. `force` renews one
    that is not due yet (the provider said it stopped sending: Graph's lifecycle events)."""
    adapter = services.adapter_for(connection)
    if not hasattr(adapter, "watch"):
        return "no push channels"
    if not settings.PUBLIC_URL:
        return "skipped: PUBLIC_URL is not set, so the provider cannot reach the hub"
    now = now or timezone.now()
    current = connection.config.get("push_channel")
    left = current.get("expires_at", 0) - now.timestamp() if current else 0.0
    if not force and left > RENEW_BEFORE.total_seconds():
        return "current"
    if not connection.webhook_secret:
        connection.webhook_secret = secrets.token_urlsafe(32)
        connection.save(update_fields=["webhook_secret", "updated_at"])
    if current and hasattr(adapter, "renew_watch"):
        try:
            save_channel(connection, adapter.renew_watch(current))
            return "renewed"
        except ProviderError as error:
            if not error.gone:
                raise  # lapsed or removed at the provider: a new one opens below
    channel = adapter.watch(webhook_address(connection), connection.webhook_secret)
    save_channel(connection, channel)
    if current:
        adapter.stop_watch(current)
        return "renewed"
    return "opened"


def save_channel(connection: Connection, channel: dict) -> None:
    Connection.objects.filter(pk=connection.pk).update(
        config={**Connection.objects.get(pk=connection.pk).config, "push_channel": channel}
    )
    connection.refresh_from_db(fields=["config"])
