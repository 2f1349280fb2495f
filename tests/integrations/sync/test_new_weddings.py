"""The seed's "new wedding inquiry in Táve -> created in WedSync": a studio that switched it on
on its connection's page gets a wedding here for each new job on a day it has none (over HTTP
against the Táve emulator), once, with the job's couple (its clients, as contacts), day, guests
and stage; a day that is already taken, or a studio that left it off, gets none. A planner's
HoneyBook project through the bridge does the same."""

from __future__ import annotations

import json

import pytest

from integrations import services
from integrations.models import RecordLink
from integrations.sync import pull
from integrations.webhooks import drain
from tests.factories import MembershipFactory, OrganizationFactory, ParticipantFactory
from tests.integrations.providers.conftest import make_connection
from wedsync.models import Membership, Organization, Wedding

pytestmark = pytest.mark.django_db


@pytest.fixture
def studio(tave):
    photographer = OrganizationFactory(
        kind=Organization.Kind.PHOTOGRAPHER, name="Luz Studio", time_zone="Europe/Lisbon"
    )
    owner = MembershipFactory(organization=photographer, role=Membership.Role.OWNER).user
    connection = make_connection(photographer, "tave", {"api_key": tave.add_api_key()})
    return connection, owner


def weddings_of(organization) -> list[Wedding]:
    return list(Wedding.objects.filter(participants__organization=organization).order_by("date"))


def test_a_new_job_becomes_a_wedding_once_when_the_studio_asked_for_it(tave, studio, client):
    connection, owner = studio
    client.force_login(owner)
    page = client.get(f"/integrations/connections/{connection.pk}/").content.decode()
    assert 'id="new-weddings-settings"' in page
    response = client.post(
        f"/integrations/connections/{connection.pk}/new-weddings/", {"create_weddings": "on"}
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    inquiry = tave.add_job(name="Inês & Rui", eventDate="2027-09-04", guestCount=80, stage="lead")
    ines = tave.add_contact(
        firstName="Inês",
        lastName="Costa",
        email="ines@example.com",
        cellPhone={"e164": "+351912345678"},
    )
    tave.link_contact(inquiry["id"], ines["id"], client=True)
    planner = tave.add_contact(firstName="Pat", lastName="Planner", email="pat@example.com")
    tave.link_contact(inquiry["id"], planner["id"], client=False)  # not the couple
    booked = tave.add_job(name="Sara & Tom", eventDate="2027-10-09", guestCount=120)
    tave.edit_job(booked["id"], stage="booked")
    taken = OrganizationFactory(name="Elsewhere")  # a wedding of another organization that day
    ParticipantFactory(
        wedding=Wedding.objects.create(couple_names="X", date="2027-09-04", time_zone="UTC"),
        organization=taken,
    )

    pull.pull_connection(connection)
    pull.pull_connection(connection)  # and again: nothing made twice

    first, second = weddings_of(connection.organization)
    assert (first.couple_names, str(first.date), first.guest_count, first.status) == (
        "Inês & Rui",
        "2027-09-04",
        80,
        "inquiry",
    )
    assert (second.couple_names, second.status, second.time_zone) == (
        "Sara & Tom",
        "booked",
        "Europe/Lisbon",
    )
    assert first.participants.get().is_lead
    [couple] = first.contacts.all()
    assert (couple.name, couple.role, couple.email, couple.phone) == (
        "Inês Costa",
        "couple",
        "ines@example.com",
        "+351912345678",
    )
    link = RecordLink.objects.get(connection=connection, external_id=inquiry["id"])
    assert link.object_id == first.pk
    assert client.get(f"/api/weddings/{first.pk}/").status_code == 200  # the studio's own


def test_a_day_already_taken_or_a_studio_that_left_it_off_gets_no_new_wedding(tave, studio):
    connection, _ = studio
    tave.add_job(name="Ana & Ben", eventDate="2027-06-19", guestCount=90)
    pull.pull_connection(connection)
    assert weddings_of(connection.organization) == []  # off by default

    connection.config = {"create_weddings": True}
    connection.save()
    for _ in range(2):  # two weddings of the studio on one day: neither is guessed, none made
        ParticipantFactory(
            wedding=Wedding.objects.create(couple_names="?", date="2027-07-03", time_zone="UTC"),
            organization=connection.organization,
        )
    tave.add_job(name="One of two", eventDate="2027-07-03")
    tave.add_job(name="No day yet", eventDate=None)
    pull.pull_connection(connection)
    made = [w.couple_names for w in weddings_of(connection.organization)]
    assert made == ["Ana & Ben", "?", "?"]  # the unchanged job is looked at again and made


def test_staff_cannot_switch_it_and_a_calendar_has_no_such_setting(tave, studio, client):
    connection, _ = studio
    staff = MembershipFactory(organization=connection.organization, role=Membership.Role.STAFF)
    client.force_login(staff.user)
    url = f"/integrations/connections/{connection.pk}/new-weddings/"
    assert client.post(url, {"create_weddings": "on"}).status_code == 404
    connection.refresh_from_db()
    assert "create_weddings" not in connection.config
    _, owner = studio
    calendar = make_connection(
        connection.organization, "caldav", {"username": "u", "password": "p", "url": "https://x/"}
    )
    client.force_login(owner)
    assert client.post(f"/integrations/connections/{calendar.pk}/new-weddings/").status_code == 404


def test_a_planners_new_honeybook_project_becomes_a_wedding(client):
    planner = OrganizationFactory(name="Ever After Planning", kind="planner")
    bridge, secret = services.create_bridge_connection(organization=planner, provider="honeybook")
    bridge.config = {"create_weddings": True}
    bridge.save()
    body = {
        "event": "wedding.created",
        "id": "hb-project-1",
        "occurred_at": "2027-01-10T10:00:00Z",
        "data": {
            "couple_names": "Ana & Ben",
            "date": "2027-06-19",
            "venue": "Quinta",
            "stage": "booked",
        },
    }
    response = client.post(
        f"/api/integrations/inbound/{bridge.webhook_token}/",
        json.dumps(body),
        content_type="application/json",
        HTTP_X_WEDSYNC_SECRET=secret,
    )
    assert response.status_code == 200

    drain.drain_connection(bridge.pk)  # the background processing, here

    [wedding] = weddings_of(planner)
    assert (wedding.couple_names, wedding.venue_name, wedding.status) == (
        "Ana & Ben",
        "Quinta",
        "booked",
    )
