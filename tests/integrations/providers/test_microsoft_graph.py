"""Outlook calendars over Microsoft Graph, against its emulator: OAuth, delta links and their
410, writes with transactionId and etags, and change notifications (handshake, clientState)."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests

from integrations import services
from integrations.adapters.base import Change
from integrations.errors import ProviderError
from integrations.models import Connection, InboundEvent
from integrations.providers.calendars.microsoft_graph.emulator import GraphEmulator
from integrations.sync.channels import ensure_channel
from tests.integrations.providers.conftest import make_connection

CALLBACK = "http://testserver/integrations/oauth/callback/"
LISBON = zoneinfo.ZoneInfo("Europe/Lisbon")
OUR_ID = "0b0e8e36-5a5c-4b43-9d2a-6f1ce2ab77a1"


@pytest.fixture
def graph(settings):
    with GraphEmulator(account_email="maya@lumen.example", display_name="Maya") as emulator:
        emulator.register_client([CALLBACK], client_id="hub-app", client_secret="hub-secret")
        settings.PROVIDER_ORIGINS = {"microsoft_graph": emulator.base_url}
        settings.OAUTH_CLIENTS = {
            "microsoft_graph": {"client_id": "hub-app", "client_secret": "hub-secret"}
        }
        yield emulator


def graph_connection(graph, organization, **config) -> Connection:
    tokens = graph.issue_tokens("hub-app")
    credentials = {
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "expires_at": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat(),
    }
    return make_connection(organization, "microsoft_graph", credentials, config=config)


def ceremony(**changes):
    fields = {
        "title": "Ceremony",
        "location": "Walled Garden",
        "notes": "Bring the rings",
        "time_zone": "Europe/Lisbon",
        "starts_at": dt.datetime(2027, 6, 19, 15, 30, tzinfo=LISBON),
        "ends_at": dt.datetime(2027, 6, 19, 16, 15, tzinfo=LISBON),
    }
    return {**fields, **changes}


def outlook_event(subject: str = "Ceremony", start: str = "2027-06-19T15:30:00"):
    return {
        "subject": subject,
        "start": {"dateTime": start, "timeZone": "Europe/Lisbon"},
        "end": {"dateTime": "2027-06-19T16:15:00", "timeZone": "Europe/Lisbon"},
    }


# -- linking ----------------------------------------------------------------------------------


def test_vendor_links_outlook_through_oauth_and_the_account_is_named(graph, vendor, client):
    organization, owner = vendor
    client.force_login(owner)
    start = client.post("/integrations/link/microsoft_graph/", {"organization": organization.pk})
    assert start.status_code == 302
    authorize = urlsplit(start["Location"])
    assert authorize.path == "/common/oauth2/v2.0/authorize"
    query = parse_qs(authorize.query)
    assert query["scope"] == ["offline_access Calendars.ReadWrite"]
    assert query["code_challenge_method"] == ["S256"]
    consent = requests.get(start["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(consent.headers["Location"])
    finish = client.get(f"{back.path}?{back.query}")

    connection = Connection.objects.get(organization=organization, provider="microsoft_graph")
    assert finish.status_code == 302 and connection.status == Connection.Status.ACTIVE
    assert connection.external_account_id == graph.user_id
    assert connection.external_account_name == "maya@lumen.example"
    assert set(connection.credentials) >= {"access_token", "refresh_token", "expires_at"}


def test_an_expired_token_is_refreshed_and_the_rotated_refresh_token_saved(graph, vendor):
    connection = graph_connection(graph, vendor[0])
    old = connection.credentials
    graph.expire_access_token()
    services.check(connection)
    connection.refresh_from_db()
    assert connection.credentials["access_token"] != old["access_token"]
    assert connection.credentials["refresh_token"] != old["refresh_token"]
    services.check(connection)  # the rotated tokens work


# -- pulling ----------------------------------------------------------------------------------


def test_pull_follows_next_links_then_the_delta_link_brings_only_changes(graph, vendor):
    made = [graph.seed_event(**outlook_event(f"Item {n}")) for n in range(120)]  # > one page
    adapter = services.adapter_for(graph_connection(graph, vendor[0]))
    first = adapter.pull("events")
    assert first.full and len(first.records) == 120
    assert "$deltatoken=" in first.cursor
    record = next(r for r in first.records if r.external_id == made[0]["id"])
    # 15:30 in Lisbon, read back in Lisbon's zone although Graph answered in UTC.
    assert record.fields["starts_at"] == "2027-06-19T15:30:00+01:00"
    assert record.fields["time_zone"] == "Europe/Lisbon"
    assert record.version == graph.event(made[0]["id"])["@odata.etag"]

    graph.user_edits_event(made[7]["id"], subject="Moved")
    graph.user_deletes_event(made[8]["id"])
    second = adapter.pull("events", first.cursor)
    assert not second.full
    assert [(r.external_id, r.fields.get("title"), r.deleted) for r in second.records] == [
        (made[7]["id"], "Moved", False),
        (made[8]["id"], None, True),
    ]


def test_a_lost_sync_state_410_falls_back_to_a_full_resync(graph, vendor):
    graph.seed_event(**outlook_event())
    adapter = services.adapter_for(graph_connection(graph, vendor[0]))
    cursor = adapter.pull("events").cursor
    graph.invalidate_delta_tokens()
    result = adapter.pull("events", cursor)
    assert result.full and [r.fields["title"] for r in result.records] == ["Ceremony"]
    token = parse_qs(urlsplit(cursor).query)["$deltatoken"]
    assert any(r.query.get("$deltatoken") == token for r in graph.requests)


# -- writing ----------------------------------------------------------------------------------


def test_a_retried_create_makes_one_event_at_15_30_in_the_venues_zone(graph, vendor):
    adapter = services.adapter_for(graph_connection(graph, vendor[0]))
    first = adapter.push(Change("events", "create", ceremony(), our_id=OUR_ID))
    again = adapter.push(Change("events", "create", ceremony(), our_id=OUR_ID))
    assert first.external_id == again.external_id and len(graph.events()) == 1
    posts = [r.json() for r in graph.requests if r.method == "POST" and "events" in r.path]
    assert {p["transactionId"] for p in posts} == {OUR_ID}
    event = graph.event(first.external_id)
    assert event["start"] == {
        "dateTime": "2027-06-19T15:30:00.0000000",
        "timeZone": "Europe/Lisbon",
    }
    assert (event["subject"], event["location"]["displayName"]) == ("Ceremony", "Walled Garden")
    assert event["body"] == {"contentType": "text", "content": "Bring the rings"}


def test_updates_are_conditional_on_the_etag_and_a_412_is_the_engines_to_settle(graph, vendor):
    adapter = services.adapter_for(graph_connection(graph, vendor[0]))
    created = adapter.push(Change("events", "create", ceremony(), our_id=OUR_ID))
    graph.user_edits_event(created.external_id, subject="Ceremony (edited in Outlook)")
    update = Change(
        "events",
        "update",
        ceremony(title="Ours", starts_at=dt.datetime(2027, 6, 19, 16, 0, tzinfo=LISBON)),
        our_id=OUR_ID,
        external_id=created.external_id,
        version=created.version,
    )
    with pytest.raises(ProviderError) as raised:
        adapter.push(update)
    assert raised.value.kind == "precondition_failed" and raised.value.permanent is True
    assert graph.event(created.external_id)["subject"] == "Ceremony (edited in Outlook)"
    # What the push engine does next: fetch the current version and write again.
    current = adapter.fetch("events", created.external_id)
    assert current.fields["title"] == "Ceremony (edited in Outlook)"
    update.version = current.version
    updated = adapter.push(update)
    event = graph.event(created.external_id)
    assert event["subject"] == "Ours" and event["start"]["dateTime"].startswith("2027-06-19T16:00")
    assert updated.version == event["@odata.etag"] != current.version


def test_deleting_twice_is_done_not_an_error(graph, vendor):
    adapter = services.adapter_for(graph_connection(graph, vendor[0]))
    created = adapter.push(Change("events", "create", ceremony(), our_id=OUR_ID))
    for _ in range(2):
        adapter.push(Change("events", "delete", {}, our_id=OUR_ID, external_id=created.external_id))
    assert graph.event(created.external_id) is None
    deletes = [r for r in graph.requests if r.method == "DELETE"]
    assert len(deletes) == 2


# -- change notifications ---------------------------------------------------------------------


def inbound(connection: Connection) -> str:
    return f"/api/integrations/inbound/{connection.webhook_token}/"


def test_the_validation_handshake_is_answered_with_the_decoded_token(graph, vendor, client):
    connection = graph_connection(graph, vendor[0])
    connection.webhook_secret = "client-state-of-this-connection"
    connection.save()
    token = "Validation: Testing client application reachability & <more>"
    answer = client.post(
        f"{inbound(connection)}?validationToken={quote(token, safe='')}",
        b"",
        content_type="text/plain",
    )
    assert answer.status_code == 200
    assert answer["Content-Type"].split(";")[0] == "text/plain"
    assert answer.content.decode() == token
    assert not InboundEvent.objects.exists()


def notification(event_id: str, client_state: str | None) -> bytes:
    item = {
        "subscriptionId": "sub-1",
        "changeType": "created",
        "resource": f"Users/u/Events/{event_id}",
        "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "id": event_id},
        "tenantId": "t",
    }
    if client_state is not None:
        item["clientState"] = client_state
    return json.dumps({"value": [item]}).encode()


@pytest.mark.parametrize("state", ["someone-elses-state", None], ids=["wrong", "missing"])
def test_a_wrong_or_missing_client_state_is_refused_and_nothing_stored(
    graph, vendor, client, state
):
    connection = graph_connection(graph, vendor[0])
    connection.webhook_secret = "client-state-of-this-connection"
    connection.save()
    answer = client.post(
        inbound(connection), notification("AAMk1", state), content_type="application/json"
    )
    assert answer.status_code == 401
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_subscription_is_opened_its_notifications_pull_the_event_and_it_is_renewed(
    graph, team, live_server, settings, eager_celery
):
    from wedsync.models import TimelineItem

    settings.PUBLIC_URL = live_server.url
    graph.auto_notify = False  # notifications go out when the test says
    team.wedding.time_zone = "Europe/Lisbon"
    team.wedding.save()
    connection = graph_connection(graph, team.planner_org, wedding_id=str(team.wedding.pk))
    services.adapter_for(connection).pull("events")  # nothing yet; the delta link is kept below
    assert ensure_channel(connection) == "opened"
    [subscription] = graph.subscriptions()
    # Graph validated the hub's URL (for change and lifecycle notifications alike) before the
    # subscription existed, and it echoes the secret.
    assert graph.validations == [(f"{live_server.url}{inbound(connection)}", 200)] * 2
    assert subscription.lifecycle_url == f"{live_server.url}{inbound(connection)}"
    assert subscription.client_state == connection.webhook_secret
    assert len(connection.webhook_secret) <= 128
    assert subscription.change_types == {"created", "updated", "deleted"}
    lifetime = subscription.expires_at - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=2) < lifetime < dt.timedelta(days=3)
    assert ensure_channel(connection) == "current"

    made = graph.seed_event(**outlook_event())
    [delivery] = graph.deliver_notifications()
    assert delivery.status == 200
    item = TimelineItem.objects.get(wedding=team.wedding)
    assert item.title == "Ceremony"
    assert item.starts_at.astimezone(LISBON).time() == dt.time(15, 30)
    assert InboundEvent.objects.get().status == InboundEvent.Status.PROCESSED

    graph.user_edits_event(made["id"], subject="Ceremony (moved)")
    graph.deliver_notifications()
    item.refresh_from_db()
    assert item.title == "Ceremony (moved)"

    # A day before it lapses, the same subscription is extended with PATCH.
    connection.refresh_from_db()
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)
    Connection.objects.filter(pk=connection.pk).update(
        config={
            **connection.config,
            "push_channel": {
                **connection.config["push_channel"],
                "expires_at": int(soon.timestamp()),
            },
        }
    )
    connection.refresh_from_db()
    assert ensure_channel(connection) == "renewed"
    [renewed] = graph.subscriptions()
    assert renewed.id == subscription.id
    connection.refresh_from_db()
    renewed_until = connection.config["push_channel"]["expires_at"]
    assert renewed_until == int(renewed.expires_at.timestamp()) > soon.timestamp() + 86400
    assert [r.method for r in graph.requests if r.path.startswith("/v1.0/subscriptions")] == [
        "POST",
        "PATCH",
    ]

    # A subscription that lapsed anyway is replaced by a new one, through the hourly task.
    from integrations.tasks import renew_push_channels

    graph.expire_subscription(subscription.id)
    Connection.objects.filter(pk=connection.pk).update(
        config={
            **connection.config,
            "push_channel": {
                **connection.config["push_channel"],
                "expires_at": int(soon.timestamp()),
            },
        }
    )
    assert renew_push_channels() == {"renewed": 1}
    [replacement] = graph.subscriptions()
    assert replacement.id != subscription.id
    assert Connection.objects.get(pk=connection.pk).config["push_channel"]["id"] == replacement.id


@pytest.mark.django_db(transaction=True)
def test_lifecycle_notifications_pull_what_was_missed_and_renew_or_reopen_the_subscription(
    graph, team, live_server, settings, eager_celery
):
    from wedsync.models import TimelineItem

    settings.PUBLIC_URL = live_server.url
    graph.auto_notify = False
    connection = graph_connection(graph, team.planner_org, wedding_id=str(team.wedding.pk))
    services.adapter_for(connection).pull("events")
    assert ensure_channel(connection) == "opened"
    [subscription] = graph.subscriptions()

    # Graph could not deliver a change and says so: the hub pulls the delta.
    made = graph.seed_event(**outlook_event())
    assert graph.drop_notifications() == 1
    assert graph.lifecycle(subscription.id, "missed").status == 200
    item = TimelineItem.objects.get(wedding=team.wedding)
    assert item.title == "Ceremony"

    # Reauthorization required: Graph sends nothing until the subscription is renewed, so the
    # hub renews it (PATCH) at once; the next change is announced and applied.
    graph.lifecycle(subscription.id, "reauthorizationRequired")
    [renewed] = graph.subscriptions()
    assert renewed.id == subscription.id and not renewed.needs_reauthorization
    graph.user_edits_event(made["id"], subject="Ceremony (moved)")
    assert [d.status for d in graph.deliver_notifications()] == [200]
    item.refresh_from_db()
    assert item.title == "Ceremony (moved)"

    # The subscription was removed: the hub opens a new one and keeps it.
    graph.lifecycle(subscription.id, "subscriptionRemoved")
    [replacement] = graph.subscriptions()
    assert replacement.id != subscription.id
    assert Connection.objects.get(pk=connection.pk).config["push_channel"]["id"] == replacement.id
    graph.user_edits_event(made["id"], subject="Ceremony (indoors)")
    assert [d.status for d in graph.deliver_notifications()] == [200]
    item.refresh_from_db()
    assert item.title == "Ceremony (indoors)"

    calls = [r.method for r in graph.requests if r.path.startswith("/v1.0/subscriptions")]
    # The removed one: its PATCH is a 404, a new one is opened, the old one let go (404, done).
    assert calls == ["POST", "PATCH", "PATCH", "POST", "DELETE"]
    outcomes = list(InboundEvent.objects.order_by("id").values_list("status", "outcome"))
    assert all(status == InboundEvent.Status.PROCESSED for status, _ in outcomes)
    assert "push channel renewed" in outcomes[1][1]
