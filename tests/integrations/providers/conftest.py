"""Fixtures for contract tests: emulators on 127.0.0.1, the hub pointed at them."""

from __future__ import annotations

from integrations.models import Connection


def make_connection(organization, provider: str, credentials: dict, **extra) -> Connection:
    return Connection.objects.create(
        organization=organization,
        provider=provider,
        credentials=credentials,
        status=Connection.Status.ACTIVE,
        **extra,
    )
