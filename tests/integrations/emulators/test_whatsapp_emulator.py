"""Contract tests for the WhatsApp Cloud API emulator, over real HTTP with `requests`.

The contract is VENDORS.md section D4 and the WhatsApp notes after section F (Bearer token,
Graph's `{"error": {...}}` body with code 190 for a bad token, 130429 for throttling, webhooks
signed with X-Hub-Signature-256, the GET hub.challenge handshake) and the section E test vector.
Signatures are recomputed here with hmac and checked with the hub's own verifier.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field

import pytest
import requests
from werkzeug.wrappers import Request, Response

from integrations.providers.messaging.whatsapp.emulator import WhatsAppEmulator, signature
from integrations.webhooks.verify import Delivery, VerificationError, verify
from tests.integrations.emulators.conftest import serving

# VENDORS.md section E, "WhatsApp".
VECTOR_SECRET = "meta_app_secret"
VECTOR_BODY = b'{"object":"whatsapp_business_account","entry":[]}'
VECTOR_SIGNATURE = "sha256=e6ad1226d7dbb376b93779e72f6ea6cc56d514dbcb4b3fa023b679f8f0220325"


@pytest.fixture
def whatsapp():
    with WhatsAppEmulator() as emulator:
        yield emulator


def call(whatsapp, method, path, *, token=None, **kwargs):
    return requests.request(
        method,
        whatsapp.base_url + path,
        headers={"Authorization": f"Bearer {token or whatsapp.access_token}"},
        timeout=5,
        **kwargs,
    )


def test_the_signature_reproduces_the_vendors_vector():
    by_hand = hmac.new(VECTOR_SECRET.encode(), VECTOR_BODY, hashlib.sha256).hexdigest()
    assert signature(VECTOR_SECRET, VECTOR_BODY) == VECTOR_SIGNATURE == f"sha256={by_hand}"


def test_a_token_starts_with_eaa_and_the_number_is_served_with_it(whatsapp):
    assert whatsapp.access_token.startswith("EAA")

    answer = call(whatsapp, "GET", whatsapp.number_path)

    assert answer.status_code == 200
    body = answer.json()
    assert (body["id"], body["verified_name"], body["display_phone_number"]) == (
        whatsapp.phone_number_id,
        "Lumen Photography",
        "+44 7700 900123",
    )


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer EAAwrong", "Basic abc", "Bearer"],
    ids=["none", "wrong-token", "not-bearer", "empty"],
)
def test_anything_but_the_token_is_a_graph_oauth_error(whatsapp, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    answer = requests.get(whatsapp.base_url + whatsapp.number_path, headers=headers, timeout=5)

    assert answer.status_code == 401
    error = answer.json()["error"]
    assert (error["type"], error["code"]) == ("OAuthException", 190)
    assert error["fbtrace_id"] and error["message"]


def test_another_number_is_not_served(whatsapp):
    answer = call(whatsapp, "GET", "/v21.0/123456789012345")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == 100


def test_sending_a_text_returns_its_wamid_then_a_signed_sent_status(whatsapp, receiver):
    whatsapp.set_callback(receiver.url, "vt")
    payload = {
        "messaging_product": "whatsapp",
        "to": "447700900789",
        "type": "text",
        "text": {"body": "Ceremony moved to 3pm"},
    }

    answer = call(whatsapp, "POST", f"{whatsapp.number_path}/messages", json=payload)
    whatsapp.wait_for_deliveries()

    assert answer.status_code == 200
    body = answer.json()
    [sent] = body["messages"]
    assert sent["id"].startswith("wamid.")
    assert body["contacts"] == [{"input": "447700900789", "wa_id": "447700900789"}]
    [message] = whatsapp.messages()
    assert (message["id"], message["text"]["body"], message["status"]) == (
        sent["id"],
        "Ceremony moved to 3pm",
        "sent",
    )
    [(raw, headers)] = receiver.received
    verify("whatsapp", Delivery(raw, headers, receiver.url, {}), whatsapp.app_secret)
    [status] = json.loads(raw)["entry"][0]["changes"][0]["value"]["statuses"]
    assert (status["id"], status["status"], status["recipient_id"]) == (
        sent["id"],
        "sent",
        "447700900789",
    )


@pytest.mark.parametrize(
    "payload, code",
    [
        ({"to": "447700900789", "type": "text", "text": {"body": "x"}}, 100),
        ({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, 100),
        ({"messaging_product": "whatsapp", "to": "447700900789", "type": "text"}, 100),
        ({"messaging_product": "whatsapp", "to": "447700900789", "type": "image"}, 131000),
    ],
    ids=["no-product", "no-to", "no-body", "not-text"],
)
def test_a_malformed_send_is_a_400_and_nothing_is_sent(whatsapp, payload, code):
    answer = call(whatsapp, "POST", f"{whatsapp.number_path}/messages", json=payload)

    assert answer.status_code == 400 and answer.json()["error"]["code"] == code
    assert whatsapp.messages() == []


def test_an_inbound_text_is_posted_signed_in_the_background(whatsapp, receiver):
    whatsapp.set_callback(receiver.url, "vt")

    message = whatsapp.receive_text("running late", from_="+44 7700 900789", name="Ana")
    [delivery] = whatsapp.wait_for_deliveries()

    assert delivery.status_code == 200
    [(raw, headers)] = receiver.received
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Hub-Signature-256"] == signature(whatsapp.app_secret, raw)
    verify("whatsapp", Delivery(raw, headers, receiver.url, {}), whatsapp.app_secret)
    with pytest.raises(VerificationError):
        verify("whatsapp", Delivery(raw, headers, receiver.url, {}), "another-secret")
    body = json.loads(raw)
    assert body["object"] == "whatsapp_business_account"
    [entry] = body["entry"]
    [change] = entry["changes"]
    assert (entry["id"], change["field"]) == (whatsapp.waba_id, "messages")
    value = change["value"]
    assert value["metadata"]["phone_number_id"] == whatsapp.phone_number_id
    assert value["messages"] == [message]
    assert (message["from"], message["type"], message["text"]) == (
        "447700900789",
        "text",
        {"body": "running late"},
    )
    assert message["id"].startswith("wamid.") and message["timestamp"].isdigit()


def test_no_callback_no_delivery(whatsapp):
    whatsapp.receive_text("hello", from_="447700900789")
    assert whatsapp.wait_for_deliveries() == [] and len(whatsapp.messages()) == 1


@dataclass
class Challenger:
    """Answers Meta's GET like a well-behaved hub would, for the token "right"."""

    url: str = ""
    seen: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, environ, start_response):
        request = Request(environ)
        query = dict(request.args)
        self.seen.append(query)
        if query.get("hub.mode") == "subscribe" and query.get("hub.verify_token") == "right":
            answer = Response(query["hub.challenge"], content_type="text/plain")
        else:
            answer = Response("forbidden", status=403)
        return answer(environ, start_response)


