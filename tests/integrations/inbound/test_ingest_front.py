"""The ingest front (ASGI, ahead of Django) over real HTTP: the same answers as the Django view,
each delivery committed before its 2xx, many deliveries a commit, and the rest of the hub
passed through untouched."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
import uvicorn
from django.db import OperationalError, connection
from django.urls import reverse

from integrations.models import Connection, InboundEvent
from integrations.webhooks import batch, dispatch, front, ingest, lookup, writes
from integrations.webhooks.answers import refuse
from integrations.webhooks.ingest import EMPTY_TWIML
from integrations.webhooks.verify import Delivery
from tests.integrations.inbound.conftest import SLACK_SECRET, inbound_url
from tests.integrations.providers.conftest import make_connection
from wedsync.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hub():
    """The hub's ASGI application served by uvicorn on a free port (lifespan on, as deployed):
    its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(application, lifespan="on", log_level="warning", loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    listener.close()


@pytest.fixture
def woken(monkeypatch):
    """The drains the writer wakes: a list of {connection id: organization id} per wake-up."""
    calls: list[dict] = []
    monkeypatch.setattr(
        dispatch, "queue_drains", lambda organization_of: calls.append(dict(organization_of))
    )
    return calls


def bridge_body(record_id="tl-1", event="timeline_item.updated") -> bytes:
    return json.dumps(
        {
            "event": event,
            "id": record_id,
            "occurred_at": "2027-02-27T10:00:00Z",
            "data": {"title": "Ceremony", "starts_at": "2027-02-27T15:30:00+00:00"},
        }
    ).encode()


def post(hub, connection, body: bytes, secret, content_type="application/json", **kwargs):
    headers = {"Content-Type": content_type, **kwargs.pop("headers", {})}
    if secret is not None:
        headers["X-WedSync-Secret"] = secret
    return requests.post(
        hub + inbound_url(connection), data=body, headers=headers, timeout=10, **kwargs
    )


def test_the_fronts_urls_are_the_hubs_webhook_urls():
    connection_url = reverse("inbound-webhook", kwargs={"token": "t0k3n"})
    provider_url = reverse("provider-webhook", kwargs={"provider": "slack"})
    assert front.ROUTES[0].pattern.match(connection_url)["key"] == "t0k3n"
    assert front.ROUTES[1].pattern.match(provider_url)["key"] == "slack"


def test_a_delivery_is_committed_before_its_2xx_and_its_drain_is_woken(hub, bridge, woken):
    connection, secret = bridge

    response = post(hub, connection, bridge_body(), secret)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "received"
    event = InboundEvent.objects.get(pk=answer["id"])  # committed: another connection sees it
    assert (event.connection_id, event.status, bytes(event.body)) == (
        connection.pk,
        "received",
        bridge_body(),
    )
    assert secret not in json.dumps(event.headers)
    assert woken == [{connection.pk: connection.organization_id}]


def test_a_repeated_delivery_is_acknowledged_as_a_duplicate_and_stored_once(hub, bridge, woken):
    connection, secret = bridge
    first = post(hub, connection, bridge_body(), secret)
    again = post(hub, connection, bridge_body(), secret)  # the connection is now kept: on loop
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"status": "duplicate"}
    assert InboundEvent.objects.count() == 1
    assert len(woken) == 1  # nothing new to process the second time


@pytest.mark.parametrize(
    "case, expected",
    [
        ("wrong secret", (401, "signature verification failed")),
        ("no secret", (401, "signature verification failed")),
        ("malformed JSON", (400, "not valid JSON")),
        ("form body", (400, "expected Content-Type application/json")),
        ("unknown URL", (404, "no connection has this webhook URL")),
    ],
)
def test_bad_deliveries_get_the_views_answers_and_nothing_is_stored(hub, bridge, case, expected):
    connection, secret = bridge
    post(hub, connection, bridge_body("warm"), secret)  # whether kept or looked up, the same
    InboundEvent.objects.all().delete()
    if case == "wrong secret":
        response = post(hub, connection, bridge_body(), secret + "x")
    elif case == "no secret":
        response = post(hub, connection, bridge_body(), None)
    elif case == "malformed JSON":
        response = post(hub, connection, b'{"event": ', secret)
    elif case == "form body":
        response = post(hub, connection, b"a=1", secret, "application/x-www-form-urlencoded")
    else:
        response = requests.post(hub + "/api/integrations/inbound/nope/", data=b"{}", timeout=10)
    assert response.status_code == expected[0]
    assert expected[1] in response.json()["error"]
    assert not InboundEvent.objects.exists()


def test_an_oversized_body_is_413_by_its_length_or_as_it_streams(hub, bridge, settings):
    connection, secret = bridge
    settings.WEBHOOK_MAX_BODY_BYTES = 100
    big = b'{"event": "timeline_item.updated", "pad": "' + b"x" * 200 + b'"}'

    declared = post(hub, connection, big, secret)
    chunked = post(hub, connection, iter([big[:60], big[60:]]), secret)  # no Content-Length

    assert (declared.status_code, chunked.status_code) == (413, 413)
    assert "larger than 100 bytes" in chunked.json()["error"]
    assert not InboundEvent.objects.exists()


