"""Pushing a connection's outbox: in order, idempotently, conditionally, behind a breaker.

One pusher per connection at a time (a lease on the connection row, free when it runs out or
as soon as its holder is known dead: integrations.liveness), oldest change first, so
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
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from integrations import liveness, services
from integrations.adapters.base import Change, PushResult
from integrations.errors import ProviderError
from integrations.models import Connection, IntegrationEvent, OutboundChange, RecordLink
from integrations.sync.records import fields_hash, snapshot_of
from integrations.updates import one_round_trip, update_each
from wedsync.live import EventType, broadcast_all_on_commit, broadcast_on_commit
from wedsync.live.broadcast import broadcast_all
from wedsync.models import Wedding
from wedsync.returning import update_returning_rows

logger = logging.getLogger(__name__)

BREAKER_THRESHOLD = 5
LEASE = dt.timedelta(seconds=120)
LEASE_HELD = "another pusher holds the lease"
PUSH_BROKE = "push of connection %s failed; the sweep retries it"
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
    error: Exception | None = None  # a bug or an unreachable token endpoint: logged, swept


@dataclass
class Outcome:
    """What became of one change on the wire; written down on the task's thread."""

    change: OutboundChange
    link: RecordLink | None
    result: PushResult | None = None
    error: ProviderError | None = None
    waiting: bool = False  # its retry time has not come: it and the rest wait
    deferred: bool = False  # it needs the task's thread (an OAuth refresh): sent from there


class NeedsTaskThread(Exception):
    """Raised on a sending thread by what needs the database (an OAuth token refresh)."""


def backoff(attempt: int, retry_after: float | None = None) -> dt.timedelta:
    ceiling = min(600.0, 2.0 * 2 ** max(0, attempt - 1))
    seconds = max(random.uniform(ceiling / 2, ceiling), retry_after or 0.0)  # noqa: S311
    return dt.timedelta(seconds=seconds)


def resource_for(connection: Connection, kind: str) -> str:
    return next(name for name, r in connection.spec.resources.items() if r.maps_to == kind)


def due_changes(now: dt.datetime | None = None):
    """Pending changes whose retry time, if any, has come; unordered, as its callers ask which
    connections have some (the model's ordering by id would make each change distinct)."""
    return (
        OutboundChange.objects.filter(status=OutboundChange.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now or timezone.now()))
        .order_by()
    )


def due_connection_ids(connection_ids) -> set[str]:
    """Those of the connections with changes due."""
    due = due_changes().filter(connection_id__in=connection_ids)
    return {str(pk) for pk in due.values_list("connection_id", flat=True).distinct()}


def take_leases(connection_ids) -> list[Connection]:
    """Take the push lease of each connection that is free and has a change due; the leased
    connections, read by the same statement."""
    now = timezone.now()
    free = with_changes_due(connection_ids, now).filter(
        Q(push_lease_until__isnull=True) | Q(push_lease_until__lt=now)
    )
    return update_returning_rows(
        free, push_lease_until=now + LEASE, push_lease_holder=liveness.holder()
    )


def with_changes_due(connection_ids, now: dt.datetime):
    due = due_changes(now).filter(connection_id=OuterRef("pk"))
    return Connection.objects.filter(pk__in=connection_ids).filter(Exists(due)).order_by()


def take_leases_of_the_dead(connection_ids) -> tuple[list[Connection], set[str]]:
    """Of the connections with changes due that take_leases found taken: take those whose
    holder was killed (integrations.liveness), each only from the holder seen dead. The
    leased connections, and the ids of the others with changes due (held, or let go since)."""
    now = timezone.now()
    holders = dict(with_changes_due(connection_ids, now).values_list("pk", "push_lease_holder"))
    dead = liveness.dead(holders.values())
    leased: list[Connection] = []
    for holder in dead:
        taken = [pk for pk, held_by in holders.items() if held_by == holder]
        free = with_changes_due(taken, now).filter(push_lease_holder=holder)
        leased += update_returning_rows(
            free, push_lease_until=now + LEASE, push_lease_holder=liveness.holder()
        )
    if leased:
        logger.warning(
            "took the push leases of %d connections from a holder that died", len(leased)
        )
    taken_now = {c.pk for c in leased}
    return leased, {str(pk) for pk in holders if pk not in taken_now}


