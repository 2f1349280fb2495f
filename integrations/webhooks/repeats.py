"""Notifications that name a record, not a change (Acuity's `action=changed&id=...`).

With no event id from the provider a delivery is de-duplicated by a hash of its body, and for
these the same bytes come again with the next change of the same record. Until one of them is
taken up for processing, a delivery with the same bytes is a duplicate: the fetch to come brings
the provider's state at that time, which covers both. When it is taken up its key is released
(renamed `<key>#<id>`), so the same bytes arriving later are stored as news and fetched again.

A repeat taken up when an identical delivery received less than WEBHOOK_REPEAT_SECONDS before
was fetched waits until those seconds have passed (its key kept: identical deliveries meanwhile
are duplicates of it) and is fetched then: a second change made within the window reaches the
hub when it ends, and replaying a captured delivery cannot make the hub call the provider more
than once in that many seconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
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
NOT_FETCHED = "~"  # marked repeats that were never fetched (before repeats waited instead)


@dataclass(frozen=True)
class Repeat:
    """An identical delivery fetched moments ago: wait until `until`, then fetch."""

    of: int
    until: dt.datetime


def take_up(
    connection: Connection, event_ids: list[int], items: list[WebhookItem]
) -> Repeat | None:
    """Release the body-hash keys of these events before what they name is fetched; or, when
    an identical delivery received less than WEBHOOK_REPEAT_SECONDS ago was fetched, keep them
    and say until when to wait (nothing is fetched now)."""
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
    window = dt.timedelta(seconds=settings.WEBHOOK_REPEAT_SECONDS)
    recent = (
        InboundEvent.objects.filter(
            reduce(or_, (Q(dedup_key__startswith=f"{key}{FETCHED}") for key in keys)),
            connection=connection,
            received_at__gte=timezone.now() - window,
        )
        .order_by("-received_at")
        .values_list("pk", "received_at")
        .first()
    )
    if recent is not None:
        return Repeat(of=recent[0], until=recent[1] + window)
    hashed.update(dedup_key=Concat(F("dedup_key"), Value(FETCHED), Cast("id", CharField())))
    return None
