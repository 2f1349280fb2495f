"""Calendly over HTTP against its emulator (no mocks): linking with a personal access token and a
webhook signing key, pulls that page through the user's scheduled events, and signed
invitee webhooks taken through the hub's real endpoint, the booking fetched back before it
lands on the wedding's timeline."""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import zoneinfo

import pytest
import requests

from integrations import services
from integrations.errors import ProviderError
from integrations.models import Connection, InboundEvent, RecordLink
from integrations.providers.scheduling.calendly.adapter import CalendlyAdapter, uuid_of
from integrations.providers.scheduling.calendly.emulator import (
    CalendlyEmulator,
    calendly_signature,
)
from integrations.registry import get_provider
from integrations.sync.pull import pull_connection
from tests.factories import ContactFactory, ParticipantFactory, WeddingFactory
from tests.integrations.providers.conftest import make_connection
from wedsync.models import TimelineItem

SIGNING_KEY = "lumen-calendly-signing-key-2027"
LISBON = zoneinfo.ZoneInfo("Europe/Lisbon")
# Not issued by the emulator, but shaped like a personal access token.
UNKNOWN_TOKEN = (
    "eyJraWQiOiJub3Rpc3N1ZWQiLCJ0eXAiOiJQQVQiLCJhbGciOiJFUzI1NiJ9."
    "eyJ1c2VyX3V1aWQiOiJub2JvZHkiLCJqdGkiOiIwMDAwIn0."
    "c29tZWJvZHlFbHNlc1NpZ25hdHVyZUVudGlyZWx5OTk5OQ"
)


@pytest.fixture
def calendly(settings):
    with CalendlyEmulator() as emulator:
        settings.PROVIDER_ORIGINS = {"calendly": emulator.base_url}
        yield emulator


@pytest.fixture
def host(calendly):
    """The vendor's Calendly user; bookings are at Lisbon's wall-clock time."""
    return calendly.add_user("Maya Lumen", "maya@lumen.example", "Europe/Lisbon")


@pytest.fixture
def token(calendly, host):
    return calendly.issue_token(host)


@pytest.fixture
def wedding(vendor):
    wedding = WeddingFactory(
        couple_names="Ana & Ben", date=dt.date(2027, 9, 18), time_zone="Europe/Lisbon"
    )
    ParticipantFactory(wedding=wedding, organization=vendor[0])
    return wedding


def credentials(token: str) -> dict[str, str]:
    return {"personal_access_token": token}


def adapter(vendor, token: str) -> CalendlyAdapter:
    return services.adapter_for(make_connection(vendor[0], "calendly", credentials(token)))


def gets(calendly, path: str) -> list:
    return [r for r in calendly.requests if r.method == "GET" and r.path == path]


# -- the spec ---------------------------------------------------------------------------------


def test_the_spec_loads_in_the_scheduling_category():
    spec = get_provider("calendly")

    assert (spec.category, spec.auth.method, spec.capabilities) == (
        "scheduling",
        "token",
        ("pull", "webhooks"),
    )
    assert spec.resources["scheduled_events"].maps_to == "timeline_item"
    assert spec.webhook_events == {
        "invitee.created": "scheduled_events",
        "invitee.canceled": "scheduled_events",
    }
    assert (spec.webhook_scheme, spec.webhook_secret_field.title) == (
        "calendly",
        "Webhook signing key",
    )


# -- credentials and linking ------------------------------------------------------------------


def test_a_good_token_names_the_account_and_a_bad_one_is_refused(calendly, host, token):
    spec = get_provider("calendly")

    account = services.test_credentials(spec, credentials(token))

    assert (account.account_id, account.account_name) == (uuid_of(host["uri"]), "Maya Lumen")
    with pytest.raises(ProviderError) as raised:
        services.test_credentials(spec, credentials(UNKNOWN_TOKEN))
    error = raised.value
    assert (error.kind, error.status, error.permanent) == ("invalid_credentials", 401, True)
    assert "The access token is invalid" in str(error)
    assert UNKNOWN_TOKEN not in str(error) and UNKNOWN_TOKEN[-12:] not in str(error)
    assert [r.headers["Authorization"] for r in calendly.requests] == [
        f"Bearer {token}",
        f"Bearer {UNKNOWN_TOKEN}",
    ]


