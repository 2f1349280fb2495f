"""Contract tests for the Square emulator, over real HTTP with `requests`.

The contract is VENDORS.md section C2 and the Square notes after section F (Bearer token plus
`Square-Version`, cursor pagination, 429 `RATE_LIMITED`, the notification body and its
headers), the section E test vector, the legacy SHA-1 header of section G, and Square's
`{"errors": [...]}` envelope. Signatures are recomputed here with hmac and checked with the
hub's own verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest
import requests

from integrations.providers.payments.square.emulator import (
    SquareEmulator,
    hmac_sha256_signature,
    legacy_signature,
)
from integrations.webhooks.verify import Delivery, VerificationError, verify
from tests.integrations.emulators.conftest import Receiver, serving

VERSION = "2025-10-16"
DAY_S = 24 * 3600
# VENDORS.md section E, "Square".
VECTOR_KEY = "sq_sig_key"
VECTOR_URL = "https://example.com/webhooks/square"
VECTOR_BODY = (
    b'{"merchant_id":"M1","type":"payment.updated","event_id":"e1",'
    b'"created_at":"2024-01-01T00:00:00Z","data":{"type":"payment","id":"p1",'
    b'"object":{"payment":{"id":"p1","status":"COMPLETED"}}}}'
)
VECTOR_SIGNATURE = "jw52LUFXOuqE6Yctexa7kcSOvIiAjqdtF8KYBV97G8Q="


@dataclass
class Seller:
    emu: SquareEmulator
    token: str

    def call(
        self, path: str, *, token: str | None = None, version: str | None = VERSION, **params
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        if version is not None:
            headers["Square-Version"] = version
        return requests.get(self.emu.base_url + path, headers=headers, params=params, timeout=5)


@pytest.fixture
def seller() -> Iterator[Seller]:
    with SquareEmulator(business_name="Lumen Photography") as emu:
        yield Seller(emu, emu.add_access_token())


def lowered(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def error_of(response: requests.Response) -> dict[str, str]:
    [error] = response.json()["errors"]
    return error


# -- auth and Square-Version ------------------------------------------------------------------


def test_the_merchant_and_its_locations_are_served(seller):
    merchant = seller.call("/v2/merchants/me")
    by_id = seller.call(f"/v2/merchants/{seller.emu.merchant['id']}")
    other = seller.call("/v2/merchants/MLSOMEBODYELSE")
    locations = seller.call("/v2/locations").json()["locations"]
    main = seller.call("/v2/locations/main").json()["location"]

    body = merchant.json()["merchant"]
    assert merchant.status_code == 200 and by_id.json() == merchant.json()
    assert (body["business_name"], body["currency"], body["status"]) == (
        "Lumen Photography",
        "GBP",
        "ACTIVE",
    )
    assert len(body["id"]) == 13 and body["id"].isupper()
    assert [location["id"] for location in locations] == [body["main_location_id"]]
    assert main == locations[0] and main["merchant_id"] == body["id"]
    assert (other.status_code, error_of(other)["code"]) == (404, "NOT_FOUND")


def test_a_token_is_square_shaped():
    with SquareEmulator() as emu:
        token = emu.add_access_token()

    assert token.startswith("EAAA") and len(token) == 64


@pytest.mark.parametrize(
    "authorization",
    ["Bearer EAAAnotatokenthisemulatorissued000000000000000000000000000000", "Basic dG9rZW4="],
)
def test_a_token_the_seller_did_not_issue_is_unauthorized(seller, authorization):
    response = requests.get(
        seller.emu.base_url + "/v2/locations",
        headers={"Authorization": authorization, "Square-Version": VERSION},
        timeout=5,
    )

    assert response.status_code == 401
    assert error_of(response) == {
        "category": "AUTHENTICATION_ERROR",
        "code": "UNAUTHORIZED",
        "detail": "This request could not be authorized.",
    }


def test_no_authorization_header_is_unauthorized_and_says_so(seller):
    response = requests.get(
        seller.emu.base_url + "/v2/locations", headers={"Square-Version": VERSION}, timeout=5
    )

    assert response.status_code == 401
    error = error_of(response)
    assert (error["category"], error["code"]) == ("AUTHENTICATION_ERROR", "UNAUTHORIZED")
    assert "`Authorization` http header" in error["detail"]


def test_a_revoked_token_is_refused(seller):
    assert seller.call("/v2/locations").status_code == 200

    seller.emu.revoke_access_token(seller.token)

    assert seller.call("/v2/locations").status_code == 401


def test_square_version_is_required_on_every_call(seller):
    missing = seller.call("/v2/merchants/me", version=None)

    assert missing.status_code == 400
    assert error_of(missing) == {
        "category": "INVALID_REQUEST_ERROR",
        "code": "MISSING_REQUIRED_PARAMETER",
        "detail": "The Square-Version header is required.",
        "field": "Square-Version",
    }
    assert seller.call("/v2/payments", version=None).status_code == 400


@pytest.mark.parametrize("version", ["latest", "2025-13-45", "2025-10-16T00:00:00Z", "20251016"])
def test_a_malformed_square_version_is_refused(seller, version):
    response = seller.call("/v2/locations", version=version)

    assert response.status_code == 400
    assert error_of(response)["code"] == "INVALID_SQUARE_VERSION_FORMAT"


def test_auth_is_checked_before_the_version(seller):
    response = requests.get(seller.emu.base_url + "/v2/locations", timeout=5)

    assert (response.status_code, error_of(response)["code"]) == (401, "UNAUTHORIZED")


def test_an_injected_rate_limit_answers_rate_limited_then_recovers(seller):
    seller.emu.inject_fault(429, path_prefix="/v2/payments")

    limited = seller.call("/v2/payments")
    after = seller.call("/v2/payments")

    assert limited.status_code == 429
    assert "Retry-After" not in limited.headers  # Square documents none
    assert error_of(limited) == {
        "category": "RATE_LIMIT_ERROR",
        "code": "RATE_LIMITED",
        "detail": "Rate limit exceeded.",
    }
    assert after.status_code == 200


def test_injected_server_errors_and_unknown_routes_use_squares_envelope(seller):
    seller.emu.inject_fault(503)

    unavailable = seller.call("/v2/payments")
    unknown = seller.call("/v2/refunds")

    assert unavailable.status_code == 503
    assert (error_of(unavailable)["category"], error_of(unavailable)["code"]) == (
        "API_ERROR",
        "SERVICE_UNAVAILABLE",
    )
    assert (unknown.status_code, error_of(unknown)["code"]) == (404, "NOT_FOUND")


# -- payments ---------------------------------------------------------------------------------


def test_a_payment_is_fetched_by_id_and_an_unknown_one_is_not_found(seller):
    payment = seller.emu.add_payment(150000, reference_id="w-42", note="Deposit")

    found = seller.call(f"/v2/payments/{payment['id']}")
    missing = seller.call("/v2/payments/NoSuchPayment000000000000000")

    assert found.status_code == 200
    body = found.json()["payment"]
    assert body == payment
    assert body["amount_money"] == {"amount": 150000, "currency": "GBP"}
    assert (body["status"], body["reference_id"], body["note"]) == ("COMPLETED", "w-42", "Deposit")
    assert body["location_id"] == seller.emu.main_location_id
    assert len(body["id"]) == 29 and body["version_token"]
    assert body["created_at"].endswith("Z") and body["updated_at"] == body["created_at"]
    assert missing.status_code == 404
    assert error_of(missing) == {
        "category": "INVALID_REQUEST_ERROR",
        "code": "NOT_FOUND",
        "detail": "Could not find payment with id: NoSuchPayment000000000000000",
    }


def test_payments_page_through_with_the_cursor_newest_first(seller):
    start = time.time() - 30 * DAY_S
    made = [seller.emu.add_payment(1000 + n, created_at=start + n * 60) for n in range(250)]

    pages, cursor = [], None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        body = seller.call("/v2/payments", **params).json()
        pages.append(body["payments"])
        cursor = body.get("cursor")
        if cursor is None:
            break

    assert [len(page) for page in pages] == [100, 100, 50]
    listed = [payment["id"] for page in pages for payment in page]
    assert listed == [payment["id"] for payment in reversed(made)]


def test_the_default_page_is_a_hundred_and_a_larger_limit_is_capped(seller):
    for n in range(120):
        seller.emu.add_payment(100 + n)

    default = seller.call("/v2/payments").json()
    large = seller.call("/v2/payments", limit="500").json()
    zero = seller.call("/v2/payments", limit="0")

    assert len(default["payments"]) == 100 and default["cursor"]
    assert len(large["payments"]) == 100
    assert (zero.status_code, error_of(zero)["field"]) == (400, "limit")


def test_a_cursor_serves_only_the_query_that_made_it(seller):
    for n in range(3):
        seller.emu.add_payment(100 + n)
    cursor = seller.call("/v2/payments", limit="1").json()["cursor"]

    same = seller.call("/v2/payments", limit="1", cursor=cursor)
    other_query = seller.call("/v2/payments", limit="2", cursor=cursor)
    garbage = seller.call("/v2/payments", limit="1", cursor="not-a-cursor")

    assert same.status_code == 200 and len(same.json()["payments"]) == 1
    for refused in (other_query, garbage):
        assert refused.status_code == 400
        assert (error_of(refused)["code"], error_of(refused)["field"]) == (
            "INVALID_CURSOR",
            "cursor",
        )


def test_sort_field_updated_at_puts_the_latest_change_first(seller):
    start = time.time() - DAY_S
    older = seller.emu.add_payment(100, created_at=start)
    newer = seller.emu.add_payment(200, created_at=start + 60)
    seller.emu.update_payment(older["id"], note="changed")

    by_created = seller.call("/v2/payments").json()["payments"]
    by_updated = seller.call("/v2/payments", sort_field="UPDATED_AT").json()["payments"]
    ascending = seller.call("/v2/payments", sort_field="UPDATED_AT", sort_order="ASC").json()
    bad = seller.call("/v2/payments", sort_field="AMOUNT")

    assert [p["id"] for p in by_created] == [newer["id"], older["id"]]
    assert [p["id"] for p in by_updated] == [older["id"], newer["id"]]
    assert [p["id"] for p in ascending["payments"]] == [newer["id"], older["id"]]
    assert (bad.status_code, error_of(bad)["code"]) == (400, "INVALID_ENUM_VALUE")


def test_the_default_window_is_the_past_year_by_creation(seller):
    old = seller.emu.add_payment(100, created_at=time.time() - 400 * DAY_S)
    recent = seller.emu.add_payment(200)

    default = seller.call("/v2/payments").json()["payments"]
    widened = seller.call("/v2/payments", begin_time="2013-01-01T00:00:00Z").json()["payments"]
    bad = seller.call("/v2/payments", begin_time="yesterday")

    assert [p["id"] for p in default] == [recent["id"]]
    assert [p["id"] for p in widened] == [recent["id"], old["id"]]
    assert (bad.status_code, error_of(bad)["code"]) == (400, "INVALID_TIME")


def test_updated_at_bounds_filter_by_the_last_change(seller):
    start = time.time() - DAY_S
    untouched = seller.emu.add_payment(100, created_at=start)
    touched = seller.emu.add_payment(200, created_at=start)
    changed = seller.emu.update_payment(touched["id"], status="FAILED")

    since = seller.call("/v2/payments", updated_at_begin_time=changed["updated_at"]).json()
    until = seller.call("/v2/payments", updated_at_end_time=untouched["updated_at"]).json()

    assert [p["id"] for p in since["payments"]] == [touched["id"]]
    assert [p["id"] for p in until["payments"]] == [untouched["id"]]


def test_only_the_main_location_is_listed_unless_location_id_says_otherwise(seller):
    annex = seller.emu.add_location("Lumen Photography: Studio 2")
    at_main = seller.emu.add_payment(100)
    at_annex = seller.emu.add_payment(200, location_id=annex["id"])

    default = seller.call("/v2/payments").json()["payments"]
    annex_only = seller.call("/v2/payments", location_id=annex["id"]).json()["payments"]
    unknown = seller.call("/v2/payments", location_id="LNOSUCHPLACE0")

    assert [p["id"] for p in default] == [at_main["id"]]
    assert [p["id"] for p in annex_only] == [at_annex["id"]]
    assert (unknown.status_code, error_of(unknown)["field"]) == (400, "location_id")


def test_nothing_to_list_is_an_empty_object(seller):
    response = seller.call("/v2/payments")

    assert response.status_code == 200 and response.json() == {}


def test_an_update_changes_updated_at_and_the_version_token(seller):
    payment = seller.emu.add_payment(100, status="APPROVED")

    completed = seller.emu.complete_payment(payment["id"])

    assert completed["status"] == "COMPLETED" and completed["card_details"]["status"] == "CAPTURED"
    assert completed["updated_at"] > payment["updated_at"]
    assert completed["version_token"] != payment["version_token"]
    assert completed["created_at"] == payment["created_at"]
    with pytest.raises(ValueError, match="not APPROVED"):
        seller.emu.complete_payment(payment["id"])


# -- webhooks ---------------------------------------------------------------------------------


def test_the_signature_reproduces_the_vendors_md_test_vector():
    assert hmac_sha256_signature(VECTOR_KEY, VECTOR_URL, VECTOR_BODY) == VECTOR_SIGNATURE
    sha1 = hmac.new(VECTOR_KEY.encode(), VECTOR_URL.encode() + VECTOR_BODY, hashlib.sha1)
    assert (
        legacy_signature(VECTOR_KEY, VECTOR_URL, VECTOR_BODY)
        == base64.b64encode(sha1.digest()).decode()
    )


def test_a_delivery_is_signed_over_the_notification_url_and_the_raw_body(seller, receiver):
    subscription = seller.emu.add_webhook_subscription(receiver.url)

    payment = seller.emu.add_payment(150000, reference_id="w-42")
    [delivery] = seller.emu.wait_for_deliveries()

    assert (delivery.subscription_id, delivery.status_code) == (subscription["id"], 200)
    body, raw_headers = receiver.received[0]
    headers = lowered(raw_headers)
    key = subscription["signature_key"].encode()
    message = receiver.url.encode() + body
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    legacy = base64.b64encode(hmac.new(key, message, hashlib.sha1).digest()).decode()
    assert headers["x-square-hmacsha256-signature"] == expected
    assert headers["x-square-signature"] == legacy
    assert headers["content-type"] == "application/json"
    assert headers["square-environment"] == "Production"
    datetime.fromisoformat(headers["square-initial-delivery-timestamp"].replace("Z", "+00:00"))
    event = json.loads(body)
    assert set(event) == {"merchant_id", "type", "event_id", "created_at", "data"}
    assert (event["type"], event["merchant_id"]) == ("payment.created", seller.emu.merchant["id"])
    assert event["event_id"] == delivery.event_id == seller.emu.events()[0]["event_id"]
    assert event["data"]["type"] == "payment" and event["data"]["id"] == payment["id"]
    assert event["data"]["object"]["payment"] == payment
    delivered = Delivery(body=body, headers=raw_headers, url=receiver.url, query={})
    verify("square", delivered, subscription["signature_key"])  # the hub's verifier agrees


def test_the_legacy_header_alone_does_not_satisfy_the_hubs_verifier(seller, receiver):
    key = "4SN1MzYWrZbVrAb3dc-H8g"
    event = seller.emu.event_for(seller.emu.add_payment(100), "payment.updated")

    seller.emu.send_webhook(receiver.url, event, key, sha256=False)

    [(body, headers)] = receiver.received
    assert lowered(headers)["x-square-signature"] == legacy_signature(key, receiver.url, body)
    assert "x-square-hmacsha256-signature" not in lowered(headers)
    delivered = Delivery(body=body, headers=headers, url=receiver.url, query={})
    with pytest.raises(VerificationError, match="missing signature header"):
        verify("square", delivered, key)


def test_each_event_goes_to_the_enabled_subscriptions_that_want_its_type(seller, receiver):
    everything = seller.emu.add_webhook_subscription(receiver.url)
    updates = seller.emu.add_webhook_subscription(receiver.url, event_types=["payment.updated"])
    seller.emu.add_webhook_subscription(receiver.url, enabled=False)
    seller.emu.add_webhook_subscription(receiver.url, event_types=["refund.created"])

    payment = seller.emu.add_payment(100, status="APPROVED")
    seller.emu.complete_payment(payment["id"])
    deliveries = seller.emu.wait_for_deliveries()

    assert [e["type"] for e in seller.emu.events()] == ["payment.created", "payment.updated"]
    assert sorted((d.subscription_id, d.status_code) for d in deliveries) == sorted(
        [(everything["id"], 200), (everything["id"], 200), (updates["id"], 200)]
    )
    received = sorted(json.loads(body)["type"] for body, _ in receiver.received)
    assert received == ["payment.created", "payment.updated", "payment.updated"]
    updated = [json.loads(body) for body, _ in receiver.received]
    assert {e["data"]["object"]["payment"]["status"] for e in updated} == {"APPROVED", "COMPLETED"}


def test_deliveries_are_sent_in_the_background(seller):
    gate = threading.Event()

    class SlowReceiver(Receiver):
        def __call__(self, environ, start_response):
            gate.wait(5)
            return super().__call__(environ, start_response)

    with serving(SlowReceiver(), "/webhooks") as slow:
        seller.emu.add_webhook_subscription(slow.url)

        seller.emu.add_payment(100)  # returns while the receiver is still holding the POST
        assert slow.received == []
        gate.set()
        [delivery] = seller.emu.wait_for_deliveries()

    assert delivery.status_code == 200 and len(slow.received) == 1


def test_a_subscription_behind_a_proxy_is_signed_for_its_notification_url(seller, receiver):
    public = "https://hub.example/api/integrations/inbound/abc/"
    subscription = seller.emu.add_webhook_subscription(public, deliver_to=receiver.url)

    seller.emu.add_payment(100)
    [delivery] = seller.emu.wait_for_deliveries()

    body, headers = receiver.received[0]
    key = subscription["signature_key"]
    assert delivery.url == receiver.url
    assert lowered(headers)["x-square-hmacsha256-signature"] == hmac_sha256_signature(
        key, public, body
    )
    verify("square", Delivery(body=body, headers=headers, url=public, query={}), key)
    with pytest.raises(VerificationError, match="bad signature"):
        verify("square", Delivery(body=body, headers=headers, url=receiver.url, query={}), key)


def test_notification_urls_must_be_https_except_on_loopback(seller):
    with pytest.raises(ValueError, match="https"):
        seller.emu.add_webhook_subscription("http://hub.example/webhooks/square")

    made = seller.emu.add_webhook_subscription("http://127.0.0.1:9/webhooks/square")

    assert made["id"].startswith("wbhk_") and len(made["id"]) == 37
    assert len(made["signature_key"]) == 22 and made["api_version"] == VERSION


def test_reset_forgets_tokens_payments_and_subscriptions(seller, receiver):
    seller.emu.add_webhook_subscription(receiver.url)
    seller.emu.add_payment(100)
    seller.emu.wait_for_deliveries()

    requests.post(seller.emu.base_url + "/_emulator/reset", timeout=5)

    assert seller.call("/v2/locations").status_code == 401
    assert seller.emu.payments() == [] and seller.emu.events() == []
    token = seller.emu.add_access_token()
    seller.emu.add_payment(100)
    assert seller.emu.wait_for_deliveries() == []  # the subscription is gone
    assert len(seller.call("/v2/payments", token=token).json()["payments"]) == 1
