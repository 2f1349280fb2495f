"""People of a wedding and how they agreed to be reached."""

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .organizations import Organization
from .validators import validate_e164_phone
from .weddings import Wedding


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    WHATSAPP = "whatsapp", "WhatsApp"
    SLACK = "slack", "Slack"
    TEAMS = "teams", "Microsoft Teams"
    WEDSYNC_CHAT = "wedsync_chat", "WedSync chat"


def validate_channels(value) -> None:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Give a list of channel names.", code="invalid_channels")
    unknown = sorted(set(value) - set(Channel.values))
    if unknown:
        raise ValidationError(
            "Unknown channel(s): %(unknown)s. Choose from %(known)s.",
            params={"unknown": ", ".join(unknown), "known": ", ".join(Channel.values)},
            code="unknown_channel",
        )
    if len(set(value)) != len(value):
        raise ValidationError("A channel is listed twice.", code="duplicate_channel")


class Contact(models.Model):
    class Role(models.TextChoices):
        COUPLE = "couple", "Couple"
        FAMILY = "family", "Family"
        WEDDING_PARTY = "wedding_party", "Wedding party"
        VENDOR_STAFF = "vendor_staff", "Vendor staff"
        GUEST = "guest", "Guest"
        OTHER = "other", "Other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    wedding = models.ForeignKey(Wedding, on_delete=models.CASCADE, related_name="contacts")
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
        help_text="For vendor staff: the business they work for.",
    )
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.OTHER)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=16, blank=True, validators=[validate_e164_phone])
    preferred_channels = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_channels],
        help_text="Channels in order of preference.",
    )
    consented_channels = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_channels],
        help_text="Channels the person agreed to be contacted on.",
    )
    consent_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["wedding", "name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        """Stamp the moment consent changed: the record a regulator asks for."""
        if list(self.consented_channels or []) != getattr(self, "_loaded_consent", []):
            self.consent_updated_at = timezone.now()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "consent_updated_at"}
        super().save(*args, **kwargs)
        self._loaded_consent = list(self.consented_channels or [])

    @classmethod
    def from_db(cls, db, field_names, values):
        contact = super().from_db(db, field_names, values)
        contact._loaded_consent = list(contact.consented_channels or [])
        return contact

    def clean(self) -> None:
        errors = {}
        preferred = self.preferred_channels if isinstance(self.preferred_channels, list) else []
        consented = self.consented_channels if isinstance(self.consented_channels, list) else []
        without_consent = [c for c in preferred if c not in consented]
        if without_consent:
            errors["preferred_channels"] = (
                f"No consent recorded for: {', '.join(without_consent)}. "
                "Add them to consented_channels first."
            )
        if Channel.EMAIL in preferred and not self.email:
            errors["email"] = "An email address is needed to prefer email."
        if {Channel.SMS, Channel.WHATSAPP} & set(preferred) and not self.phone:
            errors["phone"] = "A phone number is needed to prefer SMS or WhatsApp."
        if errors:
            raise ValidationError(errors)
