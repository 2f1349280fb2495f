"""A vendor sets where announcements reach them on their connection's page: Slack's channel,
the numbers to text and Twilio's sending number; bad values are named and nothing is saved; an
announcement then goes there; staff and outsiders cannot change it."""

from __future__ import annotations

import pytest

from integrations.models import OutboundChange
from integrations.sync.announce import announce
from tests.integrations.providers.conftest import make_connection

pytestmark = pytest.mark.django_db
TWILIO = {"username": "AC" + "0" * 32, "password": "0" * 32}


@pytest.fixture
def twilio_link(team):
    return make_connection(team.planner_org, "twilio", TWILIO, config={"region": "ie1"})


def page(client, connection) -> str:
    return client.get(f"/integrations/connections/{connection.pk}/").content.decode()


def save(client, connection, **values):
    return client.post(f"/integrations/connections/{connection.pk}/announcements/", values)


def test_numbers_typed_as_people_write_them_are_saved_and_an_announcement_goes_to_them(
    team, client, twilio_link
):
    client.force_login(team.coordinator)
    assert 'id="announcement-settings"' in page(client, twilio_link)

    response = save(
        client,
        twilio_link,
        notify="+44 7700 900111, +44 (0)7700-900222\n+447700900111",
        from_number="+44 7700 900000",
    )

    assert response.status_code == 302
    twilio_link.refresh_from_db()
    assert twilio_link.config == {
        "region": "ie1",  # what else the config held is kept
        "notify": ["+447700900111", "+447700900222"],
        "from_number": "+447700900000",
    }
    sent = announce(team.wedding, "Storm: ceremony in the orangery", emergency=True, author="Eva")
    assert sorted(d["to"] for d in sent.deliveries) == ["+447700900111", "+447700900222"]
    assert OutboundChange.objects.filter(connection=twilio_link).count() == 2


def test_a_bad_number_or_a_missing_sending_number_is_named_and_nothing_is_saved(
    team, client, twilio_link
):
    client.force_login(team.coordinator)
    bad = save(client, twilio_link, notify="+44 7700 900111, call Ana", from_number="+447700900000")
    assert bad.status_code == 400
    assert "&#x27;call Ana&#x27; is not a phone number" in bad.content.decode()
    missing = save(client, twilio_link, notify="+44 7700 900111", from_number="")
    assert missing.status_code == 400
    assert "texts need the number they are sent from" in missing.content.decode()
    twilio_link.refresh_from_db()
    assert twilio_link.config == {"region": "ie1"}


def test_slack_takes_a_channel_and_clearing_it_stops_announcements(team, client):
    slack = make_connection(team.planner_org, "slack", {"bot_token": "xoxb-" + "1" * 40})
    client.force_login(team.coordinator)
    assert "Numbers to tell" not in page(client, slack)
    assert save(client, slack, channel="#not a channel").status_code == 400
    assert save(client, slack, channel="#ana-and-ben").status_code == 302
    slack.refresh_from_db()
    assert slack.config == {"channel": "#ana-and-ben"}
    assert save(client, slack, channel="").status_code == 302
    slack.refresh_from_db()
    assert slack.config == {}


def test_staff_see_no_form_and_cannot_change_it_and_outsiders_get_404(team, client, twilio_link):
    client.force_login(team.staff)
    assert 'id="announcement-settings"' not in page(client, twilio_link)
    assert save(client, twilio_link, notify="+447700900111").status_code == 404
    client.force_login(team.outsider)
    assert save(client, twilio_link, notify="+447700900111").status_code == 404
    twilio_link.refresh_from_db()
    assert twilio_link.config == {"region": "ie1"}


def test_a_provider_that_sends_no_announcements_has_no_such_settings(team, client):
    stripe = make_connection(team.planner_org, "stripe", {"secret_key": "sk_test_" + "1" * 24})
    client.force_login(team.coordinator)
    assert 'id="announcement-settings"' not in page(client, stripe)
    assert save(client, stripe, channel="#x").status_code == 404
