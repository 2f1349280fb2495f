"""PayPal over HTTP against its emulator (no mocks): linking with a REST app's credentials and
webhook id, and webhooks that PayPal's verify-webhook-signature API confirms before anything is
stored, then the capture fetched back."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from integrations import services
from integrations.errors import ProviderError
from integrations.models import Connection, InboundEvent, RecordLink
from integrations.providers.payments.paypal.adapter import forget_tokens
from integrations.providers.payments.paypal.emulator import PayPalEmulator
from integrations.registry import get_provider
from tests.integrations.providers.conftest import make_connection

VERIFY_PATH = "/v1/notifications/verify-webhook-signature"


@pytest.fixture
def paypal(settings):
    forget_tokens()
    with PayPalEmulator() as emulator:
        settings.PROVIDER_ORIGINS = {"paypal": emulator.base_url}
        yield emulator
    forget_tokens()


@pytest.fixture
def app(paypal):
    return paypal.add_app()


def credentials(app) -> dict[str, str]:
    return {"username": app["client_id"], "password": app["client_secret"]}


def token_requests(paypal) -> list:
    return [r for r in paypal.requests if r.path == "/v1/oauth2/token"]


# -- linking ----------------------------------------------------------------------------------


def test_api_links_paypal_with_the_apps_credentials_and_webhook_id(
    paypal, app, vendor, client_for, caplog
):
    organization, owner = vendor
    webhook = paypal.add_webhook("https://hub.example/placeholder/")
    caplog.set_level(logging.DEBUG)

    response = client_for(owner).post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "paypal",
            "organization": str(organization.pk),
            "credentials": credentials(app),
            "webhook_secret": webhook["id"],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    connection = Connection.objects.get(provider="paypal")
    assert connection.webhook_secret == webhook["id"]
    assert connection.credentials == credentials(app)
    assert app["client_secret"] not in caplog.text and app["client_secret"] not in str(
        response.json()
    )
    listed = [r for r in paypal.requests if r.path == "/v1/notifications/webhooks"]
    assert listed and listed[0].headers["Authorization"].startswith("Bearer ")


def test_a_webhook_id_paypal_does_not_know_is_refused_and_nothing_is_saved(
    paypal, app, vendor, client_for
):
    organization, owner = vendor
    paypal.add_webhook("https://hub.example/placeholder/")

    response = client_for(owner).post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "paypal",
            "organization": str(organization.pk),
            "credentials": credentials(app),
            "webhook_secret": "WH-NOTONEOFTHEAPPS",
        },
        format="json",
    )

    assert response.status_code == 400
    assert "no webhook with this ID" in response.json()["webhook_secret"][0]
    assert not Connection.objects.exists()


def test_a_wrong_secret_is_refused_with_paypals_reason(paypal, app):
    spec = get_provider("paypal")
    with pytest.raises(ProviderError) as raised:
        services.test_credentials(spec, {"username": app["client_id"], "password": "E" * 40})
    assert (raised.value.kind, raised.value.status) == ("invalid_credentials", 401)
    assert "Client Authentication failed" in str(raised.value)


def test_one_token_serves_many_calls_and_a_dropped_token_is_replaced_once(paypal, app, vendor):
    adapter = services.adapter_for(make_connection(vendor[0], "paypal", credentials(app)))
    capture = paypal.add_capture(status="COMPLETED")

    adapter.fetch("captures", capture["id"])
    adapter.fetch("captures", capture["id"])
    assert len(token_requests(paypal)) == 1

    paypal.reset_state()  # PayPal forgets every token it issued (the app survives below)
    paypal.add_app(app["client_id"], app["client_secret"])
    capture = paypal.add_capture(status="COMPLETED")
    record = adapter.fetch("captures", capture["id"])
    assert record.fields["status"] == "COMPLETED" and record.kind == "payment"
    assert len(token_requests(paypal)) == 2


# -- webhooks ---------------------------------------------------------------------------------


@pytest.fixture
def linked(paypal, app, vendor, live_server):
    """A PayPal connection whose webhook configuration points at the live hub."""
    organization, _ = vendor
    connection = make_connection(organization, "paypal", credentials(app))
    url = f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
    webhook = paypal.add_webhook(url, ["PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.REFUNDED"])
    connection.webhook_secret = webhook["id"]
    connection.save()
    return connection, url, webhook


@pytest.mark.django_db(transaction=True)
def test_a_completed_capture_is_confirmed_by_paypal_stored_once_and_fetched_back(
    paypal, linked, eager_celery
):
    connection, url, webhook = linked
    capture = paypal.add_capture(
        custom_id="wedding-42", amount={"currency_code": "EUR", "value": "1500.00"}
    )

    paypal.complete_capture(capture["id"])
    [delivery] = paypal.wait_for_deliveries()

    assert delivery.status_code == 200
    event = InboundEvent.objects.get(connection=connection)
    assert event.status == "processed" and event.event_type == "PAYMENT.CAPTURE.COMPLETED"
    assert event.dedup_key == f"id:{paypal.events()[0]['id']}"
    link = RecordLink.objects.get(connection=connection, external_id=capture["id"])
    assert link.kind == "payment"
    assert link.snapshot["status"] == "COMPLETED" and link.snapshot["amount"] == "1500.00"
    assert link.snapshot["wedding_id"] == "wedding-42"
    [confirmation] = [r for r in paypal.requests if r.path == VERIFY_PATH]
    assert confirmation.json()["webhook_id"] == webhook["id"]
    assert confirmation.json()["transmission_id"] == delivery.transmission_id
    fetched = [r for r in paypal.requests if r.path == f"/v2/payments/captures/{capture['id']}"]
    assert len(fetched) == 1  # the record is trusted once PayPal's API says so

    again = paypal.send_webhook(url, paypal.events()[0], webhook["id"])
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    assert InboundEvent.objects.filter(connection=connection).count() == 1


@pytest.mark.django_db(transaction=True)
def test_what_paypal_does_not_confirm_is_refused_and_nothing_is_stored(paypal, linked, caplog):
    _, url, webhook = linked
    capture = paypal.add_capture(status="COMPLETED")
    event = paypal.event_for(capture, "PAYMENT.CAPTURE.COMPLETED")

    forged = paypal.send_webhook(url, event, webhook["id"], sign_with_other_key=True)
    other_webhook = paypal.send_webhook(url, event, "WH-SOMEBODYELSES00")
    stale_time = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    stale = paypal.send_webhook(url, event, webhook["id"], transmission_time=stale_time)

    assert forged.status_code == 401 and "did not confirm" in forged.json()["error"]
    assert other_webhook.status_code == 401
    assert stale.status_code == 401 and "stale" in stale.json()["error"]
    assert not InboundEvent.objects.exists()
    assert webhook["id"] not in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_delivery_without_paypals_headers_is_refused_before_paypal_is_asked(paypal, linked):
    import requests

    _, url, _ = linked
    response = requests.post(
        url, json={"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED"}, timeout=5
    )

    assert response.status_code == 401 and "missing" in response.json()["error"]
    assert not [r for r in paypal.requests if r.path == VERIFY_PATH]
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_when_paypal_cannot_confirm_the_answer_is_503_and_the_redelivery_is_stored(
    paypal, linked, eager_celery
):
    connection, url, webhook = linked
    capture = paypal.add_capture(status="COMPLETED")
    event = paypal.event_for(capture, "PAYMENT.CAPTURE.COMPLETED")
    paypal.inject_fault(503, times=3, path_prefix=VERIFY_PATH)  # inline retries included

    refused = paypal.send_webhook(url, event, webhook["id"])

    assert refused.status_code == 503 and "deliver it again" in refused.json()["error"]
    assert not InboundEvent.objects.exists()
    assert paypal.send_webhook(url, event, webhook["id"]).status_code == 200
    assert InboundEvent.objects.get(connection=connection).status == "processed"


@pytest.mark.django_db(transaction=True)
def test_a_refund_event_is_confirmed_then_recorded_as_ignored(paypal, linked):
    connection, url, webhook = linked
    capture = paypal.add_capture(status="COMPLETED")

    response = paypal.send_webhook(
        url, paypal.event_for(capture, "PAYMENT.CAPTURE.REFUNDED"), webhook["id"]
    )

    assert response.status_code == 202
    event = InboundEvent.objects.get(connection=connection)
    assert event.status == "ignored" and event.outcome == "unsupported event type"


@pytest.mark.django_db(transaction=True)
def test_a_connection_without_its_webhook_id_refuses_paypals_deliveries(
    paypal, app, vendor, live_server
):
    connection = make_connection(vendor[0], "paypal", credentials(app))
    url = f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
    event = paypal.event_for(paypal.add_capture(status="COMPLETED"), "PAYMENT.CAPTURE.COMPLETED")

    response = paypal.send_webhook(url, event, "WH-ANYTHING0000000")

    assert response.status_code == 401 and "no webhook secret" in response.json()["error"]
    assert not InboundEvent.objects.exists()
