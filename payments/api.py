"""API: a wedding's budget, rolled up from the payments its vendors' systems reported."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from wedsync.models import Wedding

from . import services
from .models import Payment


class PaymentSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name")
    paid = serializers.DecimalField(max_digits=14, decimal_places=2)
    due = serializers.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        model = Payment
        fields = [
            "id",
            "organization",
            "organization_name",
            "provider",
            "external_id",
            "amount",
            "amount_refunded",
            "currency",
            "state",
            "provider_status",
            "description",
            "paid",
            "due",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TotalSerializer(serializers.Serializer):
    currency = serializers.CharField()
    paid = serializers.DecimalField(max_digits=14, decimal_places=2)
    refunded = serializers.DecimalField(max_digits=14, decimal_places=2)
    due = serializers.DecimalField(max_digits=14, decimal_places=2)


class VendorTotalSerializer(serializers.Serializer):
    organization = serializers.UUIDField()
    name = serializers.CharField()
    currency = serializers.CharField()
    paid = serializers.DecimalField(max_digits=14, decimal_places=2)
    due = serializers.DecimalField(max_digits=14, decimal_places=2)
    payments = serializers.IntegerField()


class BudgetSerializer(serializers.Serializer):
    wedding = serializers.UUIDField()
    totals = TotalSerializer(many=True)
    vendors = VendorTotalSerializer(many=True)
    payments = PaymentSerializer(many=True)


class BudgetView(APIView):
    """What has been paid to the wedding's vendors, refunded and is still on its way, per
    currency and per vendor, as their payment systems (Stripe, Square, PayPal, bridges)
    reported it. Members of the wedding's organizations only."""

    @extend_schema(summary="A wedding's budget", responses=BudgetSerializer, tags=["payments"])
    def get(self, request, wedding_id):
        wedding = get_object_or_404(Wedding.objects.visible_to(request.user), pk=wedding_id)
        return Response(BudgetSerializer(services.budget(wedding)).data)
