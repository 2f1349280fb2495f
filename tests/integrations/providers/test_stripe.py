"""Stripe through the stripe-python SDK, over HTTP against its emulator (no mocks)."""

from __future__ import annotations

import datetime as dt
import logging
import socket

import pytest
import stripe

from integrations import services
from integrations.errors import ProviderError
from integrations.models import Connection
from integrations.providers.payments.stripe.adapter import StripeAdapter
from integrations.providers.payments.stripe.emulator import StripeEmulator
from integrations.registry import get_provider
from tests.integrations.providers.conftest import make_connection

GOOD_KEY = "sk_test_51LumenPhotographyDemoKey0001"
WRONG_KEY = "sk_test_51SomebodyElsesKeyEntirely9999"


@pytest.fixture
def stripe_emu(settings):
    with StripeEmulator(business_name="Lumen Photography") as emulator:
        settings.PROVIDER_ORIGINS = {"stripe": emulator.base_url}
        yield emulator


@pytest.fixture
def good_key(stripe_emu):
    return stripe_emu.add_api_key(GOOD_KEY)


def adapter(vendor, key) -> StripeAdapter:
    return services.adapter_for(make_connection(vendor[0], "stripe", {"secret_key": key}))


def list_requests(emulator, path="/v1/payment_intents"):
    return [r for r in emulator.requests if r.path == path and r.method == "GET"]


# -- credentials ------------------------------------------------------------------------------


def test_a_good_key_names_the_account_and_a_bad_one_is_refused(stripe_emu, good_key):
    spec = get_provider("stripe")

    account = services.test_credentials(spec, {"secret_key": good_key})

    assert (account.account_id, account.account_name) == (
        stripe_emu.account["id"],
        "Lumen Photography",
    )
    with pytest.raises(ProviderError) as raised:
        services.test_credentials(spec, {"secret_key": WRONG_KEY})
    error = raised.value
    assert (error.kind, error.status, error.permanent) == ("invalid_credentials", 401, True)
    assert WRONG_KEY not in str(error) and WRONG_KEY[-8:] not in str(error)


def test_api_connects_stripe_after_testing_the_key(stripe_emu, good_key, vendor, client_for):
    organization, owner = vendor
    api = client_for(owner)

    response = api.post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "stripe",
            "organization": str(organization.pk),
            "credentials": {"secret_key": good_key},
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["capabilities"] == ["pull", "webhooks"]
    assert body["external_account_name"] == "Lumen Photography"
    connection = Connection.objects.get(provider="stripe")
    assert connection.credentials == {"secret_key": good_key}
    assert connection.external_account_id == stripe_emu.account["id"]
    detail = api.get(f"/api/integrations/connections/{body['id']}/").json()
    assert detail["has_credentials"] is True and good_key not in str(detail)
    assert [r.headers["Authorization"] for r in stripe_emu.requests] == [f"Bearer {good_key}"]


def test_api_refuses_a_bad_key_with_the_providers_reason(stripe_emu, vendor, client_for):
    organization, owner = vendor

    response = client_for(owner).post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "stripe",
            "organization": str(organization.pk),
            "credentials": {"secret_key": WRONG_KEY},
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_credentials"
    assert "did not accept" in response.json()["error"]
    assert WRONG_KEY not in str(response.json())
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    "key", ["pk_test_51LumenPublishableKey0001", "sk_test_short", "whsec_abcdefghijklmnopqrstu"]
)
def test_api_refuses_what_is_not_a_secret_key_before_calling_stripe(
    stripe_emu, vendor, client_for, key
):
    organization, owner = vendor

    response = client_for(owner).post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "stripe",
            "organization": str(organization.pk),
            "credentials": {"secret_key": key},
        },
        format="json",
    )

    assert response.status_code == 400 and "secret_key" in response.json()
    assert stripe_emu.requests == []


def test_the_link_form_takes_the_webhook_signing_secret_and_checks_it(
    stripe_emu, good_key, vendor, client
):
    organization, owner = vendor
    client.force_login(owner)
    form = client.get("/integrations/link/stripe/").content.decode()
    assert 'name="webhook_secret"' in form and "Webhook signing secret" in form

    wrong = client.post(
        "/integrations/link/stripe/",
        {"organization": organization.pk, "secret_key": good_key, "webhook_secret": good_key},
    )
    assert "does not look like a Stripe webhook signing secret" in wrong.content.decode()
    assert not Connection.objects.exists()

    client.post(
        "/integrations/link/stripe/",
        {
            "organization": organization.pk,
            "secret_key": good_key,
            "webhook_secret": "whsec_LumenEndpointSecret0123",
        },
    )
    connection = Connection.objects.get(provider="stripe")
    assert connection.webhook_secret == "whsec_LumenEndpointSecret0123"
    assert connection.credentials == {"secret_key": good_key}


def test_a_restricted_key_links(stripe_emu, vendor):
    key = stripe_emu.add_api_key("rk_live_51LumenRestrictedReadKey01", restricted=True)

    account = adapter(vendor, key).check_connection()

    assert account.account_name == "Lumen Photography"


