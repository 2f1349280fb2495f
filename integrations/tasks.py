"""Celery tasks of the integrations app."""

from __future__ import annotations

import datetime as dt
import logging
import time

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integrations import wakeups
from integrations.models import InboundEvent
from integrations.webhooks import drain as inbound
from wedsync import queues

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def process_inbound_event(event_id: int) -> str:
    """One event on its own (a retry, a replay, the sweep); failures reschedule themselves."""
    return inbound.attempt(event_id)


@shared_task(bind=True, acks_late=True)
def drain_inbound_events(self, connection_id: str) -> str:
    """Process the connection's due inbound events, one drain per connection at a time.

    Events that can wait give way to a busy ingest front (webhooks.pressure): the drain is
    queued again a moment later. Not when the task runs inline (eager: tests, no worker)."""
    from integrations.models import Connection
    from integrations.webhooks.dispatch import DRAIN, queue_drain
    from integrations.webhooks.pressure import RESUME_SECONDS

    may_give_way = not self.request.is_eager
    runs = wakeups.run_exclusively(
        DRAIN,
        connection_id,
        lambda: inbound.drain_connection(connection_id, may_give_way=may_give_way),
        keep_going=lambda run: not run.more,
    )
    if not runs:
        return "another drain is at work"
    last = runs[-1]
    if last.more:
        organization_id = (
            Connection.objects.filter(pk=connection_id)
            .values_list("organization_id", flat=True)
            .first()
        )
        later = RESUME_SECONDS if last.gave_way else None
        queue_drain(connection_id, organization_id, force=True, countdown=later)
    processed = sum(run.processed for run in runs)
    return f"processed {processed}" + (", gave way to the ingest front" if last.gave_way else "")


@shared_task
def sweep_inbound_events() -> int:
    """Queue again every event a lost task or a dead broker left `received`.

    An event is due when it has waited longer than the grace period (its first task had the
    chance to run) and any retry it was promised is overdue.
    """
    from integrations.webhooks.dispatch import queue_processing

    grace = dt.timedelta(seconds=getattr(settings, "WEBHOOK_SWEEP_GRACE_SECONDS", 120))
    now = timezone.now()
    due = (
        InboundEvent.objects.filter(
            status=InboundEvent.Status.RECEIVED, received_at__lt=now - grace
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=now - grace))
        .values_list("pk", "connection__organization_id")[:5000]
    )
    count = 0
    for event_id, organization_id in due:
        queue_processing(event_id, organization_id)
        count += 1
    return count


@shared_task(acks_late=True)
def push_connection(connection_id: str, queue: str | None = None) -> str:
    """One leased run of a connection's outbox (a retry, the sweep, the admin's retry)."""
    return push_connections([connection_id], queue)


PUSH_TASK_SECONDS = 1.0  # then hand over: other weddings' pushes get their turn


@shared_task(acks_late=True)
def push_connections(connection_ids: list[str], queue: str | None = None) -> str:
    """Leased runs for the connections, side by side (push.push_run): a change fans out to
    every system in one task. A retry is scheduled for what could not go yet; connections with
    changes still due after a run are run again (changes keep coming during a busy day), for
    up to PUSH_TASK_SECONDS, then go to a new task at the back of the queue."""
    from integrations.sync import push
    from integrations.sync.dispatch import PushWakeups, queue_push, wake_pushers
    from wedsync.live.broadcast import broadcast_all

    started = time.monotonic()
    ids, summaries = list(connection_ids), []
    while True:
        events: list = []
        runs = push.push_run(
            ids, holding=PushWakeups(), events=events, until=started + PUSH_TASK_SECONDS
        )
        if events:  # told while the next run goes on
            broadcast_all(events, wait=False)
        more, said = [], []
        for connection_id in ids:
            run = runs[str(connection_id)]
            if run.error is not None:
                said.append("error")
                continue
            # A held lease needs nothing from us: its holder looks again before it is done.
            if run.retry_at is not None and run.held != push.LEASE_HELD:
                delay = max(0.0, (run.retry_at - timezone.now()).total_seconds())
                queue_push(connection_id, countdown=delay, queue=queue)
            elif run.more_due:
                more.append(connection_id)
            held = f", {run.held}" if run.held else ""
            said.append(f"sent {run.sent}, failed {run.failed}{held}")
        summaries.append("; ".join(said))
        if not more:
            return " | ".join(summaries)
        if time.monotonic() - started > PUSH_TASK_SECONDS:
            wake_pushers(more, queue=queue, force=True)  # a kick meanwhile may have sent nothing
            return " | ".join(summaries) + ", more to come"
        ids = more


