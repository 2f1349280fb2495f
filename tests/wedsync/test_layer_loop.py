"""The channel layer's loop: one per process, reused, results and errors come back."""

import asyncio
import threading

import pytest

from wedsync.live import layer_loop
from wedsync.live.layer_loop import run_on_layer_loop


async def where_am_i(tag: str) -> tuple[str, int, int]:
    return tag, threading.get_ident(), id(asyncio.get_running_loop())


def test_calls_share_one_loop_on_one_thread_and_return_results():
    first = run_on_layer_loop(where_am_i, "a")
    second = run_on_layer_loop(where_am_i, "b")
    assert first[0] == "a" and second[0] == "b"
    assert first[1:] == second[1:]
    assert first[1] != threading.get_ident()


def test_an_error_in_the_coroutine_reaches_the_caller():
    async def broken():
        raise ValueError("no such group")

    with pytest.raises(ValueError, match="no such group"):
        run_on_layer_loop(broken)


def test_a_send_that_hangs_times_out_and_the_loop_keeps_serving():
    async def hang():
        await asyncio.sleep(30)

    with pytest.raises(TimeoutError):
        run_on_layer_loop(hang, timeout=0.1)
    assert run_on_layer_loop(where_am_i, "after")[0] == "after"


def test_a_forked_child_starts_a_loop_of_its_own(monkeypatch):
    before = run_on_layer_loop(where_am_i, "parent")
    monkeypatch.setattr(layer_loop, "_pid", -1)  # as a child sees its parent's state
    after = run_on_layer_loop(where_am_i, "child")
    assert after[1:] != before[1:]
