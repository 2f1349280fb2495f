"""Táve through the spec-driven REST adapter, over HTTP against its emulator."""

from __future__ import annotations

import logging

import pytest

from integrations import services
from integrations.adapters.base import Change
from integrations.errors import ProviderError
from integrations.models import Connection
from tests.integrations.providers.conftest import make_connection


@pytest.fixture
def good_key(tave):
    return tave.add_api_key("tave-live-key-0123456789")


def adapter(vendor, key):
    return services.adapter_for(make_connection(vendor[0], "tave", {"api_key": key}))


# -- credentials ------------------------------------------------------------------------------


def test_a_good_key_names_the_studio_and_a_bad_one_is_refused(tave, good_key, vendor):
    account = adapter(vendor, good_key).check_connection()
    assert (account.account_id, account.account_name) == (tave.studio["id"], tave.studio["name"])
    with pytest.raises(ProviderError) as raised:
        adapter(vendor, "not-the-right-key-at-all").check_connection()
    assert (raised.value.kind, raised.value.status, raised.value.permanent) == (
        "invalid_credentials",
        401,
        True,
    )


def test_a_read_only_key_reads_but_cannot_write(tave, vendor):
    key = tave.add_api_key("tave-read-only-key-0123", read_only=True)
    hub = adapter(vendor, key)
    hub.check_connection()
    with pytest.raises(ProviderError) as raised:
        hub.push(Change("job", "create", {"couple_names": "Ana & Ben"}, our_id="w1"))
    assert raised.value.kind == "forbidden"


# -- pulling ----------------------------------------------------------------------------------


def test_pull_follows_pages_to_the_end(tave, good_key, vendor):
    for n in range(230):
        tave.add_job(name=f"Couple {n}", eventDate="2027-06-19", guestCount=100 + n)
    result = adapter(vendor, good_key).pull("job")
    assert len(result.records) == 230 and result.full
    assert {r.fields["couple_names"] for r in result.records} == {f"Couple {n}" for n in range(230)}
    pages = sorted(int(r.query["page"][0]) for r in tave.requests if r.path == "/api/v2/job")
    assert pages == [1, 2, 3]


def test_an_incremental_pull_returns_only_what_changed(tave, good_key, vendor):
    jobs = [tave.add_job(name=f"Couple {n}", eventDate="2027-06-19") for n in range(5)]
    hub = adapter(vendor, good_key)
    cursor = hub.pull("job").cursor
    tave.edit_job(jobs[2]["id"], guestCount=142)
    changed = hub.pull("job", cursor)
    first, *again = changed.records
    assert (first.external_id, first.fields["guest_count"]) == (jobs[2]["id"], 142)
    # jobs of the cursor's own second are read again (one changed in that second after the
    # pull would carry the same timestamp); nothing older is
    assert all(r.version == cursor for r in again)
    assert [r.external_id for r in hub.pull("job", changed.cursor).records] == [jobs[2]["id"]]


def test_a_job_changed_in_the_same_second_as_the_cursor_is_not_missed(tave, good_key, vendor):
    """Táve's timestamps are whole seconds: a change right after a pull, within the second of
    the newest record it read, has that record's timestamp."""
    job = tave.add_job(name="Ana & Ben", guestCount=100)
    hub = adapter(vendor, good_key)
    cursor = hub.pull("job").cursor
    with tave.lock:  # what Táve would stamp if the edit came within the same second
        tave._jobs[job["id"]]["guestCount"] = 120
    [record] = hub.pull("job", cursor).records
    assert (record.version, record.fields["guest_count"]) == (cursor, 120)


# -- failures ---------------------------------------------------------------------------------


def test_429_is_honoured(tave, good_key, vendor):
    hub = adapter(vendor, good_key)
    tave.inject_fault(429, retry_after=1, path_prefix="/api/v2/studio")
    hub.check_connection()
    assert [r.path for r in tave.requests].count("/api/v2/studio/me") == 2
    tave.inject_fault(429, retry_after=600, path_prefix="/api/v2/studio")
    with pytest.raises(ProviderError) as raised:
        hub.check_connection()
    assert (raised.value.kind, raised.value.retry_after) == ("rate_limited", 600.0)