@shared_task
def push_due_outboxes() -> int:
    """Queue a push for every connection with due changes and no pusher at work: covers a
    lost task or a worker killed mid-push (the change is still pending; its lease expires, or
    is free as soon as its holder is known dead)."""
    from integrations import liveness
    from integrations.models import Connection
    from integrations.sync.dispatch import queue_push
    from integrations.sync.push import due_changes

    now = timezone.now()
    due = (
        due_changes()
        .exclude(connection__status__in=[Connection.Status.PAUSED, Connection.Status.REVOKED])
        .values_list(
            "connection_id", "connection__push_lease_until", "connection__push_lease_holder"
        )
        .distinct()
    )
    leases = {connection_id: (until, holder) for connection_id, until, holder in due}
    dead = liveness.dead(holder for until, holder in leases.values() if until and until > now)
    count = 0
    for connection_id, (until, holder) in leases.items():
        if until is None or until <= now or holder in dead:
            queue_push(connection_id)
            count += 1
    return count


@shared_task
def resume_held_work() -> str:
    """What a dead process held, picked up (integrations.recovery): the pushes due and a drain
    of every connection with inbound events waiting, sent even where a wake-up looks queued
    (it may have died with the process)."""
    from integrations.recovery import RESUME, RESUME_KEY, drains_waiting
    from integrations.webhooks.dispatch import queue_drains

    wakeups.clear(RESUME, RESUME_KEY)
    pushes = push_due_outboxes()
    drains = drains_waiting()
    if drains:
        queue_drains(drains, force=True)
    return f"pushes queued: {pushes}, drains woken: {len(drains)}"


@shared_task(acks_late=True)
def pull_connection(connection_id: str, trigger: str = "schedule") -> str:
    from integrations.models import Connection
    from integrations.sync import pull

    connection = Connection.objects.get(pk=connection_id)
    if connection.status != Connection.Status.ACTIVE or not pull.pullable(connection):
        return f"skipped: {connection.status}"
    run = pull.pull_connection(connection, trigger)
    return f"{run.status}: pulled {run.pulled}, applied {run.applied}"


@shared_task
def dispatch_due_pulls(limit: int = 1000) -> int:
    """One beat entry for every connection: queue the pulls that are due, each at its own
    interval (editable per connection in the admin); weddings happening today go first."""
    from integrations.models import Connection
    from integrations.sync.pull import pullable
    from integrations.webhooks.dispatch import has_wedding_today

    now = timezone.now()
    due = Connection.objects.filter(
        status=Connection.Status.ACTIVE, sync_interval_minutes__gt=0
    ).filter(Q(next_sync_at__isnull=True) | Q(next_sync_at__lte=now))[:limit]
    count = 0
    for connection in due:
        if not pullable(connection):
            continue
        # Claim it until the pull reschedules it, so the next beat does not queue it twice.
        Connection.objects.filter(pk=connection.pk).update(
            next_sync_at=now + dt.timedelta(minutes=connection.sync_interval_minutes)
        )
        queue = queues.PRIORITY if has_wedding_today(connection.organization_id) else queues.RESYNC
        pull_connection.apply_async(args=[str(connection.pk)], queue=queue)
        count += 1
    return count


PUSH_CHANNEL_PROVIDERS = ("google_calendar", "microsoft_graph", "tave")


@shared_task
def renew_push_channels() -> dict[str, int]:
    """Open or renew every expiring push channel (beat, hourly)."""
    from integrations.errors import ProviderError as Failure
    from integrations.models import Connection
    from integrations.sync.channels import ensure_channel

    outcomes: dict[str, int] = {}
    for connection in Connection.objects.filter(
        status=Connection.Status.ACTIVE, provider__in=PUSH_CHANNEL_PROVIDERS
    ):
        try:
            outcome = ensure_channel(connection)
        except Failure as error:
            connection.record_failure(f"push channel: {error}")
            connection.save(update_fields=["last_error", "last_error_at", "consecutive_failures"])
            outcome = "failed"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
