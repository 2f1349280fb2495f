"""Behaviour shared by the API's serializers and viewsets."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework import serializers


class ModelCleanMixin:
    """Run the model's clean() so the API enforces the same rules as the admin."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        model = self.Meta.model
        instance = self.instance or model()
        for name, value in attrs.items():
            if not model._meta.get_field(name).many_to_many:
                setattr(instance, name, value)
        try:
            instance.clean()
        except DjangoValidationError as error:
            raise serializers.ValidationError(serializers.as_serializer_error(error)) from error
        return attrs


class WeddingTimeZoneMixin:
    """Times are read and written in the wedding's own time zone.

    A naive time ("2026-06-20T15:30") means 15:30 where the wedding takes place, and every time
    comes back with that zone's offset, so a ceremony at 15:30 reads 15:30 for everyone.
    """

    def _wedding_for(self, data=None):
        if self.instance is not None and hasattr(self.instance, "wedding"):
            return self.instance.wedding
        wedding_id = data.get("wedding") if hasattr(data, "get") else None
        if wedding_id:
            field = self.fields["wedding"]
            try:
                return field.get_queryset().filter(pk=wedding_id).first()
            except (DjangoValidationError, ValueError):
                return None
        return None

    def to_internal_value(self, data):
        wedding = self._wedding_for(data)
        if wedding is None:
            return super().to_internal_value(data)
        with timezone.override(wedding.zone):
            return super().to_internal_value(data)

    def to_representation(self, instance):
        with timezone.override(instance.wedding.zone):
            return super().to_representation(instance)


class AtomicWritesMixin:
    """Every write is one transaction: a failure leaves nothing half-saved."""

    @transaction.atomic
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    @transaction.atomic
    def update(self, request, *args, **kwargs):
        return super().update(request, *args, **kwargs)

    @transaction.atomic
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)
