"""The sync engine's records: the outbox, sync runs and the integration event log."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from wedsync.models import Wedding

from .connection import Connection


class OutboundChange(models.Model):
    """One change of ours waiting to reach one connection (the transactional outbox).

    Written in the same transaction as the change itself; pushed by Celery in id order per
    connection, so changes to one record arrive in the order they were made.
    """

    class Action(models.TextChoices):
        CREATE = "create", "Create"
        UPDATE = "update", "Update"
        DELETE = "delete", "Delete"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (permanent)"
        SUPERSEDED = "superseded", "Superseded (a later change of the record went instead)"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="outbox")
    wedding = models.ForeignKey(Wedding, on_delete=models.CASCADE, related_name="+", null=True)
    kind = models.CharField(max_length=32)
    object_id = models.UUIDField()
    action = models.CharField(max_length=8, choices=Action.choices)
    fields = models.JSONField(default=dict, blank=True)
    source_connection = models.ForeignKey(
        Connection, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    external_id = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["connection", "status", "id"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.action} {self.kind} {self.object_id} -> {self.connection}"


class SyncRun(models.Model):
    """One pull (and what it applied) for one connection."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Manual"
        API = "api", "API"
        WEBHOOK = "webhook", "Webhook"

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="sync_runs")
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    full = models.BooleanField(default=False)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    pulled = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    deleted = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.connection} {self.trigger} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration_ms(self) -> int | None:
        if not self.finished_at:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


class IntegrationEvent(models.Model):
    """The integration event log: what changed, from which system, for which wedding."""

    class Type(models.TextChoices):
        WEDDING_TIMELINE_UPDATE = "wedding_timeline_update"
        VENDOR_STATUS_CHANGE = "vendor_status_change"
        BUDGET_MODIFICATION = "budget_modification"
        GUEST_LIST_UPDATE = "guest_list_update"
        PAYMENT_STATUS_CHANGE = "payment_status_change"
        COMMUNICATION_SENT = "communication_sent"
        DOCUMENT_SHARED = "document_shared"
        CALENDAR_EVENT_CREATED = "calendar_event_created"
        EMERGENCY_NOTIFICATION = "emergency_notification"

    wedding = models.ForeignKey(
        Wedding, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    event_type = models.CharField(max_length=40, choices=Type.choices, db_index=True)
    source_connection = models.ForeignKey(
        Connection, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source_system = models.CharField(max_length=64)
    affected_organizations = models.JSONField(default=list, blank=True)
    is_wedding_day = models.BooleanField(default=False)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event_type}: {self.summary}"
