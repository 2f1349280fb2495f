"""API: the address of a wedding's calendar feed for one of your organizations, and a new one."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from wedsync import access
from wedsync.models import Organization, Wedding

from . import services
from .models import CalendarFeed


class FeedSerializer(serializers.Serializer):
    url = serializers.CharField()
    organization = serializers.UUIDField(source="organization_id")
    organization_name = serializers.CharField(source="organization.name")
    created_at = serializers.DateTimeField()
    rotated_at = serializers.DateTimeField(allow_null=True)
    last_read_at = serializers.DateTimeField(allow_null=True)


def address(request, feed: CalendarFeed) -> str:
    path = reverse("calendar-feed", kwargs={"token": feed.token})
    if settings.PUBLIC_URL:
        return settings.PUBLIC_URL.rstrip("/") + path
    return request.build_absolute_uri(path)


ORGANIZATION = OpenApiParameter(
    "organization",
    str,
    description="Which of your organizations on the wedding (needed when you have several).",
)


class FeedView(APIView):
    """The secret address a calendar app subscribes to for the wedding's day (the wedding and
    its timeline, kept current). Shown to the organization's members; anyone holding it can
    read the day, so replace it (`rotate/`) if it was shared too widely."""

    def organization(self, request, wedding: Wedding, *, managing: bool) -> Organization:
        mine = access.organizations_of(request.user, managing=managing).filter(
            participations__wedding=wedding
        )
        wanted = request.query_params.get("organization")
        if wanted:
            found = mine.filter(pk=wanted).first() if _is_uuid(wanted) else None
            if found is None:
                raise PermissionDenied(
                    "you cannot manage that organization's feed"
                    if managing
                    else "that is not one of your organizations on this wedding"
                )
            return found
        choices = list(mine.distinct()[:2])
        if not choices:  # a member of the wedding who manages none of its organizations
            raise PermissionDenied("only owners and coordinators replace a feed's address")
        if len(choices) > 1:
            raise ValidationError(
                {"organization": "you are on this wedding for several organizations: name one"}
            )
        return choices[0]

    def wedding(self, request, wedding_id) -> Wedding:
        return get_object_or_404(Wedding.objects.visible_to(request.user), pk=wedding_id)

    @extend_schema(
        summary="A wedding's calendar feed address",
        parameters=[ORGANIZATION],
        responses=FeedSerializer,
        tags=["calendars"],
    )
    def get(self, request, wedding_id):
        wedding = self.wedding(request, wedding_id)
        feed = services.feed_for(wedding, self.organization(request, wedding, managing=False))
        return Response(FeedSerializer({**_fields(feed), "url": address(request, feed)}).data)


class RotateFeedView(FeedView):
    @extend_schema(
        summary="Replace a calendar feed's address (the old one stops working)",
        parameters=[ORGANIZATION],
        request=None,
        responses=FeedSerializer,
        tags=["calendars"],
    )
    def post(self, request, wedding_id):
        wedding = self.wedding(request, wedding_id)
        feed = services.feed_for(wedding, self.organization(request, wedding, managing=True))
        feed = services.rotate(feed)
        return Response(FeedSerializer({**_fields(feed), "url": address(request, feed)}).data)


def _fields(feed: CalendarFeed) -> dict:
    return {
        "organization_id": feed.organization_id,
        "organization": feed.organization,
        "created_at": feed.created_at,
        "rotated_at": feed.rotated_at,
        "last_read_at": feed.last_read_at,
    }


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
