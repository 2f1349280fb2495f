"""Group commit for the ingest front: one writer thread per process, many deliveries a commit.

A webhook cannot be acknowledged before its row is committed, and a commit per delivery (a
statement, a round trip, a WAL flush each) was most of what a delivery cost the endpoint. The
writer takes everything handed to it while it was writing the last batch and writes it in one
transaction (`writes.store_many`); each delivery's answer is given only once that commit
returns. Under light load a batch is a single delivery and nothing waits for company.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from django.db import connection as db

from . import writes
from .answers import Answer, refuse
from .ingest import Admitted

logger = logging.getLogger(__name__)

MAX_BATCH = 200
NOT_STORED = refuse(503, "the event could not be stored now; deliver it again")
_STOP = object()

Settle = Callable[[Answer], None]


class GroupCommit:
    """The writer thread and its queue; started on the first delivery, stopped by `stop`."""

    def __init__(self, *, max_batch: int = MAX_BATCH) -> None:
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

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
        writes.wake_new(admitted, ids)
        # As Django does after a request: the connection is kept for CONN_MAX_AGE, or given
        # back (to the pool, or closed) at once when that is 0.
        db.close_if_unusable_or_obsolete()


def _tell(settle: Settle, answer: Answer) -> None:
    try:
        settle(answer)
    except RuntimeError:  # its event loop has closed: the server is gone, the row is not
        logger.warning("a stored webhook's answer could not be given: its server has stopped")


def _resolve(future: asyncio.Future, answer: Answer) -> None:
    if not future.done():  # the request may have been cancelled (client gone)
        future.set_result(answer)
