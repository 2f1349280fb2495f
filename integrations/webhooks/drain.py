"""Processing a connection's inbound events in bulk, and one event's attempt with its retries.

At volume, one Celery task per webhook cost the endpoint a broker publish per delivery and the
worker a task per event. Instead the endpoint wakes one drain per connection (coalesced, see
integrations.wakeups), and the drain processes every event that is due, oldest first. A failed
attempt is scheduled again as a task of its own with backoff; the sweep still re-queues
anything a lost task left behind, so a lost wake-up delays an event but never loses it.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
from dataclasses import dataclass

from django.utils import timezone

from integrations.errors import ProviderError
from integrations.models import Connection, InboundEvent

from . import pressure
from . import process as processing

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BATCH = 200
BUDGET_SECONDS = 10.0  # then hand over to a new task, so other connections get their turn


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff with full jitter (5 s, 10 s, ... capped at 10 min); a provider's
    Retry-After wins when it asks for longer."""
    ceiling = min(600.0, 5.0 * 2 ** max(0, attempt - 1))
    delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0.0)


def attempt(
    event_id: int,
    batch: processing.Batch | None = None,
    event: InboundEvent | None = None,
    items: list | None = None,
) -> str:
    """Process one event once; a failure is recorded and, when worth it, retried later."""
    try:
        return processing.process(event_id, batch, event, items).summary
    except processing.PermanentFailure as error:
        processing.record_attempt_failed(event_id, str(error), final=True)
        return f"failed: {error}"
    except ProviderError as error:
        return failed(event_id, str(error), retryable=error.retryable, wait=error.retry_after)
    except Exception as error:  # a bug or a bad record: never lose the event, never loop forever
        return failed(event_id, f"{type(error).__name__}: {error}", retryable=True, wait=None)


def failed(event_id: int, reason: str, *, retryable: bool, wait: float | None) -> str:
    from .dispatch import queue_processing

    row = (
        InboundEvent.objects.filter(pk=event_id)
        .values_list("attempts", "connection__organization_id")
        .first()
    )
    if row is None:
        return "gone"
    number, organization_id = row[0] + 1, row[1]
    final = not retryable or number >= MAX_ATTEMPTS
    delay = backoff_seconds(number, wait)
    processing.record_attempt_failed(
        event_id,
        reason,
        final=final,
        next_attempt_at=timezone.now() + dt.timedelta(seconds=delay),
    )
    if final:
        return f"failed: {reason}"
    queue_processing(event_id, organization_id, countdown=delay)
    return f"retry in {delay:.0f} s: {reason}"


def waiting_events():
    """Received events not waiting for a scheduled retry: what drains process."""
    return InboundEvent.objects.filter(
        status=InboundEvent.Status.RECEIVED, next_attempt_at__isnull=True
    )


def due_query(connection_id, after: int = 0):
    """The connection's `waiting_events`, in arrival order."""
    return waiting_events().filter(connection_id=connection_id, pk__gt=after).order_by("pk")


def due_events(connection_id, after: int) -> list[InboundEvent]:
    """The next batch of `due_query` events (what processing reads of them, in one query)."""
    events = due_query(connection_id, after).only(*processing.EVENT_FIELDS, "received_at")
    return list(events[:BATCH])


@dataclass
class DrainRun:
    processed: int = 0
    more: bool = False  # the budget ran out with events left, or the drain gave way
    gave_way: bool = False  # to a busy ingest front (pressure): go on a moment later


GIVE_WAY_CHECK_SECONDS = 0.05  # how often a drain that may give way asks whether to


