"""Recording a change to a wedding's data: the one place API, admin and tasks report to.

It broadcasts the change to the wedding's socket once the transaction commits, and calls every
registered listener inside the caller's transaction, so the sync engine's outbox rows commit (or
roll back) with the change itself. wedsync knows nothing of integrations: they register here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .live import EventType, broadcast_on_commit

ChangeListener = Callable[..., None]
_listeners: list[ChangeListener] = []


def add_listener(listener: ChangeListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def record_change(
    wedding_id,
    event_type: EventType,
    data: dict[str, Any],
    *,
    source_connection_id=None,
    instance: Any = None,
) -> None:
    """`source_connection_id` names the connection a change came from (it is not sent back);
    `instance`, when the caller holds the changed object as saved, spares listeners a read.

    Listeners are called as listener(wedding_id, event_type, data, source_connection_id,
    instance=instance).
    """
    broadcast_on_commit(wedding_id, event_type, data)
    for listener in _listeners:
        listener(wedding_id, event_type, data, source_connection_id, instance=instance)
