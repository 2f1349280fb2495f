"""Pulling a connection: incremental by the provider's cursor, applied like a webhook.

Records and the cursor that covers them commit in one transaction per resource, so a crash never
saves a cursor past records that were not stored. A full listing (first pull, or after the
provider refused the cursor) infers deletions, but a sudden mass deletion pauses the connection
for a person instead of wiping a wedding.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from integrations import services
from integrations.adapters.base import ExternalRecord
from integrations.errors import ProviderError
from integrations.models import Connection, RecordLink, SyncRun
from integrations.sync.apply import apply_record, worth_applying
from integrations.sync.records import CREATED, UNCHANGED, UPDATED, store_record

MASS_DELETION_MIN = 10  # deleting fewer records than this is never "mass"
MASS_DELETION_SHARE = 0.5  # more than half of what we knew vanished at once


class MassDeletion(Exception):
    pass


def pullable(connection: Connection) -> bool:
    try:
        spec = connection.spec
    except LookupError:
        return False
    return spec.has("pull") and bool(spec.resources) and spec.auth.method != "bridge"


def pull_connection(connection: Connection, trigger: str = SyncRun.Trigger.SCHEDULE) -> SyncRun:
    run = SyncRun.objects.create(connection=connection, trigger=trigger)
    adapter = services.adapter_for(connection)
    try:
        for resource in connection.spec.resources:
            pull_resource(connection, adapter, resource, run)
        run.status = SyncRun.Status.SUCCEEDED
        connection.refresh_health()
        connection.record_success()
    except (ProviderError, MassDeletion) as error:
        run.status = SyncRun.Status.FAILED
        run.error = str(error)[:2000]
        connection.refresh_health()
        connection.record_failure(str(error))
        if isinstance(error, MassDeletion):
            connection.status = Connection.Status.PAUSED
    run.finished_at = timezone.now()
    run.save()
    connection.next_sync_at = timezone.now() + dt.timedelta(
        minutes=connection.sync_interval_minutes or 15
    )
    connection.save_health("next_sync_at")
    return run


def pull_resource(connection: Connection, adapter, resource: str, run: SyncRun) -> None:
    cursor = connection.cursors.get(resource)
    result = adapter.pull(resource, cursor)
    run.pulled += len(result.records)
    run.full = run.full or result.full
    with transaction.atomic():
        vanished = vanished_links(connection, resource, result.records) if result.full else []
        known = RecordLink.objects.filter(
            connection=connection, resource=resource, deleted=False
        ).count()
        if len(vanished) >= MASS_DELETION_MIN and len(vanished) > known * MASS_DELETION_SHARE:
            raise MassDeletion(
                f"{len(vanished)} of {known} {resource} records vanished at once; the connection "
                "is paused until a person checks it"
            )
        deletions = [
            ExternalRecord(
                resource=resource,
                kind=link.kind,
                external_id=link.external_id,
                fields={},
                deleted=True,
            )
            for link in vanished
        ]
        for record in [*result.records, *deletions]:
            outcome, link = store_record(connection, record)
            if outcome in (CREATED, UPDATED):
                apply_record(connection, link, record)
                run.applied += 1
                run.deleted += int(record.deleted)
            elif outcome == UNCHANGED:
                run.unchanged += 1
                if worth_applying(outcome, link, record):
                    apply_record(connection, link, record)
        cursors = {**Connection.objects.get(pk=connection.pk).cursors, resource: result.cursor}
        Connection.objects.filter(pk=connection.pk).update(cursors=cursors)
        connection.cursors = cursors


def vanished_links(connection: Connection, resource: str, records) -> list[RecordLink]:
    present = {record.external_id for record in records}
    return [
        link
        for link in RecordLink.objects.filter(
            connection=connection, resource=resource, deleted=False
        )
        if link.external_id not in present
    ]
