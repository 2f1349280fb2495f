"""Group commit for the ingest front: many deliveries a commit, each answered once it is in.

A webhook cannot be acknowledged before its row is committed, and a commit per delivery (a
statement, a round trip, a WAL flush each) was most of what a delivery cost the endpoint. A
writer takes everything handed to it while it was writing the last batch and writes it in one
transaction; each delivery's answer is given only once that commit returns. Under light load a
batch is a single delivery and nothing waits for company.

Two writers, one interface (`write`, `pending`, `close`):
- `LoopGroupCommit`, for PostgreSQL: on the event loop itself, over psycopg's asyncio
  connection. A writer thread was measured waiting for the GIL each time the database answered
  it while the loop was busy (up to the interpreter's 5 ms switch interval, several times a
  batch): p50 of a batch's write 8.6 ms, p99 60 ms, where the loop writer needs no hand-off.
- `GroupCommit`, for any database Django speaks (SQLite, the embedded default): one writer
  thread per process over Django's connection.
The drains are woken after the answers, on a thread of their own, off the acknowledgement's path.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import close_old_connections
from django.db import connection as db

from . import pressure, writes
from .answers import Answer, refuse
from .ingest import Admitted

logger = logging.getLogger(__name__)

MAX_BATCH = 200
NOT_STORED = refuse(503, "the event could not be stored now; deliver it again")
_STOP = object()

Settle = Callable[[Answer], None]


def group_commit() -> LoopGroupCommit | GroupCommit:
    """The writer for the configured database."""
    return LoopGroupCommit() if db.vendor == "postgresql" else GroupCommit()


_meter = pressure.Meter()  # this process's delivery rate (drains give way while it is high)


def wake(organization_of: dict, stored: int = 0) -> None:
    """Wake these drains and count the `stored` deliveries, then give back the thread's
    database connection as Django does after a request (kept for CONN_MAX_AGE, at once when
    that is 0)."""
    try:
        writes.wake(organization_of)
        _meter.stored(stored)
    finally:
        close_old_connections()


class Waker:
    """Wakes drains on a thread of its own, off the acknowledgement's path: what is handed over
    while a wake-up is under way goes out together in the next one (one Redis round trip)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: dict = {}
        self._stored = 0
        self._queued = False
        self._thread: ThreadPoolExecutor | None = None

    def hand_over(self, organization_of: dict, stored: int = 0) -> None:
        if not organization_of:
            return
        with self._lock:
            self._due.update(organization_of)
            self._stored += stored
            if self._queued:
                return
            self._queued = True
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="webhook-waker")
            self._thread.submit(self._wake)

    def _wake(self) -> None:
        with self._lock:
            due, self._due, self._queued = self._due, {}, False
            stored, self._stored = self._stored, 0
        wake(due, stored)

    def close(self) -> None:
        """Wait for the wake-ups handed over, then end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.shutdown(wait=True)


class LoopGroupCommit:
    """PostgreSQL, on the event loop: a task writes whatever is pending, batch after batch."""

    def __init__(self, *, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._pending: list[tuple[Admitted, asyncio.Future]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._ready: asyncio.Event | None = None
        self._connection: Any = None
        self._waker = Waker()
        self._closing = False

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def write(self, admitted: Admitted) -> Answer:
        """The delivery's answer, once it is committed (or could not be)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # first use, or a new server in this process (tests)
            self._loop, self._task, self._connection, self._pending = loop, None, None, []
            self._ready, self._closing = asyncio.Event(), False
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run(), name="webhook-writer")
        future = loop.create_future()
        self._pending.append((admitted, future))
        self._ready.set()
        return await future

    async def close(self) -> None:
        """Write what is pending, then close the connection and the waker."""
        if self._task is not None and not self._task.done():
            self._closing = True
            self._ready.set()
            await self._task
        if self._connection is not None and self._loop is asyncio.get_running_loop():
            await self._connection.close()
        self._connection = self._task = self._loop = None
        self._closing = False
        await asyncio.get_running_loop().run_in_executor(None, self._waker.close)

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                await self._write(batch)
            if self._closing:
                return

    async def _write(self, batch: list[tuple[Admitted, asyncio.Future]]) -> None:
        admitted = [entry for entry, _ in batch]
        try:
            ids = await writes.store_many_async(await self._connect(), admitted)
        except Exception:
            logger.exception("%d webhook deliveries could not be stored", len(batch))
            await self._drop_connection()
            for _, future in batch:
                _resolve(future, NOT_STORED)
            return
        for (entry, future), event_id in zip(batch, ids, strict=True):
            _resolve(future, writes.answer_for(entry, event_id))
        self._waker.hand_over(writes.to_wake(admitted, ids), len(batch))

    async def _connect(self) -> Any:
        if self._connection is None or self._connection.closed:
            import psycopg

            params = db.get_connection_params()
            params.pop("cursor_factory", None)  # Django's are synchronous
            self._connection = await psycopg.AsyncConnection.connect(**params, autocommit=True)
        return self._connection

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await connection.close()
            except Exception:
                logger.debug("closing a failed connection failed too", exc_info=True)


class GroupCommit:
    """Any database, on a writer thread started on the first delivery."""

    def __init__(self, *, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def submit(self, admitted: Admitted, settle: Settle) -> None:
        """Queue a delivery; `settle` is called (on the writer thread) with its answer."""
        if not self.alive:
            with self._lock:
                if not self.alive:
                    self._thread = threading.Thread(
                        target=self._run, name="webhook-writer", daemon=True
                    )
                    self._thread.start()
        self._queue.put((admitted, settle))

    async def write(self, admitted: Admitted) -> Answer:
        """The delivery's answer, once it is committed (or could not be)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()

        def settle(answer: Answer) -> None:
            loop.call_soon_threadsafe(_resolve, future, answer)

        self.submit(admitted, settle)
        return await future

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the thread."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return
        self._queue.put(_STOP)
        thread.join(timeout)

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.stop)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                break
            batch = [item]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
            self._write(batch)
        db.close()

    def _write(self, batch: list[tuple[Admitted, Settle]]) -> None:
        admitted = [entry for entry, _ in batch]
        try:
            ids = writes.store_many(admitted)
        except Exception:
            logger.exception("%d webhook deliveries could not be stored", len(batch))
            db.close()  # the next batch opens a fresh connection
            for _, settle in batch:
                _tell(settle, NOT_STORED)
            return
        for (entry, settle), event_id in zip(batch, ids, strict=True):
            _tell(settle, writes.answer_for(entry, event_id))
        wake(writes.to_wake(admitted, ids), len(batch))


def _tell(settle: Settle, answer: Answer) -> None:
    try:
        settle(answer)
    except RuntimeError:  # its event loop has closed: the server is gone, the row is not
        logger.warning("a stored webhook's answer could not be given: its server has stopped")


def _resolve(future: asyncio.Future, answer: Answer) -> None:
    if not future.done():  # the request may have been cancelled (client gone)
        future.set_result(answer)
