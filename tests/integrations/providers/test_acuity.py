"""Acuity Scheduling over HTTP against its emulator (no mocks): linking with the User ID and API
key, pulls of a bounded date window, and signed form webhooks taken through the hub's real
per-connection endpoint (live server), the appointment fetched back before it lands on the
wedding's timeline.

Acuity signs no timestamp and sends no delivery id: a delivery sent again byte for byte verifies
again, and the dedup key (a SHA-256 of the event type and the body) is all that catches a
replay. The same key also absorbs a second real change of one appointment (the same bytes); the
spec says why that is accepted and a test below shows the change arriving with the next pull.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo

import pytest
from django.db.models import F

from integrations import services
from integrations.errors import ProviderError
from integrations.models import Connection, InboundEvent, RecordLink
from integrations.providers.scheduling.acuity.adapter import AcuityAdapter
from integrations.providers.scheduling.acuity.emulator import AcuityEmulator
from integrations.registry import get_provider
from integrations.sync.pull import pull_connection
from tests.factories import ParticipantFactory, WeddingFactory
from tests.integrations.conftest import run_delayed
from tests.integrations.providers.conftest import make_connection
from wedsync.models import TimelineItem

LISBON = zoneinfo.ZoneInfo("Europe/Lisbon")
WRONG_KEY = "f" * 32


def local(days_ahead: int, hour: int, minute: int = 0) -> dt.datetime:
    """A wall-clock time in Lisbon, `days_ahead` days from today (inside the pull window)."""
    day = dt.date.today() + dt.timedelta(days=days_ahead)
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LISBON)


@pytest.fixture
def acuity(settings):
    with AcuityEmulator() as emulator:
        settings.PROVIDER_ORIGINS = {"acuity": emulator.base_url}
        yield emulator


@pytest.fixture
def wedding(vendor):
    wedding = WeddingFactory(
        couple_names="Ana & Ben",
        date=dt.date.today() + dt.timedelta(days=300),
        time_zone="Europe/Lisbon",
    )
    ParticipantFactory(wedding=wedding, organization=vendor[0])
    return wedding


def credentials(acuity, key=None):
    return {"username": acuity.user_id, "password": key or acuity.api_key}


def adapter(vendor, acuity) -> AcuityAdapter:
    return services.adapter_for(make_connection(vendor[0], "acuity", credentials(acuity)))


def gets(acuity, path: str) -> list:
    return [r for r in acuity.requests if r.method == "GET" and r.path == f"/api/v1{path}"]


# -- the spec ---------------------------------------------------------------------------------


def test_the_spec_loads_in_the_scheduling_category_verified_by_the_api_key():
    spec = get_provider("acuity")

    assert (spec.category, spec.auth.method, spec.capabilities) == (
        "scheduling",
        "basic",
        ("pull", "webhooks"),
    )
    assert spec.resources["appointments"].maps_to == "timeline_item"
    assert (spec.webhook_scheme, spec.webhook_secret_credential) == ("acuity", "password")
    assert spec.webhook_secret_field is None
    assert spec.webhook_events == dict.fromkeys(
        ("scheduled", "rescheduled", "canceled", "changed"), "appointments"
    )
    user, key = spec.auth.fields
    assert (user.name, user.secret, key.name, key.secret) == ("username", False, "password", True)


# -- credentials ------------------------------------------------------------------------------


def test_good_credentials_name_the_account(acuity):
    account = services.test_credentials(get_provider("acuity"), credentials(acuity))

    assert (account.account_id, account.account_name) == (acuity.user_id, "Lumen Photography")
    [call] = acuity.requests
    assert call.path == "/api/v1/me" and call.headers["Authorization"].startswith("Basic ")


def test_a_bad_key_is_refused_and_never_quoted(acuity, caplog):
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ProviderError) as raised:
        services.test_credentials(get_provider("acuity"), credentials(acuity, WRONG_KEY))

    error = raised.value
    assert (error.kind, error.status, error.permanent) == ("invalid_credentials", 401, True)
    assert error.message == "Unauthorized"
    assert WRONG_KEY not in str(error) and WRONG_KEY not in caplog.text


@pytest.mark.parametrize(
    ("field", "value"), [("username", "user-12"), ("password", "short"), ("password", "a b" * 12)]
)
def test_what_is_not_a_user_id_or_api_key_is_refused_before_calling_acuity(
    acuity, vendor, client_for, field, value
):
    organization, owner = vendor

    response = client_for(owner).post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "acuity",
            "organization": str(organization.pk),
            "credentials": {**credentials(acuity), field: value},
        },
        format="json",
    )

    assert response.status_code == 400 and field in response.json()
    assert acuity.requests == []


# -- pulling ----------------------------------------------------------------------------------


def test_a_pull_lists_the_window_both_ways_in_the_calendars_zone(acuity, vendor):
    walk = acuity.book(
        local(120, 14),
        type="Venue walk-through",
        duration_minutes=90,
        client_timezone="America/New_York",  # where the couple booked from does not matter
    )
    dropped = acuity.book(local(130, 10), type="Cake tasting")
    acuity.cancel(dropped["id"])
    acuity.book(local(-60, 10), type="Long past")  # outside the window

    result = adapter(vendor, acuity).pull("appointments")

    assert not result.full and result.cursor is None
    assert [(r.external_id, r.deleted) for r in result.records] == [
        (str(walk["id"]), False),
        (str(dropped["id"]), True),
    ]
    record = result.records[0]
    assert (record.resource, record.kind, record.modified) == (
        "appointments",
        "timeline_item",
        None,
    )
    assert record.fields == {
        "title": "Venue walk-through",
        "starts_at": local(120, 14).isoformat(),
        "ends_at": local(120, 15, 30).isoformat(),
        "duration_minutes": "90",
        "location": "Quinta da Regaleira, Sintra",
        "calendar": "Maya Lumen",
        "canceled": False,
        "email": "ana@example.com",
        "phone": "",
        "time_zone": "Europe/Lisbon",
    }
    calls = gets(acuity, "/appointments")
    today = dt.datetime.now(dt.UTC).date()
    assert [
        (c.query["canceled"], c.query["minDate"], c.query["maxDate"], c.query["max"]) for c in calls
    ] == [
        (
            ["false"],
            [str(today - dt.timedelta(days=31))],
            [str(today + dt.timedelta(3 * 366))],
            ["100"],
        ),
        (
            ["true"],
            [str(today - dt.timedelta(days=31))],
            [str(today + dt.timedelta(3 * 366))],
            ["100"],
        ),
    ]
    assert {c.query["direction"][0] for c in calls} == {"ASC"}


def test_a_full_answer_is_followed_from_its_last_day_each_appointment_once(acuity, vendor):
    made = [acuity.book(local(10 + n // 4, 9 + n % 4)) for n in range(230)]  # four a day

    records = adapter(vendor, acuity).pull("appointments").records

    assert [r.external_id for r in records] == [str(a["id"]) for a in made]
    active = [c for c in gets(acuity, "/appointments") if c.query["canceled"] == ["false"]]
    assert len(active) == 3
    # The first answer is 0-99; the second restarts at 99's day, so it is 96-195.
    restarts = [c.query["minDate"][0] for c in active[1:]]
    assert restarts == [made[99]["datetime"][:10], made[195]["datetime"][:10]]


def test_one_day_fuller_than_an_answer_asks_for_more_at_once(acuity, vendor):
    made = [acuity.book(local(20, 8) + dt.timedelta(minutes=5 * n)) for n in range(130)]

    records = adapter(vendor, acuity).pull("appointments").records

    assert [r.external_id for r in records] == [str(a["id"]) for a in made]
    active = [c for c in gets(acuity, "/appointments") if c.query["canceled"] == ["false"]]
    assert [c.query["max"][0] for c in active] == ["100", "100", "200"]


def test_a_pull_puts_the_bookings_on_the_weddings_timeline(acuity, vendor, wedding):
    acuity.book(local(120, 14), type="Venue walk-through")
    acuity.book(local(140, 11), type="Menu tasting", duration_minutes=90)
    dropped = acuity.book(local(150, 10), type="Cake tasting")
    acuity.cancel(dropped["id"])
    connection = make_connection(
        vendor[0], "acuity", credentials(acuity), config={"wedding_id": str(wedding.pk)}
    )

    run = pull_connection(connection)

    assert run.status == "succeeded" and (run.pulled, run.applied) == (3, 3)
    items = {item.title: item for item in TimelineItem.objects.filter(wedding=wedding)}
    assert set(items) == {"Venue walk-through", "Menu tasting"}
    assert items["Venue walk-through"].starts_at == local(120, 14)
    assert items["Venue walk-through"].starts_at.astimezone(LISBON).time() == dt.time(14, 0)
    assert items["Menu tasting"].ends_at == local(140, 12, 30)
    again = pull_connection(connection)
    assert (again.applied, again.unchanged) == (0, 3)


def test_a_rate_limit_is_waited_out_or_handed_back(acuity, vendor):
    hub = adapter(vendor, acuity)
    acuity.inject_fault(429, retry_after=1, path_prefix="/api/v1/me")

    hub.check_connection()

    assert len(gets(acuity, "/me")) == 2
    acuity.inject_fault(429, retry_after=600, path_prefix="/api/v1/appointments")
    with pytest.raises(ProviderError) as raised:
        hub.pull("appointments")
    error = raised.value
    assert (error.kind, error.status, error.retry_after) == ("rate_limited", 429, 600.0)
    assert len(gets(acuity, "/appointments")) == 1


def test_fetching_an_unknown_appointment_is_not_found(acuity, vendor):
    with pytest.raises(ProviderError) as raised:
        adapter(vendor, acuity).fetch("appointments", "1")

    assert (raised.value.kind, raised.value.status) == ("not_found", 404)


# -- webhooks through the hub's endpoint ------------------------------------------------------


@pytest.fixture
def linked(acuity, vendor, wedding, live_server):
    """An Acuity connection mapped to the wedding; its URL is Acuity's target for every event."""
    connection = make_connection(
        vendor[0], "acuity", credentials(acuity), config={"wedding_id": str(wedding.pk)}
    )
    url = f"{live_server.url}/api/integrations/inbound/{connection.webhook_token}/"
    for action in ("scheduled", "rescheduled", "canceled", "changed"):
        acuity.add_webhook(url, f"appointment.{action}")
    return connection, url


