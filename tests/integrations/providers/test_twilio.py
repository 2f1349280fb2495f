"""Twilio over HTTP against its emulator (no mocks): linking with the Account SID and Auth
Token, pulls that follow next_page_uri, sending an SMS, and inbound-SMS webhooks signed with the
Auth Token, verified by the hub's real per-connection endpoint (live server), stored once and
applied with the message as Twilio's API holds it.

Twilio signs no timestamp: a webhook sent again byte for byte verifies again, and the dedup key
(MessageSid, plus MessageStatus for status callbacks) is what catches a replay."""

from __future__ import annotations

import logging

import pytest

from integrations import services
from integrations.adapters.base import Change
from integrations.errors import ProviderError
from integrations.models import InboundEvent, RecordLink
from integrations.registry import get_provider
from integrations.webhooks.ingest import EMPTY_TWIML
from tests.integrations.providers.conftest import make_connection

COUPLE = "+447700900789"


def credentials(twilio, token=None):
    return {"username": twilio.account_sid, "password": token or twilio.auth_token}


def adapter(vendor, twilio, **config):
    return services.adapter_for(
        make_connection(vendor[0], "twilio", credentials(twilio), config=config)
    )


def test_good_credentials_name_the_account(twilio):
    account = services.test_credentials(get_provider("twilio"), credentials(twilio))

    assert (account.account_id, account.account_name) == (twilio.account_sid, "Lumen Photography")
    [call] = twilio.requests
    assert call.path == f"/2010-04-01/Accounts/{twilio.account_sid}.json"


