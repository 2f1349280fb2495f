"""Contract tests for the Stripe emulator, over real HTTP with `requests` and the stripe SDK.

The contract is VENDORS.md section C1 and the Stripe notes after section F (form bodies, list
objects, 429, the Stripe-Signature scheme), the section E test vector, and Stripe's pagination,
idempotency and error pages; signatures are checked with stripe-python's own verifier.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import stripe

from integrations.providers.payments.stripe.emulator import StripeEmulator, stripe_signature

VECTOR_SECRET = "whsec_test_secret"
VECTOR_BODY = '{"id":"evt_test_1","object":"event","type":"payment_intent.succeeded"}'
VECTOR_HEADER = "t=1700000000,v1=871acfe933554b446cc41d791076dd56a10c0553cc61aafbeb881d0082b45043"


@dataclass
class Account:
    emu: StripeEmulator
    key: str

    def call(self, method: str, path: str, key: str | None = None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {key or self.key}", **kwargs.pop("headers", {})}
        return requests.request(
            method, self.emu.base_url + path, headers=headers, timeout=5, **kwargs
        )

    def get(self, path: str, params: Any = None, **kwargs) -> requests.Response:
        return self.call("GET", path, params=params, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs) -> requests.Response:
        return self.call("POST", path, data=data, **kwargs)


@pytest.fixture
def account() -> Iterator[Account]:
    with StripeEmulator(business_name="Lumen Photography") as emu:
        yield Account(emu, emu.add_api_key())


def error_of(response: requests.Response) -> dict[str, Any]:
    return response.json()["error"]


# -- auth -------------------------------------------------------------------------------------


def test_a_missing_or_unknown_key_is_refused_in_stripes_envelope(account):
    missing = requests.get(account.emu.base_url + "/v1/account", timeout=5)
    wrong_key = "sk_test_notarealkeyatall00009876"
    unknown = account.get("/v1/account", key=wrong_key)

    assert missing.status_code == 401
    assert error_of(missing)["type"] == "invalid_request_error"
    assert error_of(missing)["message"].startswith("You did not provide an API key.")
    assert unknown.status_code == 401
    assert error_of(unknown) == {
        "message": "Invalid API Key provided: sk_test_********************9876",
        "type": "invalid_request_error",
    }
    assert wrong_key not in unknown.text
    assert unknown.headers["Request-Id"].startswith("req_")


def test_bearer_and_basic_auth_both_carry_the_secret_key(account):
    basic = base64.b64encode(f"{account.key}:".encode()).decode()
    by_basic = requests.get(
        account.emu.base_url + "/v1/account",
        headers={"Authorization": f"Basic {basic}"},
        timeout=5,
    )

    body = account.get("/v1/account").json()
    assert by_basic.json() == body
    assert body["object"] == "account" and body["id"].startswith("acct_")
    assert body["business_profile"]["name"] == "Lumen Photography"


def test_test_and_live_keys_see_separate_data(account):
    live_key = account.emu.add_api_key(live=True)
    test_intent = account.post("/v1/payment_intents", {"amount": 1000, "currency": "gbp"}).json()

    live_list = account.get("/v1/payment_intents", key=live_key).json()
    assert live_list["data"] == []
    hidden = account.get(f"/v1/payment_intents/{test_intent['id']}", key=live_key)
    assert hidden.status_code == 404
    assert test_intent["livemode"] is False
    live_intent = account.post(
        "/v1/payment_intents", {"amount": 1000, "currency": "gbp"}, key=live_key
    ).json()
    assert live_intent["livemode"] is True


def test_a_restricted_key_reads_but_cannot_write(account):
    restricted = account.emu.add_api_key(restricted=True)

    assert restricted.startswith("rk_test_")
    assert account.get("/v1/payment_intents", key=restricted).status_code == 200
    refused = account.post("/v1/payment_intents", {"amount": 1, "currency": "gbp"}, key=restricted)
    assert refused.status_code == 403
    assert "rak_payment_intent_write" in error_of(refused)["message"]
    assert restricted not in refused.text
    assert account.emu.payment_intents() == []


# -- payment intents --------------------------------------------------------------------------


def test_payment_intents_are_created_from_form_bodies_and_read_back(account):
    customer = account.post("/v1/customers", {"name": "Ana Silva"}).json()
    created = account.post(
        "/v1/payment_intents",
        {
            "amount": "150000",
            "currency": "GBP",
            "customer": customer["id"],
            "description": "Deposit: Ana & Ben",
            "metadata[wedding_id]": "w-42",
            "metadata[milestone]": "deposit",
            "payment_method_types[]": "card",
        },
    )

    assert created.status_code == 200
    intent = created.json()
    assert intent["id"].startswith("pi_") and intent["client_secret"].startswith(intent["id"])
    assert (intent["object"], intent["amount"], intent["currency"], intent["status"]) == (
        "payment_intent",
        150000,
        "gbp",
        "requires_payment_method",
    )
    assert intent["metadata"] == {"wedding_id": "w-42", "milestone": "deposit"}
    assert intent["payment_method_types"] == ["card"]
    assert intent["customer"] == customer["id"]
    assert account.get(f"/v1/payment_intents/{intent['id']}").json() == intent


@pytest.mark.parametrize(
    ("data", "status", "code", "param"),
    [
        ({"currency": "gbp"}, 400, "parameter_missing", "amount"),
        ({"amount": "lots", "currency": "gbp"}, 400, "parameter_invalid_integer", "amount"),
        ({"amount": 100, "currency": "gbp", "colour": "blue"}, 400, "parameter_unknown", "colour"),
        (
            {"amount": 100, "currency": "gbp", "customer": "cus_nobody"},
            400,
            "resource_missing",
            "customer",
        ),
    ],
)
def test_payment_intent_validation_names_the_parameter(account, data, status, code, param):
    response = account.post("/v1/payment_intents", data)

    assert response.status_code == status
    error = error_of(response)
    assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)
    assert error["doc_url"].startswith("https://stripe.com/docs/error-codes/")
    assert account.emu.payment_intents() == []


def test_a_json_body_is_refused_as_stripe_takes_forms(account):
    response = account.call("POST", "/v1/payment_intents", json={"amount": 100, "currency": "gbp"})

    assert response.status_code == 400
    assert "application/x-www-form-urlencoded" in error_of(response)["message"]


def test_updates_merge_metadata_and_final_intents_only_take_notes(account):
    intent = account.emu.add_payment_intent(50000, metadata={"wedding_id": "w-1", "old": "x"})
    events_before = len(account.emu.events())

    updated = account.post(
        f"/v1/payment_intents/{intent['id']}",
        {"amount": 60000, "metadata[old]": "", "metadata[milestone]": "final"},
    ).json()

    assert updated["amount"] == 60000
    assert updated["metadata"] == {"wedding_id": "w-1", "milestone": "final"}
    assert len(account.emu.events()) == events_before  # Stripe has no payment_intent.updated
    account.emu.succeed(intent["id"])
    refused = account.post(f"/v1/payment_intents/{intent['id']}", {"amount": 1000})
    assert refused.status_code == 400
    assert error_of(refused)["code"] == "payment_intent_unexpected_state"
    noted = account.post(f"/v1/payment_intents/{intent['id']}", {"description": "Paid in full"})
    assert noted.json()["description"] == "Paid in full"
    missing = account.post("/v1/payment_intents/pi_gone", {"description": "x"})
    assert (missing.status_code, error_of(missing)["code"], error_of(missing)["param"]) == (
        404,
        "resource_missing",
        "intent",
    )


def test_cancel_records_an_event_and_only_works_before_success(account):
    open_intent = account.emu.add_payment_intent(1000)
    paid = account.emu.add_payment_intent(2000)
    account.emu.succeed(paid["id"])

    canceled = account.post(
        f"/v1/payment_intents/{open_intent['id']}/cancel",
        {"cancellation_reason": "requested_by_customer"},
    ).json()
    too_late = account.post(f"/v1/payment_intents/{paid['id']}/cancel")

    assert (canceled["status"], canceled["cancellation_reason"]) == (
        "canceled",
        "requested_by_customer",
    )
    assert isinstance(canceled["canceled_at"], int)
    assert too_late.status_code == 400
    assert error_of(too_late)["code"] == "payment_intent_unexpected_state"
    assert [e["data"]["object"]["id"] for e in account.emu.events("payment_intent.canceled")] == [
        open_intent["id"]
    ]


# -- lists ------------------------------------------------------------------------------------


def test_lists_page_newest_first_with_starting_after_and_ending_before(account):
    made = [account.emu.add_payment_intent(1000 + n, created=1_700_000_000 + n) for n in range(25)]
    newest_first = [intent["id"] for intent in reversed(made)]

    pages, params = [], {}
    while True:
        page = account.get("/v1/payment_intents", params).json()
        pages.append(page)
        if not page["has_more"]:
            break
        params = {"starting_after": page["data"][-1]["id"]}

    assert [(p["object"], p["url"], len(p["data"])) for p in pages] == [
        ("list", "/v1/payment_intents", 10),
        ("list", "/v1/payment_intents", 10),
        ("list", "/v1/payment_intents", 5),
    ]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert [i["id"] for p in pages for i in p["data"]] == newest_first
    back = account.get("/v1/payment_intents", {"ending_before": pages[1]["data"][0]["id"]}).json()
    assert [i["id"] for i in back["data"]] == newest_first[:10]
    assert back["has_more"] is False
    nearer = account.get(
        "/v1/payment_intents", {"ending_before": pages[2]["data"][0]["id"], "limit": 3}
    ).json()
    assert [i["id"] for i in nearer["data"]] == newest_first[17:20]
    assert nearer["has_more"] is True
    everything = account.get("/v1/payment_intents", {"limit": 100}).json()
    assert len(everything["data"]) == 25 and not everything["has_more"]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"starting_after": "pi_nothing"}, "starting_after"),
        ({"created[soon]": 1}, "created[soon]"),
        ({"created[gt]": "yesterday"}, "created[gt]"),
        ({"sort": "amount"}, "sort"),
    ],
)
def test_bad_list_parameters_are_400s_naming_the_parameter(account, params, param):
    account.emu.add_payment_intent(1000)

    response = account.get("/v1/payment_intents", params)

    assert response.status_code == 400
    assert error_of(response)["param"] == param


def test_both_cursors_at_once_are_refused(account):
    first, second = account.emu.add_payment_intent(1), account.emu.add_payment_intent(2)

    response = account.get(
        "/v1/payment_intents", {"starting_after": first["id"], "ending_before": second["id"]}
    )

    assert response.status_code == 400
    assert "only specify one of" in error_of(response)["message"]


def test_created_filters(account):
    for n in range(5):
        account.emu.add_payment_intent(100 + n, created=1_700_000_000 + n)

    def amounts(**params):
        return [i["amount"] for i in account.get("/v1/payment_intents", params).json()["data"]]

    assert amounts(created=1_700_000_002) == [102]
    assert amounts(**{"created[gt]": 1_700_000_002}) == [104, 103]
    assert amounts(**{"created[gte]": 1_700_000_002}) == [104, 103, 102]
    assert amounts(**{"created[lt]": 1_700_000_002}) == [101, 100]
    assert amounts(**{"created[gte]": 1_700_000_001, "created[lte]": 1_700_000_003}) == [
        103,
        102,
        101,
    ]


def test_a_filter_and_a_cursor_page_together_like_the_sdk_does(account):
    for n in range(12):
        account.emu.add_payment_intent(n, created=1_700_000_000 + n)
    client = stripe.StripeClient(
        account.key,
        base_addresses={"api": account.emu.base_url},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=5),
    )

    listing = client.v1.payment_intents.list({"limit": 2, "created": {"gte": 1_700_000_005}})

    assert [i.amount for i in listing.auto_paging_iter()] == [11, 10, 9, 8, 7, 6, 5]


# -- customers --------------------------------------------------------------------------------


def test_customers_create_update_filter_and_delete(account):
    ana = account.post("/v1/customers", {"name": "Ana", "email": "ana@example.com"}).json()
    account.post("/v1/customers", {"name": "Ben", "email": "ben@example.com"})

    assert ana["id"].startswith("cus_") and ana["object"] == "customer"
    found = account.get("/v1/customers", {"email": "ana@example.com"}).json()["data"]
    assert [c["id"] for c in found] == [ana["id"]]
    moved = account.post(
        f"/v1/customers/{ana['id']}", {"email": "ana@new.example", "metadata[wedding_id]": "w-7"}
    ).json()
    assert (moved["email"], moved["metadata"]) == ("ana@new.example", {"wedding_id": "w-7"})

    deleted = account.call("DELETE", f"/v1/customers/{ana['id']}").json()

    stub = {"id": ana["id"], "object": "customer", "deleted": True}
    assert deleted == stub
    assert account.get(f"/v1/customers/{ana['id']}").json() == stub
    assert [c["name"] for c in account.get("/v1/customers").json()["data"]] == ["Ben"]
    again = account.call("DELETE", f"/v1/customers/{ana['id']}")
    assert (again.status_code, error_of(again)["code"]) == (404, "resource_missing")


# -- idempotency ------------------------------------------------------------------------------


def test_the_same_idempotency_key_replays_the_first_answer(account):
    form = {"amount": 150000, "currency": "gbp", "metadata[wedding_id]": "w-42"}
    headers = {"Idempotency-Key": "deposit-w-42"}

    first = account.post("/v1/payment_intents", form, headers=headers)
    again = account.post("/v1/payment_intents", form, headers=headers)

    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(account.emu.payment_intents()) == 1
    assert len(account.emu.events("payment_intent.created")) == 1
    misuse = account.post("/v1/payment_intents", {**form, "amount": 1}, headers=headers)
    assert misuse.status_code == 400
    assert error_of(misuse)["type"] == "idempotency_error"
    other_path = account.post("/v1/customers", {"name": "x"}, headers=headers)
    assert error_of(other_path)["type"] == "idempotency_error"


def test_a_request_that_fails_validation_saves_no_idempotent_result(account):
    headers = {"Idempotency-Key": "retry-me"}

    refused = account.post("/v1/payment_intents", {"currency": "gbp"}, headers=headers)
    accepted = account.post(
        "/v1/payment_intents", {"amount": 500, "currency": "gbp"}, headers=headers
    )

    assert refused.status_code == 400 and accepted.status_code == 200
    assert "Idempotent-Replayed" not in accepted.headers
    too_long = account.post(
        "/v1/payment_intents",
        {"amount": 5, "currency": "gbp"},
        headers={"Idempotency-Key": "k" * 256},
    )
    assert too_long.status_code == 400


def test_idempotency_keys_do_not_apply_to_reads(account):
    account.emu.add_payment_intent(1)
    headers = {"Idempotency-Key": "read"}

    listed = account.get("/v1/payment_intents", headers=headers)

    assert listed.status_code == 200 and "Idempotent-Replayed" not in listed.headers
    created = account.post("/v1/payment_intents", {"amount": 2, "currency": "gbp"}, headers=headers)
    assert created.status_code == 200


# -- events -----------------------------------------------------------------------------------


def test_changes_record_events_with_the_request_that_caused_them(account):
    created = account.post(
        "/v1/payment_intents",
        {"amount": 150000, "currency": "gbp"},
        headers={"Idempotency-Key": "dep-1", "Stripe-Version": "2026-10-28.endive"},
    )
    intent = created.json()
    account.emu.succeed(intent["id"])

    listed = account.get("/v1/events", {"type": "payment_intent.*"}).json()
    assert [e["type"] for e in listed["data"]] == [
        "payment_intent.succeeded",
        "payment_intent.created",
    ]
    succeeded, made = listed["data"]
    assert made["request"] == {"id": created.headers["Request-Id"], "idempotency_key": "dep-1"}
    assert made["api_version"] == "2026-10-28.endive"
    assert succeeded["request"] == {"id": None, "idempotency_key": None}  # made "in the Dashboard"
    assert (succeeded["data"]["object"]["status"], made["data"]["object"]["status"]) == (
        "succeeded",
        "requires_payment_method",
    )
    assert succeeded["data"]["object"]["amount_received"] == 150000
    assert succeeded["id"].startswith("evt_") and succeeded["object"] == "event"
    assert (succeeded["livemode"], succeeded["pending_webhooks"]) == (False, 0)
    assert account.get(f"/v1/events/{made['id']}").json() == made
    assert account.get("/v1/events/evt_missing").status_code == 404


def test_customer_updates_carry_previous_attributes_and_deletes_are_events(account):
    ana = account.emu.add_customer(name="Ana", email="ana@example.com", metadata={"a": "1"})

    account.post(f"/v1/customers/{ana['id']}", {"email": "ana@new.example", "metadata[b]": "2"})
    account.post(f"/v1/customers/{ana['id']}", {"email": "ana@new.example"})  # no change
    account.call("DELETE", f"/v1/customers/{ana['id']}")

    events = account.get("/v1/events", {"types[]": ["customer.updated", "customer.deleted"]}).json()
    assert [e["type"] for e in events["data"]] == ["customer.deleted", "customer.updated"]
    updated = events["data"][1]["data"]
    assert updated["previous_attributes"] == {"email": "ana@example.com", "metadata": {"b": None}}
    assert updated["object"]["email"] == "ana@new.example"
    assert events["data"][0]["data"]["object"]["name"] == "Ana"
    both = account.get("/v1/events", {"type": "customer.created", "types[]": "customer.deleted"})
    assert both.status_code == 400


# -- faults -----------------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after_in_stripes_envelope(account):
    account.emu.inject_fault(429, retry_after=2, path_prefix="/v1/payment_intents")

    limited = account.get("/v1/payment_intents")

    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"
    assert error_of(limited)["type"] == "invalid_request_error"
    assert "Too many requests" in error_of(limited)["message"]
    assert account.get("/v1/payment_intents").status_code == 200
    with pytest.raises(stripe.RateLimitError):
        account.emu.inject_fault(429)
        stripe.StripeClient(
            account.key, base_addresses={"api": account.emu.base_url}, max_network_retries=0
        ).v1.payment_intents.list()


def test_server_errors_and_unknown_routes(account):
    account.emu.inject_fault(503)
    account.emu.inject_fault(500)

    unavailable, broken = account.get("/v1/account"), account.get("/v1/account")

    assert (unavailable.status_code, error_of(unavailable)["type"]) == (503, "api_error")
    assert (broken.status_code, error_of(broken)["type"]) == (500, "api_error")
    assert account.get("/v1/account").status_code == 200
    unknown = account.get("/v1/charges_of_the_light_brigade")
    assert unknown.status_code == 404
    assert error_of(unknown)["message"].startswith(
        "Unrecognized request URL (GET: /v1/charges_of_the_light_brigade)."
    )
    wrong_method = account.call("DELETE", "/v1/payment_intents")
    assert (wrong_method.status_code, error_of(wrong_method)["type"]) == (
        404,
        "invalid_request_error",
    )


# -- webhook signatures -----------------------------------------------------------------------


def test_the_signature_reproduces_the_vendors_md_test_vector():
    assert stripe_signature(VECTOR_SECRET, 1700000000, VECTOR_BODY) == VECTOR_HEADER
    assert stripe_signature(VECTOR_SECRET, 1700000000, VECTOR_BODY.encode()) == VECTOR_HEADER
    # The vector's stamp is years old: the SDK accepts it only with the age check off.
    assert stripe.WebhookSignature.verify_header(VECTOR_BODY, VECTOR_HEADER, VECTOR_SECRET, None)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(VECTOR_BODY, VECTOR_HEADER, VECTOR_SECRET, 300)


def test_a_sent_webhook_is_verified_by_the_stripe_sdk(account, receiver):
    intent = account.emu.add_payment_intent(150000, metadata={"wedding_id": "w-42"})
    succeeded = account.emu.succeed(intent["id"])
    event = account.emu.events("payment_intent.succeeded")[0]

    answer = account.emu.send_webhook(receiver.url, event["id"], "whsec_endpoint_secret")

    assert answer.status_code == 200
    body, headers = receiver.received[0]
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    verified = stripe.Webhook.construct_event(
        body, headers["Stripe-Signature"], "whsec_endpoint_secret"
    )
    assert (verified.id, verified.type) == (event["id"], "payment_intent.succeeded")
    assert verified.data.object.id == intent["id"]
    assert verified.data.object.status == succeeded["status"] == "succeeded"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], "whsec_someone_else")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            body.replace(b"succeeded", b"canceled"),
            headers["Stripe-Signature"],
            "whsec_endpoint_secret",
        )


def test_a_rolled_secret_signs_with_both_and_old_stamps_are_refused(account, receiver):
    event = {"id": "evt_roll", "object": "event", "type": "customer.created", "data": {}}

    account.emu.send_webhook(receiver.url, event, "whsec_new", also_signed_with=["whsec_old"])
    account.emu.send_webhook(receiver.url, event, "whsec_new", timestamp=1_700_000_000)

    (body, headers), (old_body, old_headers) = receiver.received
    assert headers["Stripe-Signature"].count("v1=") == 2
    for secret in ("whsec_new", "whsec_old"):
        assert stripe.Webhook.construct_event(body, headers["Stripe-Signature"], secret).id == (
            "evt_roll"
        )
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(old_body, old_headers["Stripe-Signature"], "whsec_new")


def test_webhook_endpoints_get_matching_events_signed_with_their_secret(account, receiver):
    made = account.post(
        "/v1/webhook_endpoints",
        {"url": receiver.url, "enabled_events[]": ["payment_intent.succeeded"]},
    ).json()
    intent = account.emu.add_payment_intent(1000)
    account.emu.succeed(intent["id"])
    deliveries = account.emu.wait_for_deliveries()

    assert made["id"].startswith("we_") and made["secret"].startswith("whsec_")
    assert "secret" not in account.get(f"/v1/webhook_endpoints/{made['id']}").json()
    assert [d.status_code for d in deliveries] == [200]
    body, headers = receiver.received[0]
    event = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], made["secret"])
    assert event.type == "payment_intent.succeeded"
    assert account.get(f"/v1/events/{event.id}").json()["pending_webhooks"] == 0
    assert account.get("/v1/events", {"delivery_success": "true"}).json()["data"][0]["id"] == (
        event.id
    )
    outside = account.post(
        "/v1/webhook_endpoints", {"url": "http://hub.example/h", "enabled_events[]": ["*"]}
    )
    assert (outside.status_code, error_of(outside)["param"]) == (400, "url")
    removed = account.call("DELETE", f"/v1/webhook_endpoints/{made['id']}").json()
    assert removed["deleted"] is True
    account.emu.succeed(account.emu.add_payment_intent(5)["id"])
    assert len(account.emu.wait_for_deliveries()) == 1
