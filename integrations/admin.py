"""The integration management console."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.html import format_html

from wedsync import access
from wedsync.admin import MemberScopedAdmin, OrganizationScopedAdmin, shortened
from wedsync.models import Wedding

from . import services
from .errors import ProviderError, vendor_message
from .models import Connection, InboundEvent, IntegrationEvent, OutboundChange, SyncRun
from .sync.announce import announce
from .webhooks.redact import redacted_headers, redacted_text
from .webhooks.replay import replay


class AnnounceForm(forms.Form):
    wedding = forms.ModelChoiceField(queryset=Wedding.objects.none())
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=1000)
    emergency = forms.BooleanField(
        required=False, help_text="Logged and broadcast as an emergency notification."
    )

    def __init__(self, *args, weddings=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = weddings if weddings is not None else access.weddings_visible_to(user)
        self.fields["wedding"].queryset = choices.order_by("date")


@admin.register(Connection)
class ConnectionAdmin(OrganizationScopedAdmin):
    list_display = [
        "__str__",
        "provider",
        "organization",
        "status_badge",
        "health",
        "last_success_at",
        "short_error",
    ]
    list_filter = ["status", "provider", "organization__kind"]
    search_fields = ["organization__name", "provider", "external_account_name"]
    list_select_related = ["organization"]
    actions = [
        "test_connections",
        "resync_connections",
        "pause_connections",
        "resume_connections",
        "disconnect_connections",
    ]
    readonly_fields = [
        "provider",
        "organization",
        "status",
        "credentials_state",
        "webhook_secret_state",
        "webhook_token_hint",
        "external_account_id",
        "external_account_name",
        "cursors",
        "last_success_at",
        "last_error_at",
        "last_error",
        "consecutive_failures",
        "created_by",
        "created_at",
        "updated_at",
    ]
    fields = [*readonly_fields[:3], "config", "sync_interval_minutes", *readonly_fields[3:]]

    def has_add_permission(self, request) -> bool:
        return False  # connections are made by testing credentials, on the link pages

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Connection):
        colour = {
            "active": "#176b2c",
            "error": "#a40000",
            "needs_reauth": "#a40000",
            "paused": "#8a6d00",
        }.get(obj.status, "#555")
        return format_html('<b style="color:{}">{}</b>', colour, obj.get_status_display())

    @admin.display(description="Health", ordering="consecutive_failures")
    def health(self, obj: Connection) -> str:
        if obj.consecutive_failures == 0:
            return "ok" if obj.last_success_at else "untested"
        return f"{obj.consecutive_failures} failure(s) in a row"

    @admin.display(description="Last error")
    def short_error(self, obj) -> str:
        return shortened(obj.last_error)

    @admin.display(description="Credentials")
    def credentials_state(self, obj: Connection) -> str:
        return "set" if obj.has_credentials else "unset"

    @admin.display(description="Webhook secret")
    def webhook_secret_state(self, obj: Connection) -> str:
        return "set" if obj.has_webhook_secret else "unset"

    @admin.display(description="Inbound URL token")
    def webhook_token_hint(self, obj: Connection) -> str:
        return f"{obj.webhook_token[:6]}…"

    def _each(self, request, queryset, operation, done: str) -> None:
        succeeded = 0
        for connection in queryset:
            try:
                operation(connection)
            except ProviderError as error:
                self.message_user(
                    request,
                    f"{connection}: {vendor_message(error, connection.provider_name)}",
                    messages.ERROR,
                )
            except Exception as error:  # a ValidationError from a state rule
                self.message_user(request, f"{connection}: {error}", messages.WARNING)
            else:
                succeeded += 1
        if succeeded:
            self.message_user(request, f"{succeeded} connection(s) {done}.", messages.SUCCESS)

    @admin.action(description="Test the selected connections")
    def test_connections(self, request, queryset):
        self._each(request, queryset, services.check, "tested and working")

    @admin.action(description="Resync the selected connections (full pull)")
    def resync_connections(self, request, queryset):
        from .tasks import pull_connection

        count = 0
        for connection in queryset.filter(status=Connection.Status.ACTIVE):
            Connection.objects.filter(pk=connection.pk).update(cursors={})
            pull_connection.delay(str(connection.pk), "manual")
            count += 1
        self.message_user(request, f"{count} full resync(s) queued.", messages.SUCCESS)

    @admin.action(description="Pause the selected connections")
    def pause_connections(self, request, queryset):
        self._each(request, queryset, services.pause, "paused")

    @admin.action(description="Resume the selected connections")
    def resume_connections(self, request, queryset):
        self._each(request, queryset, services.resume, "resumed")

    @admin.action(description="Disconnect the selected connections (revokes access)")
    def disconnect_connections(self, request, queryset):
        self._each(request, queryset, services.disconnect, "disconnected")


@admin.register(InboundEvent)
class InboundEventAdmin(OrganizationScopedAdmin):
    """Every webhook the hub acknowledged; a failed one waits here with its reason."""

    organization_path = "connection__organization"
    list_display = [
        "id",
        "provider",
        "connection",
        "event_type",
        "status",
        "attempts",
        "received_at",
        "processed_at",
        "short_error",
    ]
    list_filter = ["status", "provider", "received_at"]
    search_fields = ["event_type", "dedup_key", "connection__organization__name"]
    list_select_related = ["connection__organization"]
    date_hierarchy = "received_at"
    actions = ["replay_events"]
    fields = [
        "provider",
        "connection",
        "event_type",
        "status",
        "attempts",
        "outcome",
        "last_error",
        "dedup_key",
        "received_at",
        "next_attempt_at",
        "processed_at",
        "headers_redacted",
        "payload_redacted",
    ]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # an event is evidence; replay it, never edit it

    def get_queryset(self, request):
        return super().get_queryset(request).defer("body")

    @admin.display(description="Error")
    def short_error(self, obj) -> str:
        return shortened(obj.last_error)

    @admin.display(description="Headers (secrets redacted)")
    def headers_redacted(self, obj: InboundEvent):
        text = json.dumps(redacted_headers(obj.headers), indent=2, sort_keys=True)
        return format_html("<pre>{}</pre>", text)

    @admin.display(description="Payload (secrets redacted)")
    def payload_redacted(self, obj: InboundEvent):
        content_type = next(
            (v for k, v in obj.headers.items() if k.lower() == "content-type"), "application/json"
        )
        return format_html("<pre>{}</pre>", redacted_text(bytes(obj.body), content_type))

    @admin.action(description="Replay the selected events")
    def replay_events(self, request, queryset):
        count = replay(queryset.values_list("pk", flat=True))
        self.message_user(request, f"{count} event(s) queued again.", messages.SUCCESS)


@admin.register(OutboundChange)
class OutboundChangeAdmin(OrganizationScopedAdmin):
    """Deliveries of our changes to each system: pending ones show their next retry."""

    organization_path = "connection__organization"
    list_display = [
        "id",
        "connection",
        "kind",
        "action",
        "object_id",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "short_error",
    ]
    list_filter = ["status", "kind", "action", "connection__provider"]
    search_fields = ["object_id", "external_id", "connection__organization__name"]
    list_select_related = ["connection__organization"]
    actions = ["retry_now"]
    readonly_fields = [f.name for f in OutboundChange._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Error")
    def short_error(self, obj) -> str:
        return shortened(obj.last_error)

    @admin.action(description="Retry the selected deliveries now")
    def retry_now(self, request, queryset):
        from .sync.dispatch import queue_push

        changed = queryset.exclude(
            status__in=[OutboundChange.Status.SENT, OutboundChange.Status.SUPERSEDED]
        )
        connections = set(changed.values_list("connection_id", flat=True))
        count = changed.update(status=OutboundChange.Status.PENDING, next_attempt_at=None)
        Connection.objects.filter(pk__in=connections).update(circuit_open_until=None)
        for connection_id in connections:
            queue_push(connection_id)
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)


@admin.register(SyncRun)
class SyncRunAdmin(OrganizationScopedAdmin):
    organization_path = "connection__organization"
    list_display = [
        "started_at",
        "connection",
        "trigger",
        "status",
        "full",
        "pulled",
        "applied",
        "unchanged",
        "deleted",
        "duration",
        "error",
    ]
    list_filter = ["status", "trigger", "connection__provider"]
    list_select_related = ["connection__organization"]
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in SyncRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Duration (ms)")
    def duration(self, obj) -> int | None:
        return obj.duration_ms


@admin.register(IntegrationEvent)
class IntegrationEventAdmin(MemberScopedAdmin):
    list_display = [
        "created_at",
        "event_type",
        "wedding",
        "source_system",
        "is_wedding_day",
        "summary",
    ]
    list_filter = ["event_type", "is_wedding_day", "source_system"]
    search_fields = ["summary", "wedding__couple_names"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in IntegrationEvent._meta.fields]
    change_list_template = "admin/integrations/integrationevent/change_list.html"

    def has_add_permission(self, request) -> bool:
        return False

    def get_urls(self):
        return [
            path(
                "announce/",
                self.admin_site.admin_view(self.announce_view),
                name="integrations_integrationevent_announce",
            ),
            *super().get_urls(),
        ]

    def announce_view(self, request):
        """The console's way to tell everyone on a wedding (integrations.sync.announce)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        weddings = Wedding.objects.all() if request.user.is_superuser else None
        form = AnnounceForm(request.POST or None, weddings=weddings, user=request.user)
        if request.method == "POST" and form.is_valid():
            made = announce(
                form.cleaned_data["wedding"],
                form.cleaned_data["text"],
                emergency=form.cleaned_data["emergency"],
                author=request.user.get_username(),
            )
            skipped = "; ".join(
                f"{s['organization']} {s['provider']}: {s['reason']}" for s in made.skipped
            )
            self.message_user(
                request,
                f"Queued for {len(made.deliveries)} destinations."
                + (f" Skipped: {skipped}." if skipped else ""),
                messages.SUCCESS if made.deliveries else messages.WARNING,
            )
            return redirect("admin:integrations_integrationevent_changelist")
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Tell everyone on a wedding",
            "opts": self.model._meta,
        }
        return render(request, "admin/integrations/announce.html", context)
