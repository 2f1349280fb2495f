"""Writing admitted deliveries: committed before they are acknowledged, processing woken after.

One at a time (`store`: the Django view, one statement in autocommit) or many in one
transaction (`store_many`: the ingest front's group commit, where one commit, and on
PostgreSQL one round trip, serves every delivery that arrived while the last one was written).
Either way each row is INSERT ... ON CONFLICT DO NOTHING on (connection, dedup key), so a
duplicate is told apart from a new event by the database, never by a read first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from integrations.inserts import (
    insert_unless_exists,
    insert_unless_exists_many,
    insert_unless_exists_many_async,
)
from integrations.models import InboundEvent

from .answers import Answer
from .ingest import Admitted, acknowledgement

logger = logging.getLogger(__name__)

UNIQUE = ("connection", "dedup_key")


def answer_for(admitted: Admitted, event_id: Any | None) -> Answer:
    """What the provider is told once its delivery is committed (or found already stored)."""
    if event_id is None:
        return acknowledgement(admitted.scheme, Answer(200, {"status": "duplicate"}))
    code = 200 if admitted.status == InboundEvent.Status.RECEIVED else 202
    return acknowledgement(
        admitted.scheme, Answer(code, {"id": event_id, "status": admitted.status})
    )


def store(admitted: Admitted) -> Answer:
    """One row, committed on its own (autocommit): durable once the statement returns; the
    connection's drain is woken on commit (at once, or when an enclosing transaction commits).
    """
    event_id = insert_unless_exists(InboundEvent, admitted.values, unique=UNIQUE)
    if event_id is not None and admitted.status == InboundEvent.Status.RECEIVED:
        # robust: the event is stored whatever happens to the wake-up; the sweep covers it.
        transaction.on_commit(
            lambda: wake({admitted.connection_id: admitted.organization_id}), robust=True
        )
    return answer_for(admitted, event_id)


def store_many(batch: Sequence[Admitted]) -> list[Any | None]:
    """Every delivery of the batch in one transaction: each one's new event id, or None for a
    duplicate, in order. Raises whatever the database raised, having stored none of them (the
    caller answers each delivery 503, so that its provider delivers it again). The caller
    acknowledges, then wakes the drains (`wake(to_wake(batch, ids))`)."""
    with transaction.atomic():
        return insert_unless_exists_many(
            InboundEvent, [admitted.values for admitted in batch], unique=UNIQUE
        )


async def store_many_async(connection: Any, batch: Sequence[Admitted]) -> list[Any | None]:
    """`store_many` over a psycopg AsyncConnection to the same PostgreSQL database."""
    return await insert_unless_exists_many_async(
        connection, InboundEvent, [admitted.values for admitted in batch], unique=UNIQUE
    )


def to_wake(batch: Sequence[Admitted], ids: Sequence[Any | None]) -> dict:
    """The connections (id -> organization id) with new events of `batch` to process."""
    return {
        admitted.connection_id: admitted.organization_id
        for admitted, event_id in zip(batch, ids, strict=True)
        if event_id is not None and admitted.status == InboundEvent.Status.RECEIVED
    }


def wake(organization_of: dict) -> None:
    """Wake the drain of each connection (id -> its organization's id) that has new events to
    process, in one Redis round trip. A failed wake-up is logged, not raised: the events are
    stored and the sweep queues them."""
    from .dispatch import queue_drains

    if not organization_of:
        return
    try:
        queue_drains(organization_of)
    except Exception:
        logger.exception("could not wake the drains of %d connections", len(organization_of))
