"""What other apps ask of messaging: keep an announcement's deliveries, take a reply as an
acknowledgement, and list a wedding's announcements."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from django.utils import timezone

from wedsync.models import Wedding

from .models import Announcement, Delivery

# A reply this long after the announcement is a new conversation, not an acknowledgement.
ACKNOWLEDGES_WITHIN = dt.timedelta(hours=48)
CLOCK_SKEW = dt.timedelta(minutes=1)  # a provider's whole-second times against ours


def record_announcement(
    *,
    announcement_id: uuid.UUID,
    wedding: Wedding,
    text: str,
    emergency: bool,
    author: str,
    deliveries: Iterable[dict[str, Any]],
) -> Announcement:
    """Keep the announcement and its deliveries (each: organization_id, provider,
    connection_id, destination, message_id), in the caller's transaction."""
    announcement = Announcement.objects.create(
        id=announcement_id, wedding=wedding, text=text, emergency=emergency, author=author[:150]
    )
    Delivery.objects.bulk_create(
        Delivery(announcement=announcement, **delivery) for delivery in deliveries
    )
    return announcement


def acknowledge(
    connection_id: uuid.UUID, number: str, reply: str, at: dt.datetime | None = None
) -> Delivery | None:
    """A text from `number` to the connection that sent it an announcement lately acknowledges
    the latest one not acknowledged yet; None when there is none."""
    at = at or timezone.now()
    delivery = (
        Delivery.objects.select_related("announcement")
        .filter(
            connection_id=connection_id,
            destination=number,
            acknowledged_at__isnull=True,
            announcement__created_at__gte=at - ACKNOWLEDGES_WITHIN,
            announcement__created_at__lte=at + CLOCK_SKEW,
        )
        .order_by("-announcement__created_at")
        .first()
    )
    if delivery is None:
        return None
    delivery.acknowledged_at, delivery.reply = at, reply[:1000]
    delivery.save(update_fields=["acknowledged_at", "reply"])
    return delivery


SendingStates = Callable[[list[uuid.UUID]], dict[uuid.UUID, dict[str, Any]]]


def history(wedding: Wedding, sending_states: SendingStates, limit: int = 50) -> list[dict]:
    """The wedding's latest announcements with each delivery's state: `sending_states` maps
    message ids to {status, sent_at, last_error, next_attempt_at} (the outbox's, kept by the
    integrations app)."""
    announcements = list(
        Announcement.objects.filter(wedding=wedding).prefetch_related("deliveries__organization")[
            :limit
        ]
    )
    states = sending_states([d.message_id for a in announcements for d in a.deliveries.all()])
    return [
        {
            "id": a.id,
            "text": a.text,
            "emergency": a.emergency,
            "author": a.author,
            "created_at": a.created_at,
            "deliveries": [
                {
                    "organization": d.organization.name,
                    "provider": d.provider,
                    "destination": d.destination,
                    **states.get(d.message_id, {"status": "unknown"}),
                    "acknowledged_at": d.acknowledged_at,
                    "reply": d.reply,
                }
                for d in a.deliveries.all()
            ],
        }
        for a in announcements
    ]
