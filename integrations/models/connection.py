"""Connections: one organization's link to one provider."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from integrations.crypto import EncryptedJSONField, EncryptedTextField
from wedsync.models import Organization


def new_webhook_token() -> str:
    """The unguessable part of a connection's inbound URL (256 bits)."""
    return secrets.token_urlsafe(32)


class Connection(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACTIVE = "active", "Active"
        NEEDS_REAUTH = "needs_reauth", "Needs re-authorization"
        ERROR = "error", "Error"
        PAUSED = "paused", "Paused"
        REVOKED = "revoked", "Revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="connections"
    )
    provider = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    credentials = EncryptedJSONField(null=True, blank=True, editable=False)
    webhook_secret = EncryptedTextField(null=True, blank=True, editable=False)
    webhook_token = models.CharField(
        max_length=64, unique=True, default=new_webhook_token, editable=False
    )
    config = models.JSONField(default=dict, blank=True, help_text="Non-secret settings.")
    cursors = models.JSONField(default=dict, blank=True, editable=False)
    external_account_id = models.CharField(max_length=200, blank=True)
    external_account_name = models.CharField(max_length=200, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    circuit_open_until = models.DateTimeField(
        null=True, blank=True, help_text="After repeated failures, calls wait until then."
    )
    push_lease_until = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="One pusher at a time per connection keeps its changes in order.",
    )
    push_lease_holder = models.CharField(
        max_length=32,
        blank=True,
        default="",
        editable=False,
        help_text="The process holding the push lease; its lease is free once it is dead.",
    )
    sync_interval_minutes = models.PositiveIntegerField(
        default=15, help_text="How often the scheduled pull runs (0: never)."
    )
    next_sync_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization__name", "provider"]
        indexes = [models.Index(fields=["status", "provider"])]

    def __str__(self) -> str:
        return f"{self.provider_name} for {self.organization}"

    def __repr__(self) -> str:
        # Never the credentials: only what identifies the row.
        return f"<Connection {self.pk} {self.provider} {self.status}>"

    @classmethod
    def from_db(cls, db, field_names, values):
        connection = super().from_db(db, field_names, values)
        # the status as stored, so that a save can tell it changed (integrations.health)
        connection._saved_status = connection.__dict__.get("status")
        return connection

    def refresh_from_db(self, using=None, fields=None, from_queryset=None) -> None:
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        if fields is None or "status" in fields:
            self._saved_status = self.status

    @property
    def spec(self):
        from integrations.registry import get_provider

        return get_provider(self.provider)

    @property
    def provider_name(self) -> str:
        try:
            return self.spec.name
        except LookupError:
            return self.provider

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials)

    @property
    def has_webhook_secret(self) -> bool:
        return bool(self.webhook_verification_secret)

    @property
    def webhook_verification_secret(self) -> str | None:
        """What verifies this connection's webhooks: the credential the spec names for it
        (Twilio's Auth Token), else the webhook secret."""
        try:
            field = self.spec.webhook_secret_credential
        except LookupError:
            field = None
        if field:
            return (self.credentials or {}).get(field) or None
        return self.webhook_secret

    @property
    def webhook_verify_token(self) -> str | None:
        """The verify token of a subscription handshake the hub answers for this connection
        (WhatsApp's hub.verify_token), for the vendor to type into the provider's dashboard.
        Chosen by the hub, never a secret of the vendor's: an HMAC of the connection id with
        the hub's SECRET_KEY, so nothing is stored (rotating SECRET_KEY changes it; Meta only
        checks it when the callback URL is saved)."""
        try:
            scheme = self.spec.webhook_scheme
        except LookupError:
            return None
        if scheme != "whatsapp":
            return None
        return salted_hmac("integrations.webhook_verify_token", str(self.pk)).hexdigest()[:40]

    # What a pull, a check or a push writes of a connection: its health. Saved alone, so that a
    # row read around a provider call never writes back what others changed meanwhile (an
    # OAuth token refreshed by a pusher, a push lease, the cursors).
    HEALTH_FIELDS = (
        "status",
        "last_success_at",
        "last_error_at",
        "last_error",
        "consecutive_failures",
    )

    def refresh_health(self) -> None:
        """Read the health as stored now (record_success/record_failure build on it)."""
        self.refresh_from_db(fields=self.HEALTH_FIELDS)

    def save_health(self, *also: str) -> None:
        """Save the health, and the fields named in `also`; nothing else of the row."""
        self.save(update_fields=[*self.HEALTH_FIELDS, *also, "updated_at"])

    def record_success(self) -> None:
        self.last_success_at = timezone.now()
        self.consecutive_failures = 0
        if self.status == self.Status.ERROR:
            self.status = self.Status.ACTIVE

    def record_failure(self, message: str) -> None:
        self.last_error_at = timezone.now()
        self.last_error = message[:1000]
        self.consecutive_failures += 1
