"""The wedding a record inside another belongs to: the one its parent is linked to.

A Táve event lives in a job, a bridge's timeline item, contact or payment names its project;
once the parent is stored, its link decides, whether it is attached to a wedding or to none
(another couple's job). Until then the caller's other rules decide.
"""

from __future__ import annotations

from typing import NamedTuple

from django.db.models import QuerySet

from integrations.adapters.base import ExternalRecord
from integrations.models import Connection, RecordLink
from wedsync.models import Wedding


class ParentWedding(NamedTuple):
    """`stored`: the parent is known; then `wedding` is its wedding among those allowed, or
    None when it is attached to none of them."""

    stored: bool
    wedding: Wedding | None = None


def parent_wedding(
    connection: Connection, record: ExternalRecord, weddings: QuerySet[Wedding]
) -> ParentWedding:
    if record.parent is None:
        return ParentWedding(stored=False)
    resource, external_id = record.parent
    row = (
        RecordLink.objects.filter(connection=connection, resource=resource, external_id=external_id)
        .values_list("object_id", "deleted")
        .first()
    )
    if row is None:
        return ParentWedding(stored=False)
    object_id, deleted = row
    wedding = weddings.filter(pk=object_id).first() if object_id and not deleted else None
    return ParentWedding(stored=True, wedding=wedding)
