"""Per-contact FIFO execution: one job at a time per contact, contacts in parallel."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from itertools import islice
from typing import Any

from botfleet.data_plane.runtime.cancellation import being_cancelled

Job = Callable[[], Awaitable[Any]]


class JobCancelled(RuntimeError):
    """A job raised `CancelledError` though its worker was not cancelled (it awaited something
    another task cancelled): its caller gets this error, and the key's later jobs still run."""


class ContactSequencer:
    """Runs submitted jobs for the same key strictly in submission order, never concurrently.

    Different keys run concurrently. Each key gets a worker task only while it has work, so
    memory stays flat with many idle contacts (a lock per contact would grow without bound).
    """

    def __init__(self) -> None:
        self._queues: dict[str, deque[tuple[Job, asyncio.Future[Any]]]] = {}
        #: Keys whose running job waits in `next_submission`, set by the next `submit`.
        self._arrivals: dict[str, asyncio.Event] = {}
        self._workers: set[asyncio.Task[None]] = set()
        #: Set while `drain` waits: a job that pauses (a turn waiting to try an unavailable
        #: store again) stops waiting, so a shutdown is not held up by it.
        self.draining = asyncio.Event()

    def submit(self, key: str, job: Job) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            task = asyncio.create_task(self._drain(key, queue))
            self._workers.add(task)
            task.add_done_callback(self._workers.discard)
        queue.append((job, future))
        arrival = self._arrivals.get(key)
        if arrival is not None:
            arrival.set()
        return future

    async def next_submission(self, key: str, timeout: float) -> None:
        """Return once a job is submitted for `key`, or after `timeout` seconds.

        For the job running for `key` (one at a time), to look at `queued` again only when it
        changed. Jobs submitted before the call do not count: look at `queued` first, with no
        await in between, and none is missed.
        """
        arrival = self._arrivals[key] = asyncio.Event()
        try:
            with suppress(TimeoutError):
                await asyncio.wait_for(arrival.wait(), max(timeout, 0.0))
        finally:
            if self._arrivals.get(key) is arrival:
                del self._arrivals[key]

    async def _drain(self, key: str, queue: deque[tuple[Job, asyncio.Future[Any]]]) -> None:
        try:
            while queue:
                job, future = queue[0]
                try:
                    result = await job()
                except Exception as exc:  # the caller owns the error; keep serving the key
                    if not future.done():
                        future.set_exception(exc)
                except asyncio.CancelledError as exc:
                    if being_cancelled():  # this worker: a shutdown that cannot wait
                        raise
                    # The job's own (it awaited something another task cancelled): it fails
                    # alone, or the jobs queued behind it would never run nor be answered.
                    # An error, not a cancelled future: its caller was not cancelled.
                    if not future.done():
                        error = JobCancelled("the job was cancelled from within")
                        error.__cause__ = exc
                        future.set_exception(error)
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
        """Wait for every submitted job (shutdown, tests); `draining` is set meanwhile."""
        self.draining.set()
        try:
            while self._workers:
                await asyncio.gather(*list(self._workers), return_exceptions=True)
        finally:
            self.draining.clear()

    def cancel(self) -> None:
        """Cancel every running and queued job (a shutdown that cannot wait any longer)."""
        for task in self._workers:
            task.cancel()
