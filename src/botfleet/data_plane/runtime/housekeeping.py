"""Background upkeep of a tenant's stores: processed journal entries are pruned as they age.

The journal must outlive the channels' redelivery window (a message id seen within it is a
duplicate), but not forever: at hundreds of messages a second it would grow without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from botfleet.ports.clock import Clock

log = structlog.get_logger("botfleet.runtime")

#: WhatsApp retries a webhook for up to 7 days; keep ids a little longer.
DEFAULT_JOURNAL_RETENTION = timedelta(days=8)
#: Often enough that each run deletes few rows (a short statement, no latency spike).
DEFAULT_PRUNE_EVERY_S = 60.0


class PrunableJournal(Protocol):
    async def prune_journal(self, older_than: datetime) -> int:
        """Delete processed journal entries received before `older_than`; returns how many."""
        ...


async def prune_once(store: PrunableJournal, clock: Clock, retention: timedelta) -> int:
    """One pruning pass; errors are logged, never raised (upkeep must not stop the bot)."""
    try:
        removed = await store.prune_journal(clock.now() - retention)
    except Exception as exc:
        log.error("journal_prune_failed", error=type(exc).__name__, detail=str(exc))
        return 0
    if removed:
        log.info("journal_pruned", removed=removed)
    return removed


@asynccontextmanager
async def journal_pruning(
    store: PrunableJournal,
    clock: Clock,
    *,
    retention: timedelta = DEFAULT_JOURNAL_RETENTION,
    every_s: float = DEFAULT_PRUNE_EVERY_S,
) -> AsyncIterator[asyncio.Task[None]]:
    """Prune the journal every `every_s` seconds while the context is open."""
    if every_s <= 0:
        raise ValueError(f"journal pruning interval must be > 0 seconds, got {every_s}")

    async def loop() -> None:
        while True:
            await prune_once(store, clock, retention)
            await asyncio.sleep(every_s)

    task = asyncio.create_task(loop(), name="journal-pruning")
    try:
        yield task
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
