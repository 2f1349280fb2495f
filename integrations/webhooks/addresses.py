"""Where a provider sends a connection's webhooks: the address the vendor pastes into the
provider's settings, and that URL-signing schemes (Square, Twilio) sign."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from integrations.models import Connection


def webhook_path(connection: Connection) -> str:
    if connection.spec.webhook_route == "provider":  # one fixed URL, routed by account
        return f"/api/integrations/webhooks/{connection.provider}/"
    return f"/api/integrations/inbound/{connection.webhook_token}/"


def webhook_address(connection: Connection, request: HttpRequest | None = None) -> str:
    """The absolute URL: PUBLIC_URL when set (what providers reach, behind any proxy), else the
    host the request came in on; the bare path when there is neither."""
    path = webhook_path(connection)
    if settings.PUBLIC_URL:
        return settings.PUBLIC_URL.rstrip("/") + path
    return request.build_absolute_uri(path) if request is not None else path


def takes_webhooks(connection: Connection) -> bool:
    try:
        spec = connection.spec
    except LookupError:
        return False
    return spec.has("webhooks")
