"""Táve's REST Hooks end to end: the emulator posts {"targetId"} to the hub over HTTP, the hub
checks the connection's secret, and the job is fetched back from Táve before it is trusted."""

from __future__ import annotations

import time

import pytest
import requests

from integrations.models import InboundEvent, RecordLink
from tests.integrations.providers.conftest import make_connection

pytestmark = pytest.mark.django_db(transaction=True)


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def subscribe(tave, key: str, event: str, url: str) -> None:
    response = requests.post(
        f"{tave.api_url}/rest-hook",
        json={"event": event, "url": url},
        headers={"X-API-KEY": key},
        timeout=5,
    )
    assert response.status_code in (200, 201), response.text


def test_a_rest_hook_is_verified_fetched_back_and_stored(tave, vendor, live_server, eager_celery):
    organization, _ = vendor
    key = tave.add_api_key()
    connection = make_connection(
        organization, "tave", {"api_key": key}, webhook_secret="hook-secret-0123456789abcdef"
    )
    hook_url = (
        f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
        f"?event=job.created&key=hook-secret-0123456789abcdef"
    )
    subscribe(tave, key, "job.created", hook_url)

    job = tave.add_job(name="Ana Ferreira & Ben Carter", eventDate="2027-02-27", guestCount=120)
    deliveries = tave.wait_for_deliveries()
    assert [d.status_code for d in deliveries] == [200]
    assert wait_until(lambda: RecordLink.objects.filter(external_id=str(job["id"])).exists())
    link = RecordLink.objects.get(external_id=str(job["id"]))
    assert link.snapshot["couple_names"] == "Ana Ferreira & Ben Carter"
    assert link.snapshot["guest_count"] == 120
    event = InboundEvent.objects.get()
    assert event.status == InboundEvent.Status.PROCESSED
    fetches = [
        r for r in tave.requests if r.method == "GET" and r.path.endswith(f"/job/{job['id']}")
    ]
    assert len(fetches) == 1  # the hook's content was confirmed with Táve itself


def test_a_hook_with_the_wrong_key_is_refused(tave, vendor, live_server):
    organization, _ = vendor
    key = tave.add_api_key()
    connection = make_connection(
        organization, "tave", {"api_key": key}, webhook_secret="hook-secret-0123456789abcdef"
    )
    hook_url = (
        f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
        f"?event=job.created&key=guessed"
    )
    subscribe(tave, key, "job.created", hook_url)
    tave.add_job(name="Someone Else", eventDate="2027-03-01")
    assert [d.status_code for d in tave.wait_for_deliveries()] == [401]
    assert not InboundEvent.objects.exists()


def test_the_hub_subscribes_its_rest_hooks_and_renews_them(
    tave, vendor, live_server, settings, eager_celery
):
    """Linked with a key alone, the studio's new jobs reach the hub: the hourly channel task
    subscribes a REST Hook per event with the connection's URL and secret, keeps them while
    they are current, and renews them (new ones first, then the old deleted)."""
    from integrations.models import Connection
    from integrations.tasks import renew_push_channels

    settings.PUBLIC_URL = live_server.url
    organization, _ = vendor
    connection = make_connection(organization, "tave", {"api_key": tave.add_api_key()})

    assert renew_push_channels() == {"opened": 1}

    hooks = tave.hooks()
    events = sorted(h["event"] for h in hooks)
    assert events == ["contact.created", "job.created", "payment.created"]
    assert all(h["url"].startswith(f"{live_server.url}/api/integrations/inbound/") for h in hooks)
    job = tave.add_job(name="Ana & Ben", eventDate="2027-02-27", guestCount=90)
    assert [d.status_code for d in tave.wait_for_deliveries()] == [200]
    assert wait_until(lambda: RecordLink.objects.filter(external_id=str(job["id"])).exists())
    payment = tave.add_payment(jobId=job["id"], amount=50000, memo="Retainer")
    assert [d.status_code for d in tave.wait_for_deliveries()][-1:] == [200]
    assert wait_until(
        lambda: RecordLink.objects.filter(kind="payment", external_id=payment["id"]).exists()
    )
    assert renew_push_channels() == {"current": 1}

    channel = Connection.objects.get(pk=connection.pk).config["push_channel"]
    Connection.objects.filter(pk=connection.pk).update(
        config={"push_channel": {**channel, "expires_at": 0}}
    )
    assert renew_push_channels() == {"renewed": 1}
    renewed = tave.hooks()
    assert len(renewed) == 3 and not {h["id"] for h in renewed} & {h["id"] for h in hooks}
