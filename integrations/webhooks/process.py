"""Processing one stored inbound event, at most once in effect.

The record is fetched back from the provider (when the webhook carries only an id) outside any
transaction; then its records are stored and the event is marked processed (a conditional
UPDATE: only if still `received`) in one transaction. A worker killed before that commit leaves
the event `received`, so a retry or the sweep processes it again, once; an attempt that loses a
race with another finds the event no longer `received` and rolls its own work back.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from integrations import services
from integrations.adapters.base import ExternalRecord, WebhookItem
from integrations.errors import ProviderError
from integrations.models import Connection, InboundEvent, RecordLink
from integrations.sync.apply import apply_record, worth_applying
from integrations.sync.records import store_record

from .repeats import Repeat, take_up

logger = logging.getLogger(__name__)


class PermanentFailure(Exception):
    """Processing can never succeed for this event; it waits in the admin with the reason."""


@dataclass(frozen=True)
class Outcome:
    status: str
    summary: str


def payload_of(event: InboundEvent):
    body = bytes(event.body)
    if not body:
        return {}
    content_type = next(
        (v for k, v in event.headers.items() if k.lower() == "content-type"), "application/json"
    )
    if content_type.startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    return json.loads(body)


def record_for(adapter, item: WebhookItem) -> ExternalRecord:
    """The record as the provider holds it; one the provider no longer has counts as deleted."""
    if item.record is not None:
        return item.record
    try:
        return adapter.fetch(item.resource, item.external_id)
    except ProviderError as error:
        if not error.gone:
            raise
        resource = adapter.spec.resources[item.resource]
        return ExternalRecord(
            resource=item.resource,
            kind=resource.maps_to,
            external_id=item.external_id,
            fields={},
            deleted=True,
        )


SET_ASIDE = (Connection.Status.PAUSED, Connection.Status.REVOKED)


class Batch:
    """The connection (and its adapter, made on first use) shared by a drain's events."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._adapter = None

    def adapter(self):
        if self._adapter is None:
            self._adapter = services.adapter_for(self.connection)
        return self._adapter


# What processing reads of an event (not the admin's fields).
EVENT_FIELDS = ("id", "connection_id", "status", "event_type", "body", "headers")


def defer(connection: Connection, event_ids: list[int], repeat: Repeat) -> Outcome:
    """Wait for the end of the repeat window, then process the events on their own."""
    from .dispatch import queue_processing

    note = (
        f"the same delivery as event {repeat.of} was fetched moments ago: fetched again at "
        f"{repeat.until:%H:%M:%S} UTC"
    )
    waiting = InboundEvent.objects.filter(pk__in=event_ids, status=InboundEvent.Status.RECEIVED)
    waiting.update(next_attempt_at=repeat.until, outcome=note)
    countdown = max(0.0, (repeat.until - timezone.now()).total_seconds())
    for event_id in event_ids:
        queue_processing(event_id, connection.organization_id, countdown=countdown)
    return Outcome(InboundEvent.Status.RECEIVED, f"waiting: {note}")


class AlreadyDone(Exception):
    """Another attempt finished (or set aside) the event first; this one's work is undone."""

    def __init__(self, status: str) -> None:
        self.status = status