def test_api_refuses_a_token_calendly_does_not_accept(calendly, host, vendor, client_for, caplog):
    organization, owner = vendor
    caplog.set_level(logging.DEBUG)

    response = client_for(owner).post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "calendly",
            "organization": str(organization.pk),
            "credentials": credentials(UNKNOWN_TOKEN),
            "webhook_secret": SIGNING_KEY,
        },
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_credentials"
    assert UNKNOWN_TOKEN not in str(response.json()) and UNKNOWN_TOKEN not in caplog.text
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    "value",
    ["not-a-token-at-all-000000000000", "eyJhbGciOiJFUzI1NiJ9.short.sig", "xoxb-1234567890-abcdef"],
)
def test_what_is_not_a_personal_access_token_is_refused_before_calling_calendly(
    calendly, vendor, client_for, value
):
    organization, owner = vendor

    response = client_for(owner).post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "calendly",
            "organization": str(organization.pk),
            "credentials": credentials(value),
        },
        format="json",
    )

    assert response.status_code == 400 and "personal_access_token" in response.json()
    assert calendly.requests == []


def test_the_link_form_asks_for_the_signing_key_and_checks_it(
    calendly, host, token, vendor, client
):
    organization, owner = vendor
    client.force_login(owner)
    form = client.get("/integrations/link/calendly/").content.decode()
    assert 'name="personal_access_token"' in form and 'name="webhook_secret"' in form
    assert "Webhook signing key" in form and "webhook_subscriptions" in form

    short = client.post(
        "/integrations/link/calendly/",
        {"organization": organization.pk, "personal_access_token": token, "webhook_secret": "abc"},
    )
    assert "does not look like a Calendly webhook signing key" in short.content.decode()
    assert not Connection.objects.exists()

    client.post(
        "/integrations/link/calendly/",
        {
            "organization": organization.pk,
            "personal_access_token": token,
            "webhook_secret": SIGNING_KEY,
        },
    )
    connection = Connection.objects.get(provider="calendly")
    assert connection.webhook_secret == SIGNING_KEY
    assert connection.credentials == credentials(token)
    assert connection.external_account_name == "Maya Lumen"


@pytest.mark.django_db(transaction=True)
def test_linked_through_the_api_with_its_signing_key_calendlys_deliveries_pass(
    calendly, host, token, vendor, wedding, client_for, live_server, eager_celery, caplog
):
    """The vendor links with the token and a signing key, then subscribes through Calendly's
    API as the help text says; Calendly's own delivery of a booking is then taken."""
    organization, owner = vendor
    caplog.set_level(logging.DEBUG)
    response = client_for(owner).post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "calendly",
            "organization": str(organization.pk),
            "credentials": credentials(token),
            "config": {"wedding_id": str(wedding.pk)},
            "webhook_secret": SIGNING_KEY,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["capabilities"] == ["pull", "webhooks"]
    assert body["external_account_name"] == "Maya Lumen"
    connection = Connection.objects.get(pk=body["id"])
    assert connection.external_account_id == uuid_of(host["uri"])
    assert connection.webhook_secret == SIGNING_KEY and connection.has_webhook_secret
    assert token not in str(body) and SIGNING_KEY not in str(body)

    url = f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
    subscribed = requests.post(
        f"{calendly.base_url}/webhook_subscriptions",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "url": url,
            "events": ["invitee.created", "invitee.canceled"],
            "organization": host["current_organization"],
            "user": host["uri"],
            "scope": "user",
            "signing_key": SIGNING_KEY,
        },
        timeout=5,
    )
    assert subscribed.status_code == 201
    calendly.book("2027-05-20T09:30:00Z", name="Final meeting")
    [delivery] = calendly.wait_for_deliveries()

    assert delivery.status_code == 200
    assert InboundEvent.objects.get(connection=connection).status == "processed"
    assert TimelineItem.objects.get(wedding=wedding).title == "Final meeting"
    assert token not in caplog.text and SIGNING_KEY not in caplog.text


# -- pulling ----------------------------------------------------------------------------------