def test_the_key_never_reaches_the_logs(stripe_emu, good_key, vendor, caplog):
    caplog.set_level(logging.DEBUG)
    stripe_emu.add_payment_intent(1000)

    hub = adapter(vendor, good_key)
    hub.check_connection()
    hub.pull("payment_intents")
    with pytest.raises(ProviderError):
        adapter(vendor, WRONG_KEY).check_connection()

    assert "stripe GET /v1/payment_intents -> 200" in caplog.text
    assert good_key not in caplog.text and WRONG_KEY not in caplog.text


# -- pulling ----------------------------------------------------------------------------------


def test_pull_follows_pages_to_the_end(stripe_emu, good_key, vendor):
    customer = stripe_emu.add_customer(name="Ana Silva", email="ana@example.com")
    for n in range(250):
        stripe_emu.add_payment_intent(
            10000 + n,
            "gbp",
            created=1_780_000_000 + n // 4,
            customer=customer["id"],
            description=f"Instalment {n}",
            metadata={"wedding_id": f"w-{n}", "milestone": "instalment"},
        )

    result = adapter(vendor, good_key).pull("payment_intents")

    assert result.full and len(result.records) == 250
    assert len({r.external_id for r in result.records}) == 250
    newest = result.records[0]
    assert (newest.resource, newest.kind) == ("payment_intents", "payment")
    assert newest.fields == {
        "amount": 10249,
        "amount_received": 0,
        "currency": "gbp",
        "status": "requires_payment_method",
        "description": "Instalment 249",
        "customer_id": customer["id"],
        "receipt_email": None,
        "wedding_id": "w-249",
        "milestone": "instalment",
        "created": 1_780_000_062,
    }
    assert newest.modified is None and newest.version is None  # Stripe has neither
    pages = list_requests(stripe_emu)
    assert [r.query.get("limit") for r in pages] == [["100"]] * 3
    assert [r.query.get("starting_after") for r in pages] == [
        None,
        [result.records[99].external_id],
        [result.records[199].external_id],
    ]


def test_an_incremental_pull_returns_only_new_payment_intents(stripe_emu, good_key, vendor):
    for n in range(5):
        stripe_emu.add_payment_intent(1000 + n, created=1_780_000_000 + n)
    hub = adapter(vendor, good_key)
    first = hub.pull("payment_intents")
    same_second = stripe_emu.add_payment_intent(2000, created=1_780_000_004)
    later = stripe_emu.add_payment_intent(3000, created=1_780_000_009)
    stripe_emu.succeed(first.records[-1].external_id)  # an update: not a new object

    second = hub.pull("payment_intents", first.cursor)

    assert not second.full
    assert [r.external_id for r in second.records] == [later["id"], same_second["id"]]
    assert list_requests(stripe_emu)[-1].query["created[gte]"] == ["1780000004"]
    third = hub.pull("payment_intents", second.cursor)
    assert third.records == [] and third.cursor == second.cursor


def test_customers_pull_and_a_deleted_customer_fetches_as_deleted(stripe_emu, good_key, vendor):
    ana = stripe_emu.add_customer(
        name="Ana Silva", email="ana@example.com", metadata={"wedding_id": "w-1"}
    )
    ben = stripe_emu.add_customer(name="Ben Carter")
    hub = adapter(vendor, good_key)

    pulled = hub.pull("customers")
    client = stripe.StripeClient(
        good_key, base_addresses={"api": stripe_emu.base_url}, max_network_retries=0
    )
    client.v1.customers.delete(ben["id"])
    gone = hub.fetch("customers", ben["id"])

    assert {r.fields["name"]: r.kind for r in pulled.records} == {
        "Ana Silva": "contact",
        "Ben Carter": "contact",
    }
    assert (
        next(r for r in pulled.records if r.external_id == ana["id"]).fields["wedding_id"] == "w-1"
    )
    assert (gone.deleted, gone.fields) == (True, {})
    assert [r.external_id for r in hub.pull("customers").records] == [ana["id"]]


def test_an_unknown_resource_is_a_permanent_error(stripe_emu, good_key, vendor):
    with pytest.raises(ProviderError) as raised:
        adapter(vendor, good_key).pull("charges")

    assert (raised.value.kind, raised.value.permanent) == ("invalid_request", True)


# -- webhooks ---------------------------------------------------------------------------------


def test_a_paid_deposit_reaches_the_hub_through_its_event(stripe_emu, good_key, vendor):
    deposit = stripe_emu.add_payment_intent(150000, metadata={"wedding_id": "w-42"})
    stripe_emu.succeed(deposit["id"])
    event = stripe_emu.events("payment_intent.succeeded")[0]
    hub = adapter(vendor, good_key)

    [item] = hub.parse_webhook(event["type"], event)
    record = hub.fetch(item.resource, item.external_id)

    assert (item.resource, item.external_id, item.record) == (
        "payment_intents",
        deposit["id"],
        None,
    )
    assert item.occurred_at == dt.datetime.fromtimestamp(event["created"], dt.UTC)
    assert record.fields["status"] == "succeeded"
    assert (record.fields["amount_received"], record.fields["wedding_id"]) == (150000, "w-42")
    assert hub.parse_webhook("charge.refunded", event) == []


