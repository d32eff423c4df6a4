"""A run handed to the runtime, awaited so that what holds it is released when it ends.

The runtime's runner waits for the run's turn on the contact's queue; the turn itself runs in
the queue's worker. A caller cancelled while it waits (a request's task cancelled, a shutdown)
stops waiting, but the run goes on and sends. Released at that cancellation, the one-at-a-time
guard of a standing job would let a second run start beside the first: its messages twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def run_to_end(call: Awaitable[T], release: Callable[[], None]) -> T:
    """Await `call`; `release` runs once it has ended (returned, raised or been cancelled),
    also when the caller was cancelled before that: the call is shielded, not cancelled."""
    task = asyncio.ensure_future(call)

    def ended(done: asyncio.Future[T]) -> None:
        # Retrieved here: a caller cancelled before the end no longer awaits it (the runner
        # logs its own failures).
        if not done.cancelled():
            done.exception()
        release()

    # Added before the caller's own wake-up (the shield's), so the guard is free by the time
    # the caller learns that the run ended.
    task.add_done_callback(ended)
    return await asyncio.shield(task)
