"""Texts reach their wedding: an SMS from the couple to the planner's Twilio number, signed and
delivered over HTTP, is logged once on the wedding of the contact who sent it (the seed's
communication_sent) and heard on its socket; a WhatsApp number written without its + matches
the same contact; a number no contact has attaches to nothing."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from integrations.adapters.base import ExternalRecord
from integrations.models import IntegrationEvent
from integrations.sync.apply import apply_record
from integrations.sync.records import store_record
from tests.factories import ContactFactory
from tests.integrations.providers.conftest import make_connection
from tests.integrations.sync.test_end_to_end import drain
from wedsync.live.broadcast import wedding_group

COUPLE = "+447700900789"


@pytest.fixture
def couple(team):
    return ContactFactory(wedding=team.wedding, name="Ana Ferreira", phone=COUPLE)


def logged(team):
    return list(
        IntegrationEvent.objects.filter(
            wedding=team.wedding, event_type=IntegrationEvent.Type.COMMUNICATION_SENT
        )
    )


@pytest.mark.django_db(transaction=True)
def test_an_sms_from_the_couple_is_logged_on_their_wedding_once_and_heard_live(
    team, couple, twilio, live_server, eager_celery
):
    planner_number = make_connection(
        team.planner_org,
        "twilio",
        {"username": twilio.account_sid, "password": twilio.auth_token},
    )
    url = f"{live_server.url}/api/integrations/inbound/{planner_number.webhook_token}/"
    twilio.set_sms_url(url)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(wedding_group(team.wedding.pk), channel)

    message = twilio.receive_sms("Running 20 minutes late, start without us!", from_=COUPLE)
    [delivery] = twilio.wait_for_deliveries()
    delivered = twilio.status_params({**message, "status": "delivered"})
    assert delivery.status_code == 200 and twilio.send_webhook(url, delivered).status_code == 200

    [event] = logged(team)
    assert event.source_system == "twilio" and event.data["contact_name"] == "Ana Ferreira"
    assert event.data["direction"] == "inbound"
    assert "Running 20 minutes late" in event.summary
    assert async_to_sync(drain)(layer, channel).count("communication_sent") == 1


def whatsapp_text(sender: str, text: str = "Can we add two guests?") -> ExternalRecord:
    return ExternalRecord(
        resource="messages",
        kind="message",
        external_id=f"wamid.{sender}",
        fields={"text": text, "from": sender, "to": "15550001111", "direction": "inbound"},
    )


@pytest.fixture
def whatsapp_number(team):
    return make_connection(
        team.planner_org,
        "whatsapp",
        {"access_token": "EAA" + "x" * 30, "phone_number_id": "1234567890"},
    )


@pytest.mark.django_db
def test_a_whatsapp_number_without_its_plus_is_the_same_contact(team, couple, whatsapp_number):
    connection = whatsapp_number
    _, link = store_record(connection, whatsapp_text("447700900789"))
    assert apply_record(connection, link, whatsapp_text("447700900789")).startswith("logged")
    [event] = logged(team)
    assert event.data["text"] == "Can we add two guests?"


@pytest.mark.django_db
def test_a_number_no_wedding_contact_has_attaches_to_nothing(team, couple, whatsapp_number):
    connection = whatsapp_number
    record = whatsapp_text("15559998888")
    _, link = store_record(connection, record)
    assert apply_record(connection, link, record) == (
        "stored: no contact of a wedding has this number"
    )
    assert logged(team) == []