def stored(connection):
    return list(InboundEvent.objects.filter(connection=connection).order_by("pk"))


@pytest.mark.django_db(transaction=True)
def test_a_booking_is_verified_stored_once_and_lands_with_the_fetched_back_values(
    acuity, linked, wedding, eager_celery, caplog
):
    connection, url = linked
    caplog.set_level(logging.DEBUG)

    made = acuity.book(
        local(120, 14), type="Venue walk-through", client_timezone="America/New_York"
    )
    [delivery] = acuity.wait_for_deliveries()

    assert delivery.status_code == 200
    [event] = stored(connection)
    assert (event.event_type, event.status) == ("scheduled", "processed")
    assert event.dedup_key.startswith("sha256:")
    item = TimelineItem.objects.get(wedding=wedding)
    assert (item.title, item.location) == ("Venue walk-through", "Quinta da Regaleira, Sintra")
    assert item.starts_at.astimezone(LISBON) == local(120, 14)
    assert item.ends_at.astimezone(LISBON) == local(120, 15)
    link = RecordLink.objects.get(connection=connection, external_id=str(made["id"]))
    assert (link.kind, link.object_id) == ("timeline_item", item.pk)
    assert link.snapshot["starts_at"] == local(120, 14).isoformat()
    assert link.snapshot["time_zone"] == "Europe/Lisbon"
    assert len(gets(acuity, f"/appointments/{made['id']}")) == 1
    assert acuity.api_key not in str(event.headers) + caplog.text

    # The same bytes again, after the first was taken up: stored, but moments after an
    # identical delivery was fetched, so it waits for the window's end; replays meanwhile are
    # its duplicates (a replay costs Acuity nothing).
    again = acuity.send_webhook(url, delivery.body)
    replays = [acuity.send_webhook(url, delivery.body).json() for _ in range(3)]

    assert again.status_code == 200 and again.json()["status"] == "received"
    assert replays == [{"status": "duplicate"}] * 3
    first, second = stored(connection)
    key = first.dedup_key.split("#")[0]
    assert (first.dedup_key, second.dedup_key) == (f"{key}#{first.pk}", key)
    assert second.status == "received" and "fetched again at" in second.outcome
    assert second.next_attempt_at == first.received_at + dt.timedelta(seconds=10)
    assert len(gets(acuity, f"/appointments/{made['id']}")) == 1

    # The window passes: the broker hands the waiting event over, and it is fetched once.
    InboundEvent.objects.filter(pk=first.pk).update(
        received_at=first.received_at - dt.timedelta(seconds=10)
    )
    assert run_delayed(eager_celery) == 1
    second.refresh_from_db()
    assert (second.status, second.dedup_key) == ("processed", f"{key}#{second.pk}")
    assert len(gets(acuity, f"/appointments/{made['id']}")) == 2
    assert TimelineItem.objects.filter(wedding=wedding).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_values_come_from_acuity_never_from_the_form(acuity, linked, wedding, eager_celery):
    """Even an authentic form saying `canceled` only points at the appointment."""
    _, url = linked
    made = acuity.book(local(120, 14), type="Venue walk-through", notify=False)

    response = acuity.send_webhook(url, acuity.form("canceled", made))

    assert response.status_code == 200
    assert TimelineItem.objects.get(wedding=wedding).title == "Venue walk-through"


