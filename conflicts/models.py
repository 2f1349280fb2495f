"""Conflicts between systems, and the policies that settle them, stored as data."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from integrations.models import Connection
from wedsync.models import Wedding

from .policies import KINDS, Policy


class ConflictPolicy(models.Model):
    """A resolution rule for one wedding (or every wedding, when `wedding` is empty)."""

    wedding = models.ForeignKey(
        Wedding, on_delete=models.CASCADE, null=True, blank=True, related_name="conflict_policies"
    )
    kind = models.CharField(max_length=20, choices=[(k, k.replace("_", " ")) for k in KINDS])
    field = models.CharField(max_length=100, blank=True, help_text="e.g. starts_at, venue")
    data_type = models.CharField(max_length=32, blank=True, help_text="e.g. timeline_item")
    source = models.CharField(
        max_length=64, blank=True, help_text="Source of truth: a provider key or a role (venue)."
    )
    wedding_day = models.BooleanField(default=False, help_text="Only on the wedding day.")
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "conflict policies"
        ordering = ["wedding", "field", "data_type"]

    def __str__(self) -> str:
        target = self.field or self.data_type or "any field"
        return f"{self.kind.replace('_', ' ')} for {target}" + (
            f" ({self.source})" if self.source else ""
        )

    def as_policy(self) -> Policy:
        return Policy(
            self.kind,
            field=self.field or None,
            data_type=self.data_type or None,
            source=self.source or None,
            wedding_day=self.wedding_day,
        )


class Conflict(models.Model):
    """One field (or group of fields) that two systems changed differently since the base."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a person"
        RESOLVED = "resolved", "Resolved by a person"
        AUTO = "auto", "Settled by policy"

    wedding = models.ForeignKey(Wedding, on_delete=models.CASCADE, related_name="conflicts")
    kind = models.CharField(max_length=32)
    object_id = models.UUIDField()
    path = models.CharField(max_length=200)
    fields = models.JSONField(default=list)
    base = models.JSONField(null=True, blank=True)
    ours = models.JSONField(null=True, blank=True)
    theirs = models.JSONField(null=True, blank=True)
    ours_system = models.CharField(max_length=64, default="hub")
    theirs_system = models.CharField(max_length=64)
    theirs_connection = models.ForeignKey(
        Connection, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    theirs_modified = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, db_index=True)
    emergency = models.BooleanField(default=False)
    resolution = models.JSONField(null=True, blank=True)
    policy = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["wedding", "status"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.path}: {self.ours_system} vs {self.theirs_system}"
