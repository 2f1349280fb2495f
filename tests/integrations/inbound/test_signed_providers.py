"""Signed providers end to end over HTTP: Stripe posts a signed event to the connection's URL
(live server); Slack posts to the provider's fixed URL and is routed by its team id."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from integrations.models import InboundEvent, RecordLink
from tests.integrations.inbound.conftest import SLACK_SECRET
from tests.integrations.providers.conftest import make_connection


@pytest.mark.django_db(transaction=True)
def test_a_signed_stripe_event_is_verified_stored_and_applied(
    stripe, vendor, live_server, eager_celery
):
    organization, _ = vendor
    key = stripe.add_api_key()
    connection = make_connection(
        organization, "stripe", {"secret_key": key}, webhook_secret="whsec_test_secret_0123456789"
    )
    url = f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
    intent = stripe.add_payment_intent(150000, "gbp", description="Deposit")
    paid = stripe.succeed(intent["id"])
    event = {
        "id": "evt_1",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": paid},
    }

    assert stripe.send_webhook(url, event, "whsec_wrong").status_code == 401
    assert not InboundEvent.objects.exists()
    stale = stripe.send_webhook(
        url, event, "whsec_test_secret_0123456789", timestamp=int(time.time()) - 600
    )
    assert stale.status_code == 401 and "stale" in stale.json()["error"]

    response = stripe.send_webhook(url, event, "whsec_test_secret_0123456789")
    assert response.status_code == 200, response.text
    again = stripe.send_webhook(url, event, "whsec_test_secret_0123456789")
    assert again.json() == {"status": "duplicate"}
    stored = InboundEvent.objects.get()
    assert stored.dedup_key == "id:evt_1" and stored.status == "processed"
    link = RecordLink.objects.get(connection=connection, external_id=intent["id"])
    assert link.kind == "payment" and link.snapshot["status"] == "succeeded"


@pytest.mark.django_db(transaction=True)
def test_stripe_linked_with_its_signing_secret_takes_the_endpoints_deliveries(
    stripe, vendor, client_for, live_server, eager_celery
):
    """The vendor pastes the endpoint's whsec_ on the link; Stripe's own delivery then passes."""
    from integrations.models import Connection

    organization, owner = vendor
    api = client_for(owner)
    key = stripe.add_api_key()
    link = {
        "provider": "stripe",
        "organization": str(organization.pk),
        "credentials": {"secret_key": key},
    }
    refused = api.post(
        "/api/integrations/vendor/connect/",
        {**link, "webhook_secret": "sk_test_not_a_signing_secret"},
        format="json",
    )
    assert refused.status_code == 400
    assert "signing secret" in refused.json()["webhook_secret"][0]
    assert not Connection.objects.exists()

    endpoint = stripe.add_webhook_endpoint("http://placeholder.invalid/")
    created = api.post(
        "/api/integrations/vendor/connect/",
        {**link, "webhook_secret": endpoint["secret"]},
        format="json",
    )
    assert created.status_code == 201, created.json()
    connection = Connection.objects.get(pk=created.json()["id"])
    assert connection.has_webhook_secret and endpoint["secret"] not in str(created.json())
    url = f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
    intent = stripe.add_payment_intent(50000, "eur", description="Deposit")
    event = {
        "id": "evt_linked",
        "object": "event",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "data": {"object": stripe.succeed(intent["id"])},
    }
    assert stripe.send_webhook(url, event, endpoint["secret"]).status_code == 200
    assert InboundEvent.objects.get(connection=connection).status == "processed"


def slack_post(client, body: dict, *, secret=SLACK_SECRET, timestamp=None):
    raw = json.dumps(body).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = (
        "v0=" + hmac.new(secret.encode(), f"v0:{stamp}:".encode() + raw, hashlib.sha256).hexdigest()
    )
    return client.post(
        "/api/integrations/webhooks/slack/",
        raw,
        content_type="application/json",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=stamp,
        HTTP_X_SLACK_SIGNATURE=signature,
    )


def test_slack_url_verification_is_answered_after_the_signature(client, slack_app):
    response = slack_post(client, {"type": "url_verification", "challenge": "3eZbrw1aBm"})
    assert response.status_code == 200 and response.content == b"3eZbrw1aBm"
    forged = slack_post(client, {"type": "url_verification", "challenge": "x"}, secret="nope")
    assert forged.status_code == 401


def test_slack_events_are_routed_to_the_teams_connection(client, slack_app):
    body = {
        "type": "event_callback",
        "team_id": "T0001",
        "event_id": "Ev1",
        "event": {"type": "message", "text": "The florist is running late"},
    }
    response = slack_post(client, body)
    assert response.status_code == 202  # no Slack event types are processed yet
    event = InboundEvent.objects.get()
    assert event.connection == slack_app and event.status == "ignored"
    assert event.dedup_key == "id:Ev1"
    assert slack_post(client, {**body, "team_id": "T9999", "event_id": "Ev2"}).status_code == 404
    stale = slack_post(client, {**body, "event_id": "Ev3"}, timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401


def test_a_provider_without_a_fixed_url_is_404_there(client, db):
    response = client.post(
        "/api/integrations/webhooks/stripe/", b"{}", content_type="application/json"
    )
    assert response.status_code == 404
    assert (
        client.post(
            "/api/integrations/webhooks/nope/", b"{}", content_type="application/json"
        ).status_code
        == 404
    )


@pytest.mark.django_db
def test_a_burst_of_one_records_events_fetches_it_back_once(stripe, vendor):
    """Three verified events about one PaymentIntent wait in the same drain batch: the intent
    is fetched back once (its current state covers all three) and every event is processed."""
    from integrations.webhooks.drain import drain_connection

    organization, _ = vendor
    connection = make_connection(organization, "stripe", {"secret_key": stripe.add_api_key()})
    intent = stripe.add_payment_intent(150000, "gbp", description="Deposit")
    for n, kind in enumerate(("created", "processing", "succeeded")):
        body = {
            "id": f"evt_{n}",
            "object": "event",
            "type": f"payment_intent.{kind}",
            "created": int(time.time()) + n,
            "data": {"object": intent},
        }
        InboundEvent.objects.create(
            connection=connection,
            provider="stripe",
            dedup_key=f"id:evt_{n}",
            event_type=body["type"],
            body=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
        )
    stripe.succeed(intent["id"])  # what Stripe holds by the time the batch is processed
    fetched_before = len([r for r in stripe.requests if intent["id"] in r.path])

    assert drain_connection(connection.pk).processed == 3

    fetches = [r for r in stripe.requests if intent["id"] in r.path][fetched_before:]
    assert [r.method for r in fetches] == ["GET"]
    events = InboundEvent.objects.order_by("pk")
    assert {e.status for e in events} == {"processed"}
    assert [e.outcome for e in events][:2] == [f"merged into event {events[2].pk}"] * 2
    link = RecordLink.objects.get(connection=connection, external_id=intent["id"])
    assert link.snapshot["status"] == "succeeded"
