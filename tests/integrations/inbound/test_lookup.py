"""The webhook URL's connection is kept for a moment, and set aside when it changed meanwhile."""

from __future__ import annotations

import time

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from integrations import services
from integrations.models import Connection, InboundEvent, RecordLink
from integrations.webhooks.lookup import (
    cached_connection,
    connection_for_token,
    due_for_refresh,
    refresh,
)
from tests.integrations.inbound.test_inbound_endpoint import bridge_body, post

pytestmark = pytest.mark.django_db


def test_a_second_delivery_within_the_ttl_reads_no_connection(bridge):
    connection, _ = bridge
    assert connection_for_token(connection.webhook_token).pk == connection.pk
    with CaptureQueriesContext(db) as queries:
        assert connection_for_token(connection.webhook_token).pk == connection.pk
    assert len(queries) == 0


def test_saving_a_connection_in_this_process_forgets_it_at_once(bridge):
    connection, _ = bridge
    connection_for_token(connection.webhook_token)
    services.pause(connection)
    assert connection_for_token(connection.webhook_token).status == Connection.Status.PAUSED
    services.disconnect(Connection.objects.get(pk=connection.pk))
    assert connection_for_token(connection.webhook_token) is None


def test_a_ttl_of_zero_reads_every_time(bridge, settings):
    settings.WEBHOOK_CONNECTION_CACHE_SECONDS = 0
    connection, _ = bridge
    connection_for_token(connection.webhook_token)
    with CaptureQueriesContext(db) as queries:
        connection_for_token(connection.webhook_token)
    assert len(queries) == 1


def test_unknown_tokens_are_not_remembered(bridge):
    assert connection_for_token("nope") is None
    from integrations.webhooks import lookup

    assert "nope" not in lookup._cache


def paused_elsewhere(connection) -> None:
    """Another process pauses the connection: no signal reaches this process's cache."""
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.PAUSED)


def test_an_event_stored_from_a_stale_active_connection_is_held_then_released(
    client, bridge, eager_celery, django_capture_on_commit_callbacks
):
    connection, secret = bridge
    assert connection_for_token(connection.webhook_token).status == Connection.Status.ACTIVE
    paused_elsewhere(connection)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, connection, bridge_body(), secret=secret)
    assert response.status_code == 200  # the endpoint still saw it active
    event = InboundEvent.objects.get()
    assert event.status == InboundEvent.Status.HELD
    assert not RecordLink.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.resume(Connection.objects.get(pk=connection.pk))
    event.refresh_from_db()
    assert event.status == InboundEvent.Status.PROCESSED
    assert RecordLink.objects.get().snapshot["title"] == "Ceremony"


def test_an_event_stored_from_a_stale_connection_since_revoked_is_ignored(
    client, bridge, eager_celery, django_capture_on_commit_callbacks
):
    connection, secret = bridge
    connection_for_token(connection.webhook_token)
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.REVOKED)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, connection, bridge_body(), secret=secret)
    event = InboundEvent.objects.get()
    assert event.status == InboundEvent.Status.IGNORED
    assert event.outcome == "the connection was revoked"
    assert not RecordLink.objects.exists()


def test_a_kept_connection_is_read_again_ahead_of_its_time_while_it_still_serves(bridge, settings):
    settings.WEBHOOK_CONNECTION_CACHE_SECONDS = 0.2
    connection, _ = bridge
    token = connection.webhook_token
    connection_for_token(token)
    assert not due_for_refresh(token)
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.PAUSED)
    time.sleep(0.16)  # three quarters of the time it is kept, and a little more

    assert due_for_refresh(token)
    assert cached_connection(token).status == Connection.Status.ACTIVE  # still served
    refresh(token)

    assert not due_for_refresh(token)
    assert cached_connection(token).status == Connection.Status.PAUSED
    assert not due_for_refresh("unknown-token")
