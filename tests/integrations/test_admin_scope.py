"""The integration console shows a coordinator only their own organizations' rows."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Permission

from conflicts.models import Conflict
from integrations.models import InboundEvent, OutboundChange
from tests.factories import OrganizationFactory
from tests.integrations.providers.conftest import make_connection
from wedsync.models import Wedding

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url, codename",
    [
        ("/admin/integrations/connection/", "view_connection"),
        ("/admin/integrations/inboundevent/", "view_inboundevent"),
        ("/admin/integrations/outboundchange/", "view_outboundchange"),
        ("/admin/conflicts/conflict/", "view_conflict"),
    ],
)
def test_a_coordinator_sees_only_their_own_rows(client, team, url, codename):
    ours = make_connection(
        team.planner_org, "tave", {"api_key": "k" * 20}, external_account_name="Ours Studio"
    )
    theirs = make_connection(
        OrganizationFactory(name="Elsewhere"),
        "tave",
        {"api_key": "k" * 20},
        external_account_name="Their Studio",
    )
    for index, connection in enumerate((ours, theirs)):
        InboundEvent.objects.create(
            connection=connection,
            provider="tave",
            body=b"{}",
            dedup_key=f"k{index}",
            event_type=f"type-{connection.pk}",
        )
        OutboundChange.objects.create(
            connection=connection,
            kind="timeline_item",
            object_id=uuid.uuid4(),
            action="create",
            last_error=f"error-{connection.pk}",
        )
    other_wedding = Wedding.objects.exclude(pk=team.wedding.pk).get()  # "Someone Else"
    Conflict.objects.create(
        wedding=team.wedding,
        kind="timeline_item",
        object_id=uuid.uuid4(),
        path="title",
        theirs_system=f"sys-{ours.pk}",
        status="pending",
    )
    if other_wedding is not None:
        Conflict.objects.create(
            wedding=other_wedding,
            kind="timeline_item",
            object_id=uuid.uuid4(),
            path="title",
            theirs_system=f"sys-{theirs.pk}",
            status="pending",
        )
    team.coordinator.is_staff = True
    team.coordinator.save()
    team.coordinator.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(team.coordinator)
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert str(ours.pk)[:8] in page or "Ours Studio" in page or str(team.wedding) in page
    assert "Elsewhere" not in page and "Someone Else" not in page and f"sys-{theirs.pk}" not in page
