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


def queue_push(connection_id, *, wedding_id=None, countdown: float | None = None) -> None:
    from integrations.tasks import push_connection

    push_connection.apply_async(
        args=[str(connection_id)], queue=push_queue(wedding_id), countdown=countdown
    )
