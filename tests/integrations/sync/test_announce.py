"""An emergency reaches everyone on the wedding through their own channels, over HTTP: the
planner's Slack channel (emulator) and the venue's on-call phones by SMS (Twilio emulator);
a messaging connection with nowhere set is reported skipped; the wedding's log and socket hear
it; outsiders and empty texts are refused."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from integrations.models import IntegrationEvent, OutboundChange
from integrations.providers.messaging.slack.emulator import SlackEmulator
from integrations.providers.messaging.twilio.emulator import TwilioEmulator
from tests.factories import OrganizationFactory, ParticipantFactory
from tests.integrations.providers.conftest import make_connection
from tests.integrations.sync.test_end_to_end import drain
from wedsync.live.broadcast import wedding_group
from wedsync.models import Wedding

pytestmark = pytest.mark.django_db
STORM = "Storm warning: the ceremony moves to the orangery, same time."
ON_CALL = ["+447700900111", "+44 7700 900222"]


@pytest.fixture
def systems(team, settings, eager_celery):
    """The planner's Slack (channel #ana-and-ben), the venue's Twilio number (two on-call
    phones), and the florist's WhatsApp with nowhere set."""
    with SlackEmulator() as slack, TwilioEmulator() as twilio:
        settings.PROVIDER_ORIGINS = {"slack": slack.base_url, "twilio": twilio.base_url}
        workspace = slack.add_workspace("Ever After Planning", domain="everafter")
        channel = slack.add_channel(workspace.team_id, "ana-and-ben")["id"]
        make_connection(
            team.planner_org,
            "slack",
            {"bot_token": workspace.bot_token},
            config={"channel": channel},
        )
        venue = OrganizationFactory(name="Hartwell Manor", kind="venue")
        ParticipantFactory(wedding=team.wedding, organization=venue)
        make_connection(
            venue,
            "twilio",
            {"username": twilio.account_sid, "password": twilio.auth_token},
            config={"from_number": twilio.phone_number, "notify": ON_CALL},
        )
        florist = OrganizationFactory(name="Wild Stems", kind="florist")
        ParticipantFactory(wedding=team.wedding, organization=florist)
        make_connection(
            florist,
            "whatsapp",
            {"access_token": "EAA" + "x" * 30, "phone_number_id": "1234567890"},
        )
        yield slack, channel, twilio


def test_an_emergency_reaches_the_planners_slack_and_the_venues_phones(
    team, systems, client_for, django_capture_on_commit_callbacks
):
    slack, channel, twilio = systems
    layer = get_channel_layer()
    listener = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(wedding_group(team.wedding.pk), listener)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(team.coordinator).post(
            f"/api/integrations/wedding/{team.wedding.pk}/announce/",
            {"text": STORM, "emergency": True},
            format="json",
        )
    twilio.wait_for_deliveries()

    assert response.status_code == 202, response.content
    body = response.json()
    assert sorted((d["provider"], d["to"]) for d in body["deliveries"]) == [
        ("slack", channel),
        ("twilio", "+447700900111"),
        ("twilio", "+447700900222"),
    ]
    assert [(s["provider"], s["reason"]) for s in body["skipped"]] == [
        ("whatsapp", "no notify set on the connection")
    ]
    assert [m["text"] for m in slack.messages(channel)] == [STORM]
    assert sorted((m["to"], m["body"]) for m in twilio.messages()) == [
        ("+447700900111", STORM),
        ("+447700900222", STORM),
    ]
    assert set(OutboundChange.objects.values_list("status", flat=True)) == {"sent"}
    [logged] = IntegrationEvent.objects.filter(wedding=team.wedding)
    assert logged.event_type == "emergency_notification" and STORM in logged.summary
    assert "emergency_notification" in async_to_sync(drain)(layer, listener)


def test_an_announcement_is_refused_to_outsiders_and_without_text(team, systems, client_for):
    url = f"/api/integrations/wedding/{team.wedding.pk}/announce/"
    outsider = client_for(team.outsider).post(url, {"text": STORM}, format="json")
    empty = client_for(team.coordinator).post(url, {"text": "   "}, format="json")
    assert outsider.status_code == 404
    assert empty.status_code == 400 and "text" in empty.json()
    assert not OutboundChange.objects.exists() and not IntegrationEvent.objects.exists()


def test_the_console_sends_an_announcement_from_the_wedding_log(
    team, systems, admin_client, django_capture_on_commit_callbacks
):
    slack, channel, _ = systems
    log = admin_client.get("/admin/integrations/integrationevent/")
    assert "/admin/integrations/integrationevent/announce/" in log.content.decode()
    assert admin_client.get("/admin/integrations/integrationevent/announce/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        sent = admin_client.post(
            "/admin/integrations/integrationevent/announce/",
            {"wedding": str(team.wedding.pk), "text": "Buses leave at 23:30 sharp"},
        )
    assert sent.status_code == 302
    assert [m["text"] for m in slack.messages(channel)] == ["Buses leave at 23:30 sharp"]
    [logged] = IntegrationEvent.objects.filter(wedding=team.wedding)
    assert logged.event_type == "communication_sent" and "admin" in logged.summary