def test_pull_pages_through_every_scheduled_event(calendly, host, token, vendor):
    start = dt.datetime(2027, 1, 4, 9, 0, tzinfo=dt.UTC)
    made = [
        calendly.book(start + dt.timedelta(hours=6 * n), name=f"Consultation {n}")
        for n in range(230)
    ]
    calendly.cancel_invitee(*made[5], reason="We booked someone else")

    result = adapter(vendor, token).pull("scheduled_events")

    assert result.full and result.cursor is None
    assert [r.external_id for r in result.records] == [uuid_of(e["uri"]) for e, _ in made]
    pages = gets(calendly, "/scheduled_events")
    assert len(pages) == 3
    assert {(r.query["count"][0], r.query["user"][0], r.query["sort"][0]) for r in pages} == {
        ("100", host["uri"], "start_time:asc")
    }
    tokens = [r.query.get("page_token") for r in pages]
    assert tokens[0] is None and tokens[1] and tokens[2] and tokens[1] != tokens[2]
    first = result.records[0]
    assert (first.resource, first.kind, first.deleted) == (
        "scheduled_events",
        "timeline_item",
        False,
    )
    assert first.fields == {
        "title": "Consultation 0",
        "starts_at": "2027-01-04T09:00:00+00:00",  # Lisbon keeps UTC in winter
        "ends_at": "2027-01-04T10:00:00+00:00",
        "location": "Quinta da Regaleira, Sintra",
        "join_url": None,
        "status": "active",
        "time_zone": "Europe/Lisbon",
    }
    assert first.modified is not None
    canceled = result.records[5]
    assert canceled.deleted and canceled.fields["status"] == "canceled"
    assert sum(r.deleted for r in result.records) == 1


def test_times_are_written_in_the_hosts_zone_and_a_video_call_shows_its_link(
    calendly, host, token, vendor
):
    calendly.book(
        "2027-06-12T13:00:00Z",
        name="Video consultation",
        location={"type": "zoom", "join_url": "https://zoom.us/j/123456789", "status": "pushed"},
        invitee_timezone="America/New_York",  # where the couple booked from does not matter
    )

    [record] = adapter(vendor, token).pull("scheduled_events").records

    assert record.fields["starts_at"] == "2027-06-12T14:00:00+01:00"
    assert record.fields["ends_at"] == "2027-06-12T15:00:00+01:00"
    assert record.fields["time_zone"] == "Europe/Lisbon"
    assert record.fields["location"] == "https://zoom.us/j/123456789"


def test_a_pull_puts_the_bookings_on_the_weddings_timeline(calendly, host, token, vendor, wedding):
    calendly.book("2027-06-12T13:00:00Z", name="Venue walk-through")
    calendly.book("2027-08-01T10:00:00Z", name="Menu tasting", duration_minutes=90)
    dropped = calendly.book("2027-07-01T10:00:00Z", name="Cake tasting")
    calendly.cancel_invitee(*dropped)
    connection = make_connection(
        vendor[0], "calendly", credentials(token), config={"wedding_id": str(wedding.pk)}
    )

    run = pull_connection(connection)

    assert run.status == "succeeded" and (run.pulled, run.applied) == (3, 3)
    items = {item.title: item for item in TimelineItem.objects.filter(wedding=wedding)}
    assert set(items) == {"Venue walk-through", "Menu tasting"}
    walk = items["Venue walk-through"]
    assert walk.starts_at == dt.datetime(2027, 6, 12, 13, 0, tzinfo=dt.UTC)
    assert walk.starts_at.astimezone(LISBON).time() == dt.time(14, 0)
    assert walk.ends_at.astimezone(LISBON).time() == dt.time(15, 0)
    assert walk.location == "Quinta da Regaleira, Sintra"
    assert items["Menu tasting"].ends_at - items["Menu tasting"].starts_at == dt.timedelta(
        minutes=90
    )
    again = pull_connection(connection)
    assert (again.applied, again.unchanged) == (0, 3)


def test_a_rate_limit_is_waited_out_or_handed_back(calendly, host, token, vendor):
    hub = adapter(vendor, token)
    calendly.inject_fault(429, retry_after=1, path_prefix="/users/me")

    hub.check_connection()  # waited the second X-RateLimit-Reset asked for, then asked again

    assert len(gets(calendly, "/users/me")) == 2
    calendly.inject_fault(429, retry_after=600, path_prefix="/scheduled_events")
    with pytest.raises(ProviderError) as raised:
        hub.pull("scheduled_events")
    error = raised.value
    assert (error.kind, error.status, error.retry_after, error.retryable) == (
        "rate_limited",
        429,
        600.0,
        True,
    )
    assert len(gets(calendly, "/scheduled_events")) == 1  # not slept through


