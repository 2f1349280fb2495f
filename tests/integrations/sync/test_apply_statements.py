"""What applying a vendor's timeline change costs the database: its writes go with the reads
that follow them, and no statement sorts by what its model orders by for nothing."""

from __future__ import annotations

import pytest
from django.db import connection as db

from integrations.webhooks import drain
from tests.integrations.sync.test_sync_flow import bridge_post
from wedsync.models import TimelineItem

pytestmark = pytest.mark.django_db


class Statements:
    """Each statement's SQL, and whether it went out in a psycopg pipeline."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bool]] = []

    def __call__(self, execute, sql, params, many, context):
        pgconn = getattr(db.connection, "pgconn", None)
        self.seen.append((sql, pgconn is not None and pgconn.pipeline_status != 0))
        return execute(sql, params, many, context)

    def pipelined(self, start: str) -> list[bool]:
        return [sent for sql, sent in self.seen if sql.startswith(start)]


def moved(client, linked) -> Statements:
    """The ceremony made, then moved through the bridge; the statements of the move's drain."""
    _, bridge, secret = linked
    made = {"title": "Ceremony", "starts_at": "2027-03-27T15:30:00+00:00"}
    bridge_post(
        client, bridge, secret, "timeline_item.created", "hb-1", "2027-03-01T09:00:00Z", **made
    )
    drain.drain_connection(bridge.pk)
    later = {"title": "Ceremony", "starts_at": "2027-03-27T16:00:00+00:00"}
    bridge_post(
        client, bridge, secret, "timeline_item.updated", "hb-1", "2027-03-02T09:00:00Z", **later
    )
    statements = Statements()
    with db.execute_wrapper(statements):
        assert drain.drain_connection(bridge.pk).processed == 1
    assert TimelineItem.objects.get().starts_at.hour == 16
    return statements


@pytest.mark.skipif("db.vendor != 'postgresql'", reason="pipelines are PostgreSQL's")
def test_the_items_update_and_the_outbox_rows_go_with_the_reads_after_them(client, linked):
    statements = moved(client, linked)
    assert statements.pipelined('UPDATE "wedsync_timelineitem"') == [True]
    assert statements.pipelined('INSERT INTO "integrations_outboundchange"') == [True]
    # The log's row reads nothing back: it goes with the Sync that ends the pipeline.
    (logged,) = [sql for sql, _ in statements.seen if "integrations_integrationevent" in sql]
    assert "RETURNING" not in logged
    assert statements.pipelined('INSERT INTO "integrations_integrationevent"') == [True]
    # The event's own UPDATE reads its row count (another attempt may have taken it): alone.
    assert statements.pipelined('UPDATE "integrations_inboundevent"') == [False]


def test_no_statement_of_the_drain_sorts_by_a_models_ordering(client, linked):
    statements = moved(client, linked)
    sql = "\n".join(sql for sql, _ in statements.seen)
    assert '"wedsync_organization"."name"' not in sql  # Connection's ordering
    assert 'ORDER BY "wedsync_wedding"' not in sql  # TimelineItem's, WeddingParticipant's
    assert '"wedsync_weddingparticipant"."part"' not in sql
