"""Telling a cancellation of the running task from a stray `CancelledError`.

A call can end in `CancelledError` though nobody cancelled the task that made it: it awaited a
future that another task cancelled (one shared with a caller whose timeout expired), or a
library raised one of its own. Letting it end the turn would leave the message pending,
unanswered, until the next start; only a cancellation of the task itself (a shutdown that
cannot wait) must end it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class CallCancelled(RuntimeError):
    """A call ended in `CancelledError` though the task that made it was not cancelled: an
    error like any other of that call (the `CancelledError` is its `__cause__`)."""


def being_cancelled() -> bool:
    """Whether the running task itself is being cancelled (outside a task: assume so)."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0


@contextmanager
def stray_cancellation_as_error(
    what: str, *, error: Callable[[str], Exception] = CallCancelled
) -> Iterator[None]:
    """A stray `CancelledError` in the block becomes `error("`what` was cancelled")`
    (`CallCancelled` unless given), so the caller's ordinary error handling runs; a
    cancellation of the task still ends it."""
    try:
        yield
    except asyncio.CancelledError as exc:
        if being_cancelled():
            raise
        raise error(f"{what} was cancelled") from exc