def release_leases(
    connections: list[Connection], runs: dict[str, PushRun], holding: Holding | None = None
) -> set[str]:
    """Let the leases go (a connection that pushed something notes its last success), then
    return the ids of those with changes due: a task that found a lease taken left its change
    to the holder, and this is the holder's look (see push_run)."""
    ids = [c.pk for c in connections]
    now = timezone.now()
    update_each(
        Connection,
        (
            (
                c.pk,
                {
                    "push_lease_until": None,
                    "push_lease_holder": "",
                    "last_success_at": now if runs[str(c.pk)].sent else None,
                },
            )
            for c in connections
        ),
        keep_if_none=("last_success_at",),
    )
    if holding is not None:
        holding.let_go([str(pk) for pk in ids])
    return due_connection_ids(ids)


def push_connection(connection_id, *, runs: int | None = None) -> PushRun:
    """Push every due change of one connection (`runs` bounds the leased runs); returns what
    happened. An error that is not the provider's answer is raised."""
    total = PushRun()
    done = 0
    while True:
        run = push_run([connection_id])[str(connection_id)]
        if run.error is not None:
            raise run.error
        done += 1
        total.sent += run.sent
        total.failed += run.failed
        total.retry_at, total.held = run.retry_at, run.held
        if run.idle or run.held or run.retry_at is not None or not run.more_due:
            return total
        if runs is not None and done >= runs:
            total.more_due = True
            return total


class Holding(Protocol):
    """Who must know which connections a run holds (the Celery task's wake-up flags)."""

    def taken(self, leased: list[str], ids: list[str]) -> None:
        """The leases are taken; nothing is listed yet."""

    def let_go(self, leased: list[str]) -> None:
        """The leases are let go; the look for due changes comes next."""


def push_run(
    connection_ids,
    *,
    holding: Holding | None = None,
    events: list | None = None,
    until: float | None = None,
) -> dict[str, PushRun]:
    """One leased run for each connection, side by side; what happened, by connection id.

    A change's systems are pushed together: the leases, the pending changes and their record
    links are each one statement for all of them, the provider calls go out at the same time
    (threads: a call mostly waits on the network), and each connection's outcomes are written
    down here, in its order. One connection's bug or outage does not hold back the others.

    A task that finds a lease taken leaves its change to the holder, which looks for due
    changes again after letting the lease go: the change was committed before its task ran, so
    before the holder let go, so the holder's look finds it (or whoever took the lease in
    between does). No change waits for the sweep. A connection with changes still due after
    its run has `more_due`: the Celery task hands it to a new task at the back of the queue, so
    a connection that keeps receiving changes does not hold a worker.

    Until `until` (time.monotonic()), a run keeps its leases and goes round again while
    changes keep coming: plan, send, write down, for the connections whose last round went
    cleanly. Letting go and taking the leases again between rounds was almost half of a
    round's bookkeeping (three statements and two Redis calls) while the changes waited.
    Each round plans with the connections' current status, so a pause holds the next change
    back.

    `holding` hears when the leases are taken (before anything is listed) and let go (before
    the look for due changes). `events`, when given, receives the live events of the
    successes for the caller to send once it has handed over (see mark_sent); those of a
    round followed by another are sent as the next one starts.
    """
    ids = [str(connection_id) for connection_id in connection_ids]
    runs = {connection_id: PushRun() for connection_id in ids}
    leased = take_leases(ids)
    if holding is not None:
        holding.taken([str(c.pk) for c in leased], ids)
    unleased = set(ids) - {str(c.pk) for c in leased}
    if unleased:
        more, held = take_leases_of_the_dead(unleased)
        if more:
            leased += more
            if holding is not None:
                holding.taken([str(c.pk) for c in more], [])
        for connection_id in unleased - {str(c.pk) for c in more}:
            if connection_id in held:
                runs[connection_id].held = LEASE_HELD
            else:
                runs[connection_id].idle = True  # its change went with an earlier run
    if not leased:
        return runs
    try:
        ready = [c for c in leased if may_push(c, runs[str(c.pk)])]
        while ready:
            planned, superseded = plan(ready, runs)
            write_down(send_all(planned, runs), runs, events, superseded)
            if not planned or until is None or time.monotonic() >= until:
                break
            ready = [c for c in ready if goes_again(runs[str(c.pk)])]
            if events and ready:
                broadcast_all(list(events), wait=False)
                events.clear()
    finally:
        due = release_leases(leased, runs, holding)
        for connection in leased:
            run = runs[str(connection.pk)]
            run.more_due = str(connection.pk) in due and not run.held and run.retry_at is None
    return runs