def test_a_coordinator_in_the_console_can_announce_only_to_their_weddings(team, systems, client):
    from django.contrib.auth.models import Permission

    team.coordinator.is_staff = True
    team.coordinator.save()
    team.coordinator.user_permissions.add(Permission.objects.get(codename="view_integrationevent"))
    client.force_login(team.coordinator)
    page = client.get("/admin/integrations/integrationevent/announce/").content.decode()
    assert team.wedding.couple_names in page and "Someone Else" not in page
    other = Wedding.objects.get(couple_names="Someone Else")
    refused = client.post(
        "/admin/integrations/integrationevent/announce/", {"wedding": str(other.pk), "text": "Hi"}
    )
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert not OutboundChange.objects.exists()


def test_numbers_typed_as_one_string_in_the_admin_are_each_a_destination(team):
    from integrations.sync.announce import destinations

    connection = make_connection(
        team.planner_org,
        "twilio",
        {"username": "AC" + "0" * 32, "password": "0" * 32},
        config={"notify": "+44 7700 900111, +44 7700 900222; 12345"},
    )
    assert destinations(connection) == ["+447700900111", "+447700900222"]  # 12345: too short


def test_a_twilio_number_without_its_sending_number_set_is_skipped(team, client_for, settings):
    make_connection(
        team.planner_org,
        "twilio",
        {"username": "AC" + "0" * 32, "password": "0" * 32},
        config={"notify": ["+447700900111"]},
    )
    response = client_for(team.coordinator).post(
        f"/api/integrations/wedding/{team.wedding.pk}/announce/", {"text": STORM}, format="json"
    )
    assert response.status_code == 202
    assert response.json()["deliveries"] == []
    assert [s["reason"] for s in response.json()["skipped"]] == [
        "no from_number set on the connection"
    ]
    assert not OutboundChange.objects.exists()


def test_the_coordinator_sees_where_each_copy_stands_and_who_answered(
    team, systems, client_for, django_capture_on_commit_callbacks
):
    """The history of a wedding's announcements: each copy's state, and a text back from the
    venue's on-call phone acknowledging it (kept, logged, heard)."""
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from integrations.adapters.base import ExternalRecord
    from integrations.models import Connection
    from integrations.sync.apply import apply_record
    from integrations.sync.records import store_record

    _, _, twilio = systems
    api = client_for(team.coordinator)
    url = f"/api/integrations/wedding/{team.wedding.pk}/announce/"
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(url, {"text": STORM, "emergency": True}, format="json").status_code == 202
    twilio.wait_for_deliveries()

    [announcement] = api.get(url).json()
    assert (announcement["text"], announcement["emergency"]) == (STORM, True)
    states = {d["destination"]: d for d in announcement["deliveries"]}
    assert len(states) == 3 and {d["status"] for d in states.values()} == {"sent"}
    assert states["+447700900111"]["organization"] == "Hartwell Manor"

    venue_number = Connection.objects.get(provider="twilio")

    def text_back(sid: str, text: str) -> str:
        reply = ExternalRecord(
            resource="messages",
            kind="message",
            external_id=sid,
            fields={
                "text": text,
                "from": "+44 7700 900111",
                "to": twilio.phone_number,
                "direction": "inbound",
            },
            modified=timezone.now() + dt.timedelta(seconds=5),
        )
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            _, link = store_record(venue_number, reply)
            return apply_record(venue_number, link, reply)

    assert text_back("SM-reply-1", "On it: chairs moving now").startswith("acknowledged")
    assert not text_back("SM-reply-2", "Done!").startswith("acknowledged")  # answered already

    states = {d["destination"]: d for d in api.get(url).json()[0]["deliveries"]}
    answered = states["+447700900111"]
    assert answered["acknowledged_at"] and answered["reply"] == "On it: chairs moving now"
    assert states["+447700900222"]["acknowledged_at"] is None
    assert IntegrationEvent.objects.filter(
        wedding=team.wedding, summary__contains="answered the announcement"
    ).exists()
    assert client_for(team.outsider).get(url).status_code == 404


def test_the_console_lists_announcements_with_how_many_were_answered(
    team, systems, client_for, admin_client
):
    from messaging.models import Announcement

    url = f"/api/integrations/wedding/{team.wedding.pk}/announce/"
    client_for(team.coordinator).post(url, {"text": STORM}, format="json")
    page = admin_client.get("/admin/messaging/announcement/")
    assert page.status_code == 200 and "0 of 3" in page.content.decode()
    announcement = Announcement.objects.get()
    detail = admin_client.get(f"/admin/messaging/announcement/{announcement.pk}/change/")
    assert detail.status_code == 200 and "+447700900222" in detail.content.decode()
