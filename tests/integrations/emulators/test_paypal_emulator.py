"""Contract tests for the PayPal emulator, over real HTTP with `requests`.

The contract is VENDORS.md section C3 and the PayPal notes after section F (OAuth client
credentials, the transmission headers, the verify-webhook-signature postback), the section E
test vector, and PayPal's REST error envelope. Signatures are also checked offline against the
certificate that PAYPAL-CERT-URL serves, and through the hub's own verification helpers.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from integrations.providers.payments.paypal.emulator import (
    PayPalEmulator,
    crc32_of,
    signed_string,
)
from integrations.webhooks.verify import Delivery, paypal_verification_request, verify
from tests.integrations.emulators.conftest import Receiver

VECTOR_BODY = b'{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED"}'
VERIFY_PATH = "/v1/notifications/verify-webhook-signature"
HEADER_NAMES = (
    "PAYPAL-TRANSMISSION-ID",
    "PAYPAL-TRANSMISSION-TIME",
    "PAYPAL-TRANSMISSION-SIG",
    "PAYPAL-CERT-URL",
    "PAYPAL-AUTH-ALGO",
)


@dataclass
class Account:
    emu: PayPalEmulator
    app: dict[str, str]
    token: str

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}", **kwargs.pop("headers", {})}
        return requests.request(
            method, self.emu.base_url + path, headers=headers, timeout=5, **kwargs
        )

    def verify(self, **fields: Any) -> requests.Response:
        return self.call("POST", VERIFY_PATH, json=fields)


def request_token(emu: PayPalEmulator, client_id: str, secret: str, **form) -> requests.Response:
    return requests.post(
        emu.base_url + "/v1/oauth2/token",
        auth=(client_id, secret),
        data=form or {"grant_type": "client_credentials"},
        timeout=5,
    )


@pytest.fixture
def account() -> Iterator[Account]:
    with PayPalEmulator() as emu:
        app = emu.add_app()
        token = request_token(emu, app["client_id"], app["client_secret"]).json()["access_token"]
        yield Account(emu, app, token)


def verify_fields(body: bytes, headers: dict[str, str], webhook_id: str) -> dict[str, Any]:
    """The verify-webhook-signature request a hub builds from one delivery."""
    return {
        "auth_algo": headers["Paypal-Auth-Algo"],
        "cert_url": headers["Paypal-Cert-Url"],
        "transmission_id": headers["Paypal-Transmission-Id"],
        "transmission_sig": headers["Paypal-Transmission-Sig"],
        "transmission_time": headers["Paypal-Transmission-Time"],
        "webhook_id": webhook_id,
        "webhook_event": json.loads(body),
    }


def delivered(account: Account, receiver: Receiver, **send) -> tuple[dict[str, Any], str]:
    """Send one capture event to the receiver; the verify fields and the webhook id."""
    webhook = account.emu.add_webhook(receiver.url)
    capture = account.emu.add_capture(custom_id="w-42")
    event = account.emu.event_for(capture, "PAYMENT.CAPTURE.COMPLETED")
    answer = account.emu.send_webhook(receiver.url, event, webhook["id"], **send)
    assert answer.status_code == 200
    body, headers = receiver.received[-1]
    return verify_fields(body, headers, webhook["id"]), webhook["id"]


# -- OAuth ------------------------------------------------------------------------------------


def test_the_right_credentials_get_a_bearer_token():
    with PayPalEmulator() as emu:
        app = emu.add_app("client-abc", "secret-xyz")

        response = request_token(emu, "client-abc", "secret-xyz")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"scope", "access_token", "token_type", "app_id", "expires_in", "nonce"}
    assert (body["token_type"], body["expires_in"], body["app_id"]) == (
        "Bearer",
        32400,
        app["app_id"],
    )
    assert body["app_id"].startswith("APP-") and body["access_token"]


@pytest.mark.parametrize(
    ("client_id", "secret"), [("client-abc", "wrong"), ("nobody", "secret-xyz"), ("", "")]
)
def test_wrong_credentials_are_invalid_client(client_id, secret):
    with PayPalEmulator() as emu:
        emu.add_app("client-abc", "secret-xyz")

        response = request_token(emu, client_id, secret)

    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Client Authentication failed",
    }


def test_no_basic_auth_at_all_is_invalid_client(account):
    response = requests.post(
        account.emu.base_url + "/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        timeout=5,
    )

    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


@pytest.mark.parametrize("form", [{"grant_type": "password"}, {"scope": "openid"}])
def test_a_wrong_or_missing_grant_type_is_unsupported(account, form):
    response = request_token(
        account.emu, account.app["client_id"], account.app["client_secret"], **form
    )

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"
    assert response.json()["error_description"]


# -- Bearer auth and errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token-we-issued"},
        {"Authorization": "Basic Y2xpZW50OnNlY3JldA=="},
    ],
)
def test_api_calls_without_a_valid_bearer_token_are_authentication_failures(account, headers):
    capture = account.emu.add_capture()

    response = requests.get(
        f"{account.emu.base_url}/v2/payments/captures/{capture['id']}", headers=headers, timeout=5
    )

    assert response.status_code == 401
    body = response.json()
    assert body["name"] == "AUTHENTICATION_FAILURE"
    assert body["message"] == (
        "Authentication failed due to invalid authentication credentials or a missing "
        "Authorization header."
    )
    assert body["links"][0]["rel"] == "information_link"


def test_an_expired_token_is_refused(account):
    start = account.emu.clock()
    account.emu.clock = lambda: start + 32400 + 1

    response = account.call("GET", "/v1/notifications/webhooks")

    assert (response.status_code, response.json()["name"]) == (401, "AUTHENTICATION_FAILURE")


def test_a_capture_is_fetched_and_an_unknown_one_is_resource_not_found(account):
    capture = account.emu.add_capture(
        custom_id="w-42", invoice_id="INV-7", amount={"currency_code": "EUR", "value": "1500.00"}
    )

    found = account.call("GET", f"/v2/payments/captures/{capture['id']}")
    missing = account.call("GET", "/v2/payments/captures/0NOSUCHCAPTURE000")

    assert found.status_code == 200
    body = found.json()
    assert body == capture
    assert (body["status"], body["custom_id"], body["invoice_id"], body["final_capture"]) == (
        "PENDING",
        "w-42",
        "INV-7",
        True,
    )
    assert body["amount"] == {"currency_code": "EUR", "value": "1500.00"}
    assert body["create_time"].endswith("Z") and body["update_time"] == body["create_time"]
    assert {link["rel"] for link in body["links"]} == {"self", "refund"}
    assert missing.status_code == 404
    error = missing.json()
    assert (error["name"], error["message"]) == (
        "RESOURCE_NOT_FOUND",
        "The specified resource does not exist.",
    )
    assert error["debug_id"] and error["details"][0]["issue"] == "INVALID_RESOURCE_ID"
    assert missing.headers["Paypal-Debug-Id"] == error["debug_id"]


def test_an_injected_rate_limit_answers_in_paypals_envelope(account):
    account.emu.inject_fault(429, retry_after=3, path_prefix="/v2/payments")

    limited = account.call("GET", "/v2/payments/captures/ANY")

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    body = limited.json()
    assert (body["name"], body["message"]) == (
        "RATE_LIMIT_REACHED",
        "Too many requests. Blocked due to rate limiting.",
    )
    assert body["debug_id"] and isinstance(body["details"], list)
    assert account.call("GET", "/v2/payments/captures/ANY").status_code == 404


def test_webhook_configurations_are_listed(account):
    made = account.emu.add_webhook(
        "https://hub.example/webhooks/paypal", ["PAYMENT.CAPTURE.COMPLETED"]
    )

    listed = account.call("GET", "/v1/notifications/webhooks").json()

    assert made["id"].startswith("WH-") and len(made["id"]) == 20
    assert made["id"][3:].isalnum() and made["id"][3:].isupper()
    assert listed == {
        "webhooks": [
            {
                "id": made["id"],
                "url": "https://hub.example/webhooks/paypal",
                "event_types": [{"name": "PAYMENT.CAPTURE.COMPLETED"}],
            }
        ]
    }


# -- signatures -------------------------------------------------------------------------------


def test_the_crc_reproduces_the_vendors_md_test_vector():
    assert crc32_of(VECTOR_BODY) == 2325436976
    assert signed_string("tid", "2026-11-29T21:00:00Z", "WH-X", VECTOR_BODY) == (
        "tid|2026-11-29T21:00:00Z|WH-X|2325436976"
    )


def test_a_delivery_carries_paypals_headers_and_verifies_offline_with_the_served_cert(
    account, receiver
):
    _, webhook_id = delivered(account, receiver, transmission_time="2026-11-29T21:00:00Z")
    body, headers = receiver.received[0]

    assert all(name.title() in headers for name in HEADER_NAMES)
    assert headers["Content-Type"] == "application/json"
    assert headers["Paypal-Auth-Algo"] == "SHA256withRSA"
    assert headers["Paypal-Transmission-Time"] == "2026-11-29T21:00:00Z"
    assert headers["Paypal-Cert-Url"] == account.emu.cert_url
    assert "/v1/notifications/certs/CERT-" in headers["Paypal-Cert-Url"]
    pem = requests.get(headers["Paypal-Cert-Url"], timeout=5)  # public, no Authorization
    certificate = x509.load_pem_x509_certificate(pem.content)
    message = signed_string(
        headers["Paypal-Transmission-Id"], "2026-11-29T21:00:00Z", webhook_id, body
    )
    certificate.public_key().verify(
        base64.b64decode(headers["Paypal-Transmission-Sig"]),
        message.encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
    event = json.loads(body)
    assert (event["event_type"], event["resource_type"], event["event_version"]) == (
        "PAYMENT.CAPTURE.COMPLETED",
        "capture",
        "1.0",
    )
    assert event["id"].startswith("WH-") and event["resource"]["custom_id"] == "w-42"


def test_a_delivered_webhook_verifies_through_the_api(account, receiver):
    fields, _ = delivered(account, receiver)

    response = account.verify(**fields)

    assert response.status_code == 200
    assert response.json() == {"verification_status": "SUCCESS"}


def test_the_hubs_own_verification_request_succeeds(account, receiver):
    _, webhook_id = delivered(account, receiver)
    body, headers = receiver.received[0]
    delivery = Delivery(body=body, headers=headers, url=receiver.url, query={})

    verify("paypal", delivery, "")
    response = account.verify(**paypal_verification_request(delivery, webhook_id))

    assert response.json() == {"verification_status": "SUCCESS"}


def changed_event(fields: dict[str, Any]) -> dict[str, Any]:
    event = copy.deepcopy(fields["webhook_event"])
    event["resource"]["amount"]["value"] = "1.00"
    return {"webhook_event": event}


@pytest.mark.parametrize(
    "change",
    [
        lambda account, fields: {
            "webhook_id": account.emu.add_webhook("http://127.0.0.1:9/")["id"]
        },
        lambda account, fields: {"webhook_id": "WH-NOTACONFIGURATION"},
        lambda account, fields: changed_event(fields),
        lambda account, fields: {"transmission_id": "00000000-0000-0000-0000-000000000000"},
        lambda account, fields: {"transmission_time": "2000-01-01T00:00:00Z"},
        lambda account, fields: {"cert_url": "https://api.paypal.com/v1/notifications/certs/X"},
        lambda account, fields: {"auth_algo": "SHA1withRSA"},
        lambda account, fields: {"transmission_sig": "bm90IGEgc2lnbmF0dXJl"},
        lambda account, fields: {"transmission_sig": "%%% not base64 %%%"},
    ],
    ids=[
        "other-webhook",
        "unknown-webhook",
        "changed-event",
        "unknown-transmission",
        "other-time",
        "other-cert-url",
        "other-algo",
        "wrong-signature",
        "garbled-signature",
    ],
)
def test_anything_that_does_not_match_the_delivery_is_a_failure(account, receiver, change):
    fields, _ = delivered(account, receiver)

    response = account.verify(**{**fields, **change(account, fields)})

    assert response.status_code == 200
    assert response.json() == {"verification_status": "FAILURE"}


def test_a_signature_by_another_key_is_a_failure(account, receiver):
    fields, _ = delivered(account, receiver, sign_with_other_key=True)

    response = account.verify(**fields)

    assert response.json() == {"verification_status": "FAILURE"}


@pytest.mark.parametrize("missing", ["transmission_sig", "webhook_id", "webhook_event"])
def test_a_missing_field_is_an_invalid_request_naming_it(account, receiver, missing):
    fields, _ = delivered(account, receiver)
    del fields[missing]

    response = account.verify(**fields)

    assert response.status_code == 400
    body = response.json()
    assert body["name"] == "INVALID_REQUEST"
    assert body["details"][0]["field"] == missing


def test_verification_needs_a_bearer_token(account, receiver):
    fields, _ = delivered(account, receiver)

    response = requests.post(account.emu.base_url + VERIFY_PATH, json=fields, timeout=5)

    assert (response.status_code, response.json()["name"]) == (401, "AUTHENTICATION_FAILURE")


# -- capture events ---------------------------------------------------------------------------


def test_completing_a_capture_delivers_payment_capture_completed(account, receiver):
    webhook = account.emu.add_webhook(receiver.url, ["PAYMENT.CAPTURE.COMPLETED"])
    capture = account.emu.add_capture(custom_id="w-42", create_time="2026-11-01T10:00:00Z")

    completed = account.emu.complete_capture(capture["id"])
    deliveries = account.emu.wait_for_deliveries()

    assert completed["status"] == "COMPLETED" and "status_details" not in completed
    assert completed["update_time"] != "2026-11-01T10:00:00Z"
    assert [(d.webhook_id, d.status_code) for d in deliveries] == [(webhook["id"], 200)]
    body, headers = receiver.received[0]
    event = json.loads(body)
    assert event["event_type"] == "PAYMENT.CAPTURE.COMPLETED"
    assert event["resource"]["id"] == capture["id"]
    assert event["resource"]["status"] == "COMPLETED"
    assert event["summary"] == "Payment completed for EUR 500.00 EUR"
    assert headers["Paypal-Transmission-Id"] == deliveries[0].transmission_id
    assert account.verify(**verify_fields(body, headers, webhook["id"])).json() == {
        "verification_status": "SUCCESS"
    }
    fetched = account.call("GET", f"/v2/payments/captures/{capture['id']}").json()
    assert fetched["status"] == "COMPLETED"
    with pytest.raises(ValueError, match="not PENDING"):
        account.emu.complete_capture(capture["id"])


def test_each_status_change_sends_its_event_to_matching_webhooks_only(account, receiver):
    account.emu.add_webhook(receiver.url)  # "*": every event
    account.emu.add_webhook(receiver.url, ["PAYMENT.CAPTURE.REFUNDED"])
    denied = account.emu.add_capture()
    refunded = account.emu.add_capture(status="COMPLETED")

    account.emu.update_capture(denied["id"], status="DECLINED")
    account.emu.update_capture(refunded["id"], status="REFUNDED")
    account.emu.update_capture(refunded["id"], note_to_payer="thanks")  # no status change
    deliveries = account.emu.wait_for_deliveries()

    assert [e["event_type"] for e in account.emu.events()] == [
        "PAYMENT.CAPTURE.DENIED",
        "PAYMENT.CAPTURE.REFUNDED",
    ]
    assert len(deliveries) == 3 and all(d.status_code == 200 for d in deliveries)
    received = sorted(json.loads(body)["event_type"] for body, _ in receiver.received)
    assert received == [
        "PAYMENT.CAPTURE.DENIED",
        "PAYMENT.CAPTURE.REFUNDED",
        "PAYMENT.CAPTURE.REFUNDED",
    ]


def test_reset_forgets_apps_tokens_and_transmissions(account, receiver):
    fields, _ = delivered(account, receiver)

    requests.post(account.emu.base_url + "/_emulator/reset", timeout=5)

    assert account.call("GET", "/v1/notifications/webhooks").status_code == 401
    assert account.emu.captures() == []
    app = account.emu.add_app()
    token = request_token(account.emu, app["client_id"], app["client_secret"]).json()
    again = account.call("POST", VERIFY_PATH, token=token["access_token"], json=fields)
    assert again.json() == {"verification_status": "FAILURE"}