def test_other_methods_are_405_and_unsupported_events_stored_as_ignored(hub, bridge, woken):
    connection, secret = bridge
    put = requests.put(hub + inbound_url(connection), data=bridge_body(), timeout=10)
    ignored = post(hub, connection, bridge_body(event="invoice.paid"), secret)

    assert put.status_code == 405
    assert ignored.status_code == 202 and ignored.json()["status"] == "ignored"
    assert InboundEvent.objects.get().outcome == "unsupported event type"
    assert woken == []  # an ignored event has nothing to process


def test_a_nul_or_lone_surrogate_in_the_event_type_is_stored_not_a_failed_batch(hub, bridge, woken):
    """PostgreSQL's text takes no NUL nor lone surrogate: such a delivery (signed, so from the
    vendor) would have failed its whole batch with 503; it is stored, its event type mended."""
    connection_, secret = bridge
    body = b'{"event": "timeline_item.updated\\u0000x\\ud800", "id": "tl\\u00001"}'
    response = post(hub, connection_, body, secret)
    assert response.status_code == 202, response.text
    event = InboundEvent.objects.get(pk=response.json()["id"])
    assert event.event_type == "timeline_item.updated\ufffdx?"
    assert event.status == InboundEvent.Status.IGNORED
    assert bytes(event.body) == body


def test_a_paused_connections_deliveries_are_held(hub, bridge, woken):
    connection, secret = bridge
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.PAUSED)
    response = post(hub, connection, bridge_body(), secret)
    assert response.status_code == 202 and response.json()["status"] == "held"
    assert woken == []


def test_when_the_database_refuses_the_write_the_answer_is_503_and_the_writer_goes_on(
    hub, bridge, woken, monkeypatch
):
    connection, secret = bridge

    def refused(*args):
        raise OperationalError("the database is restarting")

    async def refused_async(*args):
        refused()

    with monkeypatch.context() as patched:
        patched.setattr(writes, "store_many", refused)
        patched.setattr(writes, "store_many_async", refused_async)
        failed = post(hub, connection, bridge_body("a"), secret)
    stored = post(hub, connection, bridge_body("b"), secret)

    assert failed.status_code == 503 and "deliver it again" in failed.json()["error"]
    assert stored.status_code == 200
    assert [bytes(e.body) for e in InboundEvent.objects.all()] == [bridge_body("b")]


def admitted(connection, record_id: str) -> ingest.Admitted:
    delivery = Delivery(body=bridge_body(record_id), headers={}, url="", query={})
    return ingest.admitted(connection, connection.spec, delivery, "timeline_item.updated")


def test_a_batch_is_written_together_and_a_repeat_within_it_is_a_duplicate(bridge):
    connection, _ = bridge
    ids = writes.store_many(
        [admitted(connection, "a"), admitted(connection, "b"), admitted(connection, "a")]
    )
    assert ids[0] is not None and ids[1] is not None and ids[2] is None
    assert sorted(InboundEvent.objects.values_list("pk", flat=True)) == sorted(ids[:2])


def test_the_writer_answers_all_it_was_handed_before_it_stops(bridge, woken):
    connection, _ = bridge
    writer = batch.GroupCommit()
    answers = []
    for record_id in ("a", "b", "c", "a"):
        writer.submit(admitted(connection, record_id), answers.append)
    writer.stop()

    assert [a.data["status"] for a in answers] == ["received"] * 3 + ["duplicate"]
    assert InboundEvent.objects.count() == 3
    assert woken and all(w == {connection.pk: connection.organization_id} for w in woken)
    assert not writer.alive


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the loop writer is PostgreSQL's")
def test_the_loop_writer_commits_a_batch_and_answers_a_repeat_within_it_as_a_duplicate(
    bridge, woken
):
    connection_, _ = bridge
    writer = batch.LoopGroupCommit()
    entries = [admitted(connection_, record_id) for record_id in ("a", "b", "c", "a")]

    async def write_all():
        try:
            return await asyncio.gather(*(writer.write(entry) for entry in entries))
        finally:
            await writer.close()

    answers = asyncio.run(write_all())

    assert [a.data["status"] for a in answers] == ["received"] * 3 + ["duplicate"]
    assert InboundEvent.objects.count() == 3
    assert woken and all(w == {connection_.pk: connection_.organization_id} for w in woken)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the loop writer is PostgreSQL's")
