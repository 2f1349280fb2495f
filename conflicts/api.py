"""API: list, detail and resolve conflicts; the calendar's double bookings."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from wedsync import access
from wedsync.models import TimelineItem, Wedding

from .models import Conflict
from .resolve import CHOICES, resolve_conflict

DEFAULT_LENGTH = dt.timedelta(hours=1)  # a timeline moment with no end occupies an hour


class ConflictSerializer(serializers.ModelSerializer):
    class Meta:
        model = Conflict
        fields = [
            "id",
            "wedding",
            "kind",
            "object_id",
            "path",
            "fields",
            "base",
            "ours",
            "theirs",
            "ours_system",
            "theirs_system",
            "theirs_modified",
            "status",
            "emergency",
            "resolution",
            "policy",
            "reason",
            "resolved_by",
            "resolved_at",
            "created_at",
        ]
        read_only_fields = fields


class ResolveSerializer(serializers.Serializer):
    choice = serializers.ChoiceField(choices=CHOICES)
    value = serializers.JSONField(required=False, allow_null=True)
    make_rule = serializers.BooleanField(default=False)


class ConflictViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Conflicts of the weddings you take part in (`?wedding=`, `?status=pending`)."""

    serializer_class = ConflictSerializer

    def get_queryset(self):
        queryset = Conflict.objects.filter(
            wedding__in=Wedding.objects.visible_to(self.request.user)
        )
        for name in ("wedding", "status", "kind"):
            if self.request.query_params.get(name):
                queryset = queryset.filter(**{name: self.request.query_params[name]})
        return queryset.order_by("-created_at")

    @extend_schema(request=ResolveSerializer, responses=ConflictSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        conflict = self.get_object()
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            resolved = resolve_conflict(conflict.pk, user=request.user, **body.validated_data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(
                error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
            ) from None
        return Response(ConflictSerializer(resolved).data)


class CalendarConflictsView(APIView):
    """The same vendor booked at overlapping times in different weddings."""

    @extend_schema(
        summary="Double bookings of your organizations across weddings",
        responses=OpenApiTypes.OBJECT,
        tags=["conflicts"],
    )
    def get(self, request):
        organizations = access.organizations_of(request.user)
        items = list(
            TimelineItem.objects.filter(responsible_organization__in=organizations)
            .select_related("wedding", "responsible_organization")
            .order_by("responsible_organization_id", "starts_at")
        )
        clashes = []
        for i, first in enumerate(items):
            first_end = first.ends_at or first.starts_at + DEFAULT_LENGTH
            for second in items[i + 1 :]:
                if second.responsible_organization_id != first.responsible_organization_id:
                    break
                if second.starts_at >= first_end:
                    break
                if second.wedding_id != first.wedding_id:
                    clashes.append(
                        {
                            "organization": first.responsible_organization.name,
                            "items": [describe(first), describe(second)],
                        }
                    )
        return Response({"conflicts": clashes})


def describe(item: TimelineItem) -> dict:
    return {
        "id": str(item.pk),
        "wedding": str(item.wedding_id),
        "wedding_name": str(item.wedding),
        "title": item.title,
        "starts_at": item.starts_at.isoformat(),
        "ends_at": item.ends_at.isoformat() if item.ends_at else None,
    }
