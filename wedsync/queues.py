"""Celery queues: one per kind of work, so a flood in one never starves another."""

PRIORITY = "priority"  # anything for a wedding happening today
WEBHOOKS = "webhooks"  # inbound processing
SYNC = "sync"  # outbound pushes
RESYNC = "resync"  # scheduled pulls
MESSAGING = "messaging"
DEFAULT = "default"  # housekeeping

ALL = (PRIORITY, WEBHOOKS, SYNC, RESYNC, MESSAGING, DEFAULT)
