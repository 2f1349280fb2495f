"""The operations console. Non-superusers see only the weddings and organizations they belong to."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count

from . import access
from .changes import record_change
from .live import EventType
from .models import Contact, Membership, Organization, TimelineItem, Wedding, WeddingParticipant


def shortened(text: str, limit: int = 80) -> str:
    return (text[:limit] + "…") if len(text) > limit else text


class OrganizationScopedAdmin(admin.ModelAdmin):
    """Limits the changelist to rows of the user's own organizations."""

    organization_path = "organization"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            **{f"{self.organization_path}__in": access.organizations_of(request.user)}
        )


class MemberScopedAdmin(admin.ModelAdmin):
    """Limits the changelist to rows reachable through the user's weddings."""

    wedding_path = "wedding"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            **{f"{self.wedding_path}__in": access.weddings_visible_to(request.user)}
        )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "time_zone", "email", "member_count", "wedding_count"]
    list_filter = ["kind", "time_zone"]
    search_fields = ["name", "slug", "email"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def get_queryset(self, request):
        queryset = (
            super()
            .get_queryset(request)
            .annotate(
                _members=Count("memberships", distinct=True),
                _weddings=Count("participations", distinct=True),
            )
        )
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=access.organizations_visible_to(request.user).values("pk"))

    @admin.display(description="Members", ordering="_members")
    def member_count(self, obj):
        return obj._members

    @admin.display(description="Weddings", ordering="_weddings")
    def wedding_count(self, obj):
        return obj._weddings


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role", "organization__kind"]
    search_fields = ["user__username", "user__email", "organization__name"]
    autocomplete_fields = ["user", "organization"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("user", "organization")
        if request.user.is_superuser:
            return queryset
        return queryset.filter(organization__in=access.organizations_of(request.user))


class ParticipantInline(admin.TabularInline):
    model = WeddingParticipant
    extra = 0
    autocomplete_fields = ["organization"]


class TimelineItemInline(admin.TabularInline):
    model = TimelineItem
    extra = 0
    fields = ["starts_at", "ends_at", "title", "location", "responsible_organization"]
    autocomplete_fields = ["responsible_organization"]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["name", "role", "email", "phone", "organization"]
    autocomplete_fields = ["organization"]


@admin.register(Wedding)
class WeddingAdmin(MemberScopedAdmin):
    wedding_path = "pk"
    list_display = [
        "couple_names",
        "date",
        "time_zone",
        "venue_name",
        "status",
        "guest_count",
        "vendor_count",
        "today",
    ]
    list_filter = ["status", "date", "time_zone"]
    search_fields = ["couple_names", "venue_name", "participants__organization__name"]
    date_hierarchy = "date"
    inlines = [ParticipantInline, TimelineItemInline, ContactInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_vendors=Count("participants", distinct=True))

    @admin.display(description="Vendors", ordering="_vendors")
    def vendor_count(self, obj):
        return obj._vendors

    @admin.display(description="Today", boolean=True)
    def today(self, obj):
        return obj.is_today()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:
            record_change(
                obj.pk, EventType.WEDDING_UPDATED, {"id": obj.pk, "changed": form.changed_data}
            )


@admin.register(WeddingParticipant)
class WeddingParticipantAdmin(MemberScopedAdmin):
    list_display = ["wedding", "organization", "part", "is_lead"]
    list_filter = ["part", "is_lead"]
    search_fields = ["wedding__couple_names", "organization__name"]
    autocomplete_fields = ["wedding", "organization"]
    list_select_related = ["wedding", "organization"]


@admin.register(TimelineItem)
class TimelineItemAdmin(MemberScopedAdmin):
    list_display = ["title", "wedding", "local_start", "location", "responsible_organization"]
    list_filter = ["wedding__date", "responsible_organization__kind"]
    search_fields = ["title", "location", "wedding__couple_names"]
    autocomplete_fields = ["wedding", "responsible_organization"]
    list_select_related = ["wedding", "responsible_organization"]

    @admin.display(description="Starts (wedding's time)", ordering="starts_at")
    def local_start(self, obj):
        return obj.starts_at.astimezone(obj.wedding.zone).strftime("%Y-%m-%d %H:%M %Z")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        event = EventType.TIMELINE_ITEM_UPDATED if change else EventType.TIMELINE_ITEM_CREATED
        record_change(
            obj.wedding_id,
            event,
            {"id": obj.pk, "title": obj.title, "starts_at": obj.starts_at, "ends_at": obj.ends_at},
        )


@admin.register(Contact)
class ContactAdmin(MemberScopedAdmin):
    list_display = ["name", "role", "wedding", "email", "phone", "channels"]
    list_filter = ["role"]
    search_fields = ["name", "email", "phone", "wedding__couple_names"]
    autocomplete_fields = ["wedding", "organization"]
    list_select_related = ["wedding"]
    readonly_fields = ["consent_updated_at"]

    @admin.display(description="Preferred channels")
    def channels(self, obj):
        return ", ".join(obj.preferred_channels)
