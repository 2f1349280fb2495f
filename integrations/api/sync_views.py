"""The seed's sync endpoints: trigger a sync, see a wedding's integration status, push a
timeline to every connected system."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Count, Max, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.errors import ProviderError
from integrations.models import Connection, OutboundChange, SyncRun
from integrations.sync import pull, push
from integrations.sync.outbox import subscribers
from wedsync.api.serializers import TimelineItemSerializer
from wedsync.changes import record_change
from wedsync.live import EventType
from wedsync.models import TimelineItem, Wedding


def visible_wedding(request, wedding_id) -> Wedding:
    return get_object_or_404(Wedding.objects.visible_to(request.user), pk=wedding_id)


def wedding_connections(wedding: Wedding):
    return (
        Connection.objects.filter(organization__participations__wedding=wedding)
        .exclude(status=Connection.Status.REVOKED)
        .select_related("organization")
        .distinct()
    )


class SystemResult(serializers.Serializer):
    connection = serializers.UUIDField()
    provider = serializers.CharField()
    organization = serializers.CharField()
    status = serializers.CharField()
    detail = serializers.DictField()


class SyncRequestSerializer(serializers.Serializer):
    systems = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="Provider keys to sync; every connected system when left out.",
    )


class TriggerSyncView(APIView):
    @extend_schema(
        summary="Sync a wedding's connected systems now",
        request=SyncRequestSerializer,
        responses=inline_serializer(
            "SyncResponse",
            {
                "results": SystemResult(many=True),
                "conflicts": serializers.ListField(),
            },
        ),
        tags=["sync"],
    )
    def post(self, request, wedding_id):
        wedding = visible_wedding(request, wedding_id)
        body = SyncRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        connections = list(wedding_connections(wedding))
        wanted = body.validated_data.get("systems")
        if wanted is not None:
            unknown = sorted(set(wanted) - {c.provider for c in connections})
            if unknown:
                raise serializers.ValidationError(
                    {"systems": [f"not connected to this wedding: {', '.join(unknown)}"]}
                )
            connections = [c for c in connections if c.provider in wanted]
        results = [sync_one(connection) for connection in connections]
        from conflicts.api import ConflictSerializer
        from conflicts.models import Conflict

        pending = Conflict.objects.filter(wedding=wedding, status=Conflict.Status.PENDING)
        return Response(
            {"results": results, "conflicts": ConflictSerializer(pending, many=True).data}
        )


def sync_one(connection: Connection) -> dict:
    base = {
        "connection": connection.pk,
        "provider": connection.provider,
        "organization": connection.organization.name,
    }
    if connection.status != Connection.Status.ACTIVE:
        return {**base, "status": "skipped", "detail": {"reason": connection.status}}
    detail: dict = {}
    if pull.pullable(connection):
        run = pull.pull_connection(connection, SyncRun.Trigger.API)
        detail.update(
            pulled=run.pulled,
            applied=run.applied,
            unchanged=run.unchanged,
            deleted=run.deleted,
            error=run.error,
        )
        if run.status == SyncRun.Status.FAILED:
            return {**base, "status": "failed", "detail": detail}
    pushed = push.push_connection(connection.pk)
    detail.update(pushed=pushed.sent, push_failed=pushed.failed)
    return {**base, "status": "ok" if not pushed.failed else "partial", "detail": detail}


class WeddingStatusView(APIView):
    @extend_schema(
        summary="A wedding's integrations: connections, flows, backlog, last sync",
        responses=OpenApiTypes.OBJECT,
        tags=["sync"],
    )
    def get(self, request, wedding_id):
        wedding = visible_wedding(request, wedding_id)
        connections = wedding_connections(wedding).annotate(
            pending=Count("outbox", filter=Q(outbox__status=OutboundChange.Status.PENDING)),
            failed=Count("outbox", filter=Q(outbox__status=OutboundChange.Status.FAILED)),
            last_sync=Max("sync_runs__finished_at"),
        )
        rows = []
        for c in connections:
            try:
                spec = c.spec
                flows = {
                    "pull": pull.pullable(c),
                    "push": spec.has("push"),
                    "webhooks": spec.has("webhooks"),
                    "kinds": sorted({r.maps_to for r in spec.resources.values()}),
                }
            except LookupError:
                flows = {}
            rows.append(
                {
                    "connection": c.pk,
                    "provider": c.provider,
                    "organization": c.organization.name,
                    "status": c.status,
                    "last_success_at": c.last_success_at,
                    "last_error": c.last_error,
                    "consecutive_failures": c.consecutive_failures,
                    "pending_outbound": c.pending,
                    "failed_outbound": c.failed,
                    "last_sync": c.last_sync,
                    "flows": flows,
                }
            )
        last = max((r["last_sync"] for r in rows if r["last_sync"]), default=None)
        from conflicts.models import Conflict

        pending = Conflict.objects.filter(wedding=wedding, status=Conflict.Status.PENDING).count()
        return Response(
            {
                "wedding": wedding.pk,
                "connections": rows,
                "pending_conflicts": pending,
                "last_sync": last,
            }
        )


class TimelineItemInput(serializers.Serializer):
    id = serializers.UUIDField(required=False)
    title = serializers.CharField(max_length=200)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    location = serializers.CharField(max_length=200, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)


class TimelineSyncRequest(serializers.Serializer):
    items = TimelineItemInput(many=True)


PUSH_BROKE = "the push failed here; it is retried later"


class TimelineSyncView(APIView):
    @extend_schema(
        summary="Update a wedding's timeline and push it to every connected system",
        request=TimelineSyncRequest,
        responses=inline_serializer(
            "TimelineSyncResponse",
            {
                "items": TimelineItemSerializer(many=True),
                "results": SystemResult(many=True),
            },
        ),
        tags=["sync"],
    )
    def post(self, request, wedding_id):
        wedding = visible_wedding(request, wedding_id)
        body = TimelineSyncRequest(data=request.data)
        body.is_valid(raise_exception=True)
        saved = []
        with transaction.atomic():
            for data in body.validated_data["items"]:
                item_id = data.pop("id", None)
                item = (
                    get_object_or_404(TimelineItem, pk=item_id, wedding=wedding)
                    if item_id
                    else TimelineItem(wedding=wedding)
                )
                created = item._state.adding
                for name, value in data.items():
                    setattr(item, name, value)
                try:
                    item.full_clean()
                except DjangoValidationError as error:
                    raise serializers.ValidationError({"items": [error.message_dict]}) from None
                item.save()
                saved.append(item)
                event = (
                    EventType.TIMELINE_ITEM_CREATED if created else EventType.TIMELINE_ITEM_UPDATED
                )
                record_change(wedding.pk, event, {"id": str(item.pk), "title": item.title})
        results = []
        connections = subscribers(wedding.pk, "timeline_item")
        runs = push.push_run([c.pk for c in connections])  # every system side by side
        for connection in connections:
            base = {
                "connection": connection.pk,
                "provider": connection.provider,
                "organization": connection.organization.name,
            }
            run = runs[str(connection.pk)]
            if run.error is not None:  # logged by the push; the sweep retries it
                error = run.error if isinstance(run.error, ProviderError) else PUSH_BROKE
                results.append({**base, "status": "failed", "detail": {"error": str(error)}})
                continue
            status = "ok" if not run.failed and run.retry_at is None else "queued"
            results.append(
                {
                    **base,
                    "status": status if not run.held else "held",
                    "detail": {
                        "sent": run.sent,
                        "failed": run.failed,
                        "held": run.held,
                        "retry_at": run.retry_at.isoformat() if run.retry_at else None,
                    },
                }
            )
        items = TimelineItemSerializer(saved, many=True, context={"request": request}).data
        return Response({"items": items, "results": results})