def goes_again(run: PushRun) -> bool:
    """Whether a connection's round went cleanly enough for another (no retry waiting, no
    error, not held)."""
    return run.error is None and run.retry_at is None and not run.held


def may_push(connection: Connection, run: PushRun) -> bool:
    if connection.status in HELD_STATUSES:
        run.held = f"connection {connection.status}"
        return False
    if connection.circuit_open_until and connection.circuit_open_until > timezone.now():
        run.retry_at, run.held = connection.circuit_open_until, "circuit open"
        return False
    return True


def record_of(change: OutboundChange) -> tuple:
    return change.connection_id, change.kind, change.object_id


def plan(
    connections: list[Connection], runs: dict[str, PushRun]
) -> tuple[dict[Connection, list[tuple]], list[int]]:
    """Each connection's changes worth pushing, oldest first, with their record links, and
    the ids of the changes superseded (see without_superseded). A connection found paused (or
    revoked, or needing reauthorization) since its lease was taken is held, its changes left
    pending."""
    if not connections:
        return {}, []
    by_id = {c.pk: c for c in connections}
    pending = (
        OutboundChange.objects.filter(
            connection__in=connections, status=OutboundChange.Status.PENDING
        )
        .annotate(connection_status=F("connection__status"))
        .order_by("id")
    )
    changes = []
    for change in pending:
        if change.connection_status in HELD_STATUSES:
            runs[str(change.connection_id)].held = f"connection {change.connection_status}"
        else:
            changes.append(change)
    keep, superseded = without_superseded(changes)
    links: dict[tuple, RecordLink] = {}
    if keep:
        candidates = RecordLink.objects.filter(
            connection__in=connections, object_id__in={change.object_id for change in keep}
        ).order_by("id")
        for link in candidates:
            links.setdefault((link.connection_id, link.resource, link.object_id), link)
    plans: dict[Connection, list[tuple]] = {c: [] for c in connections}
    for change in keep:
        connection = by_id[change.connection_id]
        key = (connection.pk, resource_for(connection, change.kind), change.object_id)
        plans[connection].append((change, links.get(key)))
    return {c: changes for c, changes in plans.items() if changes}, superseded


_threads: ThreadPoolExecutor | None = None


def sending_threads() -> ThreadPoolExecutor:
    """This process's sending threads, started on first use (after a Celery worker forks)."""
    global _threads
    if _threads is None:
        _threads = ThreadPoolExecutor(max_workers=settings.PUSH_THREADS, thread_name_prefix="push")
    return _threads


def send_all(
    plans: dict[Connection, list[tuple]], runs: dict[str, PushRun]
) -> dict[Connection, list[Outcome]]:
    """Each connection's changes on the wire, in order; the connections side by side."""
    adapters = {}
    for connection in plans:
        try:
            adapters[connection] = confined(services.adapter_for(connection))
        except Exception as error:  # a token that cannot be refreshed, a bug: theirs alone
            logger.exception(PUSH_BROKE, connection.pk)
            runs[str(connection.pk)].error = error
    outcomes: dict[Connection, list[Outcome]] = {}
    if len(adapters) == 1:
        ((connection, adapter),) = adapters.items()
        outcomes[connection] = send(adapter, connection, plans[connection])
    else:
        futures = {
            connection: sending_threads().submit(send, adapter, connection, plans[connection])
            for connection, adapter in adapters.items()
        }
        for connection, future in futures.items():
            try:
                outcomes[connection] = future.result()
            except Exception as error:
                logger.exception(PUSH_BROKE, connection.pk)
                runs[str(connection.pk)].error = error
    for connection, done in outcomes.items():
        if done and done[-1].deferred:  # go on here, where the token can be refreshed
            outcomes[connection] = done[:-1] + send(
                adapters[connection], connection, plans[connection][len(done) - 1 :]
            )
    return outcomes


def confined(adapter):
    """The adapter, with its OAuth refresh (which writes the new token) refused off the task's
    thread: a sending thread hands that change back instead (`Outcome.deferred`)."""
    refresh = adapter.refresh_credentials
    if refresh is None:
        return adapter
    owner = threading.get_ident()

    def refresh_on_the_task_thread():
        if threading.get_ident() != owner:
            raise NeedsTaskThread
        return refresh()

    adapter.refresh_credentials = refresh_on_the_task_thread
    return adapter