def test_a_customer_deleted_event_is_marked_deleted(stripe_emu, good_key, vendor):
    ana = stripe_emu.add_customer(name="Ana")
    stripe.StripeClient(
        good_key, base_addresses={"api": stripe_emu.base_url}, max_network_retries=0
    ).v1.customers.delete(ana["id"])
    event = stripe_emu.events("customer.deleted")[0]

    [item] = adapter(vendor, good_key).parse_webhook("customer.deleted", event)

    assert (item.resource, item.external_id, item.deleted) == ("customers", ana["id"], True)


def test_registering_a_webhook_endpoint_returns_its_signing_secret(stripe_emu, good_key, vendor):
    url = "https://hub.example/webhooks/stripe/abc"

    endpoint_id, secret = adapter(vendor, good_key).register_webhook_endpoint(url)

    assert endpoint_id.startswith("we_") and secret.startswith("whsec_")
    [made] = [r for r in stripe_emu.requests if r.path == "/v1/webhook_endpoints"]
    assert made.headers["Idempotency-Key"].startswith("wedsync-")
    body = made.body.decode()
    assert "enabled_events[0]=customer.created" in body.replace("%5B", "[").replace("%5D", "]")
    restricted = stripe_emu.add_api_key(restricted=True)
    with pytest.raises(ProviderError) as raised:
        adapter(vendor, restricted).register_webhook_endpoint(url)
    assert raised.value.kind == "forbidden" and restricted not in str(raised.value)


# -- failures ---------------------------------------------------------------------------------


def test_fetch_of_an_unknown_payment_intent_is_not_found(stripe_emu, good_key, vendor):
    with pytest.raises(ProviderError) as raised:
        adapter(vendor, good_key).fetch("payment_intents", "pi_doesnotexist")

    assert (raised.value.kind, raised.value.status, raised.value.permanent) == (
        "not_found",
        404,
        True,
    )
    assert "No such payment_intent" in raised.value.message


def test_429_is_honoured(stripe_emu, good_key, vendor):
    hub = adapter(vendor, good_key)
    stripe_emu.inject_fault(429, retry_after=1, path_prefix="/v1/account")

    hub.check_connection()  # waited one second, then asked again

    assert [r.path for r in stripe_emu.requests].count("/v1/account") == 2
    stripe_emu.inject_fault(429, retry_after=600, path_prefix="/v1/payment_intents")
    with pytest.raises(ProviderError) as raised:
        hub.pull("payment_intents")
    error = raised.value
    assert (error.kind, error.status, error.retry_after, error.retryable) == (
        "rate_limited",
        429,
        600.0,
        True,
    )
    assert len(list_requests(stripe_emu)) == 1  # not slept through: a task retries later


def test_5xx_is_retried_then_surfaced_as_retryable(stripe_emu, good_key, vendor):
    hub = adapter(vendor, good_key)
    stripe_emu.inject_fault(502, times=1, path_prefix="/v1/account")
    hub.check_connection()  # one bad gateway is retried away

    stripe_emu.inject_fault(503, times=3, path_prefix="/v1/account")
    with pytest.raises(ProviderError) as raised:
        hub.check_connection()

    assert (raised.value.kind, raised.value.status, raised.value.retryable) == (
        "unavailable",
        503,
        True,
    )
    assert [r.path for r in stripe_emu.requests].count("/v1/account") == 5


def test_a_5xx_during_a_pull_is_retried_and_the_pull_completes(stripe_emu, good_key, vendor):
    for n in range(150):
        stripe_emu.add_payment_intent(100 + n, created=1_780_000_000 + n)
    stripe_emu.inject_fault(500, times=1, path_prefix="/v1/payment_intents")

    result = adapter(vendor, good_key).pull("payment_intents")

    assert len(result.records) == 150
    starts = [r.query.get("starting_after") for r in list_requests(stripe_emu)]
    assert starts == [None, None, [result.records[99].external_id]]


def test_an_unreachable_stripe_is_a_retryable_connection_error(settings, good_key, vendor):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.PROVIDER_ORIGINS = {"stripe": f"http://127.0.0.1:{closed_port}"}

    with pytest.raises(ProviderError) as raised:
        adapter(vendor, good_key).check_connection()

    assert (raised.value.kind, raised.value.retryable) == ("connection", True)


def test_a_slow_stripe_is_a_retryable_timeout(stripe_emu, good_key, vendor):
    hub = adapter(vendor, good_key)
    hub.http.timeout = (1.0, 0.2)
    hub.http.max_attempts = 1
    stripe_emu.inject_fault(503, delay_s=1.0, path_prefix="/v1/account")

    with pytest.raises(ProviderError) as raised:
        hub.check_connection()

    assert (raised.value.kind, raised.value.retryable) == ("timeout", True)
