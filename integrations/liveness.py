"""Whether the process that holds a lock or a lease is still alive.

Each process that takes a drain lock, a push lease or a push's wake-up mark is a holder with
an id of its own, and keeps the key `wedsync:alive:<id>` in Redis alive while it lives: a
thread renews it every RENEW_SECONDS for LIFE_SECONDS. A process killed outright (kill -9,
the OOM killer, a container stopped hard) stops renewing, and LIFE_SECONDS later whatever it
held counts as free: the locks' and leases' own expiry is sized for the longest honest run (a
minute or two), which a dead holder would otherwise make every wedding it served wait out.

A holder that cannot be told dead (Redis unreachable, a key still there) is taken for alive:
the expiry stays the fallback, so a lost answer costs time, never two holders at once.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

RENEW_SECONDS = 2.0
ALIVE_PREFIX = "wedsync:alive:"

_lock = threading.Lock()
_holder: tuple[int, str] | None = None  # (the process id it was made in, the holder id)


def life_seconds() -> int:
    """How long a holder counts as alive after its last renewal."""
    return max(int(RENEW_SECONDS) + 1, settings.HOLDER_LIFE_SECONDS)


def alive_key(holder_id: str) -> str:
    return f"{ALIVE_PREFIX}{holder_id}"


def holder() -> str:
    """This process's holder id, alive from the first call on (a forked child gets its own)."""
    global _holder
    pid = os.getpid()
    current = _holder
    if current is not None and current[0] == pid:
        return current[1]
    with _lock:
        if _holder is None or _holder[0] != pid:
            holder_id = secrets.token_hex(8)
            _renew(holder_id)
            _holder = (pid, holder_id)  # before the thread, which runs while this holds
            threading.Thread(
                target=_keep_alive, args=_holder, name="holder-alive", daemon=True
            ).start()
        return _holder[1]


def _renew(holder_id: str) -> None:
    from integrations.wakeups import client

    try:
        client().set(alive_key(holder_id), 1, ex=life_seconds())
    except redis.RedisError as error:
        logger.warning("holder %s could not say it is alive: %s", holder_id, error)


def _keep_alive(pid: int, holder_id: str) -> None:
    while _holder == (pid, holder_id):
        time.sleep(RENEW_SECONDS)
        try:
            _renew(holder_id)
        except Exception:  # a bug must not stop the renewals: the holder would look dead
            logger.exception("holder %s could not say it is alive", holder_id)


def dead(holder_ids: Iterable[str]) -> set[str]:
    """Those of the holders known to be dead (an empty id is nobody's, never dead)."""
    from integrations.wakeups import client

    ids = sorted({holder_id for holder_id in holder_ids if holder_id})
    if not ids:
        return set()
    try:
        found = client().mget([alive_key(holder_id) for holder_id in ids])
    except redis.RedisError as error:
        logger.warning("cannot tell whether lock holders are alive: %s", error)
        return set()
    return {holder_id for holder_id, alive in zip(ids, found, strict=True) if alive is None}
