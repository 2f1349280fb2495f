"""Notifications that name a record, not a change (Acuity's `action=changed&id=...`).

With no event id from the provider a delivery is de-duplicated by a hash of its body, and for
these the same bytes come again with the next change of the same record. Until one of them is
taken up for processing, a delivery with the same bytes is a duplicate: the fetch to come brings
the provider's state at that time, which covers both. When it is taken up its key is released
(renamed `<key>#<id>`), so the same bytes arriving later are stored as news and fetched again.

A repeat taken up when an identical delivery received less than WEBHOOK_REPEAT_SECONDS before
was fetched is not fetched itself (renamed `<key>~<id>`; the next fetch or pull brings what it
announces): replaying a captured delivery cannot make the hub call the provider more than once
in that many seconds.
"""

from __future__ import annotations

import datetime as dt
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from integrations.adapters.base import WebhookItem
from integrations.models import Connection, InboundEvent

from .ingest import HASHED_KEY

# Schemes whose deliveries carry no event id and no time: the same bytes for every change of a
# record. (Others without an id, Calendly's, carry the time of the change: the same bytes there
# are the same notification sent again, a duplicate whenever it comes.)
REPEATING_SCHEMES = frozenset({"acuity"})
FETCHED = "#"
NOT_FETCHED = "~"


def take_up(connection: Connection, event_ids: list[int], items: list[WebhookItem]) -> int | None:
    """Release the body-hash keys of these events before what they name is fetched. Returns the
    id of an identical delivery received less than WEBHOOK_REPEAT_SECONDS ago and fetched, if
    there is one: then fetch nothing."""
    if connection.spec.webhook_scheme not in REPEATING_SCHEMES:
        return None
    if not any(item.record is None for item in items):
        return None  # the delivery carries its record: distinct changes are distinct bytes
    hashed = (
        InboundEvent.objects.filter(pk__in=event_ids, dedup_key__startswith=HASHED_KEY)
        .exclude(dedup_key__contains=FETCHED)
        .exclude(dedup_key__contains=NOT_FETCHED)
    )
    keys = set(hashed.values_list("dedup_key", flat=True))
    if not keys:
        return None
    since = timezone.now() - dt.timedelta(seconds=settings.WEBHOOK_REPEAT_SECONDS)
    recent = (
        InboundEvent.objects.filter(
            reduce(or_, (Q(dedup_key__startswith=f"{key}{FETCHED}") for key in keys)),
            connection=connection,
            received_at__gte=since,
        )
        .values_list("pk", flat=True)
        .first()
    )
    mark = NOT_FETCHED if recent is not None else FETCHED
    hashed.update(dedup_key=Concat(F("dedup_key"), Value(mark), Cast("id", CharField())))
    return recent
