"""Coalesced wake-ups over the real Redis: one task per burst, nothing left behind."""

from __future__ import annotations

import uuid

import pytest

from integrations import wakeups


@pytest.fixture
def key() -> str:
    return uuid.uuid4().hex


def test_a_kick_sends_once_while_a_wake_up_is_waiting_and_force_sends_anyway(key):
    sent = []
    assert wakeups.kick("t", key, lambda: sent.append(1)) is True
    assert wakeups.kick("t", key, lambda: sent.append(2)) is False
    assert wakeups.kick("t", key, lambda: sent.append(3), force=True) is True
    assert sent == [1, 3]
    wakeups.clear("t", key)
    assert wakeups.kick("t", key, lambda: sent.append(4)) is True
    assert sent == [1, 3, 4]


def test_a_kick_during_the_work_sends_nothing_and_makes_the_holder_look_again(key):
    wakeups.kick("t", key, lambda: None)
    runs, sent = [], []

    def work():
        runs.append(wakeups.pending("t", key))  # cleared (taken) before each look
        if len(runs) == 1:
            # A webhook arrives meanwhile: the holder will look again, so no task is sent.
            assert wakeups.kick("t", key, lambda: sent.append(1)) is False
        return len(runs)

    assert wakeups.run_exclusively("t", key, work) == [1, 2]
    assert runs == [False, False]
    assert sent == []
    assert not wakeups.pending("t", key)
    # The holder has let go: the next wake-up is sent.
    assert wakeups.kick("t", key, lambda: sent.append(2)) is True
    assert sent == [2]


def test_a_holder_whose_lock_expired_looks_again_only_if_it_gets_it_back(key):
    runs = []

    def work():
        runs.append(1)
        wakeups.client().delete(wakeups.lock_key("t", key))  # expired under a long run
        if len(runs) == 2:
            assert wakeups.RedisLock("t", key).acquire()  # and someone else took it
        return len(runs)

    assert wakeups.run_exclusively("t", key, work) == [1, 2]


def test_a_task_finding_the_lock_held_leaves_its_flag_for_the_holder(key):
    holder = wakeups.RedisLock("t", key)
    assert holder.acquire()
    wakeups.kick("t", key, lambda: None)
    assert wakeups.run_exclusively("t", key, lambda: "ran") == []
    assert wakeups.pending("t", key)
    other = wakeups.RedisLock("t", key)
    other.release()  # not its lock: nothing happens
    assert not wakeups.RedisLock("t", key).acquire()
    holder.release()
    assert wakeups.run_exclusively("t", key, lambda: "ran") == ["ran"]


def test_keep_going_false_stops_after_one_run(key):
    def work():
        wakeups.kick("t", key, lambda: None)
        return "tired"

    assert wakeups.run_exclusively("t", key, work, keep_going=lambda r: False) == ["tired"]
    assert wakeups.pending("t", key)


def test_without_redis_the_task_is_sent_and_the_work_done(key, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    sent = []
    assert wakeups.kick("t", key, lambda: sent.append(1))
    assert wakeups.kick("t", key, lambda: sent.append(2))
    assert sent == [1, 2]
    assert wakeups.run_exclusively("t", key, lambda: "ran") == ["ran"]


def test_kick_all_sends_once_for_the_keys_without_a_waiting_wake_up():
    waiting, fresh, other = (uuid.uuid4().hex for _ in range(3))
    wakeups.kick("t", waiting, lambda: None)
    sent = []

    assert wakeups.kick_all("t", [waiting, fresh, other], sent.append) == [fresh, other]
    assert sent == [[fresh, other]]  # one send for both
    assert wakeups.kick_all("t", [waiting, fresh, other], sent.append) == []
    assert sent == [[fresh, other]]  # nothing to send, no empty send
    assert all(wakeups.pending("t", key) for key in (waiting, fresh, other))


def test_kicks_work_after_redis_forgot_the_script(key):
    """The kick script is called by its SHA; a restarted Redis has none and is sent it again."""
    wakeups.client().script_flush()
    sent = []
    assert wakeups.kick_all("t", [key], sent.append) == [key]
    wakeups.client().script_flush()
    assert wakeups.kick("t", key, lambda: sent.append("again")) is False  # still waiting
    assert sent == [[key]]


def test_kick_all_clears_the_flags_of_a_send_that_failed(key):
    def broker_down(_keys):
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        wakeups.kick_all("t", [key], broker_down)
    assert not wakeups.pending("t", key)  # the next change's wake-up is sent, not swallowed
    assert wakeups.kick_all("t", [key], lambda _keys: None) == [key]


def test_a_changes_connections_go_to_one_push_task_on_the_weddings_queue(monkeypatch):
    from integrations.sync import dispatch
    from integrations.tasks import push_connections

    sent = []
    monkeypatch.setattr(
        push_connections,
        "apply_async",
        lambda args, kwargs, queue, priority: sent.append((args[0], kwargs["queue"], queue)),
    )
    ids = [uuid.uuid4() for _ in range(7)]
    dispatch.queue_fan_out(ids, "priority")
    assert sent == [([str(i) for i in ids], "priority", "priority")]


def test_while_a_holder_holds_kicks_send_nothing_and_its_hand_over_is_sent(key):
    """A push run holds its connections (the lease lives in the database): changes meanwhile
    send no task, which would only find the lease held; the holder hands over when done."""
    other = uuid.uuid4().hex
    wakeups.kick("t", key, lambda: None)  # the task that is about to run was sent for this
    wakeups.hold_all("t", [key], [key, other], seconds=60)
    assert not wakeups.pending("t", key)  # cleared before anything is listed
    sent = []
    assert wakeups.kick_all("t", [key, other], sent.append) == [other]
    assert sent == [[other]]  # the held one only has its flag set
    assert wakeups.pending("t", key)

    wakeups.let_go_all("t", [key])  # it looks for due work next, and hands that over
    assert not wakeups.pending("t", key)
    assert wakeups.kick_all("t", [key], sent.append, force=True) == [key]  # the hand-over
    assert sent == [[other], [key]]


def test_a_kick_during_a_hold_whose_change_went_with_the_run_leaves_no_flag_behind(key):
    """The change was listed and pushed by the run, then its kick came: nothing is due after
    the run, so nothing is handed over, and the next change must still wake a task."""
    wakeups.hold_all("t", [key], [key], seconds=60)
    assert wakeups.kick_all("t", [key], lambda _: None) == []  # held: flag only
    wakeups.let_go_all("t", [key])
    sent = []
    assert wakeups.kick_all("t", [key], sent.append) == [key]
    assert sent == [[key]]
