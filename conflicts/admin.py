"""The review console: pending conflicts side by side, per-field choices, rules, the digest."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html

from wedsync.admin import MemberScopedAdmin
from wedsync.models import Wedding

from .models import Conflict, ConflictPolicy
from .resolve import make_rule_from, resolve_conflict


def shown(value) -> str:
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


class ResolveForm(forms.Form):
    choice = forms.ChoiceField(
        choices=[
            ("ours", "Take ours (the hub's)"),
            ("theirs", "Take theirs"),
            ("value", "Enter a value"),
        ],
        widget=forms.RadioSelect,
    )
    value = forms.CharField(required=False, help_text="For 'enter a value': text, or JSON.")
    make_rule = forms.BooleanField(
        required=False, label="Make this a rule (the chosen side owns this field from now on)"
    )

    def parsed_value(self):
        raw = self.cleaned_data.get("value", "")
        if raw == "":
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw


@admin.register(Conflict)
class ConflictAdmin(MemberScopedAdmin):
    list_display = [
        "wedding",
        "kind",
        "path",
        "base_value",
        "ours_value",
        "theirs_value",
        "theirs_system",
        "status",
        "emergency",
        "created_at",
        "resolve_link",
    ]
    list_filter = [
        "status",
        "emergency",
        "kind",
        "theirs_system",
        ("wedding", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["path", "wedding__couple_names"]
    list_select_related = ["wedding"]
    date_hierarchy = "created_at"
    actions = ["take_ours", "take_theirs", "make_rules"]
    readonly_fields = [f.name for f in Conflict._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Base")
    def base_value(self, obj):
        return shown(obj.base)

    @admin.display(description="Ours")
    def ours_value(self, obj):
        return shown(obj.ours)

    @admin.display(description="Theirs")
    def theirs_value(self, obj):
        return shown(obj.theirs)

    @admin.display(description="")
    def resolve_link(self, obj):
        if obj.status != Conflict.Status.PENDING:
            return obj.reason[:60]
        return format_html(
            '<a href="{}">Resolve…</a>', reverse("admin:conflicts_conflict_resolve", args=[obj.pk])
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/resolve/",
                self.admin_site.admin_view(self.resolve_view),
                name="conflicts_conflict_resolve",
            ),
            *super().get_urls(),
        ]

    def resolve_view(self, request, pk: int):
        conflict = get_object_or_404(self.get_queryset(request), pk=pk)
        form = ResolveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                resolve_conflict(
                    conflict.pk,
                    choice=form.cleaned_data["choice"],
                    value=form.parsed_value(),
                    user=request.user,
                    make_rule=form.cleaned_data["make_rule"],
                )
            except ValidationError as error:
                form.add_error(None, "; ".join(error.messages))
            else:
                self.message_user(
                    request,
                    f"Resolved {conflict.path}; every linked system gets the chosen value.",
                    messages.SUCCESS,
                )
                return redirect("admin:conflicts_conflict_changelist")
        context = {
            **self.admin_site.each_context(request),
            "conflict": conflict,
            "form": form,
            "title": f"Resolve {conflict.path}",
            "opts": self.model._meta,
            "rows": [
                ("Base (last synced)", shown(conflict.base)),
                ("Ours (the hub)", shown(conflict.ours)),
                (f"Theirs ({conflict.theirs_system})", shown(conflict.theirs)),
            ],
        }
        return render(request, "admin/conflicts/resolve.html", context)

    def _decide(self, request, queryset, choice: str) -> None:
        done = 0
        for conflict in queryset.filter(status=Conflict.Status.PENDING):
            try:
                resolve_conflict(conflict.pk, choice=choice, user=request.user)
                done += 1
            except ValidationError as error:
                self.message_user(
                    request, f"{conflict}: {'; '.join(error.messages)}", messages.WARNING
                )
        if done:
            self.message_user(request, f"{done} conflict(s) resolved.", messages.SUCCESS)

    @admin.action(description="Take ours for the selected conflicts")
    def take_ours(self, request, queryset):
        self._decide(request, queryset, "ours")

    @admin.action(description="Take theirs for the selected conflicts")
    def take_theirs(self, request, queryset):
        self._decide(request, queryset, "theirs")

    @admin.action(description="Make rules from the selected decisions")
    def make_rules(self, request, queryset):
        made = 0
        for conflict in queryset.filter(status=Conflict.Status.RESOLVED):
            side = (
                "theirs"
                if conflict.resolution == conflict.theirs
                else "ours"
                if conflict.resolution == conflict.ours
                else None
            )
            if side:
                make_rule_from(conflict, side, request.user)
                made += 1
        self.message_user(request, f"{made} rule(s) made.", messages.SUCCESS)


@admin.register(ConflictPolicy)
class ConflictPolicyAdmin(MemberScopedAdmin):
    list_display = [
        "__str__",
        "wedding",
        "kind",
        "field",
        "data_type",
        "source",
        "wedding_day",
        "created_by",
        "created_at",
    ]
    list_filter = ["kind", "wedding_day"]
    search_fields = ["field", "data_type", "source", "note"]
    readonly_fields = ["created_by", "created_at"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "wedding" and not request.user.is_superuser:
            kwargs["queryset"] = Wedding.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