def test_5xx_is_retried_then_surfaced_as_retryable(tave, good_key, vendor):
    hub = adapter(vendor, good_key)
    tave.inject_fault(502, times=1, path_prefix="/api/v2/studio")
    hub.check_connection()  # one bad gateway is retried away
    tave.inject_fault(503, times=3, path_prefix="/api/v2/studio")
    with pytest.raises(ProviderError) as raised:
        hub.check_connection()
    assert raised.value.kind == "unavailable" and raised.value.retryable


def test_a_post_is_not_retried_blindly(tave, good_key, vendor):
    tave.inject_fault(503, times=1, path_prefix="/api/v2/job", method="POST")
    with pytest.raises(ProviderError):
        adapter(vendor, good_key).push(Change("job", "create", {"couple_names": "X"}, our_id="w"))
    # the create asks first whether a job carries our id, then posts once
    assert [r.method for r in tave.requests if r.path == "/api/v2/job"] == ["GET", "POST"]
    assert tave.jobs() == []


def test_a_create_whose_answer_was_lost_is_not_made_twice_when_retried(tave, good_key, vendor):
    """Táve carried the POST out but a gateway answered 502: the push fails as retryable, and
    its retry finds the job by our id (externalMappingId) and updates it instead of posting."""
    hub = adapter(vendor, good_key)
    our_id = "5f0c7e52-8a1d-4a8e-9d55-0b1f6f1e2a10"
    tave.inject_fault(502, path_prefix="/api/v2/job", method="POST", after=True)
    with pytest.raises(ProviderError) as raised:
        hub.push(Change("job", "create", {"couple_names": "Ana & Ben"}, our_id=our_id))
    assert raised.value.retryable
    [made] = tave.jobs()
    assert [m["id"] for m in made["externalMappings"]] == [our_id]

    retried = hub.push(
        Change("job", "create", {"couple_names": "Ana & Ben", "guest_count": 80}, our_id=our_id)
    )
    assert retried.external_id == made["id"]
    [job] = tave.jobs()
    assert job["guestCount"] == 80 and job["externalMappings"] == made["externalMappings"]
    asked = [(r.method, r.path) for r in tave.requests if r.path.startswith("/api/v2/job")]
    assert asked == [
        ("GET", "/api/v2/job"),  # is there a job with our id? no
        ("POST", "/api/v2/job"),  # made, but the answer was lost
        ("GET", "/api/v2/job"),  # is there a job with our id? yes
        ("GET", f"/api/v2/job/{made['id']}"),  # the whole job, to write back with ours changed
        ("PUT", f"/api/v2/job/{made['id']}"),
    ]


def test_a_created_job_links_back_to_our_wedding(tave, good_key, vendor, settings):
    settings.PUBLIC_URL = "https://hub.example"
    our_id = "0b6f3c1e-55a2-4c1b-8a8e-3f2d7c9e4b21"
    adapter(vendor, good_key).push(
        Change("job", "create", {"couple_names": "C & D"}, our_id=our_id)
    )
    [job] = tave.jobs()
    assert job["externalMappings"] == [
        {"id": our_id, "url": f"https://hub.example/api/weddings/{our_id}/"}
    ]


# -- writing ----------------------------------------------------------------------------------


def test_push_creates_updates_and_deletes_a_job(tave, good_key, vendor):
    hub = adapter(vendor, good_key)
    created = hub.push(
        Change(
            "job",
            "create",
            {"couple_names": "Ana & Ben", "guest_count": 120, "date": "2027-06-19"},
            our_id="w1",
        )
    )
    assert tave.jobs()[0]["guestCount"] == 120
    updated = hub.push(
        Change(
            "job",
            "update",
            {"couple_names": "Ana & Ben", "guest_count": 142, "date": "2027-06-19"},
            our_id="w1",
            external_id=created.external_id,
        )
    )
    assert tave.jobs()[0]["guestCount"] == 142 and updated.version >= created.version
    hub.push(Change("job", "delete", {}, our_id="w1", external_id=created.external_id))
    hub.push(Change("job", "delete", {}, our_id="w1", external_id=created.external_id))
    assert tave.jobs() == []


