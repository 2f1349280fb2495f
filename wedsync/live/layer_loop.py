"""One event loop per process for the channel layer, so sync code can send cheaply.

`async_to_sync` from a worker or a WSGI thread starts a new event loop for every call, and
channels_redis keeps its Redis connections per loop: each broadcast paid for a loop, a Redis
connection and its teardown, about 2 ms of CPU. A sync pusher broadcasts once per system it
pushes to, so that was a large share of its work. Here one daemon thread per process runs a
loop for good; sends are handed to it, and waited for or not (broadcasts after a commit are
not: wedsync.live.broadcast keeps them in order).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any

SEND_TIMEOUT_SECONDS = 5.0

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid: int | None = None


def _layer_loop() -> asyncio.AbstractEventLoop:
    """This process's loop, started on first use (and again in a forked child, where the
    parent's thread does not exist)."""
    global _loop, _pid
    with _lock:
        if _loop is None or _pid != os.getpid() or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=loop.run_forever, name="channel-layer-loop", daemon=True
            )
            thread.start()
            _loop, _pid = loop, os.getpid()
        return _loop


def run_on_layer_loop(
    function: Callable[..., Awaitable[Any]], *args: Any, timeout: float = SEND_TIMEOUT_SECONDS
) -> Any:
    """Run `await function(*args)` on the layer's loop and return its result (or raise)."""
    future = asyncio.run_coroutine_threadsafe(function(*args), _layer_loop())
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise


def send_soon(coroutine: Awaitable[Any], *, on_error: Callable[[], None]) -> None:
    """Run `coroutine` on the layer's loop without waiting for it; `on_error` if it fails."""
    future = asyncio.run_coroutine_threadsafe(coroutine, _layer_loop())

    def done(finished) -> None:
        if not finished.cancelled() and finished.exception() is not None:
            on_error()

    future.add_done_callback(done)