def process(
    event_id: int,
    batch: Batch | None = None,
    event: InboundEvent | None = None,
    items: list[WebhookItem] | None = None,
) -> Outcome:
    """Process one event. Raises ProviderError (retryable or not) or PermanentFailure.

    A drain passes the event it has already read (EVENT_FIELDS) with its batch, and the
    items it parsed from it, if it did.
    """
    if batch is None:
        event = InboundEvent.objects.select_related("connection").get(pk=event_id)
        batch = Batch(event.connection)
    elif event is None:
        event = InboundEvent.objects.only(*EVENT_FIELDS).get(
            pk=event_id, connection=batch.connection
        )
    if event.status != InboundEvent.Status.RECEIVED:
        return Outcome(event.status, f"already {event.status}")
    connection = batch.connection
    if connection.status in SET_ASIDE:
        set_aside = set_aside_for_status(event_id, connection.pk)
        if set_aside is not None:
            return set_aside
    adapter = batch.adapter()
    if items is None:
        try:
            items = adapter.parse_webhook(event.event_type, payload_of(event))
        except (ValueError, KeyError, TypeError) as error:
            raise PermanentFailure(f"the payload cannot be read: {error}") from error
    repeat = take_up(connection, [event_id], items)
    if repeat is not None:
        return defer(connection, [event_id], repeat)
    channel = ""
    if any(item.channel for item in items):
        # The provider stopped announcing changes: renew its channel before pulling what it
        # did not announce (a failure raises, and the event is retried).
        from integrations.sync.channels import ensure_channel

        channel = f"push channel {ensure_channel(connection, force=True)}"
    if any(item.pull for item in items):
        # The notification carries no record: an incremental pull brings the changes, in
        # transactions of its own, and this event is done once it has run.
        from integrations.models import SyncRun
        from integrations.sync.pull import pull_connection

        run = pull_connection(connection, SyncRun.Trigger.WEBHOOK)
        if run.status != SyncRun.Status.SUCCEEDED:
            raise ProviderError(connection.provider, "unavailable", run.error or "pull failed")
        items = [item for item in items if not item.pull]
        pulled = f"pulled {run.pulled}, applied {run.applied}"
    else:
        pulled = ""
    fetched = [(item, record_for(adapter, item)) for item in items]

    try:
        with transaction.atomic():
            results = []
            for item, record in fetched:
                stored, link = store_record(connection, record, occurred_at=item.occurred_at)
                if worth_applying(stored, link, record):
                    stored = apply_record(connection, link, record)
                results.append(stored)
            outcome = "; ".join(filter(None, [channel, pulled, summarize(fetched, results)]))
            outcome = outcome[:300]
            mark_processed(event_id, outcome)
    except AlreadyDone as done:
        return Outcome(done.status, f"already {done.status}")
    return Outcome(InboundEvent.Status.PROCESSED, outcome)


def mark_processed(event_id: int, outcome: str, merged: tuple[int, ...] = ()) -> None:
    """The event is processed (and the `merged` ones, which name it), in the transaction that
    applied it, unless another attempt got to one of them first: the conditional UPDATE waits
    for that attempt's row lock, then finds the status changed and raises AlreadyDone, which
    rolls this attempt's work back."""
    into = event_id if merged else None
    if processed([event_id, *merged], outcome, merged_into=into) != 1 + len(merged):
        status = InboundEvent.objects.filter(pk=event_id).values_list("status", flat=True).first()
        done = status if status != InboundEvent.Status.RECEIVED else "processed by another attempt"
        raise AlreadyDone(done or "gone")


def processed(event_ids: list[int], outcome: str, *, merged_into: int | None = None) -> int:
    """Mark those of the events still `received` processed; returns how many were. With
    `merged_into`, that event's outcome is `outcome` and the others' names it."""
    if merged_into is not None:
        outcome = Case(
            When(pk=merged_into, then=Value(outcome)),
            default=Value(f"merged into event {merged_into}"),
            output_field=InboundEvent._meta.get_field("outcome"),
        )
    return InboundEvent.objects.filter(
        pk__in=event_ids, status=InboundEvent.Status.RECEIVED
    ).update(
        status=InboundEvent.Status.PROCESSED,
        attempts=F("attempts") + 1,
        processed_at=timezone.now(),
        last_error="",
        next_attempt_at=None,
        outcome=outcome,
    )


def set_aside_for_status(event_id: int, connection_id) -> Outcome | None:
    """Hold the event of a paused connection (released on resume), ignore a revoked one's.

    The endpoint decides this when it stores the event, but from a connection it may have read
    a moment earlier. The connection row is locked while deciding, so a resume either commits
    first (and the event is processed) or waits and then releases the event held here.
    """
    with transaction.atomic():
        status = (
            Connection.objects.select_for_update()
            .filter(pk=connection_id)
            .values_list("status", flat=True)
            .first()
        )
        if status not in SET_ASIDE:
            return None
        if status == Connection.Status.PAUSED:
            new, outcome = InboundEvent.Status.HELD, ""
        else:
            new, outcome = InboundEvent.Status.IGNORED, "the connection was revoked"
        InboundEvent.objects.filter(pk=event_id, status=InboundEvent.Status.RECEIVED).update(
            status=new, outcome=outcome
        )
    return Outcome(new, outcome or f"set aside: {new}")


