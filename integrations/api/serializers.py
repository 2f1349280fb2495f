from __future__ import annotations

from rest_framework import serializers

from integrations.models import Connection
from integrations.webhooks.addresses import takes_webhooks, webhook_address
from wedsync import access
from wedsync.models import Organization


class CredentialFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    secret = serializers.BooleanField()
    pattern = serializers.CharField(allow_null=True)
    help = serializers.CharField()


class ProviderSerializer(serializers.Serializer):
    """A provider spec, as apps need it to offer a link."""

    key = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField()
    auth_method = serializers.CharField(source="auth.method")
    capabilities = serializers.ListField(child=serializers.CharField())
    webhook_scheme = serializers.CharField()
    credential_fields = CredentialFieldSerializer(source="auth.fields", many=True)
    webhook_secret_field = CredentialFieldSerializer(allow_null=True)
    docs = serializers.CharField()


class ConnectionSerializer(serializers.ModelSerializer):
    """A connection's status and health. Secrets appear only as set/unset."""

    provider_name = serializers.CharField(read_only=True)
    capabilities = serializers.SerializerMethodField()
    has_credentials = serializers.BooleanField(read_only=True)
    has_webhook_secret = serializers.BooleanField(read_only=True)
    webhook_url = serializers.SerializerMethodField(
        help_text="Where the provider sends this connection's webhooks (null: it sends none)."
    )

    class Meta:
        model = Connection
        fields = [
            "id",
            "organization",
            "provider",
            "provider_name",
            "status",
            "capabilities",
            "external_account_id",
            "external_account_name",
            "config",
            "has_credentials",
            "has_webhook_secret",
            "webhook_url",
            "last_success_at",
            "last_error_at",
            "last_error",
            "consecutive_failures",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_webhook_url(self, connection: Connection) -> str | None:
        if not takes_webhooks(connection):
            return None
        return webhook_address(connection, self.context.get("request"))

    def get_capabilities(self, connection: Connection) -> list[str]:
        try:
            return list(connection.spec.capabilities)
        except LookupError:
            return []


class ConnectRequestSerializer(serializers.Serializer):
    """POST /api/integrations/vendor/connect/: credentials are tested before anything is saved."""

    provider = serializers.CharField(help_text="A provider key from /api/integrations/providers/.")
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.none(),
        help_text="Your organization (you must own or coordinate it).",
    )
    credentials = serializers.DictField(child=serializers.CharField(), write_only=True)
    config = serializers.DictField(required=False, default=dict)
    webhook_secret = serializers.CharField(
        required=False,
        write_only=True,
        allow_blank=True,
        help_text="What the provider issued for verifying its webhooks (the provider's "
        "webhook_secret_field says which), e.g. Stripe's whsec_ signing secret.",
    )

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["organization"].queryset = access.organizations_of(request.user, managing=True)
        return fields

    def validate_provider(self, key: str) -> str:
        from integrations.registry import get_provider

        try:
            get_provider(key)
        except LookupError:
            raise serializers.ValidationError(f"Unknown provider '{key}'.") from None
        return key


class ConnectResponseSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    capabilities = serializers.ListField(child=serializers.CharField())
    external_account_name = serializers.CharField()
