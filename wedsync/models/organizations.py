"""Organizations (vendor businesses and planning companies) and who works for them."""

import uuid

from django.conf import settings
from django.db import models

from .validators import validate_time_zone


class Organization(models.Model):
    class Kind(models.TextChoices):
        PHOTOGRAPHER = "photographer", "Photographer"
        VIDEOGRAPHER = "videographer", "Videographer"
        PLANNER = "planner", "Planner / planning company"
        VENUE = "venue", "Venue"
        CATERER = "caterer", "Caterer"
        FLORIST = "florist", "Florist"
        MUSIC = "music", "Band / DJ"
        OFFICIANT = "officiant", "Officiant"
        OTHER = "other", "Other vendor"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    website = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's place in an organization; the role decides what they may change."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        COORDINATOR = "coordinator", "Coordinator"
        STAFF = "staff", "Staff"

    MANAGING_ROLES = (Role.OWNER, Role.COORDINATOR)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")
        ]
        ordering = ["organization__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) at {self.organization}"
