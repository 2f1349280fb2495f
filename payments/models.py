"""A payment a vendor took for a wedding, as the vendor's payment system last reported it."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from wedsync.models import Organization, Wedding


class Payment(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        REFUNDED = "refunded", "Refunded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"
        OTHER = "other", "Other"

    wedding = models.ForeignKey(Wedding, on_delete=models.CASCADE, related_name="payments")
    organization = models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="payments_taken",
        help_text="The vendor paid.",
    )
    provider = models.CharField(max_length=50)
    # The connection and the provider's id of the payment: a payment is recorded once per
    # connection, and a later report of it updates the row.
    source_connection_id = models.UUIDField()
    external_id = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    amount_refunded = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    currency = models.CharField(max_length=3)
    state = models.CharField(max_length=10, choices=State.choices)
    provider_status = models.CharField(max_length=50, blank=True)
    description = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_connection_id", "external_id"], name="payment_once_per_source"
            )
        ]
        indexes = [models.Index(fields=["wedding", "currency"])]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.currency} {self.amount} to {self.organization} ({self.state})"

    @property
    def paid(self) -> Decimal:
        """What counts as paid in the budget: the amount less refunds, once taken."""
        if self.state in (self.State.PAID, self.State.REFUNDED):
            return max(self.amount - self.amount_refunded, Decimal(0))
        return Decimal(0)

    @property
    def due(self) -> Decimal:
        """What is on its way (a payment started, not taken yet)."""
        return self.amount if self.state == self.State.PENDING else Decimal(0)
