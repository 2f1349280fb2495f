"""The console's announcement history: each copy's destination and whether it was answered."""

from __future__ import annotations

from django.contrib import admin

from wedsync.admin import MemberScopedAdmin

from .models import Announcement, Delivery


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    fields = ["organization", "provider", "destination", "acknowledged_at", "reply"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Announcement)
class AnnouncementAdmin(MemberScopedAdmin):
    list_display = ["wedding", "text", "emergency", "author", "created_at", "answered"]
    list_filter = ["emergency", ("wedding", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["text", "wedding__couple_names", "author"]
    list_select_related = ["wedding"]
    readonly_fields = ["wedding", "text", "emergency", "author", "created_at"]
    inlines = [DeliveryInline]

    def has_add_permission(self, request) -> bool:
        return False  # announcements are made with "Tell everyone on a wedding…"

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="answered")
    def answered(self, obj: Announcement) -> str:
        deliveries = list(obj.deliveries.all())
        done = sum(1 for d in deliveries if d.acknowledged_at)
        return f"{done} of {len(deliveries)}"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("deliveries")
