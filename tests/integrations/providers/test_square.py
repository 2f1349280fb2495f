"""Square over HTTP against its emulator (no mocks): linking with an access token and a
subscription's signature key, pulls that page through every location, and notifications signed
over the notification URL, verified by the hub's real endpoint (live server), stored once and
applied with the payment as Square's API holds it."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest
import requests

from integrations import services
from integrations.errors import ProviderError
from integrations.models import Connection, InboundEvent, RecordLink
from integrations.providers.payments.square.adapter import SQUARE_VERSION, SquareAdapter
from integrations.providers.payments.square.emulator import SquareEmulator
from integrations.registry import get_provider
from tests.integrations.providers.conftest import make_connection

SIGNATURE_KEY = "4SN1MzYWrZbVrAb3dc-H8g"
DAY_S = 24 * 3600


@pytest.fixture
def square(settings):
    with SquareEmulator(business_name="Lumen Photography") as emulator:
        settings.PROVIDER_ORIGINS = {"square": emulator.base_url}
        yield emulator


@pytest.fixture
def token(square):
    return square.add_access_token()


def adapter(vendor, token) -> SquareAdapter:
    return services.adapter_for(make_connection(vendor[0], "square", {"access_token": token}))


def calls(square, path: str) -> list:
    return [r for r in square.requests if r.path == path]


def moment(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


class Clock:
    """The emulator's clock, moved on by hand so that changes are ordered in time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 1.0) -> None:
        self.now += seconds


def connect(api, organization, **body):
    return api.post(
        "/api/integrations/vendor/connect/",
        {"provider": "square", "organization": str(organization.pk), **body},
        format="json",
    )


# -- credentials and linking ------------------------------------------------------------------


def test_a_good_token_names_the_seller_and_every_call_carries_square_version(square, token):
    account = services.test_credentials(get_provider("square"), {"access_token": token})

    assert (account.account_id, account.account_name) == (
        square.merchant["id"],
        "Lumen Photography",
    )
    [call] = square.requests
    assert call.path == "/v2/merchants/me"
    assert call.headers["Authorization"] == f"Bearer {token}"
    assert call.headers["Square-Version"] == SQUARE_VERSION == "2025-10-16"


