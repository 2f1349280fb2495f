from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from integrations import services
from integrations.errors import ProviderError, vendor_message
from integrations.models import Connection
from integrations.registry import all_providers, get_provider
from wedsync import access

from .serializers import (
    ConnectionSerializer,
    ConnectRequestSerializer,
    ConnectResponseSerializer,
    ProviderSerializer,
)

ProviderFailure = inline_serializer(
    "ProviderFailure",
    {
        "error": serializers.CharField(),
        "reason": serializers.CharField(),
        "retryable": serializers.BooleanField(),
    },
)


def provider_failure(error: ProviderError, provider_name: str) -> Response:
    return Response(
        {
            "error": vendor_message(error, provider_name),
            "reason": error.kind,
            "retryable": error.retryable,
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


class ProviderListView(APIView):
    """Every provider the hub can link, with its auth method and capabilities."""

    @extend_schema(responses=ProviderSerializer(many=True))
    def get(self, request):
        return Response(ProviderSerializer(all_providers(), many=True).data)


class ConnectView(APIView):
    """Test the credentials with the provider, then save the connection."""

    @extend_schema(
        request=ConnectRequestSerializer,
        responses={201: ConnectResponseSerializer, 400: ProviderFailure},
    )
    def post(self, request):
        payload = ConnectRequestSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        spec = get_provider(data["provider"])
        try:
            connection = services.connect(
                organization=data["organization"],
                provider=spec.key,
                credentials=data["credentials"],
                config=data["config"],
                webhook_secret=data.get("webhook_secret"),
                user=request.user,
            )
        except ValidationError as error:
            return Response(error.message_dict, status=status.HTTP_400_BAD_REQUEST)
        except ProviderError as error:
            return provider_failure(error, spec.name)
        body = {
            "id": connection.pk,
            "status": connection.status,
            "capabilities": list(spec.capabilities),
            "external_account_name": connection.external_account_name,
        }
        return Response(ConnectResponseSerializer(body).data, status=status.HTTP_201_CREATED)


class ConnectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Connections of your organizations, with status and health."""

    serializer_class = ConnectionSerializer
    filterset_fields = ["provider", "status"]

    def get_queryset(self):
        return Connection.objects.filter(
            organization__in=access.organizations_of(self.request.user)
        ).select_related("organization")

    def _managed(self) -> Connection:
        connection = self.get_object()
        if (
            not access.organizations_of(self.request.user, managing=True)
            .filter(pk=connection.organization_id)
            .exists()
        ):
            raise PermissionDenied("Only owners and coordinators manage connections.")
        return connection

    def _run(self, operation) -> Response:
        connection = self._managed()
        try:
            operation(connection)
        except ValidationError as error:
            return Response({"detail": " ".join(error.messages)}, status=400)
        except ProviderError as error:
            connection.refresh_from_db()
            return provider_failure(error, connection.provider_name)
        connection.refresh_from_db()
        return Response(ConnectionSerializer(connection).data)

    @extend_schema(request=None, responses={200: ConnectionSerializer, 400: ProviderFailure})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        return self._run(services.check)

    @extend_schema(request=None, responses=ConnectionSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        return self._run(services.pause)

    @extend_schema(request=None, responses=ConnectionSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._run(services.resume)

    @extend_schema(request=None, responses=ConnectionSerializer)
    @action(detail=True, methods=["post"])
    def disconnect(self, request, pk=None):
        return self._run(services.disconnect)
