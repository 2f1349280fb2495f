"""POST /api/integrations/wedding/<weddingId>/announce: a message to everyone on the wedding,
through each organization's own channels (integrations.sync.announce)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations.api.sync_views import visible_wedding
from integrations.sync.announce import announce
from integrations.sync.outbox import sending_states
from messaging.services import history


class AnnouncementRequest(serializers.Serializer):
    text = serializers.CharField(max_length=1000, trim_whitespace=True)
    emergency = serializers.BooleanField(
        default=False, help_text="Logged and broadcast as an emergency_notification."
    )


class Destination(serializers.Serializer):
    connection = serializers.UUIDField()
    provider = serializers.CharField()
    organization = serializers.CharField()
    to = serializers.CharField(required=False)
    reason = serializers.CharField(required=False)


class DeliveryState(serializers.Serializer):
    organization = serializers.CharField()
    provider = serializers.CharField()
    destination = serializers.CharField()
    status = serializers.CharField(help_text="pending, sent, failed (the outbox's)")
    sent_at = serializers.DateTimeField(allow_null=True, required=False)
    last_error = serializers.CharField(allow_blank=True, required=False)
    next_attempt_at = serializers.DateTimeField(allow_null=True, required=False)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    reply = serializers.CharField(allow_blank=True)


class AnnouncementState(serializers.Serializer):
    id = serializers.UUIDField()
    text = serializers.CharField()
    emergency = serializers.BooleanField()
    author = serializers.CharField()
    created_at = serializers.DateTimeField()
    deliveries = DeliveryState(many=True)


class AnnounceView(APIView):
    @extend_schema(
        summary="A wedding's announcements, and where each copy stands",
        description=(
            "The latest 50, newest first: each delivery's sending state (pending, sent, failed "
            "with its reason) and whether the number it went to answered (a text back within "
            "two days acknowledges the latest announcement it got)."
        ),
        responses=AnnouncementState(many=True),
        tags=["sync"],
    )
    def get(self, request, wedding_id):
        wedding = visible_wedding(request, wedding_id)
        return Response(AnnouncementState(history(wedding, sending_states), many=True).data)

    @extend_schema(
        summary="Tell everyone on a wedding, through their own channels",
        description=(
            "Queues the text for every messaging connection (Slack, SMS through Twilio, "
            "WhatsApp) of the wedding's organizations, to where each set it to go (the "
            "connection's `channel`, or the numbers in its `notify`); a connection with none "
            "set is listed as skipped. Delivered in the background like any change, on the "
            "priority queue on the wedding day; logged on the wedding and broadcast on its "
            "socket."
        ),
        request=AnnouncementRequest,
        responses={
            202: inline_serializer(
                "AnnouncementResponse",
                {
                    "announcement": serializers.UUIDField(),
                    "deliveries": Destination(many=True),
                    "skipped": Destination(many=True),
                },
            )
        },
        tags=["sync"],
    )
    def post(self, request, wedding_id):
        wedding = visible_wedding(request, wedding_id)
        body = AnnouncementRequest(data=request.data)
        body.is_valid(raise_exception=True)
        made = announce(
            wedding,
            body.validated_data["text"],
            emergency=body.validated_data["emergency"],
            author=request.user.get_username(),
        )
        return Response(
            {"announcement": made.id, "deliveries": made.deliveries, "skipped": made.skipped},
            status=status.HTTP_202_ACCEPTED,
        )
