"""The one way events reach a wedding's sockets."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from .events import EventType
from .layer_loop import run_on_layer_loop, send_soon

logger = logging.getLogger(__name__)
_encoder = DjangoJSONEncoder()


def wedding_group(wedding_id) -> str:
    return f"wedding.{wedding_id}"


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """Channel layers carry msgpack: turn UUIDs, datetimes and decimals into JSON scalars."""
    import json

    return json.loads(_encoder.encode(data))


def broadcast(wedding_id, event_type: EventType | str, data: dict[str, Any]) -> bool:
    """Send a typed event to everyone watching the wedding.

    Live updates are a convenience on top of stored data, so a channel-layer failure is logged
    and reported as False rather than failing the change that caused it.
    """
    return broadcast_all([(wedding_id, event_type, data)])


def broadcast_all(
    events: list[tuple[Any, EventType | str, dict[str, Any]]], *, wait: bool = True
) -> bool:
    """`broadcast` for several (wedding id, type, data) events, sent side by side: one wait on
    the layer's loop instead of one per event (a fan-out tells of each system it reached).
    `wait=False` hands them to the loop and returns at once (a failure is still logged)."""
    messages = [message(*event) for event in events]  # unknown types: a programming error

    def failed(**kwargs: Any) -> None:
        kinds = ", ".join(sorted({body["event"]["type"] for _, body in messages}))
        logger.warning("live broadcast of %s failed", kinds, **kwargs)

    if not wait:
        send_soon(send_all(messages), on_error=failed)
        return True
    try:
        run_on_layer_loop(send_all, messages)
    except Exception:
        failed(exc_info=True)
        return False
    return True


def message(wedding_id, event_type: EventType | str, data: dict[str, Any]) -> tuple[str, dict]:
    """The group and the layer message of one event."""
    event = {
        "type": EventType(event_type).value,
        "wedding": str(wedding_id),
        "data": _plain(data),
        "sent_at": timezone.now().isoformat(),
    }
    return wedding_group(wedding_id), {"type": "wedding.event", "event": event}


# By loop: a forked process starts a loop of its own (layer_loop), and the parent's goes.
_in_order: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def in_order() -> asyncio.Lock:
    """The running loop's lock for sends: one broadcast at a time, in the order they were
    handed over (an asyncio.Lock wakes its waiters first come, first served), so a socket
    hears a record's changes in the order they were made even when nobody waits for them."""
    loop = asyncio.get_running_loop()
    lock = _in_order.get(loop)
    if lock is None:
        lock = _in_order[loop] = asyncio.Lock()
    return lock


async def send_all(messages: list[tuple[str, dict]]) -> None:
    """One layer message per group: a group's several events go together, in order, as
    `wedding.events` (a fan-out's push results: one message for the socket server to take in
    instead of one per system), which the consumer sends on as one frame per event."""
    by_group: dict[str, list[dict]] = {}
    for group, body in messages:
        by_group.setdefault(group, []).append(body)
    layer = get_channel_layer()
    async with in_order():
        await asyncio.gather(
            *(layer.group_send(group, together(bodies)) for group, bodies in by_group.items())
        )


def together(bodies: list[dict]) -> dict:
    if len(bodies) == 1:
        return bodies[0]
    return {"type": "wedding.events", "events": [body["event"] for body in bodies]}


def broadcast_on_commit(wedding_id, event_type: EventType | str, data: dict[str, Any]) -> None:
    """Broadcast after the transaction commits: no socket hears of a rolled-back change. The
    committer does not wait for the send (a drain or a request goes on at once); sends keep
    their order (in_order)."""
    broadcast_all_on_commit([(wedding_id, event_type, data)])


def broadcast_all_on_commit(events: list[tuple[Any, EventType | str, dict[str, Any]]]) -> None:
    for _, event_type, _ in events:
        EventType(event_type)
    transaction.on_commit(lambda: broadcast_all(events, wait=False))