def test_verifying_a_callback_sends_the_subscribe_get_with_the_token(whatsapp):
    with serving(Challenger(), "/hook") as app:
        whatsapp.set_callback(app.url, "right")
        answer, challenge = whatsapp.verify_callback()
        wrong, _ = whatsapp.verify_callback(verify_token="wrong")

    assert (answer.status_code, answer.text) == (200, challenge)
    assert app.seen[0] == {
        "hub.mode": "subscribe",
        "hub.challenge": challenge,
        "hub.verify_token": "right",
    }
    assert wrong.status_code == 403


def test_a_throttled_call_is_a_429_with_code_130429(whatsapp):
    whatsapp.inject_fault(429, retry_after=1, path_prefix="/v21.0")

    answer = call(whatsapp, "GET", whatsapp.number_path)

    assert answer.status_code == 429 and answer.headers["Retry-After"] == "1"
    error = answer.json()["error"]
    assert (error["code"], error["type"]) == (130429, "OAuthException")
    assert call(whatsapp, "GET", whatsapp.number_path).status_code == 200


def test_send_webhook_can_sign_wrongly_or_not_at_all(whatsapp, receiver):
    body = whatsapp.envelope({})
    whatsapp.send_webhook(receiver.url, body, app_secret="other")
    whatsapp.send_webhook(receiver.url, body, sign=False)

    (first, first_headers), (_, second_headers) = receiver.received
    assert first_headers["X-Hub-Signature-256"] == signature("other", first)
    assert "X-Hub-Signature-256" not in second_headers
