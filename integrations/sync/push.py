"""Pushing a connection's outbox: in order, idempotently, conditionally, behind a breaker.

One pusher per connection at a time (a lease on the connection row), oldest change first, so
changes to one record arrive in the order they were made; of several pending changes to one
record only the latest is pushed (it carries the record's whole state). Creates use ids we
choose where the provider allows, so a create retried after a crash finds its own record;
updates carry the etag, and a 412 means fetch the current version and write again (ours is the
later change). A retryable failure stops the run and schedules the next try with backoff
(Retry-After wins); a permanent one marks that change failed, with its reason, and the run
goes on. After BREAKER_THRESHOLD failures in a row the connection's circuit opens; the first
push after it closes again is the probe.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from integrations import services
from integrations.adapters.base import Change, PushResult
from integrations.errors import ProviderError
from integrations.models import Connection, OutboundChange, RecordLink
from integrations.sync.records import fields_hash, snapshot_of
from wedsync.live import EventType, broadcast_on_commit
from wedsync.returning import update_returning_exists, update_returning_rows

logger = logging.getLogger(__name__)

BREAKER_THRESHOLD = 5
LEASE = dt.timedelta(seconds=120)
LEASE_HELD = "another pusher holds the lease"
HELD_STATUSES = (
    Connection.Status.PAUSED,
    Connection.Status.REVOKED,
    Connection.Status.NEEDS_REAUTH,
)


@dataclass
class PushRun:
    sent: int = 0
    failed: int = 0
    retry_at: dt.datetime | None = None
    held: str = ""
    more_due: bool = False
    idle: bool = False  # nothing was due


def backoff(attempt: int, retry_after: float | None = None) -> dt.timedelta:
    ceiling = min(600.0, 2.0 * 2 ** max(0, attempt - 1))
    seconds = max(random.uniform(ceiling / 2, ceiling), retry_after or 0.0)  # noqa: S311
    return dt.timedelta(seconds=seconds)


def take_lease(connection_id) -> Connection | None:
    """Take the connection's push lease if it is free and a change is due; the leased
    connection, read by the same statement (None: no lease taken)."""
    now = timezone.now()
    due = due_changes(now).filter(connection_id=OuterRef("pk"))
    free = (
        Connection.objects.filter(pk=connection_id)
        .filter(Q(push_lease_until__isnull=True) | Q(push_lease_until__lt=now))
        .filter(Exists(due))
    )
    leased = update_returning_rows(free, push_lease_until=now + LEASE)
    return leased[0] if leased else None


def release_lease(connection_id, *, succeeded: bool = False) -> bool:
    """Let the lease go; a run that pushed something notes its last success at the same time.
    Returns whether changes are due, looked for by the same statement, after the lease is
    let go: a task that found the lease taken left its change to the holder, and this is the
    holder's look (see push_connection)."""
    values = {"push_lease_until": None}
    if succeeded:
        values["last_success_at"] = timezone.now()
    due = update_returning_exists(
        Connection.objects.filter(pk=connection_id),
        due_changes().filter(connection_id=connection_id),
        **values,
    )
    return bool(due)


def resource_for(connection: Connection, kind: str) -> str:
    return next(name for name, r in connection.spec.resources.items() if r.maps_to == kind)


def push_connection(connection_id, *, runs: int | None = None) -> PushRun:
    """Push every due change of one connection; returns what happened.

    A task that finds the lease taken leaves its change to the holder, which looks for due
    changes again as it lets the lease go: the change was committed before its task ran, so
    before the holder let go, so the holder's look finds it (or whoever took the lease in
    between does). No change waits for the sweep.

    `runs` bounds the leased runs: a Celery task does one and, when changes are still due
    (`more_due`), hands over to a new task at the back of the queue, so a connection that keeps
    receiving changes does not hold a worker while the other connections' pushes wait.
    """
    total = PushRun()
    done = 0
    while True:
        run = push_while_leased(connection_id)
        done += 1
        total.sent += run.sent
        total.failed += run.failed
        total.retry_at, total.held = run.retry_at, run.held
        if run.idle or run.held or run.retry_at is not None or not run.more_due:
            return total
        if runs is not None and done >= runs:
            total.more_due = True
            return total


def due_changes(now: dt.datetime | None = None):
    """Pending changes whose retry time, if any, has come."""
    return OutboundChange.objects.filter(status=OutboundChange.Status.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now or timezone.now())
    )


