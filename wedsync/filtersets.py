"""Filters for the API. Choices are limited to what the user may see, so a filter never
reveals whether someone else's wedding exists (a foreign id is as invalid as a made-up one)."""

import django_filters

from . import access
from .models import Contact, Membership, TimelineItem, Wedding, WeddingParticipant


def _visible_weddings(request):
    return access.weddings_visible_to(request.user) if request else Wedding.objects.none()


def _visible_organizations(request):
    return access.organizations_visible_to(request.user) if request else None


class WeddingFilterSet(django_filters.FilterSet):
    date = django_filters.DateFromToRangeFilter()
    organization = django_filters.ModelChoiceFilter(
        field_name="participants__organization", queryset=_visible_organizations
    )

    class Meta:
        model = Wedding
        fields = ["status", "date", "time_zone", "organization"]


class TimelineItemFilterSet(django_filters.FilterSet):
    wedding = django_filters.ModelChoiceFilter(queryset=_visible_weddings)
    responsible_organization = django_filters.ModelChoiceFilter(queryset=_visible_organizations)
    starts_at = django_filters.IsoDateTimeFromToRangeFilter()

    class Meta:
        model = TimelineItem
        fields = ["wedding", "responsible_organization", "starts_at"]


class ContactFilterSet(django_filters.FilterSet):
    wedding = django_filters.ModelChoiceFilter(queryset=_visible_weddings)
    organization = django_filters.ModelChoiceFilter(queryset=_visible_organizations)

    class Meta:
        model = Contact
        fields = ["wedding", "role", "organization"]


class ParticipantFilterSet(django_filters.FilterSet):
    wedding = django_filters.ModelChoiceFilter(queryset=_visible_weddings)
    organization = django_filters.ModelChoiceFilter(queryset=_visible_organizations)

    class Meta:
        model = WeddingParticipant
        fields = ["wedding", "organization", "part"]


class MembershipFilterSet(django_filters.FilterSet):
    organization = django_filters.ModelChoiceFilter(
        queryset=lambda request: access.organizations_of(request.user) if request else None
    )

    class Meta:
        model = Membership
        fields = ["organization", "role"]
