"""The webhook URL a vendor pastes into the provider: on the connection page and in the API."""

from __future__ import annotations

import pytest

from integrations.models import Connection
from tests.integrations.providers.conftest import make_connection

pytestmark = pytest.mark.django_db


def test_the_connection_page_and_the_api_give_the_url_the_provider_must_call(
    vendor, client, client_for, settings
):
    settings.PUBLIC_URL = "https://hub.wedsync.example/"
    organization, owner = vendor
    square = make_connection(organization, "square", {"access_token": "EAAA" + "x" * 60})
    expected = f"https://hub.wedsync.example/api/integrations/inbound/{square.webhook_token}/"

    detail = client_for(owner).get(f"/api/integrations/connections/{square.pk}/").json()
    assert detail["webhook_url"] == expected
    client.force_login(owner)
    page = client.get(f"/integrations/connections/{square.pk}/").content.decode()
    assert f'<code id="webhook-url">{expected}</code>' in page


def test_a_provider_routed_by_account_gets_its_fixed_url_and_one_without_webhooks_none(
    vendor, client_for, settings
):
    settings.PUBLIC_URL = ""
    organization, owner = vendor
    slack = make_connection(organization, "slack", {"bot_token": "xoxb-1-2-abc"})
    caldav = make_connection(
        organization,
        "caldav",
        {"username": "u", "password": "p", "calendar_url": "https://dav.example/c/"},
    )
    api = client_for(owner)

    slack_url = api.get(f"/api/integrations/connections/{slack.pk}/").json()["webhook_url"]
    assert slack_url == "http://testserver/api/integrations/webhooks/slack/"
    assert api.get(f"/api/integrations/connections/{caldav.pk}/").json()["webhook_url"] is None
    assert Connection.objects.count() == 2
