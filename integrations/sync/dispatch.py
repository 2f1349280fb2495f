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


def queue_fan_out(connection_ids: list, queue: str) -> None:
    """One task pushing these connections side by side (see push.push_run).

    One task per connection cost a task's overhead nine times over for a wedding's nine
    systems; shares of three tasks, each pushing its connections in turn, made systems wait
    for the ones before them. A run's provider calls now go out together, and its database
    work is a few statements for all of them, so one task does the whole fan-out: measured at
    50 changes/s, three such tasks were slower than one (bench/RESULTS.md).
    """
    from integrations.tasks import push_connections

    ids = [str(connection_id) for connection_id in connection_ids]
    push_connections.apply_async(
        args=[ids], kwargs={"queue": queue}, queue=queue, priority=PUSH_PRIORITY
    )


class PushWakeups:
    """A push task's wake-up flags around its run (push.Holding).

    Once it holds leases, a kick for those connections sets the flag and sends no task (each
    would find the lease held: at 50 changes/s that was three idle tasks per run); the run
    clears marks and flags as it lets go, then looks for due changes and hands those over.
    The task clears the flags of all its connections before it lists anything, so a change
    committed later wakes anew.
    """

    def taken(self, leased: list[str], ids: list[str]) -> None:
        from integrations.sync.push import LEASE

        wakeups.hold_all(PUSH_WAKEUP, leased, ids, LEASE.total_seconds())

    def let_go(self, leased: list[str]) -> None:
        wakeups.let_go_all(PUSH_WAKEUP, leased)


def wake_pushers(connection_ids, *, queue: str | None = None, force: bool = False) -> None:
    """Queue push tasks for those of the connections without one waiting to start (`force`:
    for all of them, as a holder handing its connections over does)."""
    if queue is None:
        queue = push_queue(wedding_of_pending(connection_ids[0]))
    wakeups.kick_all(
        PUSH_WAKEUP, list(connection_ids), lambda fresh: queue_fan_out(fresh, queue), force=force
    )


def queue_pushes(connection_ids, wedding_id, *, queue: str | None = None) -> None:
    """Wake the pushers of a change's connections: one task on the wedding's queue, and none
    for a connection whose push is queued or at work (`wakeups.kick_all`: a queued task clears
    its flags before it lists due changes, and a run at work looks again when it lets go)."""
    try:
        wake_pushers(list(connection_ids), queue=queue or push_queue(wedding_id))
    except Exception:  # the broker is down: the change is stored, the sweep will push it
        logger.warning("could not queue the pushes of a change", exc_info=True)