def test_a_bad_token_is_refused_with_squares_reason_and_never_quoted(square, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = "EAAA" + "x" * 60

    with pytest.raises(ProviderError) as raised:
        services.test_credentials(get_provider("square"), {"access_token": wrong})

    error = raised.value
    assert (error.kind, error.status, error.permanent) == ("invalid_credentials", 401, True)
    assert error.message == "UNAUTHORIZED: This request could not be authorized."
    assert wrong not in str(error) and wrong[4:20] not in str(error)
    assert wrong not in caplog.text and "square GET /v2/merchants/me -> 401" in caplog.text


def test_api_links_square_with_the_token_and_the_signature_key(square, token, vendor, client_for):
    organization, owner = vendor
    api = client_for(owner)

    response = connect(
        api, organization, credentials={"access_token": token}, webhook_secret=SIGNATURE_KEY
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["capabilities"] == ["pull", "webhooks"]
    assert body["external_account_name"] == "Lumen Photography"
    connection = Connection.objects.get(provider="square")
    assert connection.credentials == {"access_token": token}
    assert connection.webhook_secret == SIGNATURE_KEY
    assert connection.external_account_id == square.merchant["id"]
    detail = api.get(f"/api/integrations/connections/{body['id']}/").json()
    assert detail["has_webhook_secret"] is True
    assert token not in str(detail) + str(body) and SIGNATURE_KEY not in str(detail) + str(body)


def test_api_refuses_a_token_square_does_not_accept(square, vendor, client_for):
    organization, owner = vendor
    wrong = "EAAA" + "w" * 60

    response = connect(client_for(owner), organization, credentials={"access_token": wrong})

    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_credentials"
    assert wrong not in str(response.json())
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("credentials", "signature_key", "field"),
    [
        ({"access_token": "sq0atp-OldStyleTokenThatIsNotUsedAnyMore0000"}, None, "access_token"),
        ({"access_token": "EAAAshort"}, None, "access_token"),
        ({"access_token": "EAAA" + "a" * 60}, "not a key!", "webhook_secret"),
        ({"access_token": "EAAA" + "a" * 60}, "short", "webhook_secret"),
        ({"access_token": "EAAA" + "a" * 60}, "EAAA" + "a" * 40, "webhook_secret"),
    ],
    ids=["old-token", "short-token", "key-with-spaces", "short-key", "token-as-key"],
)
def test_api_refuses_what_does_not_look_right_before_calling_square(
    square, vendor, client_for, credentials, signature_key, field
):
    organization, owner = vendor
    extra = {"webhook_secret": signature_key} if signature_key else {}

    response = connect(client_for(owner), organization, credentials=credentials, **extra)

    assert response.status_code == 400 and field in response.json()
    assert square.requests == []
    assert not Connection.objects.exists()


def test_the_link_form_asks_for_the_signature_key_and_keeps_it(square, token, vendor, client):
    organization, owner = vendor
    client.force_login(owner)

    form = client.get("/integrations/link/square/").content.decode()
    client.post(
        "/integrations/link/square/",
        {"organization": organization.pk, "access_token": token, "webhook_secret": SIGNATURE_KEY},
    )

    assert 'name="access_token"' in form and 'name="webhook_secret"' in form
    assert "Signature key" in form and "Webhooks &gt; Subscriptions" in form
    assert "this connection&#x27;s webhook URL, exactly" in form
    connection = Connection.objects.get(provider="square")
    assert connection.webhook_secret == SIGNATURE_KEY
    assert connection.credentials == {"access_token": token}


# -- pulling ----------------------------------------------------------------------------------


def test_pull_pages_through_every_location(square, token, vendor):
    annex = square.add_location("Lumen Photography: Studio 2")
    start = time.time() - 30 * DAY_S
    for n in range(230):
        square.add_payment(1000 + n, created_at=start + n * 60, reference_id=f"w-{n}")
    for n in range(20):
        square.add_payment(500 + n, location_id=annex["id"], created_at=start + n * 60)
    old = square.add_payment(99900, created_at=time.time() - 700 * DAY_S, note="Deposit")

    result = adapter(vendor, token).pull("payments")

    assert result.full and len(result.records) == 251
    assert len({r.external_id for r in result.records}) == 251
    by_id = {r.external_id: r for r in result.records}
    record = by_id[old["id"]]  # older than Square's default one-year window
    assert (record.resource, record.kind, record.version) == (
        "payments",
        "payment",
        old["version_token"],
    )
    assert record.modified == moment(old["updated_at"])
    assert record.fields == {
        "amount": 99900,
        "currency": "GBP",
        "amount_refunded": None,
        "status": "COMPLETED",
        "description": "Deposit",
        "customer_id": None,
        "receipt_email": None,
        "wedding_id": None,
        "order_id": old["order_id"],
        "location_id": square.main_location_id,
        "created": old["created_at"],
    }
    assert len(calls(square, "/v2/locations")) == 1
    pages = calls(square, "/v2/payments")
    assert [(r.query["location_id"], "cursor" in r.query) for r in pages] == [
        ([square.main_location_id], False),
        ([square.main_location_id], True),
        ([square.main_location_id], True),
        ([annex["id"]], False),
    ]
    assert all(
        (r.query["sort_field"], r.query["sort_order"], r.query["limit"], r.query["begin_time"])
        == (["UPDATED_AT"], ["DESC"], ["100"], ["2013-01-01T00:00:00Z"])
        for r in pages
    )
    assert all(r.headers["Square-Version"] == SQUARE_VERSION for r in square.requests)


def test_an_incremental_pull_returns_only_what_changed_since_the_cursor(square, token, vendor):
    clock = Clock(time.time())
    square.clock = clock
    annex = square.add_location("Studio 2")
    start = clock.now - DAY_S
    main_payments = [square.add_payment(100 + n, created_at=start + n) for n in range(150)]
    annex_payments = [
        square.add_payment(200 + n, location_id=annex["id"], created_at=start + n) for n in range(5)
    ]
    hub = adapter(vendor, token)
    first = hub.pull("payments")
    square.requests.clear()

    clock.advance()
    refund = {"amount": 50, "currency": "GBP"}
    refunded = square.update_payment(main_payments[3]["id"], refunded_money=refund)
    clock.advance()
    failed = square.update_payment(annex_payments[0]["id"], status="FAILED")
    clock.advance()
    added = square.add_payment(300)
    second = hub.pull("payments", first.cursor)

    assert len(first.records) == 155
    assert moment(first.cursor) == moment(main_payments[-1]["updated_at"])
    assert not second.full
    assert [r.external_id for r in second.records] == [added["id"], refunded["id"], failed["id"]]
    assert second.records[1].fields["amount_refunded"] == 50
    assert second.records[2].fields["status"] == "FAILED"
    assert moment(second.cursor) == moment(added["updated_at"])
    pages = calls(square, "/v2/payments")
    assert len(pages) == 2  # one page per location: each stops at the first payment seen before
    third = hub.pull("payments", second.cursor)
    assert third.records == [] and third.cursor == second.cursor


def test_a_rate_limit_is_backed_off_and_retried_then_surfaced(square, token, vendor):
    for n in range(3):
        square.add_payment(100 + n)
    hub = adapter(vendor, token)
    square.inject_fault(429, times=1, path_prefix="/v2/payments")

    assert len(hub.pull("payments").records) == 3  # retried after a jittered backoff
    assert len(calls(square, "/v2/payments")) == 2

    square.inject_fault(429, times=3, path_prefix="/v2/payments")
    with pytest.raises(ProviderError) as raised:
        hub.pull("payments")
    error = raised.value
    assert (error.kind, error.status, error.retryable) == ("rate_limited", 429, True)
    assert error.message == "RATE_LIMITED: Rate limit exceeded."


def test_fetch_unwraps_the_payment_and_an_unknown_one_is_not_found(square, token, vendor):
    payment = square.add_payment(150000, status="APPROVED", reference_id="wedding-42")
    hub = adapter(vendor, token)

    record = hub.fetch("payments", payment["id"])
    with pytest.raises(ProviderError) as raised:
        hub.fetch("payments", "NoSuchPayment000000000000000")

    assert (record.external_id, record.fields["status"], record.fields["wedding_id"]) == (
        payment["id"],
        "APPROVED",
        "wedding-42",
    )
    assert (raised.value.kind, raised.value.status, raised.value.permanent) == (
        "not_found",
        404,
        True,
    )
    assert "Could not find payment with id" in raised.value.message


def test_an_event_names_its_payment_to_be_fetched_back(square, token, vendor):
    payment = square.add_payment(100)
    event = square.events("payment.created")[0]
    hub = adapter(vendor, token)

    [item] = hub.parse_webhook("payment.created", event)

    assert (item.resource, item.external_id, item.record) == ("payments", payment["id"], None)
    assert hub.parse_webhook("refund.created", event) == []
    event["data"]["type"] = "refund"
    with pytest.raises(ValueError, match="not a payment"):
        hub.parse_webhook("payment.created", event)


# -- webhooks through the hub's endpoint ------------------------------------------------------


@pytest.fixture
def linked(square, token, vendor, live_server):
    """A Square connection with a subscription whose notification URL is its webhook URL."""
    connection = make_connection(
        vendor[0], "square", {"access_token": token}, webhook_secret=SIGNATURE_KEY
    )
    url = f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
    subscription = square.add_webhook_subscription(url, signature_key=SIGNATURE_KEY)
    return connection, url, subscription


def fetches(square, payment_id: str) -> list:
    return calls(square, f"/v2/payments/{payment_id}")


@pytest.mark.django_db(transaction=True)
def test_signed_notifications_are_stored_once_and_the_payment_fetched_back(
    square, linked, eager_celery
):
    connection, _, subscription = linked
    payment = square.add_payment(150000, status="APPROVED", reference_id="wedding-42")
    created = square.wait_for_deliveries()
    square.complete_payment(payment["id"])
    updated = square.wait_for_deliveries()[len(created) :]

    assert [(d.subscription_id, d.status_code) for d in created + updated] == [
        (subscription["id"], 200),
        (subscription["id"], 200),
    ]
    events = InboundEvent.objects.filter(connection=connection).order_by("received_at")
    assert [(e.event_type, e.status) for e in events] == [
        ("payment.created", "processed"),
        ("payment.updated", "processed"),
    ]
    assert [e.dedup_key for e in events] == [f"id:{e['event_id']}" for e in square.events()]
    link = RecordLink.objects.get(connection=connection, external_id=payment["id"])
    assert (link.kind, link.resource) == ("payment", "payments")
    assert link.snapshot["status"] == "COMPLETED"
    assert (link.snapshot["amount"], link.snapshot["currency"]) == (150000, "GBP")
    assert link.snapshot["wedding_id"] == "wedding-42"
    assert link.version == square.payments()[0]["version_token"]
    assert len(fetches(square, payment["id"])) == 2  # one per notification


@pytest.mark.django_db(transaction=True)
def test_what_is_stored_is_what_squares_api_holds_not_the_notifications_snapshot(
    square, linked, eager_celery
):
    """Even a correctly signed notification only names the payment: a snapshot that claims
    another amount or status (late, or written by whoever holds the key) sets nothing."""
    connection, url, _ = linked
    payment = square.add_payment(150000, status="COMPLETED", reference_id="wedding-42")
    square.wait_for_deliveries()
    event = square.event_for(payment, "payment.updated")
    event["data"]["object"]["payment"].update(
        status="FAILED", amount_money={"amount": 1, "currency": "GBP"}, reference_id="other"
    )

    response = square.send_webhook(url, event, SIGNATURE_KEY)

    assert response.status_code == 200, response.text
    link = RecordLink.objects.get(connection=connection, external_id=payment["id"])
    assert (link.snapshot["status"], link.snapshot["amount"], link.snapshot["wedding_id"]) == (
        "COMPLETED",
        150000,
        "wedding-42",
    )
    stored = InboundEvent.objects.get(dedup_key=f"id:{event['event_id']}")
    assert stored.status == "processed"


def tampered_body(square, url, event):
    body = square.event_body(event)
    headers = square.delivery_headers(SIGNATURE_KEY, url, body)
    changed = body.replace(b'"amount":150000', b'"amount":150001', 1)
    assert len(changed) == len(body) and changed != body
    return requests.post(url, data=changed, headers=headers, timeout=5)


REFUSALS = {
    "wrong-key": lambda square, url, event: square.send_webhook(
        url, event, "AnotherSubscriptionKey0"
    ),
    "changed-body-byte": tampered_body,
    "no-signature-header": lambda square, url, event: square.send_webhook(
        url, event, SIGNATURE_KEY, sha256=False, legacy=False
    ),
    "legacy-sha1-header-only": lambda square, url, event: square.send_webhook(
        url, event, SIGNATURE_KEY, sha256=False
    ),
    "other-notification-url": lambda square, url, event: square.send_webhook(
        url, event, SIGNATURE_KEY, notification_url=url.replace("localhost", "127.0.0.1")
    ),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_notification_not_signed_for_this_subscription_is_refused(
    square, linked, eager_celery, caplog, case
):
    connection, url, _ = linked
    payment = square.add_payment(150000)
    square.wait_for_deliveries()  # its payment.created, signed right: stored and applied
    square.requests.clear()
    stored = InboundEvent.objects.filter(connection=connection).count()
    event = square.event_for(payment, "payment.updated")

    response = REFUSALS[case](square, url, event)

    assert response.status_code == 401
    assert response.json()["error"].startswith("signature verification failed")
    assert InboundEvent.objects.filter(connection=connection).count() == stored == 1
    assert not InboundEvent.objects.filter(dedup_key=f"id:{event['event_id']}").exists()
    link = RecordLink.objects.get(connection=connection, external_id=payment["id"])
    assert link.snapshot["amount"] == 150000
    assert square.requests == []  # nothing was fetched back
    assert SIGNATURE_KEY not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_repeated_notification_is_acknowledged_and_processed_once(square, linked, eager_celery):
    """Square signs no timestamp, so a notification sent again byte for byte (a retry, or a
    replay by whoever captured it) verifies again; its event_id, the dedup key, is what makes
    it count once."""
    connection, url, _ = linked
    payment = square.add_payment(150000)
    square.wait_for_deliveries()
    event = square.event_for(square.update_payment(payment["id"], note="paid"), "payment.updated")
    square.wait_for_deliveries()
    before = len(fetches(square, payment["id"]))

    first = square.send_webhook(url, event, SIGNATURE_KEY)
    again = square.send_webhook(url, event, SIGNATURE_KEY, headers={"square-retry-number": "1"})

    assert first.status_code == 200 and first.json()["status"] == "received"
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    assert (
        InboundEvent.objects.filter(connection=connection, dedup_key=f"id:{event['event_id']}")
        .get()
        .status
        == "processed"
    )
    assert len(fetches(square, payment["id"])) == before + 1


@pytest.mark.django_db(transaction=True)
def test_an_unsupported_event_type_is_recorded_as_ignored(square, linked, eager_celery):
    connection, url, _ = linked
    payment = square.add_payment(150000)
    square.wait_for_deliveries()
    square.requests.clear()
    event = square.event_for(payment, "refund.created")

    response = square.send_webhook(url, event, SIGNATURE_KEY)

    assert response.status_code == 202
    stored = InboundEvent.objects.get(connection=connection, dedup_key=f"id:{event['event_id']}")
    assert (stored.status, stored.outcome, stored.event_type) == (
        "ignored",
        "unsupported event type",
        "refund.created",
    )
    assert square.requests == []


@pytest.mark.django_db(transaction=True)
def test_behind_a_proxy_the_hub_checks_the_public_url_square_signed(
    square, token, vendor, live_server, settings, eager_celery
):
    """Square signs the notification URL of the subscription: the hub's public URL, which a
    proxy then forwards to a host and port of its own. PUBLIC_URL tells the hub what it is."""
    connection = make_connection(
        vendor[0], "square", {"access_token": token}, webhook_secret=SIGNATURE_KEY
    )
    path = f"/api/integrations/inbound/{connection.webhook_token}/"
    public = f"https://hub.example{path}"
    square.add_webhook_subscription(
        public, signature_key=SIGNATURE_KEY, deliver_to=live_server.url + path
    )

    square.add_payment(100)
    [unconfigured] = square.wait_for_deliveries()
    settings.PUBLIC_URL = "https://hub.example"
    square.add_payment(200)
    [configured] = square.wait_for_deliveries()[1:]

    assert unconfigured.status_code == 401 and configured.status_code == 200
    [stored] = InboundEvent.objects.filter(connection=connection)
    assert (stored.event_type, stored.status) == ("payment.created", "processed")


@pytest.mark.django_db(transaction=True)
def test_a_proxy_that_terminates_https_is_trusted_only_when_configured(
    square, linked, settings, eager_celery
):
    """With BEHIND_PROXY the hub takes the scheme from X-Forwarded-Proto, so an https
    notification URL forwarded over http still matches what Square signed."""
    connection, url, _ = linked
    public = url.replace("http://", "https://")
    event = square.event_for(square.add_payment(100), "payment.updated")
    square.wait_for_deliveries()
    forwarded = {"X-Forwarded-Proto": "https"}

    unconfigured = square.send_webhook(
        url, event, SIGNATURE_KEY, notification_url=public, headers=forwarded
    )
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    without_header = square.send_webhook(url, event, SIGNATURE_KEY, notification_url=public)
    configured = square.send_webhook(
        url, event, SIGNATURE_KEY, notification_url=public, headers=forwarded
    )

    assert (unconfigured.status_code, without_header.status_code) == (401, 401)
    assert configured.status_code == 200
    stored = InboundEvent.objects.get(connection=connection, dedup_key=f"id:{event['event_id']}")
    assert stored.status == "processed"


@pytest.mark.django_db(transaction=True)
def test_a_connection_without_its_signature_key_refuses_squares_notifications(
    square, token, vendor, live_server
):
    connection = make_connection(vendor[0], "square", {"access_token": token})
    url = f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
    event = square.event_for(square.add_payment(100), "payment.created")

    response = square.send_webhook(url, event, SIGNATURE_KEY)

    assert response.status_code == 401 and "no webhook secret" in response.json()["error"]
    assert not InboundEvent.objects.exists()
