"""Models of the integrations app: connections, inbound webhook events and record links."""

from .connection import Connection, new_webhook_token
from .inbound import InboundEvent
from .record_link import RecordLink

__all__ = ["Connection", "InboundEvent", "RecordLink", "new_webhook_token"]
