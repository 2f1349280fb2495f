"""The OpenAPI schema and docs are served; the admin lists every model, scoped to the user."""

import os

import pytest

from tests.factories import ContactFactory, TimelineItemFactory

pytestmark = pytest.mark.django_db


def test_openapi_schema_documents_the_api(client, team):
    client.force_login(team.staff)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in ["/api/weddings/", "/api/weddings/{id}/", "/api/timeline-items/", "/api/contacts/"]:
        assert path in schema["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content


def test_every_endpoint_is_in_the_schema_without_a_warning():
    """drf-spectacular's own check (`manage.py spectacular --validate --fail-on-warn`): a view
    whose responses it cannot tell is left out of the schema, with only a warning."""
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", os.devnull)


def test_the_endpoints_issues_4_to_6_name_are_documented(client, team):
    client.force_login(team.staff)
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in [
        "/api/integrations/status/{wedding_id}/",
        "/api/integrations/sync/{wedding_id}/",
        "/api/integrations/calendar/conflicts/",
        "/api/weddings/{wedding_id}/budget/",
        "/api/weddings/{wedding_id}/calendar-feed/",
    ]:
        assert path in paths, path


ADMIN_PAGES = [
    "wedding",
    "organization",
    "membership",
    "weddingparticipant",
    "timelineitem",
    "contact",
]


@pytest.mark.parametrize("model", ADMIN_PAGES)
def test_admin_changelists_render_for_a_superuser(admin_client, team, model):
    TimelineItemFactory(wedding=team.wedding)
    ContactFactory(wedding=team.wedding)
    response = admin_client.get(f"/admin/wedsync/{model}/")
    assert response.status_code == 200
    assert admin_client.get(f"/admin/wedsync/{model}/?q=a").status_code == 200


def test_admin_shows_a_coordinator_only_their_weddings(client, team):
    from django.contrib.auth.models import Permission

    team.coordinator.is_staff = True
    team.coordinator.save()
    team.coordinator.user_permissions.add(Permission.objects.get(codename="view_wedding"))
    client.force_login(team.coordinator)
    response = client.get("/admin/wedsync/wedding/")
    assert response.status_code == 200
    assert team.wedding.couple_names.encode() in response.content
    assert b"Someone Else" not in response.content
