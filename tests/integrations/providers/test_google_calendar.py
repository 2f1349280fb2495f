"""Google Calendar over HTTP against its emulator: OAuth with PKCE, refresh, sync tokens, writes."""

from __future__ import annotations

import datetime as dt
import threading
import zoneinfo
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core import mail
from django.db import connection as db_connection

from integrations import oauth, services
from integrations.adapters.base import Change
from integrations.errors import ProviderError
from integrations.models import Connection
from integrations.providers.calendars.google_calendar.emulator import (
    SCOPE_CALENDAR_READONLY,
    SCOPE_EVENTS,
    GoogleCalendarEmulator,
)
from tests.integrations.providers.conftest import make_connection

CALLBACK = "http://testserver/integrations/oauth/callback/"
SCOPES = f"{SCOPE_EVENTS} {SCOPE_CALENDAR_READONLY}"


@pytest.fixture
def google(settings):
    with GoogleCalendarEmulator(account_email="maya@lumen.example") as emulator:
        client = emulator.register_client(
            [CALLBACK], client_id="hub-client", client_secret="hub-client-secret"
        )
        settings.PROVIDER_ORIGINS = {"google_calendar": emulator.base_url}
        settings.OAUTH_CLIENTS = {
            "google_calendar": {
                "client_id": client.client_id,
                "client_secret": client.client_secret,
            }
        }
        yield emulator


def google_connection(google, organization, **credential_overrides) -> Connection:
    tokens = google.issue_tokens("hub-client", scope=SCOPES)
    credentials = {
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "expires_at": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat(),
        **credential_overrides,
    }
    return make_connection(organization, "google_calendar", credentials)


def token_requests(google, grant_type: str) -> int:
    return sum(
        1
        for r in google.requests
        if r.path == "/token" and f"grant_type={grant_type}" in r.body.decode()
    )


# -- linking ----------------------------------------------------------------------------------


def test_vendor_links_google_calendar_through_oauth_with_pkce(google, vendor, client):
    organization, owner = vendor
    client.force_login(owner)
    start = client.post("/integrations/link/google_calendar/", {"organization": organization.pk})
    assert start.status_code == 302
    authorize = urlsplit(start["Location"])
    query = parse_qs(authorize.query)
    assert f"{authorize.scheme}://{authorize.netloc}" == google.base_url
    assert query["code_challenge_method"] == ["S256"] and query["access_type"] == ["offline"]

    consent = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert consent.status_code == 302
    back = urlsplit(consent.headers["Location"])
    finish = client.get(f"{back.path}?{back.query}")

    connection = Connection.objects.get(organization=organization, provider="google_calendar")
    assert finish.status_code == 302 and finish["Location"].endswith(f"/{connection.pk}/")
    assert connection.status == Connection.Status.ACTIVE
    assert connection.external_account_id == "maya@lumen.example"
    assert set(connection.credentials) >= {"access_token", "refresh_token", "expires_at"}
    # The state is single-use: replaying the callback links nothing more.
    client.get(f"{back.path}?{back.query}")
    assert Connection.objects.filter(provider="google_calendar").count() == 1


def test_refused_consent_links_nothing(google, vendor, client):
    organization, owner = vendor
    client.force_login(owner)
    google.refuse_consent()
    start = client.post("/integrations/link/google_calendar/", {"organization": organization.pk})
    back = urlsplit(
        requests.get(start["Location"], allow_redirects=False, timeout=5).headers["Location"]
    )
    page = client.get(f"{back.path}?{back.query}", follow=True)
    assert "access was not granted" in page.content.decode()
    assert not Connection.objects.exists()


# -- pulling ----------------------------------------------------------------------------------


def test_pull_pages_to_the_end_then_syncs_only_changes(google, vendor):
    for n in range(260):  # more than one page of 250
        google.seed_event(
            "primary",
            summary=f"Shoot {n}",
            start={"dateTime": "2027-06-19T15:00:00+01:00"},
            end={"dateTime": "2027-06-19T16:00:00+01:00"},
        )
    adapter = services.adapter_for(google_connection(google, vendor[0]))
    first = adapter.pull("events")
    assert len(first.records) == 260 and first.full and first.cursor
    edited = first.records[7]
    google.user_edits_event("primary", edited.external_id, summary="Shoot moved")
    second = adapter.pull("events", first.cursor)
    assert [(r.external_id, r.fields["title"]) for r in second.records] == [
        (edited.external_id, "Shoot moved")
    ]
    assert not second.full