def drain_connection(
    connection_id, budget: float = BUDGET_SECONDS, *, may_give_way: bool = False
) -> DrainRun:
    """Attempt every due event of the connection once, oldest first, within the time budget:
    every event committed before the call, in one pass when they fit in a batch.

    `may_give_way`: stop while the ingest front is busy (integrations.webhooks.pressure),
    unless the connection's organization has a wedding today or the batch's oldest event has
    waited too long already."""
    run = DrainRun()
    started = time.monotonic()
    last = 0
    # Asked before a batch is read and parsed: a drain that gives way at once costs a Redis
    # call and one small query, not 200 events read and parsed (0.25 cores at 1,000/s).
    if may_give_way and pressure.front_busy() and oldest_can_wait(connection_id):
        run.more = run.gave_way = True
        return run
    while due := due_events(connection_id, last):
        # Read once per batch: a pause or a new token is seen within one batch.
        # By pk, not the model's ordering, which joins organizations to sort one row.
        connection = Connection.objects.filter(pk=connection_id).order_by("pk").first()
        if connection is None:
            return run
        yielding = may_give_way and can_wait(connection.organization_id, due[0].received_at)
        asked = 0.0
        batch = processing.Batch(connection)
        for unit in units_of_work(due, batch):
            now = time.monotonic()
            if now - started > budget:
                run.more = True
                return run
            if yielding and now - asked >= GIVE_WAY_CHECK_SECONDS:
                asked = now
                if pressure.front_busy():
                    run.more = run.gave_way = True
                    return run
            if isinstance(unit, InboundEvent):
                attempt(unit.pk, batch, unit)
                run.processed += 1
            else:
                run.processed += attempt_record(unit, batch)
        last = due[-1].pk
        if len(due) < BATCH:
            # No second look: an event committed from here on sets the connection's wake-up
            # flag, which this drain's task cleared before it looked (integrations.wakeups),
            # so the task runs the drain again.
            break
    return run


def can_wait(organization_id: int, oldest_received_at: dt.datetime) -> bool:
    """Whether events may give way to the ingest front: not for a wedding happening today,
    not once the oldest has waited the longest a burst may hold it back."""
    from .dispatch import has_wedding_today

    waited = (timezone.now() - oldest_received_at).total_seconds()
    if waited > pressure.max_wait_seconds():
        return False
    return not has_wedding_today(organization_id)


def oldest_can_wait(connection_id) -> bool:
    """`can_wait` for the connection's oldest due event (False when none is due)."""
    oldest = (
        due_query(connection_id).values_list("received_at", "connection__organization_id").first()
    )
    return oldest is not None and can_wait(oldest[1], oldest[0])


def utc(value: dt.datetime) -> dt.datetime:
    """A provider time comparable with any other: one without a zone is taken as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def units_of_work(
    events: list[InboundEvent], batch: processing.Batch
) -> list[InboundEvent | list[processing.Parsed]]:
    """A batch as units of work: each record's events together (at the place of the last to
    arrive), and on its own every event that is about several records or none."""
    parsed = [(event, processing.parse_one(event, batch)) for event in events]
    by_record: dict[tuple[str, str], list[processing.Parsed]] = {}
    for _, one in parsed:
        if one is not None:
            by_record.setdefault(one.key, []).append(one)
    units: list[InboundEvent | list[processing.Parsed]] = []
    for event, one in parsed:
        if one is None:
            units.append(event)
        elif by_record[one.key][-1] is one:
            units.append(by_record[one.key])
    return units


def attempt_record(group: list[processing.Parsed], batch: processing.Batch) -> int:
    """Process one record's events of a batch; returns how many events were attempted.

    When the webhooks of one record arrive faster than they are applied (a burst, or a backlog
    after an outage), each batch applies the record once: its newest state, with what the
    other events carried merged in (processing.process_group). Events older than the state
    already stored, and carried records without a provider time to order them by, go one by
    one as before, as does the whole group if merging fails for any reason.
    """
    if len(group) == 1:
        attempt(group[0].event.pk, batch, group[0].event, [group[0].item])
        return 1
    carried = [one.item.record is not None for one in group]
    alone: list[processing.Parsed] = []
    mergeable = group
    if any(carried):
        if not all(carried) or any(one.when is None for one in group):
            alone, mergeable = group, []
        else:
            since = processing.applied_since(batch.connection, group[0].key)
            older = [bool(since) and utc(one.when) < utc(since) for one in group]
            alone = [one for one, old in zip(group, older, strict=True) if old]
            mergeable = [one for one, old in zip(group, older, strict=True) if not old]
    for one in alone:
        attempt(one.event.pk, batch, one.event, [one.item])
    ordered = sorted(
        mergeable,
        key=lambda one: (utc(one.when).timestamp() if one.when else float("-inf"), one.event.pk),
    )
    if len(ordered) == 1:
        attempt(ordered[0].event.pk, batch, ordered[0].event, [ordered[0].item])
    elif ordered:
        try:
            processing.process_group(ordered, batch)
        except Exception:
            logger.info("merging %s events of one record failed; one by one", len(ordered))
            for one in ordered:
                attempt(one.event.pk, batch, one.event, [one.item])
    return len(group)