def has_due_changes(connection_id) -> bool:
    return due_changes().filter(connection_id=connection_id).exists()


def push_while_leased(connection_id) -> PushRun:
    """One run under the lease. The lease is taken only when a change is due, so a task whose
    change went with an earlier run costs one statement (the run is `idle`)."""
    connection = take_lease(connection_id)
    if connection is None:
        if has_due_changes(connection_id):
            return PushRun(held=LEASE_HELD)
        return PushRun(idle=True)  # its change went with an earlier run
    run = PushRun()
    try:
        if connection.status in HELD_STATUSES:
            run.held = f"connection {connection.status}"
        elif connection.circuit_open_until and connection.circuit_open_until > timezone.now():
            run.retry_at, run.held = connection.circuit_open_until, "circuit open"
        else:
            push_due(connection, run)
    finally:
        run.more_due = release_lease(connection.pk, succeeded=run.sent > 0)
    return run


def push_due(connection: Connection, run: PushRun) -> None:
    """Push the connection's pending changes in order, counting into `run`."""
    adapter = services.adapter_for(connection)
    pending = OutboundChange.objects.filter(
        connection=connection, status=OutboundChange.Status.PENDING
    ).order_by("id")
    for change in without_superseded(list(pending)):
        if change.next_attempt_at and change.next_attempt_at > timezone.now():
            run.retry_at = change.next_attempt_at
            break  # later changes wait: order per connection is kept
        link = linked_record(connection, change)
        try:
            result = push_one(adapter, connection, change, link)
        except ProviderError as error:
            if error.retryable:
                run.retry_at = schedule_retry(connection, change, error)
                break
            fail(connection, change, error)
            run.failed += 1
            continue
        mark_sent(connection, change, result, link)
        run.sent += 1


def without_superseded(changes: list[OutboundChange]) -> list[OutboundChange]:
    """The changes worth pushing: one whose record has a later pending change is marked
    superseded and skipped.

    A change carries its record's whole state and push_one picks create, update or delete from
    the link, so the record's latest change alone leaves the system as the earlier ones would
    have, and a record edited many times while its pushes wait (a burst, an outage) costs one
    push per system, not one per edit. A change waiting for its retry time is never skipped:
    the later ones would jump its backoff.
    """
    now = timezone.now()
    latest = {(change.kind, change.object_id): change.pk for change in changes}
    keep, superseded = [], []
    for change in changes:
        waiting = change.next_attempt_at is not None and change.next_attempt_at > now
        if latest[change.kind, change.object_id] != change.pk and not waiting:
            superseded.append(change.pk)
        else:
            keep.append(change)
    if superseded:
        OutboundChange.objects.filter(
            pk__in=superseded, status=OutboundChange.Status.PENDING
        ).update(status=OutboundChange.Status.SUPERSEDED)
    return keep


def linked_record(connection: Connection, change: OutboundChange) -> RecordLink | None:
    resource = resource_for(connection, change.kind)
    return RecordLink.objects.filter(
        connection=connection, resource=resource, object_id=change.object_id
    ).first()


def push_one(
    adapter, connection: Connection, change: OutboundChange, link: RecordLink | None
) -> PushResult | None:
    resource = resource_for(connection, change.kind)
    action = change.action
    if action == OutboundChange.Action.CREATE and link and not link.deleted:
        action = OutboundChange.Action.UPDATE
    elif action == OutboundChange.Action.UPDATE and (link is None or link.deleted):
        action = OutboundChange.Action.CREATE
    elif action == OutboundChange.Action.DELETE and (link is None or link.deleted):
        return None  # never reached the provider: nothing to delete
    request = Change(
        resource=resource,
        action=action,
        fields=dict(change.fields),
        our_id=str(change.object_id),
        external_id=link.external_id if link and action != "create" else None,
        version=(link.version or None) if link and action != "create" else None,
    )
    try:
        return adapter.push(request)
    except ProviderError as error:
        if error.kind != "precondition_failed" or request.external_id is None:
            raise
        # Someone changed it since we last synced: ours is the later change, so write it over
        # their current version (conflict detection sees theirs through the pull/webhook).
        current = adapter.fetch(resource, request.external_id)
        request.version = current.version
        try:
            return adapter.push(request)
        except ProviderError as again:
            if again.kind != "precondition_failed":
                raise
            # It keeps changing under us: try again later rather than give up.
            raise ProviderError(
                again.provider, again.kind, again.message, again.status, permanent=False
            ) from again


