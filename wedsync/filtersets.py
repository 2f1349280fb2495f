import django_filters

from .models import Contact, TimelineItem, Wedding


class WeddingFilterSet(django_filters.FilterSet):
    date = django_filters.DateFromToRangeFilter()
    organization = django_filters.UUIDFilter(field_name="participants__organization")

    class Meta:
        model = Wedding
        fields = ["status", "date", "time_zone", "organization"]


class TimelineItemFilterSet(django_filters.FilterSet):
    starts_at = django_filters.IsoDateTimeFromToRangeFilter()

    class Meta:
        model = TimelineItem
        fields = ["wedding", "responsible_organization", "starts_at"]


class ContactFilterSet(django_filters.FilterSet):
    class Meta:
        model = Contact
        fields = ["wedding", "role", "organization"]
