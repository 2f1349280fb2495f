"""Ingest pressure: processing that can wait gives way to acknowledgements during a burst.

At 1,000 webhooks/s the drains' processing drove two thirds of PostgreSQL's CPU, and the
database's backends run at full priority however the Celery worker is niced: the
acknowledgements waited for CPU behind it (ack p99 56-64 ms; 23.6 ms with the worker stopped,
bench/RESULTS.md). So a front process storing deliveries faster than BUSY_PER_SECOND says so
in Redis (a key that lapses within BUSY_HOLD_MS unless said again), and a drain of events that
can wait stops while the key is set and is queued again for when it lapses.

Events that cannot wait never give way: those of organizations with a wedding today, and any
event that has already waited MAX_WAIT_SECONDS (so a burst that never ends delays processing
by that much, not for ever). Losing Redis loses only the pause, never an event.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings

from integrations import wakeups

logger = logging.getLogger(__name__)

KEY = "wedsync:ingest:busy"
BUSY_HOLD_MS = 500
WINDOW_SECONDS = 0.25  # deliveries counted over this long, then the rate compared
# A drain that gave way is queued again this much later. Each look costs a task and two
# queries per connection: looking every 0.25 s, the worker used 0.43 cores in a paced run while
# holding everything back.
RESUME_SECONDS = 1.0


def busy_per_second() -> float:
    """Deliveries a second, per front process, above which the front is busy."""
    return float(getattr(settings, "WEBHOOK_BUSY_PER_SECOND", 200))


def max_wait_seconds() -> float:
    """How long an event may be held back by a burst before it is processed regardless."""
    return float(getattr(settings, "WEBHOOK_MAX_WAIT_SECONDS", 30))


class Meter:
    """A front process's delivery rate; says the front is busy (in Redis) while it is high."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._count = 0

    def stored(self, deliveries: int) -> None:
        """Count `deliveries` just stored; at the end of each window, say busy if the rate
        was above the threshold (one Redis call a window at most, on the caller's thread)."""
        now = time.monotonic()
        with self._lock:
            self._count += deliveries
            elapsed = now - self._started
            if elapsed < WINDOW_SECONDS:
                return
            rate = self._count / elapsed
            self._started, self._count = now, 0
        if rate >= busy_per_second():
            say_busy()


def say_busy() -> None:
    try:
        wakeups.client().set(KEY, 1, px=BUSY_HOLD_MS)
    except redis.RedisError as error:
        logger.debug("could not say the ingest front is busy: %s", error)


def front_busy() -> bool:
    """Whether a front process said it was busy within the last BUSY_HOLD_MS."""
    try:
        return bool(wakeups.client().exists(KEY))
    except redis.RedisError:
        return False  # without Redis, nothing gives way
