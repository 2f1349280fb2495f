"""Inbound webhook events: stored (raw body and headers) before the provider gets its 2xx."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from .connection import Connection

# Headers never stored: they carry credentials rather than facts about the delivery.
UNSTORED_HEADERS = frozenset({"authorization", "cookie", "x-wedsync-secret", "proxy-authorization"})


class InboundEvent(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored"
        HELD = "held", "Held (connection paused)"

    # Few indexes: every delivery inserts into each, and every processed event (a change of
    # status) again. The dedup constraint leads with the connection; `inbound_event_due` with
    # the status.
    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="inbound_events", db_index=False
    )
    provider = models.CharField(max_length=64)
    dedup_key = models.CharField(
        max_length=200, help_text="The provider's event id, or a SHA-256 of the body."
    )
    event_type = models.CharField(max_length=200, blank=True)
    body = models.BinaryField()
    headers = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    outcome = models.CharField(max_length=300, blank=True, help_text="What processing did.")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "dedup_key"], name="inbound_event_dedup")
        ]
        indexes = [
            models.Index(fields=["status", "received_at"], name="inbound_event_due"),
            # A connection's events still to process, for its drain; holds only those.
            models.Index(
                fields=["connection", "id"],
                condition=models.Q(status="received"),
                name="inbound_event_to_process",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.event_type or 'event'} #{self.pk}"

    def __repr__(self) -> str:
        return f"<InboundEvent {self.pk} {self.provider} {self.status}>"
