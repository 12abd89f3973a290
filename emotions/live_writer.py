"""Writing a live connection's detections: one writer per process, batching all its connections.

The consumer stays the edge (protocol, state of one socket); what it needs to write safely lives
here: the process's `BatchWriter`, the retry policy, and tasks that outlive a connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import connections

from emotions import services

logger = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_DELAY_MAX = 10.0  # seconds: longest pause between retries of a write that keeps failing
# Detections are written from one thread per process that keeps its database connection open across
# writes (Django closes the connections of ASGI requests after each use, as it recommends for ASGI);
# a failed write closes it, so the next write opens a fresh one.
WRITER_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detection-writer")

# Sessions being closed: their writes outlive the connection (and a server's cancel of it).
_closing: set[asyncio.Task] = set()


class BatchWriter:
    """Writes the detections of all the process's live connections, many frames per transaction.

    A frame's answer waits for the write that holds it; frames that arrive while a write runs
    gather into the next one, so under load a transaction carries the frames of many sessions.
    """

    def __init__(self) -> None:
        self.pending: list[tuple[services.FlushBatch, asyncio.Future]] = []
        self.wakeup = asyncio.Event()
        self.task = asyncio.create_task(self.run(), name="detection-writer")

    async def write(self, batch: services.FlushBatch) -> int:
        """Write `batch` with the next transaction; returns its detections written. Raises the
        write's error if it failed (the batch is then the caller's again)."""
        future = asyncio.get_running_loop().create_future()
        self.pending.append((batch, future))
        self.wakeup.set()
        return await asyncio.shield(future)

    async def run(self) -> None:
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            items, self.pending = self.pending, []
            if not items:
                continue
            try:
                counts = await asyncio.get_running_loop().run_in_executor(
                    WRITER_EXECUTOR, save_on_kept_connection, [batch for batch, _ in items]
                )
            except Exception as error:
                for batch, future in items:
                    if batch.abandoned:  # its connection was cancelled while waiting: nobody retries it
                        logger.error("session %s: %d answered detection(s) lost: %s", batch.session_id,
                                     batch.detection_count, error)
                        future.cancel()
                    elif not future.done():
                        future.set_exception(error)
            else:
                for (_, future), count in zip(items, counts, strict=True):
                    if not future.done():
                        future.set_result(count)


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BatchWriter] = weakref.WeakKeyDictionary()


def batch_writer() -> BatchWriter:
    """The writer of the running event loop (one per process in a server; one per test's loop)."""
    loop = asyncio.get_running_loop()
    writer = _writers.get(loop)
    if writer is None or writer.task.done():
        writer = _writers[loop] = BatchWriter()
    return writer


def save_on_kept_connection(batches: list[services.FlushBatch]) -> list[int]:
    """`services.save_batches` on the writer thread's own connection, closed after a failure."""
    try:
        return services.save_batches(batches)
    except Exception:
        with contextlib.suppress(Exception):
            connections["default"].close()
        raise


def close_writer_connection() -> None:
    """Close the writer thread's connection (tests, before their database goes)."""
    WRITER_EXECUTOR.submit(connections.close_all).result()


def detach(coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task:
    """Run `coroutine` in a task that outlives the connection (kept referenced until done)."""
    task = asyncio.create_task(coroutine)
    _closing.add(task)
    task.add_done_callback(_closing.discard)
    return task


async def retry_until(call: Callable[[], Awaitable[T]], *, deadline: float, what: str) -> T:
    """Await `call()` until it succeeds, pausing longer after each failure; re-raise its last
    error once `deadline` (a `time.monotonic()` value) has passed."""
    delay = 0.25
    while True:
        try:
            return await call()
        except Exception as error:
            if time.monotonic() + delay > deadline:
                raise
            logger.warning("%s failed (%s); retrying in %.1f s", what, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_DELAY_MAX)