def test_a_bad_token_is_refused_and_never_quoted(twilio, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "0123456789abcdef" * 2

    with pytest.raises(ProviderError) as raised:
        services.test_credentials(get_provider("twilio"), credentials(twilio, wrong))

    error = raised.value
    assert (error.kind, error.status, error.permanent) == ("invalid_credentials", 401, True)
    assert error.message == "20003: Authenticate"
    assert wrong not in str(error) and wrong not in caplog.text


def test_a_pull_pages_through_next_page_uri(twilio, vendor):
    made = [
        twilio.add_message(f"text {n}", from_=COUPLE, to=twilio.phone_number, at=1.7e9 + n * 60)
        for n in range(230)
    ]

    result = adapter(vendor, twilio).pull("messages")

    assert result.full and [r.external_id for r in result.records] == [
        m["sid"] for m in reversed(made)
    ]
    record = result.records[-1]
    assert (record.kind, record.resource) == ("message", "messages")
    assert record.fields == {
        "text": "text 0",
        "from": COUPLE,
        "to": twilio.phone_number,
        "direction": "inbound",
        "status": "received",
        "sent_at": made[0]["date_sent"],
        "updated_at": made[0]["date_updated"],
    }
    assert record.modified.timestamp() == 1.7e9
    pages = [r for r in twilio.requests if r.path == twilio.messages_path]
    assert len(pages) == 3 and pages[0].query["PageSize"] == ["100"]
    assert [("PageToken" in r.query) for r in pages] == [False, True, True]


def test_an_incremental_pull_keeps_what_changed_after_the_cursor(twilio, vendor):
    old = [
        twilio.add_message(f"old {n}", from_=COUPLE, to=twilio.phone_number, at=1.7e9 + n)
        for n in range(5)
    ]
    hub = adapter(vendor, twilio)
    first = hub.pull("messages")
    new = twilio.add_message("new", from_=COUPLE, to=twilio.phone_number, at=1.7e9 + 100)

    second = hub.pull("messages", first.cursor)

    # the cursor's own second is read again: Twilio's times are whole seconds, so a message
    # updated in it after the first pull would carry the same time
    found = {r.external_id for r in second.records}
    assert not second.full and found == {new["sid"], old[-1]["sid"]}
    assert twilio.requests[-1].query["DateSent>"] == ["2023-11-14"]


def test_a_rate_limit_is_retried_then_surfaced(twilio, vendor):
    hub = adapter(vendor, twilio)
    twilio.inject_fault(429, times=1, path_prefix="/2010-04-01")
    assert hub.pull("messages").records == []

    twilio.inject_fault(429, times=3, path_prefix="/2010-04-01")
    with pytest.raises(ProviderError) as raised:
        hub.pull("messages")
    assert (raised.value.kind, raised.value.message) == ("rate_limited", "20429: Too Many Requests")


def test_a_push_sends_an_sms_from_the_connections_number(twilio, vendor):
    hub = adapter(vendor, twilio, from_number=twilio.phone_number)
    change = Change("messages", "create", {"text": "Ceremony moved to 3pm", "to": COUPLE}, "m1")

    result = hub.push(change)
    twilio.wait_for_deliveries()

    [message] = twilio.messages()
    assert result.external_id == message["sid"] and result.raw["status"] == "queued"
    assert (message["body"], message["to"], message["from"], message["status"]) == (
        "Ceremony moved to 3pm",
        COUPLE,
        twilio.phone_number,
        "sent",
    )
    with pytest.raises(ProviderError) as raised:
        hub.push(Change("messages", "update", {"text": "x"}, "m1", external_id=result.external_id))
    assert raised.value.kind == "invalid_request" and raised.value.permanent
    with pytest.raises(ProviderError, match="needs From"):
        adapter(vendor, twilio).push(change)


# -- webhooks through the hub's endpoint ------------------------------------------------------


@pytest.fixture
def linked(twilio, vendor, live_server):
    """A Twilio connection whose number's SMS webhook is the connection's URL."""
    connection = make_connection(vendor[0], "twilio", credentials(twilio))
    url = f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
    twilio.set_sms_url(url)
    return connection, url


def stored(connection):
    return list(InboundEvent.objects.filter(connection=connection).order_by("received_at"))


@pytest.mark.django_db(transaction=True)
def test_a_signed_inbound_sms_is_stored_once_fetched_back_and_answered_with_twiml(
    twilio, linked, eager_celery
):
    connection, _ = linked

    message = twilio.receive_sms("running 20 minutes late", from_=COUPLE)
    [delivery] = twilio.wait_for_deliveries()

    assert delivery.status_code == 200
    assert delivery.content_type.startswith("text/xml") and delivery.text == EMPTY_TWIML
    [event] = stored(connection)
    assert (event.event_type, event.status, event.dedup_key) == (
        "received",
        "processed",
        f"id:{message['sid']}",
    )
    assert twilio.auth_token not in str(event.headers) + bytes(event.body).decode()
    link = RecordLink.objects.get(connection=connection, external_id=message["sid"])
    assert (link.kind, link.resource) == ("message", "messages")
    assert (link.snapshot["text"], link.snapshot["from"]) == ("running 20 minutes late", COUPLE)
    fetched = f"/2010-04-01/Accounts/{twilio.account_sid}/Messages/{message['sid']}.json"
    assert [r.path for r in twilio.requests] == [fetched]


@pytest.mark.django_db(transaction=True)
def test_what_is_stored_is_what_twilios_api_holds_not_the_webhooks_body(
    twilio, linked, eager_celery
):
    connection, url = linked
    message = twilio.add_message("on our way", from_=COUPLE, to=twilio.phone_number)
    params = {**twilio.inbound_params(message), "Body": "cancel everything"}

    response = twilio.send_webhook(url, params)

    assert response.status_code == 200
    link = RecordLink.objects.get(connection=connection, external_id=message["sid"])
    assert link.snapshot["text"] == "on our way"


def changed_param(twilio, url, params):
    return twilio.send_webhook(url, {**params, "Body": "changed"}, signed_params=params)


REFUSALS = {
    "wrong-token": lambda twilio, url, params: twilio.send_webhook(
        url, params, auth_token="f" * 32
    ),
    "changed-param": changed_param,
    "no-signature-header": lambda twilio, url, params: twilio.send_webhook(url, params, sign=False),
    "other-url": lambda twilio, url, params: twilio.send_webhook(
        url, params, signed_url=url.replace("localhost", "127.0.0.1")
    ),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_webhook_not_signed_with_this_token_for_this_url_is_refused(
    twilio, linked, eager_celery, caplog, case
):
    connection, url = linked
    message = twilio.add_message("on our way", from_=COUPLE, to=twilio.phone_number)
    twilio.requests.clear()

    response = REFUSALS[case](twilio, url, twilio.inbound_params(message))

    assert response.status_code == 401
    assert response.json()["error"].startswith("signature verification failed")
    assert stored(connection) == [] and not RecordLink.objects.exists()
    assert twilio.requests == []
    assert twilio.auth_token not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_repeated_webhook_is_processed_once_and_a_later_status_is_not_a_duplicate(
    twilio, linked, eager_celery
):
    connection, url = linked
    message = twilio.add_message("see you soon", from_=COUPLE, to=twilio.phone_number)
    params = twilio.inbound_params(message)

    first = twilio.send_webhook(url, params)
    again = twilio.send_webhook(url, params)
    sent = {**twilio.status_params({**message, "status": "sent"})}
    delivered = {**twilio.status_params({**message, "status": "delivered"})}
    status_answers = [twilio.send_webhook(url, p).status_code for p in (sent, delivered)]

    assert (first.status_code, again.status_code, status_answers) == (200, 200, [200, 200])
    assert [(e.dedup_key, e.status) for e in stored(connection)] == [
        (f"id:{message['sid']}", "processed"),
        (f"id:{message['sid']}:sent", "processed"),
        (f"id:{message['sid']}:delivered", "processed"),
    ]
    fetches = [r for r in twilio.requests if r.path.endswith(f"{message['sid']}.json")]
    assert len(fetches) == 3


@pytest.mark.django_db(transaction=True)
def test_a_connection_has_its_webhook_secret_from_the_auth_token(twilio, linked):
    connection, url = linked
    assert connection.has_webhook_secret and connection.webhook_secret is None
    connection.credentials = None
    connection.save()
    message = twilio.add_message("hi", from_=COUPLE, to=twilio.phone_number)

    response = twilio.send_webhook(url, twilio.inbound_params(message))

    assert response.status_code == 401 and not InboundEvent.objects.exists()


def test_a_pasted_webhook_secret_is_refused_for_twilio(twilio, vendor):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="not verified with a value you paste"):
        services.connect(
            organization=vendor[0],
            provider="twilio",
            credentials=credentials(twilio),
            webhook_secret="a" * 32,
        )