def needs_recovery(connection: Connection) -> bool:
    """Whether a success has failures, an error status or an open circuit to clear."""
    return bool(
        connection.consecutive_failures
        or connection.status == Connection.Status.ERROR
        or connection.circuit_open_until
    )


def mark_sent(
    connection: Connection,
    change: OutboundChange,
    result: PushResult | None,
    link: RecordLink | None = None,
) -> None:
    """Record a push the provider accepted: the link to its record, then the change as sent.

    Two statements in the usual case, each its own transaction: a crash between them leaves
    the change pending with its link already current, and pushing it again is the same write
    with the current etag. A new link is made under a row lock; the connection row is written
    only when a success has something to clear, and its last success once per run
    (release_lease).
    """
    now = timezone.now()
    if result is not None:
        deleted = change.action == OutboundChange.Action.DELETE
        snapshot = {} if deleted else snapshot_of(change.fields)
        values = {
            "object_id": change.object_id,
            "snapshot": snapshot,
            "fields_hash": fields_hash(snapshot, deleted),
            "deleted": deleted,
        }
        if result.version:
            values["version"] = result.version
        if link is None or link.external_id != result.external_id:
            with transaction.atomic():
                link, _ = RecordLink.objects.select_for_update().get_or_create(
                    connection=connection,
                    resource=resource_for(connection, change.kind),
                    external_id=result.external_id,
                    defaults={"kind": change.kind},
                )
        RecordLink.objects.filter(pk=link.pk).update(**values, updated_at=now)
        change.external_id = result.external_id
    change.status = OutboundChange.Status.SENT
    change.sent_at = now
    change.attempts += 1
    change.last_error = ""
    change.save(update_fields=["status", "sent_at", "attempts", "last_error", "external_id"])
    if needs_recovery(connection):
        connection.refresh_from_db(fields=["consecutive_failures", "status", "circuit_open_until"])
        connection.record_success()
        connection.circuit_open_until = None
        connection.save(
            update_fields=[
                "last_success_at",
                "consecutive_failures",
                "status",
                "circuit_open_until",
            ]
        )
    broadcast_on_commit(
        change.wedding_id,
        EventType.SYNC_PUSH_SUCCEEDED,
        {
            "connection": str(connection.pk),
            "provider": connection.provider,
            "kind": change.kind,
            "id": str(change.object_id),
            "action": change.action,
        },
    )


@transaction.atomic
def schedule_retry(connection: Connection, change: OutboundChange, error: ProviderError):
    change.attempts += 1
    change.last_error = str(error)[:2000]
    change.next_attempt_at = timezone.now() + backoff(change.attempts, error.retry_after)
    change.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    connection.refresh_from_db(fields=["consecutive_failures", "status"])
    connection.record_failure(str(error))
    retry_at = change.next_attempt_at
    if connection.consecutive_failures >= BREAKER_THRESHOLD:
        opened = timezone.now() + backoff(connection.consecutive_failures - BREAKER_THRESHOLD + 1)
        connection.circuit_open_until = max(opened, retry_at)
        retry_at = connection.circuit_open_until
    connection.save(
        update_fields=["last_error_at", "last_error", "consecutive_failures", "circuit_open_until"]
    )
    broadcast_on_commit(
        change.wedding_id,
        EventType.SYNC_PUSH_FAILED,
        {
            "connection": str(connection.pk),
            "provider": connection.provider,
            "id": str(change.object_id),
            "retryable": True,
            "next_attempt_at": retry_at.isoformat(),
            "reason": str(error)[:300],
        },
    )
    return retry_at


@transaction.atomic
def fail(connection: Connection, change: OutboundChange, error: ProviderError) -> None:
    change.attempts += 1
    change.status = OutboundChange.Status.FAILED
    change.last_error = str(error)[:2000]
    change.save(update_fields=["attempts", "status", "last_error"])
    logger.warning(
        "push of %s to connection %s failed for good: %s", change.object_id, connection.pk, error
    )
    broadcast_on_commit(
        change.wedding_id,
        EventType.SYNC_PUSH_FAILED,
        {
            "connection": str(connection.pk),
            "provider": connection.provider,
            "id": str(change.object_id),
            "retryable": False,
            "reason": str(error)[:300],
        },
    )