def send(adapter, connection: Connection, changes: list[tuple]) -> list[Outcome]:
    """One connection's changes to its provider, in order, with no database access: a
    retryable failure or a change waiting for its retry time stops the sequence (later
    changes wait: order per connection is kept); a permanent failure does not."""
    now = timezone.now()
    outcomes = []
    for change, link in changes:
        if change.next_attempt_at and change.next_attempt_at > now:
            outcomes.append(Outcome(change, link, waiting=True))
            break
        try:
            result = push_one(adapter, connection, change, link)
        except ProviderError as error:
            outcomes.append(Outcome(change, link, error=error))
            if error.retryable:
                break
            continue
        except NeedsTaskThread:
            outcomes.append(Outcome(change, link, deferred=True))
            break
        outcomes.append(Outcome(change, link, result=result))
    return outcomes


def write_down(
    outcomes: dict[Connection, list[Outcome]],
    runs: dict[str, PushRun],
    events: list | None,
    superseded: Sequence[int] = (),
) -> None:
    """Record the outcomes: every success of the run together, with the changes the round
    superseded (mark_sent), then each connection's failures in its order: a retry scheduled,
    or failed for good."""
    sent = []
    for connection, done in outcomes.items():
        run = runs[str(connection.pk)]
        for outcome in done:
            if outcome.waiting:
                run.retry_at = outcome.change.next_attempt_at
                break
            if outcome.error is None:
                sent.append((connection, outcome))
                run.sent += 1
    mark_sent(sent, events, superseded)
    for connection, done in outcomes.items():
        run = runs[str(connection.pk)]
        try:
            for outcome in done:
                if outcome.error is None:
                    continue
                if outcome.error.retryable:
                    run.retry_at = schedule_retry(connection, outcome.change, outcome.error)
                    break
                fail(connection, outcome.change, outcome.error)
                run.failed += 1
        except Exception as error:  # one connection's bug must not keep the others back
            logger.exception(PUSH_BROKE, connection.pk)
            run.error = error


def without_superseded(changes: list[OutboundChange]) -> tuple[list[OutboundChange], list[int]]:
    """The changes worth pushing, and the ids of those skipped: one whose record has a later
    pending change is superseded (marked so with the round's outcomes: until then it is still
    pending, and a run that dies before writing down leaves it for the next to skip again).

    A change carries its record's whole state and push_one picks create, update or delete from
    the link, so the record's latest change alone leaves the system as the earlier ones would
    have, and a record edited many times while its pushes wait (a burst, an outage) costs one
    push per system, not one per edit. A change waiting for its retry time is never skipped:
    the later ones would jump its backoff.
    """
    now = timezone.now()
    latest = {record_of(change): change.pk for change in changes}
    keep, superseded = [], []
    for change in changes:
        waiting = change.next_attempt_at is not None and change.next_attempt_at > now
        if latest[record_of(change)] != change.pk and not waiting:
            superseded.append(change.pk)
        else:
            keep.append(change)
    return keep, superseded


def mark_superseded(change_ids: Sequence[int]) -> None:
    if change_ids:
        OutboundChange.objects.filter(
            pk__in=change_ids, status=OutboundChange.Status.PENDING
        ).update(status=OutboundChange.Status.SUPERSEDED)


