"""The one way events reach a wedding's sockets."""

from __future__ import annotations

import logging
from typing import Any

from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from .events import EventType
from .layer_loop import run_on_layer_loop

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
    event_type = EventType(event_type)  # unknown types are a programming error
    event = {
        "type": event_type.value,
        "wedding": str(wedding_id),
        "data": _plain(data),
        "sent_at": timezone.now().isoformat(),
    }
    try:
        run_on_layer_loop(
            get_channel_layer().group_send,
            wedding_group(wedding_id),
            {"type": "wedding.event", "event": event},
        )
    except Exception:
        logger.warning(
            "live broadcast of %s for wedding %s failed", event_type, wedding_id, exc_info=True
        )
        return False
    return True


def broadcast_on_commit(wedding_id, event_type: EventType | str, data: dict[str, Any]) -> None:
    """Broadcast after the transaction commits: no socket hears of a rolled-back change."""
    EventType(event_type)
    transaction.on_commit(lambda: broadcast(wedding_id, event_type, data))
