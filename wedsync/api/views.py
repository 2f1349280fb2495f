from __future__ import annotations

from django.db.models import Prefetch
from rest_framework import mixins, viewsets
from rest_framework.exceptions import PermissionDenied

from wedsync import access
from wedsync.changes import record_change
from wedsync.filtersets import (
    ContactFilterSet,
    MembershipFilterSet,
    ParticipantFilterSet,
    TimelineItemFilterSet,
    WeddingFilterSet,
)
from wedsync.live import EventType
from wedsync.models import (
    Contact,
    Membership,
    Organization,
    TimelineItem,
    WeddingParticipant,
)

from . import serializers
from .mixins import AtomicWritesMixin


class OrganizationViewSet(
    AtomicWritesMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Your organizations and the ones you share a wedding with. Owners edit their own."""

    serializer_class = serializers.OrganizationSerializer
    filterset_fields = ["kind"]
    search_fields = ["name", "slug"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema's introspection: no user
            return Organization.objects.none()
        user = self.request.user
        return (
            access.organizations_visible_to(user)
            .prefetch_related(
                Prefetch("memberships", queryset=Membership.objects.filter(user=user))
            )
            .distinct()
        )

    def perform_update(self, serializer):
        organization = serializer.instance
        if not Membership.objects.filter(
            user=self.request.user, organization=organization, role=Membership.Role.OWNER
        ).exists():
            raise PermissionDenied("Only the organization's owners change its details.")
        serializer.save()


class MembershipViewSet(viewsets.ReadOnlyModelViewSet):
    """Who works for your organizations, and in which role."""

    serializer_class = serializers.MembershipSerializer
    filterset_class = MembershipFilterSet

    def get_queryset(self):
        return Membership.objects.filter(
            organization__in=access.organizations_of(self.request.user)
        ).select_related("user")


class WeddingViewSet(AtomicWritesMixin, viewsets.ModelViewSet):
    """Weddings one of your organizations takes part in. Any other id is 404."""

    serializer_class = serializers.WeddingSerializer
    filterset_class = WeddingFilterSet
    search_fields = ["couple_names", "venue_name"]
    ordering_fields = ["date", "couple_names", "guest_count", "updated_at"]

    def get_queryset(self):
        return access.weddings_visible_to(self.request.user).prefetch_related(
            Prefetch(
                "participants",
                queryset=WeddingParticipant.objects.select_related("organization"),
            )
        )

    def perform_update(self, serializer):
        wedding = serializer.save()
        record_change(wedding.pk, EventType.WEDDING_UPDATED, serializer.data)

    def perform_destroy(self, instance):
        if not access.can_manage_wedding(self.request.user, instance):
            raise PermissionDenied("Only owners and coordinators delete a wedding.")
        instance.delete()


class ParticipantViewSet(
    AtomicWritesMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Which organization plays which part in your weddings."""

    serializer_class = serializers.ParticipantSerializer
    filterset_class = ParticipantFilterSet

    def get_queryset(self):
        return WeddingParticipant.objects.filter(
            wedding__in=access.weddings_visible_to(self.request.user)
        ).select_related("organization")

    def perform_create(self, serializer):
        participant = serializer.save()
        record_change(participant.wedding_id, EventType.PARTICIPANT_ADDED, serializer.data)

    def perform_destroy(self, instance):
        if not access.can_manage_wedding(self.request.user, instance.wedding):
            raise PermissionDenied("Only owners and coordinators remove a vendor.")
        if instance.is_lead:
            raise PermissionDenied("The lead participant cannot be removed.")
        data = serializers.ParticipantSerializer(
            instance, context=self.get_serializer_context()
        ).data
        instance.delete()
        record_change(instance.wedding_id, EventType.PARTICIPANT_REMOVED, data)


class WeddingScopedViewSet(AtomicWritesMixin, viewsets.ModelViewSet):
    """CRUD on records that belong to a wedding, each change broadcast to its socket."""

    model = None
    created_event: EventType
    updated_event: EventType
    deleted_event: EventType

    def get_queryset(self):
        return self.model.objects.filter(
            wedding__in=access.weddings_visible_to(self.request.user)
        ).select_related("wedding")

    def perform_create(self, serializer):
        obj = serializer.save()
        record_change(obj.wedding_id, self.created_event, serializer.data)

    def perform_update(self, serializer):
        obj = serializer.save()
        record_change(obj.wedding_id, self.updated_event, serializer.data)

    def perform_destroy(self, instance):
        wedding_id, pk = instance.wedding_id, instance.pk
        instance.delete()
        record_change(wedding_id, self.deleted_event, {"id": pk})


class TimelineItemViewSet(WeddingScopedViewSet):
    """The run of the day. Times are in the wedding's time zone."""

    model = TimelineItem
    serializer_class = serializers.TimelineItemSerializer
    filterset_class = TimelineItemFilterSet
    search_fields = ["title", "location"]
    ordering_fields = ["starts_at", "title"]
    created_event = EventType.TIMELINE_ITEM_CREATED
    updated_event = EventType.TIMELINE_ITEM_UPDATED
    deleted_event = EventType.TIMELINE_ITEM_DELETED


class ContactViewSet(WeddingScopedViewSet):
    """People of your weddings and how they agreed to be reached."""

    model = Contact
    serializer_class = serializers.ContactSerializer
    filterset_class = ContactFilterSet
    search_fields = ["name", "email"]
    ordering_fields = ["name", "role"]
    created_event = EventType.CONTACT_CREATED
    updated_event = EventType.CONTACT_UPDATED
    deleted_event = EventType.CONTACT_DELETED