# -- linking as a vendor ----------------------------------------------------------------------


def test_vendor_links_tave_with_an_api_key(tave, good_key, vendor, client, caplog):
    organization, owner = vendor
    client.force_login(owner)
    caplog.set_level(logging.DEBUG)
    page = client.post(
        "/integrations/link/tave/",
        {"organization": organization.pk, "api_key": good_key},
        follow=True,
    )
    connection = Connection.objects.get(provider="tave")
    assert "Táve (VSCO Workspace) is linked." in page.content.decode()
    assert connection.credentials == {"api_key": good_key}
    assert connection.external_account_name == tave.studio["name"]
    assert good_key not in page.content.decode() and good_key not in caplog.text


def test_a_wrong_key_shows_the_vendor_a_clear_message_and_saves_nothing(tave, vendor, client):
    organization, owner = vendor
    client.force_login(owner)
    page = client.post(
        "/integrations/link/tave/",
        {"organization": organization.pk, "api_key": "wrong-key-0123456789"},
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "did not accept these credentials" in text
    assert "wrong-key-0123456789" not in text  # the secret is not echoed back
    assert not Connection.objects.exists()


def test_tave_being_down_is_explained_and_saves_nothing(tave, good_key, vendor, client):
    organization, owner = vendor
    client.force_login(owner)
    tave.inject_fault(503, times=5)
    page = client.post(
        "/integrations/link/tave/", {"organization": organization.pk, "api_key": good_key}
    )
    assert "is not answering right now. Nothing was saved" in page.content.decode()
    assert not Connection.objects.exists()


def test_staff_cannot_link_accounts(tave, good_key, vendor, client):
    from tests.factories import MembershipFactory

    staff = MembershipFactory(organization=vendor[0], role="staff").user
    client.force_login(staff)
    page = client.get("/integrations/link/tave/", follow=True)
    assert "Only owners and coordinators link accounts." in page.content.decode()


# -- the API ----------------------------------------------------------------------------------


def test_api_connects_tave_after_testing_the_key(tave, good_key, vendor, client_for):
    organization, owner = vendor
    api = client_for(owner)
    response = api.post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "tave",
            "organization": str(organization.pk),
            "credentials": {"api_key": good_key},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["capabilities"] == ["pull", "push", "webhooks"]
    detail = api.get(f"/api/integrations/connections/{body['id']}/").json()
    assert detail["has_credentials"] is True and good_key not in str(detail)


def test_api_refuses_a_bad_key_with_the_providers_reason(tave, vendor, client_for):
    organization, owner = vendor
    response = client_for(owner).post(
        "/api/integrations/vendor/connect/",
        {
            "provider": "tave",
            "organization": str(organization.pk),
            "credentials": {"api_key": "wrong-key-0123456789"},
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_credentials"
    assert "did not accept" in response.json()["error"]
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"provider": "myspace"}, "provider"),
        ({"credentials": {}}, "api_key"),
        ({"credentials": {"api_key": "short"}}, "api_key"),
        ({"credentials": {"api_key": "tave-live-key-0123456789", "password": "x"}}, "password"),
    ],
)
def test_api_bad_input_names_the_field(tave, good_key, vendor, client_for, payload, field):
    organization, owner = vendor
    body = {
        "provider": "tave",
        "organization": str(organization.pk),
        "credentials": {"api_key": good_key},
        **payload,
    }
    response = client_for(owner).post("/api/integrations/vendor/connect/", body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Connection.objects.exists()


def test_connection_actions_and_access(tave, good_key, vendor, client_for, team):
    organization, owner = vendor
    connection = make_connection(organization, "tave", {"api_key": good_key})
    api = client_for(owner)
    url = f"/api/integrations/connections/{connection.pk}/"
    assert api.post(url + "pause/").json()["status"] == "paused"
    assert api.post(url + "resume/").json()["status"] == "active"
    tested = api.post(url + "test/").json()
    assert tested["consecutive_failures"] == 0 and tested["last_success_at"]
    assert client_for(team.outsider).get(url).status_code == 404
    assert api.post(url + "disconnect/").json()["has_credentials"] is False
    assert api.post(url + "pause/").status_code == 400


def test_providers_endpoint_lists_keys_auth_and_capabilities(client_for, vendor):
    providers = {
        p["key"]: p for p in client_for(vendor[1]).get("/api/integrations/providers/").json()
    }
    assert providers["tave"]["auth_method"] == "api_key"
    assert providers["google_calendar"]["auth_method"] == "oauth2"
    assert providers["tave"]["credential_fields"][0]["secret"] is True


def test_the_admin_shows_secrets_only_as_set(tave, good_key, vendor, admin_client):
    connection = make_connection(
        vendor[0], "tave", {"api_key": good_key}, webhook_secret="whsec-never-shown"
    )
    page = admin_client.get(f"/admin/integrations/connection/{connection.pk}/change/")
    text = page.content.decode()
    assert page.status_code == 200
    assert good_key not in text and "whsec-never-shown" not in text
    assert "Credentials" in text and ">set<" in text
    listing = admin_client.get("/admin/integrations/connection/")
    assert listing.status_code == 200 and good_key not in listing.content.decode()


def test_an_update_keeps_what_the_photographer_put_on_the_job(tave, good_key, vendor):
    """Táve's PUT is the whole job: sending our fields alone would reset the rest."""
    job = tave.add_job(name="Ana & Ben", guestCount=100, stage="booked", leadNotes="Film only")
    adapter(vendor, good_key).push(
        Change("job", "update", {"guest_count": 120}, our_id="w1", external_id=job["id"])
    )
    [held] = tave.jobs()
    assert (held["guestCount"], held["stage"], held["leadNotes"]) == (120, "booked", "Film only")
    assert held["name"] == "Ana & Ben"


def test_a_contact_update_keeps_its_kind_and_the_rest(tave, good_key, vendor):
    contact = tave.add_contact(firstName="Ana", lastName="Ferreira", companyName="Ferreira Lda")
    adapter(vendor, good_key).push(
        Change(
            "contact",
            "update",
            {"email": "ana@example.com"},
            our_id="c1",
            external_id=contact["id"],
        )
    )
    [held] = tave.contacts()
    assert held["email"] == "ana@example.com" and held["companyName"] == "Ferreira Lda"
    assert (held["kind"], held["firstName"]) == ("person", "Ana")


def test_events_are_pulled_with_their_job_and_a_hidden_one_is_gone(tave, good_key, vendor):
    job = tave.add_job(name="Ana & Ben", eventDate="2027-03-28")
    ceremony = tave.add_event(
        jobId=job["id"],
        name="Ceremony",
        startDate="2027-03-28",
        startTime="15:30",
        timezoneName="Europe/Lisbon",
    )
    hub = adapter(vendor, good_key)
    [record] = hub.pull("event").records
    assert record.parent == ("job", job["id"]) and not record.deleted
    assert record.fields["starts_at"] == "2027-03-28T14:30:00+00:00"  # the instant it means
    tave.hide_event(ceremony["id"])  # hidden in Táve's UI
    [record] = hub.pull("event").records
    assert record.deleted


def test_an_event_update_writes_the_local_date_and_time_in_the_weddings_zone(
    tave, good_key, vendor
):
    event = tave.add_event(name="Ceremony", startDate="2027-03-28", startTime="14:00")
    adapter(vendor, good_key).push(
        Change(
            "event",
            "update",
            {
                "title": "Ceremony",
                "starts_at": "2027-03-28T14:30:00+00:00",  # 15:30 in Lisbon, summer time
                "ends_at": None,
                "location": "",
                "time_zone": "Europe/Lisbon",
            },
            our_id="i1",
            external_id=event["id"],
        )
    )
    [held] = tave.events()
    assert (held["startDate"], held["startTime"], held["timezoneName"]) == (
        "2027-03-28",
        "15:30:00",
        "Europe/Lisbon",
    )
    assert held["endTime"] is None and held["location"] is None


def test_a_contacts_phone_is_read_from_its_phone_object(tave, good_key, vendor):
    tave.add_contact(firstName="Ana", cellPhone={"e164": "+447700900123", "formatted": "07700"})
    [record] = adapter(vendor, good_key).pull("contact").records
    assert record.fields["phone"] == "+447700900123"
