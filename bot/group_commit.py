"""Group commit: work that arrives while the database is busy is done together, off the loop.

A burst of check-in answers at 09:00 would otherwise cost one transaction, one commit and one
thread hand-off each. `GroupCommit` queues what arrives while a batch is in the database and
hands the whole queue to one call of a batch function in a worker thread, so those costs are
paid once per batch. With nothing else waiting a batch is one item, and the latency is that of
a plain `asyncio.to_thread`.

One batch is in flight at a time per event loop: SQLite takes one writer at a time anyway,
and on PostgreSQL the batches carry the concurrency.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Run `batch(items) -> results` (same order, same length) for items submitted together."""

    def __init__(self, batch: Callable[[Sequence[T]], list[R]], *, max_batch: int = 64) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._batch = batch
        self.max_batch = max_batch
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._worker: asyncio.Task[None] | None = None
        # Batch sizes seen, for benchmarks and logs: size -> how many batches.
        self.batch_sizes: dict[int, int] = {}

    async def submit(self, item: T) -> R:
        """Queue `item`; return its result once its batch has run."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # A new event loop (tests run one each): nothing from the old one can be awaited.
            self._loop, self._queue, self._worker = loop, [], None
        future: asyncio.Future[R] = loop.create_future()
        self._queue.append((item, future))
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._drain())
        # A caller that gives up (a timeout) leaves the work running: it may be a stored answer.
        return await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._queue:
            taken, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            size = len(taken)
            self.batch_sizes[size] = self.batch_sizes.get(size, 0) + 1
            try:
                results = await asyncio.to_thread(self._batch, [item for item, _ in taken])
                if len(results) != size:
                    raise RuntimeError(f"batch returned {len(results)} results for {size}")
            except BaseException as exc:
                for _, future in taken:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                log.exception("a batch of %d failed", size)
                continue
            for (_, future), result in zip(taken, results, strict=True):
                if not future.done():
                    future.set_result(result)
