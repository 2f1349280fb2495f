"""Fixtures for inbound webhooks."""

from __future__ import annotations

import pytest

from integrations import services
from tests.factories import OrganizationFactory


@pytest.fixture
def bridge(db):
    """A HoneyBook account linked through the Zapier bridge: (connection, shared secret)."""
    organization = OrganizationFactory(name="Ever After Planning")
    return services.create_bridge_connection(organization=organization, provider="honeybook")


def inbound_url(connection) -> str:
    return f"/api/integrations/inbound/{connection.webhook_token}/"
