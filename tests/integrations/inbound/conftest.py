"""Fixtures for inbound webhooks."""

from __future__ import annotations

import pytest

from integrations import services
from tests.factories import OrganizationFactory
from tests.integrations.providers.conftest import make_connection

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
def bridge(db):
    """A HoneyBook account linked through the Zapier bridge: (connection, shared secret)."""
    organization = OrganizationFactory(name="Ever After Planning")
    return services.create_bridge_connection(organization=organization, provider="honeybook")


def inbound_url(connection) -> str:
    return f"/api/integrations/inbound/{connection.webhook_token}/"


@pytest.fixture
def slack_app(settings, vendor, db):
    """A Slack workspace (team T0001) linked by a vendor; our Slack app's signing secret set."""
    settings.WEBHOOK_APP_SECRETS = {"slack": SLACK_SECRET}
    organization, _ = vendor
    return make_connection(
        organization, "slack", {"bot_token": "xoxb-1-abc"}, external_account_id="T0001"
    )
