from __future__ import annotations

from django.db import transaction
from rest_framework import serializers

from wedsync import access
from wedsync.models import (
    Contact,
    Membership,
    Organization,
    TimelineItem,
    Wedding,
    WeddingParticipant,
)

from .mixins import ModelCleanMixin, WeddingTimeZoneMixin


class VisibleWeddingField(serializers.PrimaryKeyRelatedField):
    """A wedding the requesting user takes part in; any other id reads as unknown."""

    default_error_messages = {
        "does_not_exist": "No wedding with id {pk_value} that you take part in.",
    }

    def get_queryset(self):
        return access.weddings_visible_to(self.context["request"].user)


class OrganizationSerializer(serializers.ModelSerializer):
    my_role = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "kind", "time_zone", "email", "phone", "website", "my_role"]
        read_only_fields = ["slug"]

    def get_my_role(self, organization: Organization) -> str | None:
        user = self.context["request"].user
        membership = next((m for m in organization.memberships.all() if m.user_id == user.pk), None)
        return membership.role if membership else None


class MembershipSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "organization", "username", "role", "created_at"]
        read_only_fields = fields


class ParticipantSerializer(serializers.ModelSerializer):
    wedding = VisibleWeddingField()
    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = WeddingParticipant
        fields = ["id", "wedding", "organization", "organization_name", "part", "is_lead"]

    def validate_wedding(self, wedding: Wedding) -> Wedding:
        if not access.can_manage_wedding(self.context["request"].user, wedding):
            raise serializers.ValidationError(
                "Only owners and coordinators of a participating organization add vendors."
            )
        return wedding


class WeddingSerializer(serializers.ModelSerializer):
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.none(),
        write_only=True,
        required=False,
        help_text="On create: your organization that takes the wedding on (you must own or "
        "coordinate it). It becomes the wedding's lead participant.",
    )
    is_today = serializers.SerializerMethodField()
    participants = ParticipantSerializer(many=True, read_only=True)

    class Meta:
        model = Wedding
        fields = [
            "id",
            "couple_names",
            "date",
            "time_zone",
            "venue_name",
            "venue_address",
            "status",
            "guest_count",
            "notes",
            "is_today",
            "participants",
            "organization",
            "created_at",
            "updated_at",
        ]

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["organization"].queryset = access.organizations_of(request.user, managing=True)
        return fields

    def get_is_today(self, wedding: Wedding) -> bool:
        return wedding.is_today()

    def validate(self, attrs):
        if self.instance is None and "organization" not in attrs:
            raise serializers.ValidationError(
                {"organization": "Say which of your organizations takes this wedding on."}
            )
        if self.instance is not None and "organization" in attrs:
            raise serializers.ValidationError(
                {"organization": "Add vendors through /api/participants/, not here."}
            )
        return attrs

    @transaction.atomic
    def create(self, validated_data):
        organization = validated_data.pop("organization")
        wedding = super().create(validated_data)
        WeddingParticipant.lead(wedding, organization)
        return wedding


class TimelineItemSerializer(WeddingTimeZoneMixin, ModelCleanMixin, serializers.ModelSerializer):
    wedding = VisibleWeddingField()

    class Meta:
        model = TimelineItem
        fields = [
            "id",
            "wedding",
            "title",
            "starts_at",
            "ends_at",
            "location",
            "responsible_organization",
            "notes",
            "created_at",
            "updated_at",
        ]

    def validate_wedding(self, wedding: Wedding) -> Wedding:
        if self.instance is not None and wedding.pk != self.instance.wedding_id:
            raise serializers.ValidationError("A timeline item cannot move to another wedding.")
        return wedding


class ContactSerializer(ModelCleanMixin, serializers.ModelSerializer):
    wedding = VisibleWeddingField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "wedding",
            "organization",
            "name",
            "role",
            "email",
            "phone",
            "preferred_channels",
            "consented_channels",
            "consent_updated_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["consent_updated_at"]

    def validate_wedding(self, wedding: Wedding) -> Wedding:
        if self.instance is not None and wedding.pk != self.instance.wedding_id:
            raise serializers.ValidationError("A contact cannot move to another wedding.")
        return wedding
