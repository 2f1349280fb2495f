"""Which queue processes an inbound event: the priority queue serves weddings happening today."""

from __future__ import annotations

import time

from wedsync import queues
from wedsync.models import Wedding

_TODAY_CACHE: dict[int, tuple[float, bool]] = {}
TODAY_CACHE_SECONDS = 60.0
INBOUND_PRIORITY = 0  # ahead of pushes in the same queue (see integrations.sync.dispatch)


def has_wedding_today(organization_id: int) -> bool:
    """Whether the organization takes part in a wedding happening today in its own time zone.

    Asked on every acknowledged webhook, so the answer is kept for a minute per process.
    """
    now = time.monotonic()
    cached = _TODAY_CACHE.get(organization_id)
    if cached and now - cached[0] < TODAY_CACHE_SECONDS:
        return cached[1]
    weddings = Wedding.objects.filter(participants__organization_id=organization_id)
    answer = bool(weddings.happening_today())
    _TODAY_CACHE[organization_id] = (now, answer)
    return answer


def queue_for(organization_id: int) -> str:
    return queues.PRIORITY if has_wedding_today(organization_id) else queues.WEBHOOKS


def queue_processing(
    event_id: int, organization_id: int, *, countdown: float | None = None
) -> None:
    """One event on its own: a retry, a replay, the sweep, a held event released."""
    from integrations.tasks import process_inbound_event

    process_inbound_event.apply_async(
        args=[event_id],
        queue=queue_for(organization_id),
        priority=INBOUND_PRIORITY,
        countdown=countdown,
    )


DRAIN = "inbound"


def queue_drain(
    connection_id,
    organization_id: int,
    *,
    force: bool = False,
    countdown: float | None = None,
) -> None:
    """Wake the connection's drain, unless a wake-up is already waiting (see wakeups)."""
    queue_drains({connection_id: organization_id}, force=force, countdown=countdown)


def queue_drains(
    organization_of: dict, *, force: bool = False, countdown: float | None = None
) -> None:
    """Wake the drains of many connections (connection id -> its organization's id) in one
    Redis round trip, each unless a wake-up is already waiting (`force`: whether or not): the
    group-commit writer wakes every connection of a batch at once."""
    from integrations import wakeups
    from integrations.tasks import drain_inbound_events

    def send(fresh: list) -> None:
        for connection_id in fresh:
            drain_inbound_events.apply_async(
                args=[str(connection_id)],
                queue=queue_for(organization_of[connection_id]),
                priority=INBOUND_PRIORITY,
                countdown=countdown,
            )

    wakeups.kick_all(DRAIN, list(organization_of), send, force=force)