def push_one(
    adapter, connection: Connection, change: OutboundChange, link: RecordLink | None
) -> PushResult | None:
    resource = resource_for(connection, change.kind)
    action = change.action
    live = link is not None and not link.deleted
    if connection.spec.resources[resource].linked_only and (
        not live or action == OutboundChange.Action.DELETE
    ):
        return None  # the vendor's own record: kept up to date, never made again nor deleted
    if action == OutboundChange.Action.CREATE and live:
        action = OutboundChange.Action.UPDATE
    elif action == OutboundChange.Action.UPDATE and not live:
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
        base=link.current_body if link and action != "create" else None,
    )
    try:
        return adapter.push(request)
    except ProviderError as error:
        if error.kind != "precondition_failed" or request.external_id is None:
            raise
        # Someone changed it since we last synced: ours is the later change, so write it over
        # their current version (conflict detection sees theirs through the pull/webhook).
        current = adapter.fetch(resource, request.external_id)
        request.version, request.base = current.version, current.body
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
    sent: list[tuple[Connection, Outcome]],
    run_events: list | None = None,
    superseded: Sequence[int] = (),
) -> None:
    """Record pushes the providers accepted: their record links, then the changes as sent,
    then the changes they `superseded`.

    The links, then the changes, are written in that order (update_each), every row with its
    own values (each system's etag), the three statements in one round trip (one_round_trip).
    A crash between them leaves the changes pending with their links already current, and
    pushing again is the same write with the current etag. A new link is made under a row
    lock; a connection row is written only when a success has something to clear, and its last
    success once per run (release_leases). The live events go to `run_events` when given (sent
    by the caller once the run is handed over), else now.
    """
    if not sent:
        mark_superseded(superseded)
        return
    now = timezone.now()
    links: list[tuple[int, dict]] = []  # (link id, its values)
    for connection, outcome in sent:
        change, result, link = outcome.change, outcome.result, outcome.link
        if result is None:
            continue  # a deletion of what never reached the provider
        if link is None or link.external_id != result.external_id:
            with transaction.atomic():
                link, _ = RecordLink.objects.select_for_update().get_or_create(
                    connection=connection,
                    resource=resource_for(connection, change.kind),
                    external_id=result.external_id,
                    defaults={"kind": change.kind},
                )
        links.append((link.pk, link_values(change, result, now)))
        change.external_id = result.external_id
    with one_round_trip():  # nothing in it may read what a statement did (rowcount, rows)
        update_each(RecordLink, links, keep_if_none=("version", "body", "body_version"))
        update_each(
            OutboundChange,
            (
                (
                    outcome.change.pk,
                    {
                        "status": OutboundChange.Status.SENT,
                        "sent_at": now,
                        "last_error": "",
                        "external_id": outcome.change.external_id,
                    },
                )
                for _, outcome in sent
            ),
            increment=("attempts",),
        )
        mark_superseded(superseded)
    log_calendar_events_created(sent)
    for connection in {connection for connection, _ in sent}:
        if needs_recovery(connection):
            recovered(connection)
    events = [
        (
            outcome.change.wedding_id,
            EventType.SYNC_PUSH_SUCCEEDED,
            {
                "connection": str(connection.pk),
                "provider": connection.provider,
                "kind": outcome.change.kind,
                "id": str(outcome.change.object_id),
                "action": outcome.change.action,
            },
        )
        for connection, outcome in sent
    ]
    if run_events is not None:
        run_events.extend(events)
    else:
        broadcast_all_on_commit(events)


def log_calendar_events_created(sent: list[tuple[Connection, Outcome]]) -> None:
    """The seed's calendar_event_created: an event the hub made in a vendor's calendar (not an
    update of one it made before), in the wedding's integration event log."""
    made = [
        (connection, outcome.change)
        for connection, outcome in sent
        if outcome.result is not None
        and (outcome.link is None or outcome.link.deleted)
        and outcome.change.kind == "timeline_item"
        and outcome.change.action != OutboundChange.Action.DELETE
        and connection.spec.category == "calendar_system"
    ]
    if not made:
        return
    weddings = Wedding.objects.in_bulk({change.wedding_id for _, change in made})
    IntegrationEvent.objects.bulk_create(
        IntegrationEvent(
            wedding=weddings[change.wedding_id],
            event_type=IntegrationEvent.Type.CALENDAR_EVENT_CREATED,
            source_connection=connection,
            source_system=connection.provider,
            affected_organizations=[str(connection.organization_id)],
            is_wedding_day=weddings[change.wedding_id].is_today(),
            summary=f"{connection.provider_name}: added {change.fields.get('title', '')}"[:300],
            data={"id": str(change.object_id), "external_id": change.external_id},
        )
        for connection, change in made
        if change.wedding_id in weddings
    )


def link_values(change: OutboundChange, result: PushResult, now: dt.datetime) -> dict:
    """A pushed record's link as the push left it: the record's state, and the provider's
    version (etag) and, where the provider's copy is known exactly (PushResult.body), that copy
    at that version; None keeps what the link has (update_each's keep_if_none)."""
    deleted = change.action == OutboundChange.Action.DELETE
    snapshot = {} if deleted else snapshot_of(change.fields)
    version = result.version or None
    known = version is not None and result.body is not None
    return {
        "object_id": change.object_id,
        "snapshot": snapshot,
        "fields_hash": fields_hash(snapshot, deleted),
        "deleted": deleted,
        "updated_at": now,
        "version": version,
        "body": result.body if known else None,
        "body_version": version if known else None,
    }


def recovered(connection: Connection) -> None:
    """A success after failures: clear them, the error status and the circuit."""
    connection.refresh_from_db(fields=["consecutive_failures", "status", "circuit_open_until"])
    connection.record_success()
    connection.circuit_open_until = None
    connection.save(
        update_fields=["last_success_at", "consecutive_failures", "status", "circuit_open_until"]
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
