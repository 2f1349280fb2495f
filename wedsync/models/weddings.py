"""Weddings and the organizations taking part in them."""

import datetime as dt
import uuid
import zoneinfo

from django.db import models
from django.utils import timezone

from .organizations import Organization
from .validators import validate_time_zone


class WeddingQuerySet(models.QuerySet):
    def visible_to(self, user) -> "WeddingQuerySet":
        """Weddings in which one of the user's organizations participates."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(
            pk__in=WeddingParticipant.objects.filter(organization__memberships__user=user).values(
                "wedding_id"
            )
        )

    def happening_today(self, now: dt.datetime | None = None) -> list["Wedding"]:
        """Weddings whose date is today in their own time zone.

        Local dates lie within a day of the UTC date, so the database narrows to three dates
        and the time zone decides the rest.
        """
        now = now or timezone.now()
        utc_today = now.astimezone(dt.UTC).date()
        window = [utc_today + dt.timedelta(days=offset) for offset in (-1, 0, 1)]
        return [w for w in self.filter(date__in=window) if w.is_today(now)]


class Wedding(models.Model):
    class Status(models.TextChoices):
        INQUIRY = "inquiry", "Inquiry"
        BOOKED = "booked", "Booked"
        CONFIRMED = "confirmed", "Confirmed"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    couple_names = models.CharField(max_length=200, help_text="For example: Ana & Ben")
    date = models.DateField(db_index=True)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    venue_name = models.CharField(max_length=200, blank=True)
    venue_address = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BOOKED)
    guest_count = models.PositiveIntegerField(default=0)
    notes = models.TextField(blank=True)
    organizations = models.ManyToManyField(
        Organization, through="WeddingParticipant", related_name="weddings"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WeddingQuerySet.as_manager()

    class Meta:
        ordering = ["date", "couple_names"]
        indexes = [models.Index(fields=["status", "date"])]

    def __str__(self) -> str:
        return f"{self.couple_names} ({self.date:%Y-%m-%d})"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def is_today(self, now: dt.datetime | None = None) -> bool:
        """Whether the wedding is today where it takes place (not where the server is)."""
        now = now or timezone.now()
        return now.astimezone(self.zone).date() == self.date


class WeddingParticipant(models.Model):
    """Which organization plays which part in which wedding."""

    class Part(models.TextChoices):
        PLANNER = "planner", "Planner"
        PHOTOGRAPHER = "photographer", "Photographer"
        VIDEOGRAPHER = "videographer", "Videographer"
        VENUE = "venue", "Venue"
        CATERER = "caterer", "Caterer"
        FLORIST = "florist", "Florist"
        MUSIC = "music", "Band / DJ"
        OFFICIANT = "officiant", "Officiant"
        OTHER = "other", "Other"

    wedding = models.ForeignKey(Wedding, on_delete=models.CASCADE, related_name="participants")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="participations"
    )
    part = models.CharField(max_length=20, choices=Part.choices)
    is_lead = models.BooleanField(
        default=False, help_text="The lead planner coordinates the day and resolves conflicts."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["wedding", "organization", "part"], name="one_part_per_org_per_wedding"
            )
        ]
        ordering = ["wedding", "part"]

    def __str__(self) -> str:
        return f"{self.organization} as {self.get_part_display()} at {self.wedding}"

    @staticmethod
    def part_for(organization: Organization) -> str:
        """The usual part an organization of this kind plays."""
        kind = organization.kind
        return kind if kind in WeddingParticipant.Part.values else WeddingParticipant.Part.OTHER

    @classmethod
    def lead(cls, wedding: "Wedding", organization: Organization) -> "WeddingParticipant":
        """The organization that made the wedding takes part in it as its lead."""
        return cls.objects.create(
            wedding=wedding,
            organization=organization,
            part=cls.part_for(organization),
            is_lead=True,
        )
