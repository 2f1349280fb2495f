"""A deposit paid reaches its wedding: Stripe posts signed payment events to the photographer's
connection over HTTP (live server), and each change of the payment's status is logged on the
wedding its checkout named (payment_status_change) and heard on its socket, once."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from integrations.models import IntegrationEvent
from integrations.sync.payments import money
from payments.models import Payment
from tests.factories import ContactFactory, OrganizationFactory, ParticipantFactory
from tests.integrations.providers.conftest import make_connection
from tests.integrations.sync.test_end_to_end import drain
from wedsync.live.broadcast import wedding_group

SECRET = "whsec_test_secret_0123456789"


@pytest.fixture
def studio(team, stripe, live_server):
    """The photographer on the wedding, its Stripe account posting to its connection's URL."""
    photographer = OrganizationFactory(name="Lumen Photography", kind="photographer")
    ParticipantFactory(wedding=team.wedding, organization=photographer)
    connection = make_connection(
        photographer, "stripe", {"secret_key": stripe.add_api_key()}, webhook_secret=SECRET
    )
    url = f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
    return connection, url


def post(stripe, url, event_type, intent, n):
    event = {
        "id": f"evt_{n}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()) + n,
        "data": {"object": intent},
    }
    response = stripe.send_webhook(url, event, SECRET)
    assert response.status_code == 200, response.text


def logged(team):
    return list(
        IntegrationEvent.objects.filter(
            wedding=team.wedding, event_type=IntegrationEvent.Type.PAYMENT_STATUS_CHANGE
        ).order_by("created_at")
    )


@pytest.mark.django_db(transaction=True)
def test_a_deposit_paid_is_logged_on_the_wedding_its_checkout_named_and_heard_once(
    team, stripe, studio, eager_celery
):
    _, url = studio
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(wedding_group(team.wedding.pk), channel)
    intent = stripe.add_payment_intent(
        150000, "gbp", description="Deposit", metadata={"wedding_id": str(team.wedding.pk)}
    )

    post(stripe, url, "payment_intent.created", intent, 1)
    paid = stripe.succeed(intent["id"])
    post(stripe, url, "payment_intent.succeeded", paid, 2)
    post(stripe, url, "payment_intent.succeeded", paid, 3)  # the same state, a new event id

    created, succeeded = logged(team)
    assert created.data["status"] == "requires_payment_method"
    assert (succeeded.data["status"], succeeded.data["was"]) == (
        "succeeded",
        "requires_payment_method",
    )
    assert succeeded.summary == "Stripe: GBP 1,500.00 Deposit succeeded"
    assert async_to_sync(drain)(layer, channel).count("payment_status_change") == 2


@pytest.mark.django_db(transaction=True)
def test_a_payment_finds_its_wedding_by_the_payers_email_or_lands_nowhere(
    team, stripe, studio, eager_celery
):
    _, url = studio
    ContactFactory(wedding=team.wedding, name="Ana Ferreira", email="ana@example.com")
    by_email = stripe.add_payment_intent(30000, "eur", receipt_email="ANA@example.com")
    stranger = stripe.add_payment_intent(30000, "eur", receipt_email="someone@example.com")
    elsewhere = stripe.add_payment_intent(30000, "eur", metadata={"wedding_id": "w-unknown"})
    for n, intent in enumerate([by_email, stranger, elsewhere]):
        post(stripe, url, "payment_intent.created", intent, n)
    [entry] = logged(team)
    assert entry.data["payment"] == by_email["id"] and entry.data["amount"] == "EUR 300.00"


def budget_entries(team) -> list[IntegrationEvent]:
    return list(
        IntegrationEvent.objects.filter(
            wedding=team.wedding, event_type=IntegrationEvent.Type.BUDGET_MODIFICATION
        ).order_by("created_at")
    )