def test_fetching_an_unknown_event_is_not_found(calendly, host, token, vendor):
    with pytest.raises(ProviderError) as raised:
        adapter(vendor, token).fetch("scheduled_events", "00000000-0000-0000-0000-000000000000")

    assert (raised.value.kind, raised.value.status, raised.value.permanent) == (
        "not_found",
        404,
        True,
    )


# -- webhooks ---------------------------------------------------------------------------------


@pytest.fixture
def linked(calendly, host, token, vendor, wedding, live_server):
    """A Calendly connection mapped to the wedding, with its signing key; no subscription yet."""
    connection = make_connection(
        vendor[0],
        "calendly",
        credentials(token),
        webhook_secret=SIGNING_KEY,
        config={"wedding_id": str(wedding.pk)},
    )
    url = f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
    return connection, url


def subscribe(calendly, url: str, host) -> None:
    calendly.add_webhook_subscription(url, signing_key=SIGNING_KEY, user=host)


def post(url: str, body: bytes, signature: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Calendly-Webhook-Signature"] = signature
    return requests.post(url, data=body, headers=headers, timeout=5)


def raw(notification: dict) -> bytes:
    return json.dumps(notification, separators=(",", ":")).encode()


@pytest.mark.django_db(transaction=True)
def test_a_booking_is_verified_stored_once_and_lands_with_the_fetched_back_values(
    calendly, host, linked, wedding, eager_celery
):
    connection, url = linked
    subscribe(calendly, url, host)

    event, _ = calendly.book(
        "2027-06-12T13:00:00Z",
        name="Venue walk-through",
        location={"type": "physical", "location": "Quinta do Torneiro, Oeiras"},
        invitee_timezone="America/New_York",
    )
    [delivery] = calendly.wait_for_deliveries()

    assert delivery.status_code == 200
    stored = InboundEvent.objects.get(connection=connection)
    assert (stored.status, stored.event_type) == ("processed", "invitee.created")
    assert stored.dedup_key.startswith("sha256:")
    item = TimelineItem.objects.get(wedding=wedding)
    assert (item.title, item.location) == ("Venue walk-through", "Quinta do Torneiro, Oeiras")
    assert item.starts_at == dt.datetime(2027, 6, 12, 13, 0, tzinfo=dt.UTC)
    assert item.starts_at.astimezone(LISBON).time() == dt.time(14, 0)
    assert item.ends_at.astimezone(LISBON).time() == dt.time(15, 0)
    link = RecordLink.objects.get(connection=connection, external_id=uuid_of(event["uri"]))
    assert (link.kind, link.object_id) == ("timeline_item", item.pk)
    assert link.snapshot["starts_at"] == "2027-06-12T14:00:00+01:00"
    assert link.snapshot["time_zone"] == "Europe/Lisbon"
    fetched = gets(calendly, f"/scheduled_events/{uuid_of(event['uri'])}")
    assert len(fetched) == 1

    again = calendly.send_webhook(url, calendly.notifications()[0], SIGNING_KEY)

    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    assert InboundEvent.objects.filter(connection=connection).count() == 1
    assert len(gets(calendly, f"/scheduled_events/{uuid_of(event['uri'])}")) == 1
    assert TimelineItem.objects.filter(wedding=wedding).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_values_come_from_calendly_never_from_the_body(
    calendly, host, linked, wedding, eager_celery
):
    """A notification is only a pointer: even an authentic one with another snapshot of the
    event in it (say, from before a change) cannot set a value."""
    _, url = linked
    calendly.book("2027-06-12T13:00:00Z", name="Venue walk-through")
    notification = calendly.notifications()[0]
    notification["payload"]["scheduled_event"]["name"] = "Something else entirely"
    notification["payload"]["scheduled_event"]["start_time"] = "2027-01-01T00:00:00.000000Z"
    notification["payload"]["scheduled_event"]["status"] = "canceled"

    response = calendly.send_webhook(url, notification, SIGNING_KEY)

    assert response.status_code == 200
    item = TimelineItem.objects.get(wedding=wedding)
    assert item.title == "Venue walk-through"
    assert item.starts_at == dt.datetime(2027, 6, 12, 13, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "forge",
    [
        lambda body, now: (body, calendly_signature("somebody-elses-key-000", now, body)),
        lambda body, now: (
            body.replace(b"Venue", b"Venve"),
            calendly_signature(SIGNING_KEY, now, body),
        ),
        lambda body, now: (body, calendly_signature(SIGNING_KEY, now - 600, body)),
        lambda body, now: (body, None),
    ],
    ids=["wrong-key", "changed-byte", "stale-timestamp", "missing-header"],
)
@pytest.mark.django_db(transaction=True)
def test_what_the_signing_key_does_not_vouch_for_is_refused_and_not_stored(
    calendly, host, linked, eager_celery, forge, caplog
):
    _, url = linked
    calendly.book("2027-06-12T13:00:00Z", name="Venue walk-through")
    body, signature = forge(raw(calendly.notifications()[0]), int(time.time()))

    response = post(url, body, signature)

    assert response.status_code == 401
    assert response.json()["error"].startswith("signature verification failed: ")
    assert not InboundEvent.objects.exists()
    assert not gets(calendly, "/users/me")  # nothing was fetched for it either
    assert SIGNING_KEY not in caplog.text and SIGNING_KEY not in response.text


@pytest.mark.django_db(transaction=True)
def test_a_delivery_signed_four_minutes_ago_is_inside_the_300_second_window(
    calendly, host, linked, eager_celery
):
    connection, url = linked
    calendly.book("2027-06-12T13:00:00Z")
    notification = calendly.notifications()[0]

    response = calendly.send_webhook(
        url, notification, SIGNING_KEY, timestamp=int(time.time()) - 240
    )

    assert response.status_code == 200
    assert InboundEvent.objects.get(connection=connection).status == "processed"


@pytest.mark.django_db(transaction=True)
def test_an_unsupported_event_type_is_acknowledged_and_recorded_as_ignored(
    calendly, host, linked, eager_celery
):
    connection, url = linked
    calendly.submit_routing_form({"Wedding date": "2027-09-18", "Guests": "120"})
    [notification] = calendly.notifications("routing_form_submission.created")

    response = calendly.send_webhook(url, notification, SIGNING_KEY)

    assert response.status_code == 202
    event = InboundEvent.objects.get(connection=connection)
    assert (event.status, event.event_type, event.outcome) == (
        "ignored",
        "routing_form_submission.created",
        "unsupported event type",
    )
    assert not [r for r in calendly.requests if r.path.startswith("/scheduled_events")]


@pytest.mark.django_db(transaction=True)
def test_a_booking_by_a_weddings_contact_finds_that_wedding_without_a_configured_one(
    calendly, host, token, vendor, wedding, live_server, eager_celery
):
    """A vendor's Calendly serves all their couples: the connection is set to no wedding, and
    each booking lands on the wedding whose contact booked it (its invitees, a second call)."""
    other = WeddingFactory(couple_names="Carla & Dev", date=dt.date(2027, 10, 2))
    ParticipantFactory(wedding=other, organization=vendor[0])
    ContactFactory(wedding=wedding, name="Ana Ferreira", email="Ana@Example.com")
    connection = make_connection(
        vendor[0], "calendly", credentials(token), webhook_secret=SIGNING_KEY
    )
    url = f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
    subscribe(calendly, url, host)

    ours, _ = calendly.book("2027-06-12T13:00:00Z", name="Venue walk-through")
    stranger, _ = calendly.book(
        "2027-06-13T13:00:00Z", name="Intro call", invitee_email="someone@else.example"
    )
    assert [d.status_code for d in calendly.wait_for_deliveries()] == [200, 200]

    [item] = TimelineItem.objects.filter(wedding__in=[wedding, other])
    assert (item.wedding_id, item.title) == (wedding.pk, "Venue walk-through")
    unattached = RecordLink.objects.get(external_id=uuid_of(stranger["uri"]))
    assert unattached.object_id is None
    assert len(gets(calendly, f"/scheduled_events/{uuid_of(ours['uri'])}/invitees")) == 1


@pytest.mark.django_db(transaction=True)
def test_a_cancellation_after_the_booking_takes_it_off_the_timeline(
    calendly, host, linked, wedding, eager_celery
):
    connection, url = linked
    subscribe(calendly, url, host)
    event, invitee = calendly.book("2027-06-12T13:00:00Z", name="Venue walk-through")
    calendly.wait_for_deliveries()
    assert TimelineItem.objects.filter(wedding=wedding).count() == 1

    calendly.cancel_invitee(event, invitee, reason="We chose another venue")
    deliveries = calendly.wait_for_deliveries()

    assert [(d.event, d.status_code) for d in deliveries] == [
        ("invitee.created", 200),
        ("invitee.canceled", 200),
    ]
    assert not TimelineItem.objects.filter(wedding=wedding).exists()
    link = RecordLink.objects.get(connection=connection, external_id=uuid_of(event["uri"]))
    assert link.deleted and link.snapshot["status"] == "canceled"
    events = InboundEvent.objects.filter(connection=connection).order_by("pk")
    assert [(e.event_type, e.status) for e in events] == [
        ("invitee.created", "processed"),
        ("invitee.canceled", "processed"),
    ]
    assert events[0].dedup_key != events[1].dedup_key


@pytest.mark.django_db(transaction=True)
def test_a_cancellation_delivered_before_its_booking_still_ends_canceled(
    calendly, host, linked, wedding, eager_celery
):
    connection, url = linked
    event, invitee = calendly.book("2027-06-12T13:00:00Z", name="Venue walk-through")
    calendly.cancel_invitee(event, invitee)
    created, canceled = calendly.notifications()

    first = calendly.send_webhook(url, canceled, SIGNING_KEY)
    late = calendly.send_webhook(url, created, SIGNING_KEY)

    assert (first.status_code, late.status_code) == (200, 200)
    statuses = InboundEvent.objects.filter(connection=connection).values_list("status", flat=True)
    assert list(statuses) == ["processed", "processed"]
    assert not TimelineItem.objects.filter(wedding=wedding).exists()
    link = RecordLink.objects.get(connection=connection, external_id=uuid_of(event["uri"]))
    assert link.deleted and link.object_id is None


@pytest.mark.django_db(transaction=True)
def test_a_reschedule_moves_the_booking_on_the_timeline(
    calendly, host, linked, wedding, eager_celery
):
    _, url = linked
    subscribe(calendly, url, host)
    event, invitee = calendly.book("2027-06-12T13:00:00Z", name="Menu tasting")

    calendly.reschedule(event, invitee, "2027-06-19T16:30:00Z")
    deliveries = calendly.wait_for_deliveries()

    assert [d.status_code for d in deliveries] == [200, 200, 200]
    [item] = TimelineItem.objects.filter(wedding=wedding)
    assert item.title == "Menu tasting"
    assert item.starts_at.astimezone(LISBON) == dt.datetime(2027, 6, 19, 17, 30, tzinfo=LISBON)


@pytest.mark.django_db(transaction=True)
def test_one_guest_leaving_a_group_event_keeps_it_on_the_timeline(
    calendly, host, linked, wedding, eager_celery
):
    _, url = linked
    subscribe(calendly, url, host)
    event, first = calendly.book("2027-05-08T10:00:00Z", name="Open day", max_invitees=20)
    calendly.add_invitee(event, "Chloe Park", "chloe@example.com")

    calendly.cancel_invitee(event, first)
    calendly.wait_for_deliveries()

    assert TimelineItem.objects.get(wedding=wedding).title == "Open day"


@pytest.mark.django_db(transaction=True)
def test_a_connection_without_its_signing_key_refuses_calendlys_deliveries(
    calendly, host, token, vendor, live_server
):
    connection = make_connection(vendor[0], "calendly", credentials(token))
    url = f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
    calendly.book("2027-06-12T13:00:00Z")

    response = calendly.send_webhook(url, calendly.notifications()[0], SIGNING_KEY)

    assert response.status_code == 401 and "no webhook secret" in response.json()["error"]
    assert not InboundEvent.objects.exists()
