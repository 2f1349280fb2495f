"""Which queue pushes a connection's changes: the priority queue serves weddings happening today."""

from __future__ import annotations

from wedsync import queues
from wedsync.models import Wedding


def push_queue(wedding_id=None) -> str:
    if wedding_id is not None:
        wedding = Wedding.objects.filter(pk=wedding_id).only("date", "time_zone").first()
        if wedding is not None and wedding.is_today():
            return queues.PRIORITY
    return queues.SYNC


# Within a queue, inbound events go before pushes (Redis priority steps: lower is sooner), so a
# change that arrived is applied before the fan-out of earlier ones finishes.
PUSH_PRIORITY = 6


def wedding_of_pending(connection_id):
    from integrations.models import OutboundChange

    return (
        OutboundChange.objects.filter(connection_id=connection_id, status="pending")
        .values_list("wedding_id", flat=True)
        .first()
    )


PUSH = "push"


def queue_push(
    connection_id, *, wedding_id=None, countdown: float | None = None, force: bool = False
) -> None:
    """Wake the connection's pusher, unless a wake-up is already waiting (see wakeups).

    A retry (`countdown`) is sent as it is: a wake-up for later must not hold back the ones
    for now. `force` sends even when a flag is set (the sweep, a person's "retry now").
    """
    from integrations import wakeups
    from integrations.tasks import push_connection

    def send() -> None:
        wedding = wedding_id if wedding_id is not None else wedding_of_pending(connection_id)
        push_connection.apply_async(
            args=[str(connection_id)],
            queue=push_queue(wedding),
            countdown=countdown,
            priority=PUSH_PRIORITY,
        )

    if countdown:
        send()
    else:
        wakeups.kick(PUSH, connection_id, send, force=force)
