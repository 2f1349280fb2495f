"""The wedding's integration event log (the seed's event types), as a connection reports to it."""

from __future__ import annotations

from typing import Any

from integrations.inserts import insert_each
from integrations.models import Connection, IntegrationEvent
from wedsync.models import Wedding


def log(
    connection: Connection,
    wedding: Wedding,
    event_type: str,
    summary: str,
    data: dict[str, Any],
    *,
    affected: list[str] | None = None,
) -> None:
    """One entry from `connection`; the organizations affected are, unless given, the
    wedding's other participants."""
    if affected is None:
        affected = [
            str(o)
            for o in wedding.participants.order_by().values_list("organization_id", flat=True)
            if o != connection.organization_id
        ]
    # Its id is not read back: in a pipeline (integrations.updates.one_round_trip) the row
    # goes out with whatever ends the block, not in a round trip of its own.
    insert_each(
        IntegrationEvent,
        [
            {
                "wedding": wedding.pk,
                "event_type": event_type,
                "source_connection": connection.pk,
                "source_system": connection.provider,
                "affected_organizations": affected,
                "is_wedding_day": wedding.is_today(),
                "summary": summary[:300],
                "data": data,
            }
        ],
    )
