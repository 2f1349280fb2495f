"""Coalesced wake-ups: one queued task per burst of work for the same key.

A webhook that arrives while a drain of its connection is queued or at work does not queue
another: `kick` sets a flag in Redis and sends the task only when the flag was not set and no
holder is at work, in one atomic script. The task runs under a per-key lock
(`run_exclusively`); the holder clears the flag before it looks for work, so anything committed
after that sets the flag again, and the holder lets go only when, in one atomic step, no flag
is set; a set flag is taken and the holder looks once more. A task that finds the lock held
just returns: the flag it was sent for is still set and the holder will see it.

Losing a flag or a lock to a Redis failure costs at most a duplicate run (the work itself is
idempotent) or a wait for the sweeps; it never loses work. Flags and locks expire on their own,
and the locks of a holder that was killed are free as soon as it is known dead
(integrations.liveness).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

import redis
from django.conf import settings

from integrations import liveness

logger = logging.getLogger(__name__)

FLAG_SECONDS = 60
LOCK_SECONDS = 60
T = TypeVar("T")

_RELEASE_IF_OURS = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

# A lock's value starts with its holder's id (integrations.liveness): a holder whose alive key
# is gone was killed, and its lock is nobody's. (The alive keys are read without being named in
# KEYS: fine on one Redis server, not on a cluster.)
_HELD = f"""
local function held(lock)
  local value = redis.call('get', lock)
  if not value then return false end
  local holder = string.match(value, '^[^:]*')
  return redis.call('exists', '{liveness.ALIVE_PREFIX}' .. holder) == 1
end
"""

# KEYS: flag, lock of each key in turn; ARGV: flag seconds, force. For each key, 1: send its
# task; 0: a task is waiting or a holder is at work, and the flag is set for it to see. One
# script call for many keys: a call per key was most of a wake-up's CPU in the ingest front.
# A dead holder's lock is dropped and the task sent: the flag it left may stand for a task
# that died with it.
_KICK = (
    _HELD
    + """
