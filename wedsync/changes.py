"""Recording a change to a wedding's data: the one place API, admin and tasks report to.

Today it broadcasts the change to the wedding's socket once the transaction commits; the sync
engine adds its outbox rows here, in the same transaction as the change.
"""

from __future__ import annotations

from typing import Any

from .live import EventType, broadcast_on_commit


def record_change(wedding_id, event_type: EventType, data: dict[str, Any]) -> None:
    broadcast_on_commit(wedding_id, event_type, data)
