"""Bad input gets 400 with field errors; nothing partial is saved."""

import pytest

from tests.factories import OrganizationFactory, TimelineItemFactory
from wedsync.models import Contact, TimelineItem, Wedding, WeddingParticipant

pytestmark = pytest.mark.django_db


def test_creating_a_wedding_makes_the_creators_organization_its_lead(team, client_for):
    response = client_for(team.coordinator).post(
        "/api/weddings/",
        {
            "couple_names": "Ana & Ben",
            "date": "2027-09-04",
            "time_zone": "Europe/Lisbon",
            "organization": str(team.planner_org.pk),
            "guest_count": 80,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    wedding = Wedding.objects.get(pk=response.json()["id"])
    lead = wedding.participants.get()
    assert (lead.organization, lead.part, lead.is_lead) == (team.planner_org, "planner", True)


def test_bad_wedding_input_names_every_field_and_saves_nothing(team, client_for):
    before = Wedding.objects.count(), WeddingParticipant.objects.count()
    response = client_for(team.coordinator).post(
        "/api/weddings/",
        {
            "couple_names": "",
            "date": "next june",
            "time_zone": "Mars/Olympus",
            "guest_count": -5,
            "status": "eloped",
            "organization": str(team.planner_org.pk),
        },
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"couple_names", "date", "time_zone", "guest_count", "status"}
    assert "Mars/Olympus is not a known IANA time zone" in errors["time_zone"][0]
    assert (Wedding.objects.count(), WeddingParticipant.objects.count()) == before


def test_staff_cannot_create_a_wedding_for_their_organization(team, client_for):
    response = client_for(team.staff).post(
        "/api/weddings/",
        {
            "couple_names": "X & Y",
            "date": "2027-09-04",
            "time_zone": "UTC",
            "organization": str(team.planner_org.pk),
        },
        format="json",
    )
    assert response.status_code == 400
    assert "organization" in response.json()


def test_wedding_without_organization_is_refused_with_a_reason(team, client_for):
    response = client_for(team.coordinator).post(
        "/api/weddings/",
        {"couple_names": "X & Y", "date": "2027-09-04", "time_zone": "UTC"},
        format="json",
    )
    assert response.status_code == 400
    assert "Say which of your organizations" in response.json()["organization"][0]


def test_timeline_end_before_start_is_refused(team, client_for):
    response = client_for(team.staff).post(
        "/api/timeline-items/",
        {
            "wedding": str(team.wedding.pk),
            "title": "Ceremony",
            "starts_at": "2027-06-19T15:30",
            "ends_at": "2027-06-19T15:00",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["ends_at"] == ["The end must not be before the start."]
    assert not TimelineItem.objects.exists()


def test_responsible_organization_must_take_part(team, client_for):
    stranger = OrganizationFactory()
    response = client_for(team.staff).post(
        "/api/timeline-items/",
        {
            "wedding": str(team.wedding.pk),
            "title": "Photos",
            "starts_at": "2027-06-19T13:00",
            "responsible_organization": str(stranger.pk),
        },
        format="json",
    )
    assert response.status_code == 400
    assert "does not take part" in response.json()["responsible_organization"][0]


def test_times_are_read_and_written_in_the_weddings_time_zone(team, client_for):
    # 19 June 2027 in London is BST (UTC+1): a naive 15:30 means 15:30 in London.
    response = client_for(team.staff).post(
        "/api/timeline-items/",
        {"wedding": str(team.wedding.pk), "title": "Ceremony", "starts_at": "2027-06-19T15:30"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["starts_at"] == "2027-06-19T15:30:00+01:00"
    item = TimelineItem.objects.get()
    assert item.starts_at.isoformat() == "2027-06-19T14:30:00+00:00"


def test_explicit_offsets_are_kept_and_shown_in_the_weddings_zone(team, client_for):
    item = TimelineItemFactory(wedding=team.wedding)
    response = client_for(team.staff).patch(
        f"/api/timeline-items/{item.pk}/", {"starts_at": "2027-06-19T14:00:00Z"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["starts_at"] == "2027-06-19T15:00:00+01:00"


def test_contact_channels_are_checked_against_consent(team, client_for):
    client = client_for(team.staff)
    base = {"wedding": str(team.wedding.pk), "name": "Ana", "email": "ana@example.com"}
    response = client.post(
        "/api/contacts/",
        {**base, "preferred_channels": ["sms"], "consented_channels": []},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()
    assert "No consent recorded for: sms" in errors["preferred_channels"][0]
    assert "phone" in errors
    response = client.post(
        "/api/contacts/", {**base, "preferred_channels": ["pigeon"]}, format="json"
    )
    assert response.status_code == 400
    assert "Unknown channel(s): pigeon" in response.json()["preferred_channels"][0]
    response = client.post("/api/contacts/", {**base, "phone": "07700 900123"}, format="json")
    assert "international format" in response.json()["phone"][0]
    assert not Contact.objects.exists()


def test_consent_change_is_timestamped(team, client_for):
    client = client_for(team.staff)
    response = client.post(
        "/api/contacts/",
        {
            "wedding": str(team.wedding.pk),
            "name": "Ana",
            "phone": "+447700900123",
            "preferred_channels": ["sms"],
            "consented_channels": ["sms"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    first = response.json()["consent_updated_at"]
    assert first is not None
    contact_url = f"/api/contacts/{response.json()['id']}/"
    unchanged = client.patch(contact_url, {"name": "Ana F."}, format="json").json()
    assert unchanged["consent_updated_at"] == first
    changed = client.patch(contact_url, {"consented_channels": ["sms", "email"]}, format="json")
    assert changed.json()["consent_updated_at"] > first


def test_a_timeline_item_cannot_move_to_another_wedding(team, client_for):
    item = TimelineItemFactory(wedding=team.wedding)
    other = Wedding.objects.exclude(pk=team.wedding.pk).get()
    other.participants.create(organization=team.planner_org, part="planner")
    response = client_for(team.staff).patch(
        f"/api/timeline-items/{item.pk}/", {"wedding": str(other.pk)}, format="json"
    )
    assert response.status_code == 400
    item.refresh_from_db()
    assert item.wedding_id == team.wedding.pk
