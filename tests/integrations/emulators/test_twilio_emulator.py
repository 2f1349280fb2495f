"""Contract tests for the Twilio emulator, over real HTTP with `requests`.

The contract is VENDORS.md section D3 and the Twilio notes after section F (HTTP Basic
AccountSid:AuthToken, `next_page_uri` paging, 429 with code 20429, form-encoded webhooks signed
with X-Twilio-Signature) and the section E test vector. Signatures are recomputed here with
hmac and checked with the hub's own verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qs

import pytest
import requests

from integrations.providers.messaging.twilio.emulator import TwilioEmulator, signature
from integrations.webhooks.verify import Delivery, VerificationError, verify
from tests.integrations.emulators.conftest import Receiver, serving

# VENDORS.md section E, "Twilio".
VECTOR_TOKEN = "12345"
VECTOR_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
VECTOR_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
VECTOR_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


@pytest.fixture
def twilio():
    with TwilioEmulator() as emulator:
        yield emulator


def get(twilio, path, *, auth=None, **params):
    return requests.get(
        twilio.base_url + path,
        auth=auth or (twilio.account_sid, twilio.auth_token),
        params=params,
        timeout=5,
    )


def by_hand(token: str, url: str, params: dict[str, str]) -> str:
    message = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(
        hmac.new(token.encode(), message.encode(), hashlib.sha1).digest()
    ).decode()


def test_the_signature_reproduces_the_vendors_vector():
    assert signature(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS) == VECTOR_SIGNATURE
    assert by_hand(VECTOR_TOKEN, VECTOR_URL, VECTOR_PARAMS) == VECTOR_SIGNATURE


def test_the_account_answers_to_its_sid_and_token_only(twilio):
    path = f"/2010-04-01/Accounts/{twilio.account_sid}.json"

    good = get(twilio, path)
    bad_token = get(twilio, path, auth=(twilio.account_sid, "0" * 32))
    no_auth = requests.get(twilio.base_url + path, timeout=5)
    other = get(twilio, f"/2010-04-01/Accounts/AC{'1' * 32}.json")

    assert good.status_code == 200
    assert (good.json()["sid"], good.json()["friendly_name"]) == (
        twilio.account_sid,
        "Lumen Photography",
    )
    for refused in (bad_token, no_auth):
        assert refused.status_code == 401
        assert refused.json() == {
            "code": 20003,
            "message": "Authenticate",
            "more_info": "https://www.twilio.com/docs/errors/20003",
            "status": 401,
        }
    assert other.status_code == 404 and other.json()["code"] == 20404


def test_messages_page_newest_first_through_next_page_uri(twilio):
    made = [
        twilio.add_message(f"m{n}", from_="+447700900001", to=twilio.phone_number, at=1.7e9 + n)
        for n in range(120)
    ]

    seen, pages = [], 0
    response = get(twilio, twilio.messages_path, PageSize=50)
    while True:
        assert response.status_code == 200
        body = response.json()
        pages += 1
        seen += [m["sid"] for m in body["messages"]]
        if not body["next_page_uri"]:
            break
        assert body["next_page_uri"].startswith(twilio.messages_path + "?")
        response = requests.get(
            twilio.base_url + body["next_page_uri"],
            auth=(twilio.account_sid, twilio.auth_token),
            timeout=5,
        )

    assert pages == 3 and seen == [m["sid"] for m in reversed(made)]
    one = get(twilio, f"/2010-04-01/Accounts/{twilio.account_sid}/Messages/{made[0]['sid']}.json")
    assert one.json()["body"] == "m0" and one.json()["date_sent"] == made[0]["date_sent"]
    missing = get(twilio, f"/2010-04-01/Accounts/{twilio.account_sid}/Messages/SM{'0' * 32}.json")
    assert missing.status_code == 404 and missing.json()["code"] == 20404


def test_a_rate_limit_answers_429_with_code_20429(twilio):
    twilio.inject_fault(429, path_prefix="/2010-04-01")

    limited = get(twilio, twilio.messages_path)
    after = get(twilio, twilio.messages_path)

    assert limited.status_code == 429 and limited.json()["code"] == 20429
    assert after.status_code == 200


def test_sending_queues_then_sends_and_calls_back_signed(twilio):
    with serving(Receiver(), "/status") as receiver:
        created = requests.post(
            twilio.base_url + twilio.messages_path,
            auth=(twilio.account_sid, twilio.auth_token),
            data={
                "To": "+447700900456",
                "From": twilio.phone_number,
                "Body": "See you at 2",
                "StatusCallback": receiver.url,
            },
            timeout=5,
        )
        [delivery] = twilio.wait_for_deliveries()

    assert created.status_code == 201 and created.json()["status"] == "queued"
    assert created.json()["direction"] == "outbound-api"
    assert twilio.messages()[0]["status"] == "sent"
    [(body, headers)] = receiver.received
    params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    assert (params["MessageSid"], params["MessageStatus"]) == (created.json()["sid"], "sent")
    assert headers["X-Twilio-Signature"] == by_hand(twilio.auth_token, receiver.url, params)
    assert delivery.status_code == 200


def test_sending_without_to_body_or_own_number_is_refused(twilio):
    def send(**form):
        return requests.post(
            twilio.base_url + twilio.messages_path,
            auth=(twilio.account_sid, twilio.auth_token),
            data=form,
            timeout=5,
        )

    assert send(From=twilio.phone_number, Body="x").json()["code"] == 21604
    assert send(To="+447700900456", From=twilio.phone_number).json()["code"] == 21602
    assert send(To="+447700900456", From="+15005550006", Body="x").json()["code"] == 21606
    assert twilio.messages() == []


def test_an_inbound_sms_is_stored_and_posted_signed_as_the_hub_verifies_it(twilio):
    with serving(Receiver(), "/sms?org=1") as receiver:
        twilio.set_sms_url(receiver.url)
        message = twilio.receive_sms("running 20 minutes late", from_="+447700900789")
        [delivery] = twilio.wait_for_deliveries()

    [(body, headers)] = receiver.received
    params = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert (params["MessageSid"], params["Body"], params["SmsStatus"]) == (
        message["sid"],
        "running 20 minutes late",
        "received",
    )
    assert (params["AccountSid"], params["To"]) == (twilio.account_sid, twilio.phone_number)
    assert headers["X-Twilio-Signature"] == by_hand(twilio.auth_token, receiver.url, params)
    received = Delivery(body=body, headers=headers, url=receiver.url, query={"org": "1"})
    verify("twilio", received, twilio.auth_token)
    with pytest.raises(VerificationError):
        verify("twilio", received, "f" * 32)
    assert delivery.status_code == 200 and twilio.messages()[0]["direction"] == "inbound"
