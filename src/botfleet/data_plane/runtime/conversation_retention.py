"""The flow's `settings.conversation_retention`: conversations silent for longer are forgotten.

Once an hour, the states of contacts with no turn (no message, no task) for longer than the
retention are deleted, and dropped from the runtime's cache; a contact who writes again starts
as a new one. Their pending scheduled tasks are kept: a reminder is the business's promise,
and carries its own data. The journal and the outbox age out on their own (8 days).

The retention is read from the live flow at every pass, so publishing a version that sets or
changes it applies from the next pass; a flow without it keeps conversations until erased.
Ages are measured by a `SteadyClock`, as the journal's: a wall clock that jumps ahead does not
forget contacts early.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

import structlog

from botfleet.data_plane.runtime.flow_holder import LiveConfig
from botfleet.data_plane.runtime.housekeeping import SteadyClock, running_in_background
from botfleet.flows.durations import parse_duration
from botfleet.ports.clock import Clock

log = structlog.get_logger("botfleet.runtime")

#: How often conversations are checked (a pass reads every conversation row, in batches).
DEFAULT_EVERY_S = 3600.0


def retention_of(live: LiveConfig) -> timedelta | None:
    """The live flow's `settings.conversation_retention`, or None (kept until erased)."""
    text = live.flow.settings.conversation_retention
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError:  # the validator refuses such a flow before it is live
        return None


@runtime_checkable
class ForgetsInactive(Protocol):
    async def forget_inactive(self, older_than: datetime) -> list[str]:
        """Delete the conversation states last updated before `older_than`; their contacts."""
        ...


async def forget_once(
    store: ForgetsInactive,
    clock: Clock,
    retention: timedelta,
    forget_cached: Callable[[str], object],
) -> int:
    """One pass: states older than `retention` go, from the store and the cache. Errors are
    logged (`conversations_forget_failed`), never raised: upkeep must not stop the bot."""
    try:
        contacts = await store.forget_inactive(clock.now() - retention)
    except Exception as exc:
        log.error("conversations_forget_failed", error=type(exc).__name__, detail=str(exc))
        return 0
    for contact in contacts:
        forget_cached(contact)
    if contacts:
        log.info("conversations_forgotten", removed=len(contacts), retention_days=retention.days)
    return len(contacts)


@asynccontextmanager
async def conversation_forgetting(
    store: ForgetsInactive,
    clock: Clock,
    retention_of: Callable[[], timedelta | None],
    forget_cached: Callable[[str], object],
    *,
    every_s: float = DEFAULT_EVERY_S,
    monotonic: Callable[[], float] = time.monotonic,
) -> AsyncIterator[asyncio.Task[None]]:
    """Forget inactive conversations every `every_s` seconds while the context is open (the
    first pass one interval after start, as the journal's pruning), with the retention
    `retention_of()` gives at that pass (None: keep them)."""
    if every_s <= 0:
        raise ValueError(f"conversation retention interval must be > 0 seconds, got {every_s}")
    steady = SteadyClock(clock, monotonic=monotonic)

    async def loop() -> None:
        while True:
            await asyncio.sleep(every_s)
            retention = retention_of()
            if retention is not None:
                await forget_once(store, steady, retention, forget_cached)

    async with running_in_background(loop(), "conversation-retention") as task:
        yield task
