"""The typed events a wedding's socket carries."""

from django.db import models


class EventType(models.TextChoices):
    # Changes to the wedding's own data.
    WEDDING_UPDATED = "wedding_updated"
    PARTICIPANT_ADDED = "participant_added"
    PARTICIPANT_REMOVED = "participant_removed"
    TIMELINE_ITEM_CREATED = "timeline_item_created"
    TIMELINE_ITEM_UPDATED = "timeline_item_updated"
    TIMELINE_ITEM_DELETED = "timeline_item_deleted"
    CONTACT_CREATED = "contact_created"
    CONTACT_UPDATED = "contact_updated"
    CONTACT_DELETED = "contact_deleted"
    # The seed's integration event types.
    WEDDING_TIMELINE_UPDATE = "wedding_timeline_update"
    VENDOR_STATUS_CHANGE = "vendor_status_change"
    BUDGET_MODIFICATION = "budget_modification"
    GUEST_LIST_UPDATE = "guest_list_update"
    PAYMENT_STATUS_CHANGE = "payment_status_change"
    COMMUNICATION_SENT = "communication_sent"
    DOCUMENT_SHARED = "document_shared"
    CALENDAR_EVENT_CREATED = "calendar_event_created"
    EMERGENCY_NOTIFICATION = "emergency_notification"
    ANNOUNCEMENT_ACKNOWLEDGED = "announcement_acknowledged"
    # Integration plumbing.
    SYNC_PUSH_SUCCEEDED = "sync_push_succeeded"
    SYNC_PUSH_FAILED = "sync_push_failed"
    CONFLICT_OPENED = "conflict_opened"
    CONFLICT_RESOLVED = "conflict_resolved"
