"""A process killed outright lets go of what it held within seconds (integrations.liveness),
over the real Redis; the process is real too, killed with SIGKILL."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import uuid

import pytest

from integrations import liveness, wakeups

LIFE = 3  # the killed process's HOLDER_LIFE_SECONDS: how long it looks alive after its death

HOLD_A_LOCK = """
import sys, time, django
django.setup()
from integrations import wakeups
lock = wakeups.RedisLock("t", sys.argv[1])
wakeups.hold_all("t", [sys.argv[2]], [], 60)
print(lock.acquire(), flush=True)
time.sleep(600)
"""


def start_holder(code: str, *args: str, **env: str) -> subprocess.Popen:
    """A Python process with Django set up, running `code`; its first line of output is read."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "wedsync.settings_test",
            "HOLDER_LIFE_SECONDS": str(LIFE),
            **env,
        },
        stdout=subprocess.PIPE,
        text=True,
    )


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def seconds_until(predicate, limit: float) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < limit, "still held"
        time.sleep(0.1)
    return time.monotonic() - started


def test_a_killed_holders_lock_and_marks_are_free_a_life_after_its_death_not_before():
    key, held = uuid.uuid4().hex, uuid.uuid4().hex
    holder = start_holder(HOLD_A_LOCK, key, held)
    try:
        assert holder.stdout.readline().strip() == "True"
        time.sleep(LIFE + 1)  # past its first life: it keeps saying it is alive
        assert not wakeups.RedisLock("t", key).acquire()
        assert wakeups.kick("t", held, lambda: None) is False  # a holder at work will look
    finally:
        kill(holder)

    waited = seconds_until(lambda: wakeups.RedisLock("t", key).acquire(), LIFE + 3)
    assert waited <= LIFE + 1
    # Its wake-up mark is nobody's now: a kick sends, even with a flag it left set (that flag
    # may stand for a task that died with it).
    sent = []
    assert wakeups.kick("t", held, lambda: sent.append(1)) is True
    assert sent == [1]


def test_a_holder_is_dead_only_without_its_alive_key():
    mine = liveness.holder()
    stranger = secrets.token_hex(8)
    assert liveness.dead([mine, stranger, ""]) == {stranger}
    assert liveness.holder() == mine  # one id for the life of the process


def test_without_redis_no_holder_counts_as_dead(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    assert liveness.dead([secrets.token_hex(8)]) == set()


def test_a_lock_taken_before_holders_had_ids_is_taken_over():
    """A lock valued as older code wrote it (a bare token) has no alive key: after an upgrade
    it counts as a dead holder's."""
    key = uuid.uuid4().hex
    wakeups.client().set(wakeups.lock_key("t", key), secrets.token_hex(8), ex=60)
    assert wakeups.RedisLock("t", key).acquire()


@pytest.fixture
def lock_key():
    key = uuid.uuid4().hex
    yield key
    wakeups.client().delete(wakeups.lock_key("t", key))


def test_a_live_holders_lock_is_not_taken(lock_key):
    first = wakeups.RedisLock("t", lock_key)
    assert first.acquire()
    assert not wakeups.RedisLock("t", lock_key).acquire()
    first.release()
    assert wakeups.RedisLock("t", lock_key).acquire()
