"""Which organizations subscribe to which wedding's calendar feed; never the address itself."""

from __future__ import annotations

from django.contrib import admin

from wedsync.admin import MemberScopedAdmin

from .models import CalendarFeed


@admin.register(CalendarFeed)
class CalendarFeedAdmin(MemberScopedAdmin):
    list_display = ["wedding", "organization", "created_at", "rotated_at", "last_read_at"]
    list_select_related = ["wedding", "organization"]
    fields = ["wedding", "organization", "created_at", "rotated_at", "last_read_at"]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