@pytest.mark.django_db(transaction=True)
def test_a_deposit_paid_to_the_photographer_updates_the_weddings_budget(
    team, stripe, studio, eager_celery, client_for
):
    connection, url = studio
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(wedding_group(team.wedding.pk), channel)
    named = {"wedding_id": str(team.wedding.pk)}
    deposit = stripe.add_payment_intent(150000, "gbp", description="Deposit", metadata=named)
    balance = stripe.add_payment_intent(350000, "gbp", description="Balance", metadata=named)

    post(stripe, url, "payment_intent.created", deposit, 1)
    paid = stripe.succeed(deposit["id"])
    post(stripe, url, "payment_intent.succeeded", paid, 2)
    post(stripe, url, "payment_intent.created", balance, 3)
    post(stripe, url, "payment_intent.succeeded", paid, 4)  # the same state again

    budget = client_for(team.coordinator).get(f"/api/weddings/{team.wedding.pk}/budget/")
    assert budget.status_code == 200
    body = budget.json()
    assert body["totals"] == [
        {"currency": "GBP", "paid": "1500.00", "refunded": "0.00", "due": "3500.00"}
    ]
    [vendor] = body["vendors"]
    assert (vendor["name"], vendor["paid"], vendor["due"], vendor["payments"]) == (
        "Lumen Photography",
        "1500.00",
        "3500.00",
        2,
    )
    assert {p["description"]: p["state"] for p in body["payments"]} == {
        "Deposit": "paid",
        "Balance": "pending",
    }
    summaries = [entry.summary for entry in budget_entries(team)]
    assert summaries == [
        "Budget: GBP 1,500.00 on its way to Lumen Photography",
        "Budget: GBP 1,500.00 paid to Lumen Photography (GBP 1,500.00 paid in all)",
        "Budget: GBP 3,500.00 on its way to Lumen Photography",
    ]
    assert async_to_sync(drain)(layer, channel).count("budget_modification") == 3
    assert Payment.objects.get(external_id=deposit["id"]).source_connection_id == connection.pk


def test_amounts_read_as_each_provider_sends_them():
    assert money(150000, "gbp") == "GBP 1,500.00"  # Stripe and Square: minor units
    assert money("1500.00", "USD") == "USD 1,500.00"  # PayPal: a decimal string
    assert money(5000, "JPY") == "JPY 5,000"  # no minor units
    assert money(None, "EUR") == ""


@pytest.mark.django_db(transaction=True)
def test_a_payment_reported_for_another_wedding_leaves_the_first_ones_budget(
    team, stripe, studio, eager_celery
):
    """The vendor's checkout is corrected to name another wedding: the payment moves, the
    wedding it left hears its budget lost it, the other hears it arrived, status unchanged."""
    _, url = studio
    other = ParticipantFactory(organization=studio[0].organization).wedding
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(wedding_group(team.wedding.pk), channel)
    named = {"wedding_id": str(team.wedding.pk)}
    deposit = stripe.add_payment_intent(150000, "gbp", description="Deposit", metadata=named)
    post(stripe, url, "payment_intent.succeeded", stripe.succeed(deposit["id"]), 1)
    moved = stripe.edit_payment_intent(deposit["id"], metadata={"wedding_id": str(other.pk)})
    post(stripe, url, "payment_intent.succeeded", moved, 2)  # the same status, a new wedding

    payment = Payment.objects.get(external_id=deposit["id"])
    assert payment.wedding_id == other.pk
    assert [entry.summary for entry in budget_entries(team)] == [
        "Budget: GBP 1,500.00 paid to Lumen Photography (GBP 1,500.00 paid in all)",
        "Budget: Lumen Photography's payment of GBP 1,500.00 is now another wedding's "
        "(GBP 0.00 paid in all)",
    ]
    assert budget_entries(team)[-1].data["paid"] == "0"
    arrived = IntegrationEvent.objects.filter(wedding=other).order_by("created_at")
    assert [(e.event_type, e.summary) for e in arrived] == [
        ("payment_status_change", "Stripe: GBP 1,500.00 Deposit succeeded"),
        (
            "budget_modification",
            "Budget: GBP 1,500.00 paid to Lumen Photography (GBP 1,500.00 paid in all)",
        ),
    ]
    assert async_to_sync(drain)(layer, channel).count("budget_modification") == 2
