"""WhatsApp Cloud API over HTTP against its emulator (no mocks): linking with a system-user
token and the phone number id, sending a text, Meta's hub.challenge handshake answered on the
connection's own URL, and message webhooks signed with the App Secret, verified by the hub's
real per-connection endpoint (live server), stored once and applied with the records the body
carries (WhatsApp has no API to fetch a message back).

WhatsApp signs no timestamp: a webhook sent again byte for byte verifies again, and the dedup
key (the wamid, plus the status for a status; the body's hash for a delivery of several items)
is what catches a replay."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from integrations import services
from integrations.adapters.base import Change
from integrations.errors import ProviderError
from integrations.models import InboundEvent, RecordLink
from integrations.providers.messaging.whatsapp.emulator import WhatsAppEmulator
from integrations.registry import get_provider
from tests.integrations.providers.conftest import make_connection

COUPLE = "447700900789"


@pytest.fixture
def whatsapp(settings):
    with WhatsAppEmulator() as emulator:
        settings.PROVIDER_ORIGINS = {"whatsapp": emulator.base_url}
        yield emulator


def credentials(whatsapp, token=None):
    return {
        "access_token": token or whatsapp.access_token,
        "phone_number_id": whatsapp.phone_number_id,
    }


def adapter(vendor, whatsapp):
    return services.adapter_for(make_connection(vendor[0], "whatsapp", credentials(whatsapp)))


def test_good_credentials_name_the_number(whatsapp):
    account = services.test_credentials(get_provider("whatsapp"), credentials(whatsapp))

    assert (account.account_id, account.account_name) == (
        whatsapp.phone_number_id,
        "Lumen Photography",
    )
    [call] = whatsapp.requests
    assert call.path == f"/v21.0/{whatsapp.phone_number_id}"
    assert call.headers["Authorization"] == f"Bearer {whatsapp.access_token}"


def test_a_bad_token_is_refused_and_never_quoted(whatsapp, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "EAA" + "x" * 60

    with pytest.raises(ProviderError) as raised:
        services.test_credentials(get_provider("whatsapp"), credentials(whatsapp, wrong))

    error = raised.value
    assert (error.kind, error.status, error.permanent) == ("invalid_credentials", 401, True)
    assert error.message == "190: Invalid OAuth access token - Cannot parse access token"
    assert wrong not in str(error) and wrong not in caplog.text


def test_a_token_not_from_meta_is_refused_before_any_call(whatsapp, vendor):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as raised:
        services.connect(
            organization=vendor[0],
            provider="whatsapp",
            credentials=credentials(whatsapp, "xoxb-not-a-meta-token-at-all"),
        )
    assert "access_token" in raised.value.message_dict
    assert "xoxb-not-a-meta-token-at-all" not in str(raised.value)
    assert whatsapp.requests == []


def test_a_throttled_call_is_retried_then_surfaced(whatsapp):
    spec = get_provider("whatsapp")
    whatsapp.inject_fault(429, times=1, path_prefix="/v21.0")
    assert services.test_credentials(spec, credentials(whatsapp)).account_id

    whatsapp.inject_fault(429, times=3, path_prefix="/v21.0")
    with pytest.raises(ProviderError) as raised:
        services.test_credentials(spec, credentials(whatsapp))
    assert (raised.value.kind, raised.value.message) == (
        "rate_limited",
        "130429: (#130429) Rate limit hit",
    )


def test_a_push_sends_a_text_from_the_connections_number(whatsapp, vendor):
    hub = adapter(vendor, whatsapp)
    change = Change(
        "messages", "create", {"text": "Ceremony moved to 3pm", "to": "+44 7700 900789"}, "m1"
    )

    result = hub.push(change)

    [message] = whatsapp.messages()
    assert result.external_id == message["id"] and message["id"].startswith("wamid.")
    assert (message["text"]["body"], message["to"]) == ("Ceremony moved to 3pm", COUPLE)
    [send] = [r for r in whatsapp.requests if r.method == "POST"]
    assert send.path == f"/v21.0/{whatsapp.phone_number_id}/messages"
    assert send.json() == {
        "messaging_product": "whatsapp",
        "to": COUPLE,
        "type": "text",
        "text": {"body": "Ceremony moved to 3pm"},
    }
    with pytest.raises(ProviderError) as raised:
        hub.push(Change("messages", "update", {"text": "x"}, "m1", external_id=result.external_id))
    assert raised.value.kind == "invalid_request" and raised.value.permanent
    with pytest.raises(ProviderError, match="needs to"):
        hub.push(Change("messages", "create", {"text": "hi"}, "m2"))


def test_a_send_that_fails_unclearly_is_not_repeated(whatsapp, vendor):
    hub = adapter(vendor, whatsapp)
    whatsapp.inject_fault(503, times=1, path_prefix="/v21.0")

    with pytest.raises(ProviderError) as raised:
        hub.push(Change("messages", "create", {"text": "hi", "to": COUPLE}, "m1"))

    assert raised.value.kind == "unavailable"
    assert len([r for r in whatsapp.requests if r.method == "POST"]) == 1
    assert whatsapp.messages() == []


# -- webhooks through the hub's endpoint ------------------------------------------------------


@pytest.fixture
def linked(whatsapp, vendor, live_server):
    """A WhatsApp connection with the App Secret, whose app's callback is the connection's URL
    with the verify token the hub shows for it."""
    connection = make_connection(
        vendor[0], "whatsapp", credentials(whatsapp), webhook_secret=whatsapp.app_secret
    )
    url = f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
    whatsapp.set_callback(url, connection.webhook_verify_token)
    return connection, url


def stored(connection):
    return list(InboundEvent.objects.filter(connection=connection).order_by("received_at"))


@pytest.mark.django_db(transaction=True)
def test_the_callback_check_is_answered_with_the_challenge_for_the_right_token(whatsapp, linked):
    connection, _ = linked
    token = connection.webhook_verify_token
    assert token and whatsapp.app_secret not in token

    answer, challenge = whatsapp.verify_callback()
    wrong, _ = whatsapp.verify_callback(verify_token="not-the-token")
    secret, _ = whatsapp.verify_callback(verify_token=whatsapp.app_secret)

    assert (answer.status_code, answer.text) == (200, challenge)
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert (wrong.status_code, wrong.text) == (403, "forbidden")
    assert secret.status_code == 403
    assert stored(connection) == []


@pytest.mark.django_db(transaction=True)
def test_each_connection_has_its_own_verify_token_shown_on_its_page(
    whatsapp, linked, vendor, client
):
    connection, _ = linked
    other = make_connection(vendor[0], "whatsapp", credentials(whatsapp))
    assert other.webhook_verify_token != connection.webhook_verify_token
    answer, _ = whatsapp.verify_callback(verify_token=other.webhook_verify_token)
    assert answer.status_code == 403

    client.force_login(vendor[1])
    page = client.get(f"/integrations/connections/{connection.pk}/").content.decode()

    assert connection.webhook_verify_token in page
    assert f"/api/integrations/inbound/{connection.webhook_token}/" in page
    assert whatsapp.app_secret not in page and whatsapp.access_token not in page


@pytest.mark.django_db(transaction=True)
def test_a_signed_inbound_message_is_stored_once_and_lands_as_a_message(
    whatsapp, linked, eager_celery
):
    connection, _ = linked

    message = whatsapp.receive_text("running 20 minutes late", from_=COUPLE, name="Ana")
    [delivery] = whatsapp.wait_for_deliveries()

    assert delivery.status_code == 200
    [event] = stored(connection)
    assert (event.event_type, event.status, event.dedup_key) == (
        "messages",
        "processed",
        f"id:{message['id']}",
    )
    assert whatsapp.app_secret not in str(event.headers) + bytes(event.body).decode()
    link = RecordLink.objects.get(connection=connection, external_id=message["id"])
    assert (link.kind, link.resource) == ("message", "messages")
    assert {k: link.snapshot[k] for k in ("text", "from", "direction", "status")} == {
        "text": "running 20 minutes late",
        "from": COUPLE,
        "direction": "inbound",
        "status": "received",
    }
    assert whatsapp.requests == []  # nothing fetched back: the body is the record


@pytest.mark.django_db(transaction=True)
def test_a_delivery_of_several_messages_and_statuses_stores_each(whatsapp, linked, eager_celery):
    connection, url = linked
    first = whatsapp.text_message("hello", from_=COUPLE)
    second = whatsapp.text_message("are you there?", from_=COUPLE)
    value = {
        **whatsapp.inbound_value(first),
        "messages": [first, second],
        **whatsapp.status_value("wamid.SENT1", "delivered", COUPLE),
    }
    other_number = whatsapp.envelope(
        whatsapp.inbound_value(whatsapp.text_message("x", from_=COUPLE))
    )
    other_number["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999999999"
    body = whatsapp.envelope(value)
    body["entry"].append(other_number["entry"][0])

    response = whatsapp.send_webhook(url, body)

    assert response.status_code == 200
    [event] = stored(connection)
    assert event.status == "processed" and event.dedup_key.startswith("sha256:")
    links = {
        link.external_id: link.snapshot for link in RecordLink.objects.filter(connection=connection)
    }
    assert set(links) == {first["id"], second["id"], "wamid.SENT1"}
    assert links[second["id"]]["text"] == "are you there?"
    assert (links["wamid.SENT1"]["status"], links["wamid.SENT1"]["direction"]) == (
        "delivered",
        "outbound",
    )


def changed_byte(whatsapp, url, body):
    raw = whatsapp.encode(body)
    return whatsapp.send_webhook(
        url, raw.replace(b"see you soon", b"see you sooN"), signed_body=raw
    )


REFUSALS = {
    "wrong-secret": lambda whatsapp, url, body: whatsapp.send_webhook(
        url, body, app_secret="f" * 32
    ),
    "changed-byte": changed_byte,
    "no-signature-header": lambda whatsapp, url, body: whatsapp.send_webhook(url, body, sign=False),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_webhook_not_signed_with_the_app_secret_over_this_body_is_refused(
    whatsapp, linked, eager_celery, caplog, case
):
    connection, url = linked
    body = whatsapp.envelope(
        whatsapp.inbound_value(whatsapp.text_message("see you soon", from_=COUPLE))
    )

    response = REFUSALS[case](whatsapp, url, body)

    assert response.status_code == 401
    assert response.json()["error"].startswith("signature verification failed")
    assert stored(connection) == [] and not RecordLink.objects.exists()
    assert whatsapp.app_secret not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_repeated_webhook_is_processed_once_and_a_later_status_is_not_a_duplicate(
    whatsapp, linked, eager_celery
):
    connection, url = linked
    message = whatsapp.text_message("see you soon", from_=COUPLE)
    body = whatsapp.envelope(whatsapp.inbound_value(message))

    first = whatsapp.send_webhook(url, body)
    again = whatsapp.send_webhook(url, body)
    sent = whatsapp.envelope(whatsapp.status_value("wamid.OUT", "sent", COUPLE))
    read = whatsapp.envelope(whatsapp.status_value("wamid.OUT", "read", COUPLE))
    status_answers = [whatsapp.send_webhook(url, b).status_code for b in (sent, read)]

    assert (first.status_code, again.status_code, status_answers) == (200, 200, [200, 200])
    assert again.json() == {"status": "duplicate"}
    assert [(e.dedup_key, e.status) for e in stored(connection)] == [
        (f"id:{message['id']}", "processed"),
        ("id:wamid.OUT:sent", "processed"),
        ("id:wamid.OUT:read", "processed"),
    ]
    assert RecordLink.objects.get(external_id="wamid.OUT").snapshot["status"] == "read"


@pytest.mark.django_db(transaction=True)
def test_statuses_update_a_sent_message_and_keep_its_text(whatsapp, linked, eager_celery):
    connection, url = linked
    sent_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    RecordLink.objects.create(  # as the push that sent it left it
        connection=connection,
        resource="messages",
        external_id="wamid.OUT",
        kind="message",
        source_modified=sent_at,
        snapshot={"text": "The ceremony moves to 16:00", "to": COUPLE, "status": "accepted"},
    )
    for status in ("delivered", "read"):
        whatsapp.send_webhook(
            url, whatsapp.envelope(whatsapp.status_value("wamid.OUT", status, COUPLE))
        )

    snapshot = RecordLink.objects.get(external_id="wamid.OUT").snapshot
    assert snapshot["text"] == "The ceremony moves to 16:00"
    assert (snapshot["status"], snapshot["direction"]) == ("read", "outbound")


@pytest.mark.django_db(transaction=True)
def test_a_connection_without_the_app_secret_refuses_webhooks(whatsapp, linked):
    connection, url = linked
    connection.webhook_secret = None
    connection.save()
    body = whatsapp.envelope(whatsapp.inbound_value(whatsapp.text_message("hi", from_=COUPLE)))

    response = whatsapp.send_webhook(url, body)

    assert response.status_code == 401 and not InboundEvent.objects.exists()


def test_the_app_secret_is_pasted_and_checked_against_its_shape(whatsapp, vendor):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="does not look like a WhatsApp app secret"):
        services.connect(
            organization=vendor[0],
            provider="whatsapp",
            credentials=credentials(whatsapp),
            webhook_secret="not hex",
        )
    connection = services.connect(
        organization=vendor[0],
        provider="whatsapp",
        credentials=credentials(whatsapp),
        webhook_secret=whatsapp.app_secret,
    )
    assert connection.webhook_verification_secret == whatsapp.app_secret
    assert connection.external_account_name == "Lumen Photography"