local sent = {}
for i = 1, #KEYS, 2 do
  local flag, lock = KEYS[i], KEYS[i + 1]
  if held(lock) then
    redis.call('set', flag, 1, 'ex', ARGV[1])
    sent[#sent + 1] = 0
  elseif redis.call('del', lock) == 1 or ARGV[2] == '1' then
    redis.call('set', flag, 1, 'ex', ARGV[1])
    sent[#sent + 1] = 1
  elseif redis.call('set', flag, 1, 'nx', 'ex', ARGV[1]) then
    sent[#sent + 1] = 1
  else
    sent[#sent + 1] = 0
  end
end
return sent
"""
)

# KEYS: lock; ARGV: token, lock seconds. 1: taken (it was free, or its holder is dead).
_ACQUIRE = (
    _HELD
    + """
if held(KEYS[1]) then return 0 end
redis.call('set', KEYS[1], ARGV[1], 'ex', ARGV[2])
return 1
"""
)

# KEYS: lock, flag; ARGV: token, lock seconds. 1: released; 0: a wake-up came, taken, the
# lock kept (and extended); -1: the lock is not ours any more.
_RELEASE_UNLESS_WOKEN = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('del', KEYS[2]) == 1 then
  redis.call('expire', KEYS[1], ARGV[2])
  return 0
end
redis.call('del', KEYS[1])
return 1
"""


@lru_cache(maxsize=4)
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def client() -> redis.Redis:
    return _client_for(settings.REDIS_URL)


@lru_cache(maxsize=8)
def _script(url: str, source: str):
    """A script registered once per client: called by its SHA (EVALSHA), loaded when Redis
    has not seen it."""
    return _client_for(url).register_script(source)


def flag_key(name: str, key: object) -> str:
    return f"wedsync:kick:{name}:{key}"


def lock_key(name: str, key: object) -> str:
    return f"wedsync:lock:{name}:{key}"


def kick(name: str, key: object, send: Callable[[], None], *, force: bool = False) -> bool:
    """Send the task unless one for this key is already waiting or its holder is at work (the
    flag is set for the holder to see); `force` sends even when a task is waiting. True when it
    was sent."""
    try:
        fresh = _kicked(name, [key], force)[0]
    except redis.RedisError as error:
        logger.warning("wake-up flag unavailable, sending anyway: %s", error)
        fresh = True
    if fresh:
        send()
    return bool(fresh)


def _kicked(name: str, keys: list, force: bool) -> list[int]:
    """Run _KICK for `keys` in one call: 1 for each key whose task is to be sent."""
    pairs = [part for key in keys for part in (flag_key(name, key), lock_key(name, key))]
    return _script(settings.REDIS_URL, _KICK)(keys=pairs, args=[FLAG_SECONDS, int(force)])


def kick_all(name: str, keys: list, send: Callable[[list], None], *, force: bool = False) -> list:
    """`kick` for many keys in one Redis round trip and one send: `send(fresh)` gets the keys
    with no wake-up waiting and no holder at work (nothing is sent when there are none;
    `force`: whether a wake-up is waiting or not); returns them.

    A send that fails clears their flags again, so the next wake-up tries anew.
    """
    if not keys:
        return []
    try:
        fresh = [key for key, sent in zip(keys, _kicked(name, keys, force), strict=True) if sent]
    except redis.RedisError as error:
        logger.warning("wake-up flags unavailable, sending anyway: %s", error)
        fresh = list(keys)
    if fresh:
        try:
            send(fresh)
        except Exception:
            clear_all(name, fresh)
            raise
    return fresh


def hold_all(name: str, held: list, keys: list, seconds: float) -> None:
    """Mark `held` as at work (a kick sets their flags and sends nothing: the holder looks
    again before it is done), then clear the flags of all `keys`: a change from here on wakes
    anew. For holders whose exclusion lives elsewhere (a push lease in the database); the mark
    expires on its own after `seconds`, as the lease does, and is nobody's once its holder is
    known dead (integrations.liveness)."""
    try:
        pipe = client().pipeline(transaction=False)
        for key in held:
            pipe.set(lock_key(name, key), liveness.holder(), ex=max(1, int(seconds)))
        if keys:
            pipe.delete(*(flag_key(name, key) for key in keys))
        pipe.execute()
    except redis.RedisError as error:
        logger.warning("wake-up marks not set: %s", error)


def let_go_all(name: str, held: list) -> None:
    """End `hold_all`: from here on a kick sends its task. The holder looks for work after
    this, so the flags set meanwhile are cleared with the marks: their work is either seen by
    that look or was done by the run (a kick can come after its change was listed), and a
    flag left set would make the next kick send nothing."""
    try:
        keys = [lock_key(name, key) for key in held] + [flag_key(name, key) for key in held]
        client().delete(*keys)
    except redis.RedisError as error:
        logger.warning("wake-up marks not cleared (they expire on their own): %s", error)


class RedisLock:
    """A lock with an owner token, released only by its owner; the lock of a holder that was
    killed is free (integrations.liveness)."""

    def __init__(self, name: str, key: object) -> None:
        self.key = lock_key(name, key)
        self.token = f"{liveness.holder()}:{secrets.token_hex(4)}"

    def acquire(self) -> bool:
        try:
            taken = _script(settings.REDIS_URL, _ACQUIRE)(
                keys=[self.key], args=[self.token, LOCK_SECONDS]
            )
            return bool(taken)
        except redis.RedisError as error:
            logger.warning("lock unavailable, working without it: %s", error)
            return True

    def release(self) -> None:
        try:
            client().eval(_RELEASE_IF_OURS, 1, self.key, self.token)
        except redis.RedisError as error:
            logger.warning("lock release failed (it expires on its own): %s", error)

    def release_unless_woken(self, flag: str) -> bool:
        """Let go unless the flag is set; a set flag is taken and the lock kept. True when
        the holder should look again."""
        try:
            outcome = client().eval(
                _RELEASE_UNLESS_WOKEN, 2, self.key, flag, self.token, LOCK_SECONDS
            )
        except redis.RedisError as error:
            logger.warning("lock release failed (it expires on its own): %s", error)
            return False  # cannot tell; looping blind could never end, and the sweeps cover it
        if outcome == -1:  # it expired under a long run: look again if we get it back
            return self.acquire()
        return outcome == 0


def pending(name: str, key: object) -> bool:
    try:
        return bool(client().exists(flag_key(name, key)))
    except redis.RedisError:
        return False  # cannot tell; looping blind could never end, and the sweeps cover it


def clear(name: str, key: object) -> None:
    clear_all(name, [key])


def clear_all(name: str, keys: list) -> None:
    try:
        client().delete(*(flag_key(name, key) for key in keys))
    except redis.RedisError as error:
        logger.warning("wake-up flags not cleared: %s", error)


def run_exclusively(
    name: str,
    key: object,
    work: Callable[[], T],
    *,
    keep_going: Callable[[T], bool] = lambda result: True,
) -> list[T]:
    """Run `work` while holding the key's lock, again for as long as wake-ups keep arriving.

    Returns each run's result; an empty list when another holder has the lock (it will see
    our flag). `keep_going(result)` false stops after that run, for a caller that hands over
    to a new task so that other keys get their turn.
    """
    lock = RedisLock(name, key)
    if not lock.acquire():
        return []
    results: list[T] = []
    clear(name, key)
    while True:
        try:
            results.append(work())
        except BaseException:
            lock.release()
            raise
        if not keep_going(results[-1]):
            lock.release()
            return results
        if not lock.release_unless_woken(flag_key(name, key)):
            return results
