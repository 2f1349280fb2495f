"""Which connection a webhook URL belongs to, kept for a moment per process.

At volume a provider posts many deliveries to the same URL within a second; reading and
decrypting the connection for each was a third of the endpoint's CPU. The answer is kept for
WEBHOOK_CONNECTION_CACHE_SECONDS (2 s by default, 0 turns it off) and dropped at once when this
process saves or deletes a connection. Another process may act for up to that long on a status
or secret that just changed; processing checks pause and revoke again on the stored event.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from integrations.models import Connection

MAX_ENTRIES = 10_000
REFRESH_AHEAD = 0.75  # of the time a connection is kept
_cache: dict[str, tuple[float, Connection]] = {}


def cached_connection(token: str) -> Connection | None:
    """The connection kept for this token, without asking the database; None when none is."""
    cached = _cache.get(token)
    if (
        cached is not None
        and time.monotonic() - cached[0] < settings.WEBHOOK_CONNECTION_CACHE_SECONDS
    ):
        return cached[1]
    return None


def due_for_refresh(token: str) -> bool:
    """Whether the kept connection has lived most of its time: read it again now (`refresh`,
    on a thread) while it still serves, so that a steady stream of deliveries never waits for
    the database (and the many that arrive while one reads it do not all read it too)."""
    cached = _cache.get(token)
    ttl = settings.WEBHOOK_CONNECTION_CACHE_SECONDS
    return cached is not None and time.monotonic() - cached[0] >= ttl * REFRESH_AHEAD


def refresh(token: str) -> None:
    connection_for_token(token, fresh=True)


def connection_for_token(token: str, *, fresh: bool = False) -> Connection | None:
    """The connection (not revoked) whose webhook URL ends in this token, or None; `fresh`:
    read from the database even when one is kept."""
    kept = None if fresh else cached_connection(token)
    if kept is not None:
        return kept
    ttl = settings.WEBHOOK_CONNECTION_CACHE_SECONDS
    now = time.monotonic()
    connection = (
        Connection.objects.exclude(status=Connection.Status.REVOKED)
        .filter(webhook_token=token)
        .first()
    )
    if connection is None or ttl <= 0:
        _cache.pop(token, None)
        return connection
    if len(_cache) >= MAX_ENTRIES:
        _cache.clear()
    _cache[token] = (now, connection)
    return connection


def forget_all() -> None:
    _cache.clear()


@receiver(post_save, sender=Connection, dispatch_uid="webhook-lookup-save")
@receiver(post_delete, sender=Connection, dispatch_uid="webhook-lookup-delete")
def _connection_changed(**kwargs) -> None:
    forget_all()
