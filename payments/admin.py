"""The console's view of payments: what each vendor's system reported, per wedding."""

from __future__ import annotations

from django.contrib import admin

from wedsync.admin import MemberScopedAdmin

from .models import Payment


@admin.register(Payment)
class PaymentAdmin(MemberScopedAdmin):
    list_display = [
        "wedding",
        "organization",
        "provider",
        "amount",
        "currency",
        "state",
        "amount_refunded",
        "description",
        "updated_at",
    ]
    list_filter = ["state", "provider", "currency", ("wedding", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["wedding__couple_names", "organization__name", "external_id", "description"]
    list_select_related = ["wedding", "organization"]
    readonly_fields = [f.name for f in Payment._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the vendor's payment system is the source of truth
