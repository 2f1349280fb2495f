"""A vendor's system dropping out and coming back is told on its organization's coming
weddings (vendor_status_change) and heard on their sockets; saves that leave the status as it
was, and weddings already past, hear nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from integrations import services
from integrations.models import Connection, IntegrationEvent
from tests.factories import ParticipantFactory, WeddingFactory
from tests.integrations.providers.conftest import make_connection
from tests.integrations.sync.test_end_to_end import drain
from wedsync.live.broadcast import wedding_group

pytestmark = pytest.mark.django_db


def told(wedding):
    return list(
        IntegrationEvent.objects.filter(wedding=wedding, event_type="vendor_status_change")
        .order_by("created_at")
        .values_list("summary", flat=True)
    )


def test_a_connection_paused_and_resumed_is_told_on_the_coming_weddings(
    team, django_capture_on_commit_callbacks
):
    past = WeddingFactory(date=dt.date.today() - dt.timedelta(days=3))
    ParticipantFactory(wedding=past, organization=team.planner_org)
    connection = make_connection(team.planner_org, "tave", {"api_key": "k" * 20})
    layer = get_channel_layer()
    listener = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(wedding_group(team.wedding.pk), listener)

    with django_capture_on_commit_callbacks(execute=True):
        services.pause(Connection.objects.get(pk=connection.pk))
        services.resume(Connection.objects.get(pk=connection.pk))
    loaded = Connection.objects.get(pk=connection.pk)
    loaded.sync_interval_minutes = 30
    loaded.save()  # not a change of status

    assert told(team.wedding) == [
        "Ever After Planning's Táve (VSCO Workspace): Active -> Paused",
        "Ever After Planning's Táve (VSCO Workspace): Paused -> Active",
    ]
    assert told(past) == []
    assert async_to_sync(drain)(layer, listener).count("vendor_status_change") == 2


def test_a_connection_that_failed_its_check_and_recovered_is_told_both_ways(team, tave):
    connection = make_connection(team.planner_org, "tave", {"api_key": "not-a-key-0123456789"})
    with pytest.raises(Exception):  # noqa: B017 - the provider's refusal, whatever its class
        services.check(Connection.objects.get(pk=connection.pk))
    tave.add_api_key("not-a-key-0123456789")
    services.check(Connection.objects.get(pk=connection.pk))
    assert told(team.wedding) == [
        "Ever After Planning's Táve (VSCO Workspace): Active -> Error",
        "Ever After Planning's Táve (VSCO Workspace): Error -> Active",
    ]
