"""Live updates: typed events broadcast to a wedding's WebSocket group."""

from .broadcast import broadcast, broadcast_all_on_commit, broadcast_on_commit, wedding_group
from .events import EventType

__all__ = [
    "EventType",
    "broadcast",
    "broadcast_all_on_commit",
    "broadcast_on_commit",
    "wedding_group",
]
