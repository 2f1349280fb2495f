"""A wedding's calendar feed for one of its organizations: a secret address any calendar app
subscribes to (Apple Calendar, Google Calendar's "From URL", Outlook), for vendors whose
calendar the hub does not write to."""

from __future__ import annotations

import secrets

from django.db import models

from wedsync.models import Organization, Wedding


def new_token() -> str:
    return secrets.token_urlsafe(24)


class CalendarFeed(models.Model):
    wedding = models.ForeignKey(Wedding, on_delete=models.CASCADE, related_name="calendar_feeds")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    # The address's secret: whoever holds it reads the wedding's day, so it is shown only to
    # the organization's members and replaced on request (the old address stops at once).
    token = models.CharField(max_length=64, unique=True, default=new_token)
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["wedding", "organization"], name="one_feed_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.wedding} for {self.organization}"
