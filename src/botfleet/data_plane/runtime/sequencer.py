"""Per-contact FIFO execution: one job at a time per contact, contacts in parallel."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from itertools import islice
from typing import Any

Job = Callable[[], Awaitable[Any]]


class ContactSequencer:
    """Runs submitted jobs for the same key strictly in submission order, never concurrently.

    Different keys run concurrently. Each key gets a worker task only while it has work, so
    memory stays flat with many idle contacts (a lock per contact would grow without bound).
    """

    def __init__(self) -> None:
        self._queues: dict[str, deque[tuple[Job, asyncio.Future[Any]]]] = {}
        self._workers: set[asyncio.Task[None]] = set()

    def submit(self, key: str, job: Job) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            task = asyncio.create_task(self._drain(key, queue))
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)
        queue.append((job, future))
        return future

    async def _drain(self, key: str, queue: deque[tuple[Job, asyncio.Future[Any]]]) -> None:
        try:
            while queue:
                job, future = queue[0]
                try:
                    result = await job()
                except Exception as exc:  # the caller owns the error; keep serving the key
                    if not future.done():
                        future.set_exception(exc)
                else:
                    if not future.done():
                        future.set_result(result)
                queue.popleft()
        except asyncio.CancelledError:
            for _, waiting in queue:  # nobody waits forever on a job that will never run
                waiting.cancel()
            raise
        finally:
            self._queues.pop(key, None)

    def queued(self, key: str) -> list[Job]:
        """The jobs of `key` waiting behind the one running now, in order."""
        queue = self._queues.get(key)
        return [job for job, _ in islice(queue, 1, None)] if queue else []

    @property
    def busy_keys(self) -> int:
        return len(self._queues)

    async def drain(self) -> None:
        """Wait for every submitted job (shutdown, tests)."""
        while self._workers:
            await asyncio.gather(*list(self._workers), return_exceptions=True)

    def cancel(self) -> None:
        """Cancel every running and queued job (a shutdown that cannot wait any longer)."""
        for task in self._workers:
            task.cancel()
