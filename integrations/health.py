"""A connection's health, told on its organization's weddings: the seed's vendor_status_change.

Each change of a connection's status (paused, resumed, needing re-authorization, failing its
checks, recovered, disconnected) is logged on the organization's coming weddings and heard on
their sockets, so the coordinators watching a wedding see a vendor's system drop out and come
back. Statuses are saved through `Connection.save`; its loaded status tells a change apart.
"""

from __future__ import annotations

from django.utils import timezone

from integrations.models import Connection, IntegrationEvent
from integrations.sync.eventlog import log
from wedsync.changes import record_change
from wedsync.live import EventType
from wedsync.models import Wedding

COMING_WEDDINGS = 20  # the nearest ones; a studio's whole diary would be noise


def on_connection_saved(sender, instance: Connection, created: bool, **kwargs) -> None:
    before = getattr(instance, "_saved_status", None)
    instance._saved_status = instance.status
    if created or before is None or before == instance.status:
        return
    weddings = (
        Wedding.objects.filter(
            participants__organization_id=instance.organization_id,
            date__gte=timezone.localdate(),
        )
        .order_by("date")
        .distinct()[:COMING_WEDDINGS]
    )
    was = Connection.Status(before).label if before in Connection.Status.values else before
    now = instance.get_status_display()
    data = {
        "connection": str(instance.pk),
        "provider": instance.provider,
        "organization": str(instance.organization_id),
        "status": instance.status,
        "was": before,
    }
    summary = f"{instance.organization}'s {instance.provider_name}: {was} -> {now}"
    for wedding in weddings:
        record_change(wedding.pk, EventType.VENDOR_STATUS_CHANGE, data)
        log(
            instance,
            wedding,
            IntegrationEvent.Type.VENDOR_STATUS_CHANGE,
            summary,
            data,
            affected=[str(instance.organization_id)],
        )
