"""Storing what a provider holds of a record: newest state wins, the same state changes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from integrations.adapters.base import ExternalRecord
from integrations.inserts import upsert_locked
from integrations.models import Connection, RecordLink
from integrations.updates import save_fields

CREATED, UPDATED, UNCHANGED, STALE = "created", "updated", "unchanged", "stale"


def fields_hash(fields: dict[str, Any], deleted: bool = False) -> str:
    """A stable hash of a normalized record: key order and JSON spacing do not matter."""
    canonical = json.dumps(
        {"fields": fields, "deleted": deleted}, sort_keys=True, cls=DjangoJSONEncoder
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def snapshot_of(fields: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(fields, cls=DjangoJSONEncoder))


STATE_FIELDS = (
    "version",
    "source_modified",
    "fields_hash",
    "snapshot",
    "deleted",
    "body",
    "body_version",
)


def body_of(record: ExternalRecord) -> dict[str, str]:
    """The link's `body` and `body_version` for the record: the provider's copy at its version
    when the adapter gives one (CalDAV), so the next update merges into it without reading it
    first (RecordLink.body); else none."""
    if record.body is None:
        return {"body": "", "body_version": ""}
    return {"body": record.body, "body_version": record.version or ""}


def keep_body(link: RecordLink, record: ExternalRecord) -> None:
    for name, value in body_of(record).items():
        setattr(link, name, value)


def store_record(
    connection: Connection, record: ExternalRecord, *, occurred_at: dt.datetime | None = None
) -> tuple[str, RecordLink]:
    """Record the provider's current state of one record; returns what happened and the link.

    The provider's own time (the record's modification time, else the event's) orders states:
    a state older than the one stored is `stale` and changes nothing, whatever order the
    deliveries arrived in. Runs inside the caller's transaction, with the link row locked.
    """
    modified = record.modified or occurred_at
    digest = fields_hash(record.fields, record.deleted)
    with transaction.atomic(savepoint=False):  # the caller's transaction; no savepoint of ours
        link, created = locked_link(connection, record, modified, digest)
        link.previous_snapshot = None if created else dict(link.snapshot)  # the base, for merges
        if created:
            return CREATED, link
        if modified and link.source_modified and modified < link.source_modified:
            return STALE, link
        if record.partial:
            fields = {**link.snapshot, **snapshot_of(record.fields)}
            record = dataclasses.replace(record, fields=fields, partial=False)
            digest = fields_hash(fields, record.deleted)
        if digest == link.fields_hash:
            changed = []
            if modified and (link.source_modified is None or modified > link.source_modified):
                link.source_modified = modified
                changed.append("source_modified")
            if record.version and record.version != link.version:
                # Only what we do not map changed (an alarm, an attendee): nothing to apply,
                # but the next update must be conditional on this version, merged into it.
                link.version = record.version
                keep_body(link, record)
                changed += ["version", "body", "body_version"]
            if changed:
                save_fields(link, changed)
            return UNCHANGED, link
        link.version = record.version or ""
        keep_body(link, record)
        link.source_modified = modified or link.source_modified
        link.fields_hash = digest
        link.snapshot = snapshot_of(record.fields)
        link.deleted = record.deleted
        save_fields(link, STATE_FIELDS)
        return UPDATED, link


def locked_link(
    connection: Connection, record: ExternalRecord, modified: dt.datetime | None, digest: str
) -> tuple[RecordLink, bool]:
    """The record's link, row-locked until the caller's transaction ends, and whether it is new:
    one INSERT ... ON CONFLICT DO UPDATE ... RETURNING (integrations.inserts.upsert_locked)."""
    now = timezone.now()
    values = {
        "connection": connection.pk,
        "resource": record.resource,
        "external_id": record.external_id,
        "kind": record.kind,
        "object_id": None,
        "version": record.version or "",
        "source_modified": modified,
        "fields_hash": digest,
        "snapshot": snapshot_of(record.fields),
        "deleted": record.deleted,
        **body_of(record),
        "created_at": now,
        "updated_at": now,
    }
    link, created = upsert_locked(
        RecordLink, values, unique=("connection", "resource", "external_id")
    )
    link.connection = connection
    return link, created
