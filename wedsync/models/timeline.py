"""The run of the day: what happens when, where, and who is responsible."""

import uuid

from django.core.exceptions import ValidationError
from django.db import models

from .organizations import Organization
from .weddings import Wedding


class TimelineItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    wedding = models.ForeignKey(Wedding, on_delete=models.CASCADE, related_name="timeline")
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField(help_text="Stored in UTC; shown in the wedding's time zone.")
    ends_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=200, blank=True)
    responsible_organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="timeline_items",
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["wedding", "starts_at"]
        indexes = [models.Index(fields=["wedding", "starts_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gte=models.F("starts_at")),
                name="timeline_item_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        local = self.starts_at.astimezone(self.wedding.zone)
        return f"{local:%H:%M} {self.title}"

    def clean(self) -> None:
        errors = {}
        if self.ends_at and self.starts_at and self.ends_at < self.starts_at:
            errors["ends_at"] = "The end must not be before the start."
        if (
            self.responsible_organization_id
            and self.wedding_id
            and not self.wedding.participants.filter(
                organization_id=self.responsible_organization_id
            ).exists()
        ):
            errors["responsible_organization"] = (
                "This organization does not take part in the wedding."
            )
        if errors:
            raise ValidationError(errors)
