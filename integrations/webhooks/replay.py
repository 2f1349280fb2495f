"""Replaying stored inbound events: they are processed again from their stored bytes."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from integrations.models import InboundEvent

from .dispatch import queue_processing


def replay(event_ids: Iterable[int]) -> int:
    """Queue the events again (processing is idempotent: the same state changes nothing).

    Held events stay held: they wait for their connection to be resumed.
    """
    with transaction.atomic():
        events = list(
            InboundEvent.objects.select_for_update()
            .filter(pk__in=list(event_ids))
            .exclude(status=InboundEvent.Status.HELD)
            .order_by("received_at", "pk")
            .values_list("pk", "connection__organization_id")
        )
        InboundEvent.objects.filter(pk__in=[pk for pk, _ in events]).update(
            status=InboundEvent.Status.RECEIVED, next_attempt_at=None, last_error=""
        )
        for event_id, organization_id in events:
            transaction.on_commit(lambda e=event_id, o=organization_id: queue_processing(e, o))
    return len(events)