def changed_byte(acuity, url, body):
    return acuity.send_webhook(url, body.replace(b"action=", b"action=x"), signed_body=body)


REFUSALS = {
    "wrong-key": lambda acuity, url, body: acuity.send_webhook(url, body, api_key=WRONG_KEY),
    "changed-byte": changed_byte,
    "missing-header": lambda acuity, url, body: acuity.send_webhook(url, body, sign=False),
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_what_the_api_key_does_not_vouch_for_is_refused_and_not_stored(
    acuity, linked, eager_celery, caplog, case
):
    connection, url = linked
    made = acuity.book(local(120, 14), notify=False)
    acuity.requests.clear()

    response = REFUSALS[case](acuity, url, acuity.form("scheduled", made))

    assert response.status_code == 401
    assert response.json()["error"].startswith("signature verification failed: ")
    assert stored(connection) == [] and not RecordLink.objects.exists()
    assert acuity.requests == []
    assert acuity.api_key not in caplog.text and acuity.api_key not in response.text


@pytest.mark.django_db(transaction=True)
def test_a_cancellation_takes_the_appointment_off_the_timeline(
    acuity, linked, wedding, eager_celery
):
    connection, _ = linked
    made = acuity.book(local(120, 14), type="Menu tasting")
    acuity.wait_for_deliveries()
    assert TimelineItem.objects.filter(wedding=wedding).count() == 1

    acuity.cancel(made["id"])
    deliveries = acuity.wait_for_deliveries()

    assert [(d.action, d.status_code) for d in deliveries] == [
        ("scheduled", 200),
        ("canceled", 200),
    ]
    assert not TimelineItem.objects.filter(wedding=wedding).exists()
    link = RecordLink.objects.get(connection=connection, external_id=str(made["id"]))
    assert link.deleted and link.snapshot["canceled"] is True
    assert [(e.event_type, e.status) for e in stored(connection)] == [
        ("scheduled", "processed"),
        ("canceled", "processed"),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_reschedule_moves_the_appointment(acuity, linked, wedding, eager_celery):
    made = acuity.book(local(120, 14), type="Menu tasting")
    acuity.wait_for_deliveries()

    acuity.reschedule(made["id"], local(127, 17, 30))
    acuity.wait_for_deliveries()

    [item] = TimelineItem.objects.filter(wedding=wedding)
    assert item.starts_at.astimezone(LISBON) == local(127, 17, 30)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("window", "at_once"), [(0, True), (10, False)])
def test_a_second_change_in_the_same_words_is_news_once_the_first_was_taken_up(
    acuity, linked, wedding, eager_celery, settings, window, at_once
):
    """Both `changed` deliveries are the same bytes. The second comes after the first was
    processed: it is stored and the appointment fetched again, so the new location lands at
    once, unless the first was fetched less than WEBHOOK_REPEAT_SECONDS before, when it lands
    as that window ends."""
    settings.WEBHOOK_REPEAT_SECONDS = window
    connection, _ = linked
    made = acuity.book(local(120, 14), type="Menu tasting")
    acuity.change(made["id"], location="Online")
    acuity.wait_for_deliveries()
    assert TimelineItem.objects.get(wedding=wedding).location == "Online"

    acuity.change(made["id"], location="Quinta do Torneiro, Oeiras")
    [*_, second] = acuity.wait_for_deliveries()

    assert second.status_code == 200 and "duplicate" not in second.text
    # The booking's and the first change's deliveries race each other: any order.
    assert sorted(e.event_type for e in stored(connection)) == ["changed", "changed", "scheduled"]
    moved = "Quinta do Torneiro, Oeiras"
    assert (TimelineItem.objects.get(wedding=wedding).location == moved) is at_once
    InboundEvent.objects.update(received_at=F("received_at") - dt.timedelta(seconds=window))
    run_delayed(eager_celery)  # the window has passed
    assert TimelineItem.objects.get(wedding=wedding).location == moved
    assert all(e.status == "processed" for e in stored(connection))


@pytest.mark.django_db(transaction=True)
def test_the_same_words_before_the_first_is_taken_up_are_a_duplicate(
    acuity, linked, client, settings, django_capture_on_commit_callbacks
):
    """A delivery sent again while the first still waits adds nothing: the fetch to come
    covers both. Once the first is taken up, the same bytes are stored as news."""
    import base64
    import hashlib
    import hmac

    from integrations.webhooks.drain import drain_connection

    settings.WEBHOOK_REPEAT_SECONDS = 0
    connection, url = linked
    made = acuity.book(local(120, 14), type="Menu tasting", notify=False)
    body = f"action=changed&id={made['id']}&calendarID=1&appointmentTypeID=2".encode()
    signature = base64.b64encode(hmac.new(acuity.api_key.encode(), body, hashlib.sha256).digest())

    def deliver() -> dict:
        response = client.post(
            "/" + url.split("/", 3)[3],
            body,
            content_type="application/x-www-form-urlencoded",
            HTTP_X_ACUITY_SIGNATURE=signature.decode(),
        )
        assert response.status_code == 200, response.content
        return response.json()

    with django_capture_on_commit_callbacks(execute=False):  # nothing is processed yet
        assert deliver()["status"] == "received"
        assert deliver() == {"status": "duplicate"}
    assert drain_connection(connection.pk).processed == 1
    assert len(gets(acuity, f"/appointments/{made['id']}")) == 1
    with django_capture_on_commit_callbacks(execute=False):
        assert deliver()["status"] == "received"  # taken up since: news
    assert len(stored(connection)) == 2


@pytest.mark.django_db(transaction=True)
def test_another_action_is_acknowledged_and_recorded_as_ignored(acuity, linked, eager_celery):
    connection, url = linked

    response = acuity.send_webhook(url, b"action=order.completed&id=12345")

    assert response.status_code == 202
    [event] = stored(connection)
    assert (event.status, event.event_type) == ("ignored", "order.completed")
    assert gets(acuity, "/appointments/12345") == []


@pytest.mark.django_db(transaction=True)
def test_a_connection_takes_its_webhook_secret_from_the_api_key(acuity, linked):
    connection, url = linked
    assert connection.has_webhook_secret and connection.webhook_secret is None
    made = acuity.book(local(120, 14), notify=False)
    connection.credentials = None
    connection.save()

    response = acuity.send_webhook(url, acuity.form("scheduled", made))

    assert response.status_code == 401 and not InboundEvent.objects.exists()


def test_a_pasted_webhook_secret_is_refused_for_acuity(acuity, vendor):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="not verified with a value you paste"):
        services.connect(
            organization=vendor[0],
            provider="acuity",
            credentials=credentials(acuity),
            webhook_secret="a" * 32,
        )
    assert not Connection.objects.exists()


def test_without_a_set_wedding_a_booking_finds_the_wedding_of_its_client(acuity, vendor, wedding):
    """The studio's Acuity serves many couples: a booking lands on the wedding whose contact
    booked it (by email), and one by nobody's contact lands nowhere."""
    from tests.factories import ContactFactory

    ContactFactory(wedding=wedding, name="Ana Silva", email="Ana.Silva@example.com")
    acuity.book(local(120, 14), type="Engagement shoot", email="ana.silva@example.com")
    acuity.book(local(121, 10), type="Portfolio review", email="walk-in@example.com")

    run = pull_connection(make_connection(vendor[0], "acuity", credentials(acuity)))

    assert run.status == "succeeded" and run.pulled == 2
    [item] = TimelineItem.objects.all()
    assert (item.wedding_id, item.title) == (wedding.pk, "Engagement shoot")
