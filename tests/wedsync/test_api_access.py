"""A user sees and changes only weddings one of their organizations takes part in."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import ContactFactory, ParticipantFactory, TimelineItemFactory
from wedsync.models import TimelineItem, Wedding

pytestmark = pytest.mark.django_db


def test_anonymous_requests_are_refused(team):
    response = APIClient().get("/api/weddings/")
    assert response.status_code in (401, 403)


def test_member_lists_only_their_weddings(team, client_for):
    response = client_for(team.staff).get("/api/weddings/")
    assert response.status_code == 200
    assert [w["id"] for w in response.json()["results"]] == [str(team.wedding.pk)]


@pytest.mark.parametrize(
    "path",
    [
        "/api/weddings/{wedding}/",
        "/api/timeline-items/{item}/",
        "/api/contacts/{contact}/",
        "/api/participants/{participant}/",
    ],
)
def test_outsider_gets_404_on_every_record_of_the_wedding(team, client_for, path):
    item = TimelineItemFactory(wedding=team.wedding)
    contact = ContactFactory(wedding=team.wedding)
    participant = team.wedding.participants.get()
    url = path.format(
        wedding=team.wedding.pk, item=item.pk, contact=contact.pk, participant=participant.pk
    )
    outsider = client_for(team.outsider)
    assert outsider.get(url).status_code == 404
    if "participants" not in url:  # participants are added and removed, never edited
        assert outsider.patch(url, {"title": "Hijacked"}, format="json").status_code == 404
    assert outsider.delete(url).status_code == 404
    assert client_for(team.staff).get(url).status_code == 200
    assert Wedding.objects.filter(pk=team.wedding.pk).exists()


def test_outsider_lists_show_nothing_of_the_wedding(team, client_for):
    TimelineItemFactory(wedding=team.wedding)
    outsider = client_for(team.outsider)
    assert outsider.get("/api/timeline-items/").json()["count"] == 0
    assert outsider.get(f"/api/timeline-items/?wedding={team.wedding.pk}").status_code == 400


def test_outsider_cannot_add_a_timeline_item_to_the_wedding(team, client_for):
    response = client_for(team.outsider).post(
        "/api/timeline-items/",
        {"wedding": str(team.wedding.pk), "title": "Sneaky", "starts_at": "2027-06-19T15:00"},
        format="json",
    )
    assert response.status_code == 400
    assert "you take part in" in response.json()["wedding"][0]
    assert not TimelineItem.objects.filter(title="Sneaky").exists()


def test_token_authentication(team):
    token = Token.objects.create(user=team.staff)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(f"/api/weddings/{team.wedding.pk}/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(f"/api/weddings/{team.wedding.pk}/").status_code == 401


def test_staff_cannot_delete_a_wedding_but_a_coordinator_can(team, client_for):
    url = f"/api/weddings/{team.wedding.pk}/"
    response = client_for(team.staff).delete(url)
    assert response.status_code == 403
    assert "owners and coordinators" in response.json()["detail"]
    assert client_for(team.coordinator).delete(url).status_code == 204
    assert not Wedding.objects.filter(pk=team.wedding.pk).exists()


def test_adding_a_vendor_needs_a_managing_role(team, client_for):
    vendor = ParticipantFactory().organization  # a florist elsewhere
    payload = {"wedding": str(team.wedding.pk), "organization": str(vendor.pk), "part": "florist"}
    assert client_for(team.staff).post("/api/participants/", payload).status_code == 400
    response = client_for(team.coordinator).post("/api/participants/", payload)
    assert response.status_code == 201
    # The new vendor's people now see the wedding.
    assert team.wedding.participants.filter(organization=vendor).exists()


def test_organizations_endpoint_shows_own_and_fellow_vendors_only(team, client_for):
    names = {o["name"] for o in client_for(team.staff).get("/api/organizations/").json()["results"]}
    assert names == {"Ever After Planning"}
    my_role = client_for(team.coordinator).get(f"/api/organizations/{team.planner_org.pk}/").json()
    assert my_role["my_role"] == "coordinator"
    assert (
        client_for(team.outsider).get(f"/api/organizations/{team.planner_org.pk}/").status_code
        == 404
    )


@pytest.mark.parametrize("path", ["/api/participants/", "/api/contacts/", "/api/weddings/"])
def test_filters_treat_a_foreign_id_like_a_made_up_one(team, client_for, path):
    param = "organization" if path == "/api/weddings/" else "wedding"
    foreign = team.planner_org.pk if param == "organization" else team.wedding.pk
    outsider = client_for(team.outsider)
    assert outsider.get(f"{path}?{param}={foreign}").status_code == 400
    assert client_for(team.staff).get(f"{path}?{param}={foreign}").status_code == 200
