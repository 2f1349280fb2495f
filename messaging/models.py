"""A coordinator's announcement to everyone on a wedding, and where each copy of it went: the
history a coordinator checks on the day (did the storm warning reach the venue's phones, and
who answered)."""

from __future__ import annotations

import uuid

from django.db import models

from wedsync.models import Organization, Wedding


class Announcement(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    wedding = models.ForeignKey(Wedding, on_delete=models.CASCADE, related_name="announcements")
    text = models.TextField()
    emergency = models.BooleanField(default=False)
    author = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{'Emergency' if self.emergency else 'Announcement'}: {self.text[:60]}"


class Delivery(models.Model):
    """One copy: a Slack channel or a phone number, through one organization's connection. Its
    sending state is the outbox row's (`message_id` is the row's object id); a reply from the
    number it went to acknowledges it."""

    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="deliveries"
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=50)
    connection_id = models.UUIDField()
    destination = models.CharField(max_length=100)
    message_id = models.UUIDField(unique=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    reply = models.TextField(blank=True)

    class Meta:
        ordering = ["organization__name", "provider", "destination"]
        indexes = [models.Index(fields=["connection_id", "destination"])]
        verbose_name_plural = "deliveries"

    def __str__(self) -> str:
        return f"{self.provider} to {self.destination}"