def test_an_expired_sync_token_falls_back_to_a_full_resync(google, vendor):
    google.seed_event(
        "primary",
        summary="Ceremony",
        start={"dateTime": "2027-06-19T15:00:00Z"},
        end={"dateTime": "2027-06-19T16:00:00Z"},
    )
    adapter = services.adapter_for(google_connection(google, vendor[0]))
    cursor = adapter.pull("events").cursor
    google.invalidate_sync_tokens()
    result = adapter.pull("events", cursor)
    assert result.full and [r.fields["title"] for r in result.records] == ["Ceremony"]
    assert any(r.query.get("syncToken") == [cursor] for r in google.requests)


# -- tokens -----------------------------------------------------------------------------------


def test_an_expired_access_token_is_refreshed_on_401_and_a_rotated_refresh_token_saved(
    google, vendor
):
    connection = google_connection(google, vendor[0])
    old = connection.credentials
    google.rotate_refresh_tokens = True
    google.expire_access_token()
    services.check(connection)
    connection.refresh_from_db()
    assert connection.credentials["access_token"] != old["access_token"]
    assert connection.credentials["refresh_token"] != old["refresh_token"]
    assert token_requests(google, "refresh_token") == 1
    services.check(connection)  # the new tokens work
    assert token_requests(google, "refresh_token") == 1


def test_a_token_about_to_expire_is_refreshed_before_the_call(google, vendor):
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=10)).isoformat()
    connection = google_connection(google, vendor[0], expires_at=soon)
    old_token = connection.credentials["access_token"]
    services.check(connection)
    assert token_requests(google, "refresh_token") == 1
    connection.refresh_from_db()
    used = {r.headers["Authorization"] for r in google.requests if r.path.startswith("/calendar/")}
    assert used == {"Bearer " + connection.credentials["access_token"]}
    assert "Bearer " + old_token not in used


def test_invalid_grant_marks_the_connection_and_tells_its_organization(
    google, vendor, django_capture_on_commit_callbacks
):
    connection = google_connection(google, vendor[0])
    google.revoke_refresh_token(connection.credentials["refresh_token"])
    google.expire_access_token()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ProviderError) as raised:
        services.check(connection)
    assert raised.value.kind == "needs_reauth"
    connection.refresh_from_db()
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert [m.to for m in mail.outbox] == [["maya@lumen.example"]]
    assert "Link Google Calendar to WedSync Hub again" in mail.outbox[0].subject
    assert connection.credentials["refresh_token"] not in mail.outbox[0].body


@pytest.mark.django_db(transaction=True)
def test_workers_refreshing_at_once_refresh_only_once(google, vendor):
    if db_connection.vendor == "sqlite":
        pytest.skip("SQLite's in-memory test database cannot lock rows across threads")
    connection = google_connection(google, vendor[0])
    stale = connection.credentials["access_token"]
    google.expire_access_token()
    results, barrier = [], threading.Barrier(4)

    def worker():
        barrier.wait()
        try:
            results.append(oauth.refresh_access_token(connection.pk, failed_token=stale))
        finally:
            db_connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert token_requests(google, "refresh_token") == 1
    assert len({r["access_token"] for r in results}) == 1


def test_disconnect_revokes_the_grant_and_forgets_the_tokens(google, vendor):
    connection = google_connection(google, vendor[0])
    services.disconnect(connection)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.REVOKED and connection.credentials is None
    assert [r.path for r in google.requests if r.path == "/revoke"] == ["/revoke"]


# -- failures ---------------------------------------------------------------------------------