def summarize(fetched, results: list[str]) -> str:
    if not fetched:
        return "nothing to apply"
    parts = [
        f"{item.resource} {item.external_id}: {result}"
        for (item, _), result in zip(fetched, results, strict=True)
    ]
    return "; ".join(parts)[:300]


def record_attempt_failed(event_id: int, reason: str, *, final: bool, next_attempt_at=None) -> None:
    """Note a failed attempt in its own transaction (the processing one rolled back)."""
    with transaction.atomic():
        event = InboundEvent.objects.select_for_update().get(pk=event_id)
        if event.status != InboundEvent.Status.RECEIVED:
            return
        event.attempts += 1
        event.last_error = reason[:2000]
        event.next_attempt_at = None if final else next_attempt_at
        if final:
            event.status = InboundEvent.Status.FAILED
        event.save(update_fields=["attempts", "last_error", "next_attempt_at", "status"])
    logger.warning(
        "inbound event %s attempt failed%s: %s", event_id, " for good" if final else "", reason
    )


@dataclass
class Parsed:
    """An event of a drain's batch with the one record it is about."""

    event: InboundEvent
    item: WebhookItem

    @property
    def key(self) -> tuple[str, str]:
        return (self.item.resource, self.item.external_id)

    @property
    def when(self):
        record = self.item.record
        return (record.modified if record else None) or self.item.occurred_at


def parse_one(event: InboundEvent, batch: Batch) -> Parsed | None:
    """The event with its single record, or None when it is not that simple (several records,
    a pull, an unreadable body, a connection set aside): such an event goes on its own."""
    if event.status != InboundEvent.Status.RECEIVED or batch.connection.status in SET_ASIDE:
        return None
    try:
        items = batch.adapter().parse_webhook(event.event_type, payload_of(event))
    except (ValueError, KeyError, TypeError):
        return None
    if len(items) != 1 or items[0].pull:
        return None
    return Parsed(event, items[0])


def merged_record(adapter, group: list[Parsed]) -> ExternalRecord:
    """One record standing for a group's events, applied in the provider's order.

    Fetched-back records are fetched once: the provider's current state covers every event.
    Carried records (the bridge) may each hold only some fields, so they are folded oldest
    first, later values winning, and a deletion drops what came before it.
    """
    newest = group[-1]
    if newest.item.record is None:
        return record_for(adapter, newest.item)
    fields: dict = {}
    for parsed in group:
        record = parsed.item.record
        fields = {} if record.deleted else {**fields, **record.fields}
    last = newest.item.record
    return ExternalRecord(
        resource=last.resource,
        kind=last.kind,
        external_id=last.external_id,
        fields={} if last.deleted else fields,
        version=last.version,
        modified=newest.when,
        deleted=last.deleted,
        raw=last.raw,
    )


def applied_since(connection: Connection, key: tuple[str, str]):
    """The provider time of the state already stored for the record, if any."""
    return (
        RecordLink.objects.filter(connection=connection, resource=key[0], external_id=key[1])
        .values_list("source_modified", flat=True)
        .first()
    )


def process_group(group: list[Parsed], batch: Batch) -> Outcome:
    """Process several events about one record as one change: the newest (in the provider's
    order) is applied with what the others carried, and every event of the group is marked
    processed in the same transaction, the others naming the one they were merged into.

    The caller orders the group by provider time and leaves out events older than the state
    already stored (those would be stale alone; folded in, an old field could win). Raises as
    process() does; any other attempt that got to one of the events first rolls this back.
    """
    adapter = batch.adapter()
    connection = batch.connection
    leader = group[-1]
    others = tuple(parsed.event.pk for parsed in group[:-1])
    repeat = take_up(connection, [leader.event.pk, *others], [leader.item])
    if repeat is not None:
        return defer(connection, [leader.event.pk, *others], repeat)
    record = merged_record(adapter, group)
    with transaction.atomic():
        stored, link = store_record(connection, record, occurred_at=leader.item.occurred_at)
        if worth_applying(stored, link, record):
            stored = apply_record(connection, link, record)
        merged_in = f"with {len(group) - 1} earlier event(s) merged in"
        outcome = f"{record.resource} {record.external_id}: {stored} ({merged_in})"[:300]
        mark_processed(leader.event.pk, outcome, others)
    return Outcome(InboundEvent.Status.PROCESSED, outcome)
