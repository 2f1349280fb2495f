"""Calendar feeds: the address an organization subscribes to, its replacement, and the feed
itself for whoever holds a current address."""

from __future__ import annotations

import datetime as dt
import hashlib

from django.utils import timezone

from wedsync.models import Organization, Wedding, WeddingParticipant

from .ics import wedding_calendar
from .models import CalendarFeed, new_token

READ_NOTED_EVERY = dt.timedelta(hours=1)  # calendar apps poll; a write per poll is not needed


def feed_for(wedding: Wedding, organization: Organization) -> CalendarFeed:
    feed, _ = CalendarFeed.objects.get_or_create(wedding=wedding, organization=organization)
    return feed


def rotate(feed: CalendarFeed) -> CalendarFeed:
    """A new secret address; the old one answers 404 from now on."""
    feed.token = new_token()
    feed.rotated_at = timezone.now()
    feed.save(update_fields=["token", "rotated_at"])
    return feed


def read(token: str) -> tuple[bytes, str] | None:
    """The feed's iCalendar text and its ETag, or None when the address is unknown or its
    organization no longer takes part in the wedding."""
    feed = CalendarFeed.objects.select_related("wedding").filter(token=token).first()
    if (
        feed is None
        or not WeddingParticipant.objects.filter(
            wedding_id=feed.wedding_id, organization_id=feed.organization_id
        ).exists()
    ):
        return None
    now = timezone.now()
    if feed.last_read_at is None or now - feed.last_read_at > READ_NOTED_EVERY:
        CalendarFeed.objects.filter(pk=feed.pk).update(last_read_at=now)
    body = wedding_calendar(feed.wedding, feed.wedding.timeline.order_by("starts_at", "title"))
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'