def test_a_short_429_is_waited_out_and_a_long_one_handed_back(google, vendor):
    adapter = services.adapter_for(google_connection(google, vendor[0]))
    google.inject_fault(429, retry_after=1, path_prefix="/calendar/")
    assert adapter.check_connection().account_id == "maya@lumen.example"
    assert sum(1 for r in google.requests if r.path.endswith("calendarList")) == 2
    google.inject_fault(429, retry_after=120, path_prefix="/calendar/")
    with pytest.raises(ProviderError) as raised:
        adapter.check_connection()
    assert (raised.value.kind, raised.value.retry_after, raised.value.retryable) == (
        "rate_limited",
        120.0,
        True,
    )


def test_a_403_rate_limit_is_read_from_the_body(google, vendor):
    adapter = services.adapter_for(google_connection(google, vendor[0]))
    google.inject_fault(403, times=3, path_prefix="/calendar/")
    with pytest.raises(ProviderError) as raised:
        adapter.check_connection()
    assert raised.value.kind == "rate_limited" and raised.value.retryable


def test_5xx_is_surfaced_as_a_retryable_error(google, vendor):
    adapter = services.adapter_for(google_connection(google, vendor[0]))
    google.inject_fault(503, times=3, path_prefix="/calendar/")
    with pytest.raises(ProviderError) as raised:
        adapter.check_connection()
    assert (raised.value.kind, raised.value.status, raised.value.retryable) == (
        "unavailable",
        503,
        True,
    )


# -- writing ----------------------------------------------------------------------------------

LONDON = zoneinfo.ZoneInfo("Europe/London")
OUR_ID = "0b0e8e36-5a5c-4b43-9d2a-6f1ce2ab77a1"


def ceremony(**changes):
    fields = {
        "title": "Ceremony",
        "location": "Walled Garden",
        "time_zone": "Europe/London",
        "starts_at": dt.datetime(2027, 6, 19, 15, 30, tzinfo=LONDON),
        "ends_at": dt.datetime(2027, 6, 19, 16, 15, tzinfo=LONDON),
    }
    return {**fields, **changes}


def test_a_retried_create_makes_one_event_in_the_venues_time(google, vendor):
    adapter = services.adapter_for(google_connection(google, vendor[0]))
    first = adapter.push(Change("events", "create", ceremony(), our_id=OUR_ID))
    again = adapter.push(Change("events", "create", ceremony(), our_id=OUR_ID))
    assert first.external_id == again.external_id == "0b0e8e365a5c4b439d2a6f1ce2ab77a1"
    event = google.event("primary", first.external_id)
    assert event["start"] == {"dateTime": "2027-06-19T15:30:00+01:00", "timeZone": "Europe/London"}
    assert len(adapter.pull("events").records) == 1


def test_updates_are_conditional_on_the_etag(google, vendor):
    adapter = services.adapter_for(google_connection(google, vendor[0]))
    created = adapter.push(Change("events", "create", ceremony(), our_id=OUR_ID))
    google.user_edits_event("primary", created.external_id, summary="Ceremony (edited in Google)")
    with pytest.raises(ProviderError) as raised:
        adapter.push(
            Change(
                "events",
                "update",
                ceremony(title="Ours"),
                our_id=OUR_ID,
                external_id=created.external_id,
                version=created.version,
            )
        )
    # Not repeated by the HTTP layer: the sync engine fetches, merges and writes again.
    assert raised.value.kind == "precondition_failed" and raised.value.permanent is True
    current = google.event("primary", created.external_id)
    updated = adapter.push(
        Change(
            "events",
            "update",
            ceremony(title="Ours"),
            our_id=OUR_ID,
            external_id=created.external_id,
            version=current["etag"],
        )
    )
    assert google.event("primary", created.external_id)["summary"] == "Ours"
    assert updated.version != current["etag"]


def test_deleting_twice_is_done_not_an_error(google, vendor):
    adapter = services.adapter_for(google_connection(google, vendor[0]))
    created = adapter.push(Change("events", "create", ceremony(), our_id=OUR_ID))
    for _ in range(2):
        adapter.push(Change("events", "delete", {}, our_id=OUR_ID, external_id=created.external_id))
    assert google.event("primary", created.external_id)["status"] == "cancelled"