def test_the_loop_writer_stores_each_value_as_the_django_view_would(bridge, woken):
    """The batch travels as one JSON document: bytes that are not text, a NUL, headers and
    the received time to the microsecond come back out of the database as they went in."""
    connection_, _ = bridge
    body = b"\x00\xff\xfe raw \x00 bytes"
    headers = {"X-Thing": '\u00e9t\u00e9 "quoted"'}
    delivery = Delivery(body=body, headers=headers, url="", query={})
    entry = ingest.admitted(connection_, connection_.spec, delivery, "timeline_item.updated")
    writer = batch.LoopGroupCommit()

    async def write_one():
        try:
            return await writer.write(entry)
        finally:
            await writer.close()

    answer = asyncio.run(write_one())

    event = InboundEvent.objects.get(pk=answer.data["id"])
    assert bytes(event.body) == body
    assert event.headers == {"x-thing": '\u00e9t\u00e9 "quoted"'} == entry.values["headers"]
    assert event.received_at == entry.values["received_at"]
    assert event.received_at.microsecond == entry.values["received_at"].microsecond
    assert (event.dedup_key, event.event_type, event.status, event.attempts) == (
        entry.values["dedup_key"],
        "timeline_item.updated",
        InboundEvent.Status.RECEIVED,
        0,
    )
    assert event.connection_id == connection_.pk


def test_deliveries_waiting_for_their_provider_never_hold_up_other_connections(
    hub, bridge, woken, monkeypatch
):
    """PayPal's deliveries wait for PayPal's verify API (up to its timeout): with as many of
    them waiting as there are threads for it, another connection's first delivery (which
    needs the database: the lookup does not keep it yet) is still answered at once."""
    connection_, secret = bridge
    paypal = make_connection(
        connection_.organization,
        "paypal",
        {"client_id": "id", "client_secret": "s"},
        webhook_secret="WH-1",
    )
    lookup.connection_for_token(paypal.webhook_token)  # kept, as for a steady stream
    release, asked = threading.Event(), []

    def provider_slow_to_answer(*_args):
        asked.append(1)
        release.wait(10)
        return refuse(503, "PayPal could not confirm the signature now; deliver it again")

    monkeypatch.setattr(ingest, "refusal_unless_confirmed", provider_slow_to_answer)
    headers = {
        "Content-Type": "application/json",
        "PAYPAL-TRANSMISSION-ID": "t-1",
        "PAYPAL-TRANSMISSION-TIME": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "PAYPAL-TRANSMISSION-SIG": "sig",
        "PAYPAL-CERT-URL": "https://api.paypal.com/cert",
        "PAYPAL-AUTH-ALGO": "SHA256withRSA",
    }
    body = b'{"id": "WH-EV-1", "event_type": "PAYMENT.CAPTURE.COMPLETED"}'
    with ThreadPoolExecutor(front.CONFIRM_THREADS) as senders:
        waiting = [
            senders.submit(
                requests.post, hub + inbound_url(paypal), data=body, headers=headers, timeout=20
            )
            for _ in range(front.CONFIRM_THREADS)
        ]
        deadline = time.monotonic() + 10
        while len(asked) < front.CONFIRM_THREADS and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(asked) == front.CONFIRM_THREADS

        response = post(hub, connection_, bridge_body(), secret)

        assert response.status_code == 200, response.text
        assert not any(sent.done() for sent in waiting)  # still waiting for PayPal
        release.set()
        assert [sent.result().status_code for sent in waiting] == [503] * front.CONFIRM_THREADS
    assert not InboundEvent.objects.filter(connection=paypal).exists()


def test_the_provider_url_is_served_by_the_front(hub, slack_app):
    import hashlib
    import hmac

    body = json.dumps(
        {"type": "event_callback", "team_id": "T0001", "event_id": "Ev1", "event": {"type": "x"}}
    ).encode()
    stamp = str(int(time.time()))
    mac = hmac.new(SLACK_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + mac.hexdigest(),
    }
    url = hub + "/api/integrations/webhooks/slack/"

    good = requests.post(url, data=body, headers=headers, timeout=10)
    forged = requests.post(url, data=body + b" ", headers=headers, timeout=10)

    assert good.status_code == 202 and good.json()["status"] == "ignored"
    assert forged.status_code == 401
    assert InboundEvent.objects.get().connection == slack_app


def test_the_rest_of_the_hub_is_passed_through_and_the_front_has_its_own_health(hub, bridge):
    django = requests.get(hub + "/healthz", timeout=10)
    own = requests.get(hub + front.HEALTH_PATH, timeout=10)
    slashless = requests.post(hub + inbound_url(bridge[0]).rstrip("/"), data=b"{}", timeout=10)

    assert django.status_code == 200 and "status" in django.json()
    assert own.json()["status"] == "ok"
    assert slashless.status_code != 200  # Django's own answer, not the front's
    assert not InboundEvent.objects.exists()


def test_a_twilio_signature_over_the_url_the_provider_saw_is_checked_at_the_front(
    hub, twilio, vendor, woken
):
    credentials = {"username": twilio.account_sid, "password": twilio.auth_token}
    connection = make_connection(vendor[0], "twilio", credentials)
    url = hub + inbound_url(connection)
    message = twilio.add_message("on our way", from_="+447700900789", to=twilio.phone_number)
    params = twilio.inbound_params(message)

    good = twilio.send_webhook(url, params)
    other_host = twilio.send_webhook(url, params, signed_url=url.replace("127.0.0.1", "localhost"))

    assert good.status_code == 200, good.text
    assert good.headers["Content-Type"].startswith("text/xml") and good.text == EMPTY_TWIML
    assert other_host.status_code == 401
    assert InboundEvent.objects.get().dedup_key == f"id:{message['sid']}"
