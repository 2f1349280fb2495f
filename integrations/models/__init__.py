"""Models of the integrations app: connections, inbound webhook events and record links."""

from .connection import Connection, new_webhook_token
from .inbound import InboundEvent
from .record_link import RecordLink
from .sync import IntegrationEvent, OutboundChange, SyncRun

__all__ = [
    "Connection",
    "InboundEvent",
    "IntegrationEvent",
    "OutboundChange",
    "RecordLink",
    "SyncRun",
    "new_webhook_token",
]
