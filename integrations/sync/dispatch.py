"""Which queue pushes a connection's changes: the priority queue serves weddings happening today."""

from __future__ import annotations

import logging

from integrations import wakeups
from wedsync import queues
from wedsync.models import Wedding

logger = logging.getLogger(__name__)


def push_queue(wedding_id=None) -> str:
    if wedding_id is not None:
        return push_queue_of(
            Wedding.objects.filter(pk=wedding_id).only("date", "time_zone").first()
        )
    return queues.SYNC


def push_queue_of(wedding: Wedding | None) -> str:
    return queues.PRIORITY if wedding is not None and wedding.is_today() else queues.SYNC


# Within a queue, inbound events go before pushes (Redis priority steps: lower is sooner), so a
# change that arrived is applied before the fan-out of earlier ones finishes.
PUSH_PRIORITY = 6
PUSH_WAKEUP = "push"


def wedding_of_pending(connection_id):
    from integrations.models import OutboundChange

    return (
        OutboundChange.objects.filter(connection_id=connection_id, status="pending")
        .values_list("wedding_id", flat=True)
        .first()
    )


def queue_push(connection_id, *, countdown: float | None = None, queue: str | None = None) -> None:
    """One connection's push task (a retry, the sweep, the admin); without a queue, the queue of
    the wedding its pending changes belong to."""
    from integrations.tasks import push_connection

    if queue is None:
        queue = push_queue(wedding_of_pending(connection_id))
    push_connection.apply_async(
        args=[str(connection_id)],
        kwargs={"queue": queue},  # the task hands over on the queue it came from
        queue=queue,
        countdown=countdown,
        priority=PUSH_PRIORITY,
    )


# A change's connections are pushed by up to this many tasks, each pushing its share in turn:
# one task per connection cost a task's overhead nine times over for a wedding's nine systems,
# one task for all of them made the ninth system wait for the eight before it.
PUSH_TASKS_PER_CHANGE = 3


def queue_fan_out(connection_ids: list, queue: str) -> None:
    """Tasks pushing these connections, a share each (see tasks.push_connections)."""
    from integrations.tasks import push_connections

    ids = [str(connection_id) for connection_id in connection_ids]
    tasks = min(len(ids), PUSH_TASKS_PER_CHANGE)
    for share in (ids[n::tasks] for n in range(tasks)):
        push_connections.apply_async(
            args=[share], kwargs={"queue": queue}, queue=queue, priority=PUSH_PRIORITY
        )


def wake_pushers(connection_ids, *, queue: str | None = None) -> None:
    """Queue push tasks for those of the connections without one waiting to start."""
    if queue is None:
        queue = push_queue(wedding_of_pending(connection_ids[0]))
    wakeups.kick_all(PUSH_WAKEUP, list(connection_ids), lambda fresh: queue_fan_out(fresh, queue))


def queue_pushes(connection_ids, wedding_id, *, queue: str | None = None) -> None:
    """Wake the pushers of a change's connections: up to PUSH_TASKS_PER_CHANGE tasks on the
    wedding's queue, and none for a connection whose push is already queued (`wakeups.kick_all`;
    a task clears its flags before it lists due changes, so the queued one will push this
    change)."""
    try:
        wake_pushers(list(connection_ids), queue=queue or push_queue(wedding_id))
    except Exception:  # the broker is down: the change is stored, the sweep will push it
        logger.warning("could not queue the pushes of a change", exc_info=True)
