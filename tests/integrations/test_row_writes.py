"""Many rows in one round trip: update_each (by primary key, each with its own values) and
insert_each (the outbox's fan-out)."""

import datetime as dt
import uuid

import pytest
from django.db import connection

from integrations.inserts import insert_each
from integrations.models import OutboundChange, RecordLink
from integrations.updates import one_round_trip, save_fields, update_each
from tests.factories import OrganizationFactory
from tests.integrations.providers.conftest import make_connection

pytestmark = pytest.mark.django_db


def links(n: int) -> list[RecordLink]:
    connection = make_connection(OrganizationFactory(), "google_calendar", {"access_token": "t"})
    return [
        RecordLink.objects.create(
            connection=connection,
            resource="events",
            external_id=f"event-{i}",
            kind="timeline_item",
            version=f"v{i}",
            body=f"body {i}",
            body_version=f"v{i}",
        )
        for i in range(n)
    ]


def test_each_row_takes_its_own_values_and_none_keeps_what_is_stored():
    first, second, untouched = links(3)
    when = dt.datetime(2027, 6, 19, 15, 30, tzinfo=dt.UTC)
    update_each(
        RecordLink,
        [
            (
                first.pk,
                {"version": "v1-new", "body": None, "snapshot": {"title": "A"}, "updated_at": when},
            ),
            (
                second.pk,
                {
                    "version": None,
                    "body": "body 1 new",
                    "snapshot": {"title": "B"},
                    "updated_at": when,
                },
            ),
        ],
        keep_if_none=("version", "body"),
    )
    first.refresh_from_db()
    second.refresh_from_db()
    untouched.refresh_from_db()
    assert (first.version, first.body, first.snapshot) == ("v1-new", "body 0", {"title": "A"})
    assert (second.version, second.body, second.snapshot) == ("v1", "body 1 new", {"title": "B"})
    assert first.updated_at == second.updated_at == when
    assert (untouched.version, untouched.body) == ("v2", "body 2")


def test_increment_adds_one_to_each_row():
    (link,) = links(1)
    rows = [
        OutboundChange.objects.create(
            connection=link.connection,
            kind="timeline_item",
            object_id=uuid.uuid4(),
            action="update",
            attempts=n,
        )
        for n in (0, 3)
    ]
    update_each(
        OutboundChange,
        [(row.pk, {"status": "sent", "external_id": f"x{row.pk}"}) for row in rows],
        increment=("attempts",),
    )
    assert sorted(OutboundChange.objects.values_list("attempts", "status", "external_id")) == [
        (1, "sent", f"x{rows[0].pk}"),
        (4, "sent", f"x{rows[1].pk}"),
    ]


def test_no_rows_is_no_statement(django_assert_num_queries):
    with django_assert_num_queries(0):
        update_each(RecordLink, [])


def test_writes_sent_together_all_land_in_their_order():
    first, second = links(2)
    pipelined = []
    with one_round_trip():
        update_each(RecordLink, [(first.pk, {"version": "v2"}), (second.pk, {"version": "v3"})])
        RecordLink.objects.filter(pk=first.pk, version="v2").update(version="v4")
        RecordLink.objects.filter(pk=second.pk, version="v2").update(version="never")
        if connection.vendor == "postgresql":  # nothing has waited for an answer yet
            pipelined.append(connection.connection.pgconn.pipeline_status != 0)

    assert RecordLink.objects.get(pk=first.pk).version == "v4"  # the update saw update_each's
    assert RecordLink.objects.get(pk=second.pk).version == "v3"
    assert pipelined in ([True], [])


def change_row(connection_id, item, fields: dict) -> dict:
    """An outbox row as the fan-out gives insert_each: an update of `item` to one connection."""
    return {
        "connection": connection_id,
        "kind": "timeline_item",
        "object_id": item,
        "action": "update",
        "fields": fields,
    }


def test_insert_each_writes_every_row_with_the_defaults_of_what_it_leaves_out():
    (link,) = links(1)
    item = uuid.uuid4()
    rows = [change_row(link.connection_id, item, {"title": f"Ceremony {n}"}) for n in range(3)]
    assert insert_each(OutboundChange, rows) == 3
    stored = list(OutboundChange.objects.order_by("id"))
    assert [c.fields["title"] for c in stored] == ["Ceremony 0", "Ceremony 1", "Ceremony 2"]
    assert {(c.object_id, c.status, c.attempts, c.last_error) for c in stored} == {
        (item, "pending", 0, "")
    }
    assert all(c.created_at is not None and c.wedding_id is None for c in stored)
    assert insert_each(OutboundChange, []) == 0


def test_insert_each_rows_sharing_a_value_each_keep_their_own_others():
    """A fan-out: one change's fields (one object) to several connections."""
    connections = [link.connection for link in links(1) + links(1)]
    shared = {"title": "Ceremony", "starts_at": "2027-06-19T15:30:00+01:00"}
    item = uuid.uuid4()
    rows = [change_row(c.pk, item, shared) for c in connections]
    assert insert_each(OutboundChange, rows) == 2
    stored = OutboundChange.objects.order_by("id").values_list("connection_id", "fields")
    assert list(stored) == [(c.pk, shared) for c in connections]


def test_save_fields_writes_the_named_fields_and_updated_at_even_in_one_round_trip():
    link, other = links(2)
    before = link.updated_at
    link.version, link.body = "v9", "changed in memory, not named"
    other.version = "v7"
    with one_round_trip():  # it reads no row count, so it may go in a pipeline
        save_fields(link, ["version"])
        save_fields(other, ["version"])
    stored = RecordLink.objects.get(pk=link.pk)
    assert (stored.version, stored.body) == ("v9", "body 0")
    assert stored.updated_at == link.updated_at > before
    assert RecordLink.objects.get(pk=other.pk).version == "v7"
