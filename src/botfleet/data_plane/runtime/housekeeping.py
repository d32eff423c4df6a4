"""Background upkeep of a tenant's stores: processed journal entries, delivered outputs,
conversation states set aside as unreadable and recorded task runs are pruned as they age.

The journal must outlive the channels' redelivery window (a message id seen within it is a
duplicate), but not forever: at hundreds of messages a second it would grow without bound. The
outbox likewise: delivered replies are kept as long (the web chat reads recent ones), never
the ones still waiting to be sent. A state set aside holds a contact's content as the state
did: kept as long, for an operator to look at, then deleted like the rest. A recorded task run
keeps a reminder from being sent again when its job is stored again after it ran (a replayed
turn schedules it within the grace window); the journal's retention is far longer than that.

Ages are measured against the wall clock, which can step. A step back only keeps rows longer;
a step ahead by more than the retention would forget ids still inside the redelivery window,
and a redelivered message would be answered twice. So the loop's "now" (`SteadyClock`) follows
the time measured by the monotonic clock since its last reading whenever the wall clock runs
ahead of it. A step made while the data plane was stopped cannot be told from a quiet tenant
(the journal's newest entry is then old either way) and is trusted.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import structlog

from botfleet.ports.clock import Clock
from botfleet.ports.stores import JOURNAL_RETENTION

log = structlog.get_logger("botfleet.runtime")

DEFAULT_JOURNAL_RETENTION = JOURNAL_RETENTION
#: Often enough that each run deletes few rows (a short statement, no latency spike).
DEFAULT_PRUNE_EVERY_S = 60.0
#: The wall clock may drift from the monotonic one by this much between two passes (NTP's
#: slewing, a small step) and still be trusted as it is.
CLOCK_STEP_TOLERANCE = timedelta(minutes=1)


class PrunableJournal(Protocol):
    async def prune_journal(self, older_than: datetime) -> int:
        """Delete processed journal entries received before `older_than`; returns how many."""
        ...


@runtime_checkable
class PrunableOutbox(Protocol):
    async def prune_outbox(self, older_than: datetime) -> int:
        """Delete delivered outbox rows written before `older_than`; returns how many."""
        ...


@runtime_checkable
class PrunableUnreadableStates(Protocol):
    async def prune_unreadable_states(self, older_than: datetime) -> int:
        """Delete conversation states set aside as unreadable before `older_than`; returns how
        many."""
        ...


@runtime_checkable
class PrunableTaskRuns(Protocol):
    async def prune_task_runs(self, older_than: datetime) -> int:
        """Delete the task runs recorded before `older_than`; returns how many."""
        ...


class SteadyClock:
    """`now()` for pruning: the wall clock, but never ahead of the time elapsed (monotonic)
    since the last reading it trusted.

    A reading within `tolerance` of that expectation is trusted and becomes the new reference;
    one further behind is used but not trusted (pruning waits longer); one further ahead (a
    step forward) is replaced by the expectation, logged once (`clock_jumped_ahead`). A clock
    corrected back into line is trusted again.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        tolerance: timedelta = CLOCK_STEP_TOLERANCE,
    ) -> None:
        self._clock = clock
        self._monotonic = monotonic
        self._tolerance = tolerance
        self._trusted: tuple[datetime, float] | None = None
        self._ahead = False

    def now(self) -> datetime:
        wall, ticks = self._clock.now(), self._monotonic()
        if self._trusted is None:
            self._trusted = (wall, ticks)
            return wall
        trusted, at = self._trusted
        expected = trusted + timedelta(seconds=ticks - at)
        if wall - expected > self._tolerance:
            if not self._ahead:
                self._ahead = True
                log.warning(
                    "clock_jumped_ahead",
                    ahead_s=round((wall - expected).total_seconds()),
                    detail="the journal and outbox are pruned by the time really elapsed",
                )
            return expected
        if self._ahead:
            self._ahead = False
            log.info("clock_back_in_line")
        if expected - wall <= self._tolerance:  # in line: the new reference
            self._trusted = (wall, ticks)
        return wall


async def _prune_pass(
    prune: Callable[[datetime], Awaitable[int]], what: str, clock: Clock, retention: timedelta
) -> int:
    """One pass of `prune` (rows older than `retention` go), logged as `<what>_pruned`; errors
    are logged as `<what>_prune_failed`, never raised (upkeep must not stop the bot)."""
    try:
        removed = await prune(clock.now() - retention)
    except Exception as exc:
        log.error(f"{what}_prune_failed", error=type(exc).__name__, detail=str(exc))
        return 0
    if removed:
        log.info(f"{what}_pruned", removed=removed)
    return removed


async def prune_once(store: PrunableJournal, clock: Clock, retention: timedelta) -> int:
    """One pruning pass of the journal."""
    return await _prune_pass(store.prune_journal, "journal", clock, retention)


async def prune_outbox_once(store: PrunableOutbox, clock: Clock, retention: timedelta) -> int:
    """One pass over the outbox: delivered rows older than `retention` go."""
    return await _prune_pass(store.prune_outbox, "outbox", clock, retention)


async def prune_unreadable_states_once(
    store: PrunableUnreadableStates, clock: Clock, retention: timedelta
) -> int:
    """One pass over the states set aside as unreadable: those older than `retention` go."""
    return await _prune_pass(
        store.prune_unreadable_states, "conversation_unreadable", clock, retention
    )


async def prune_task_runs_once(store: PrunableTaskRuns, clock: Clock, retention: timedelta) -> int:
    """One pass over the recorded task runs: those older than `retention` go."""
    return await _prune_pass(store.prune_task_runs, "task_runs", clock, retention)


@asynccontextmanager
async def journal_pruning(
    store: PrunableJournal,
    clock: Clock,
    *,
    retention: timedelta = DEFAULT_JOURNAL_RETENTION,
    every_s: float = DEFAULT_PRUNE_EVERY_S,
    monotonic: Callable[[], float] = time.monotonic,
) -> AsyncIterator[asyncio.Task[None]]:
    """Prune the journal, and the outbox, the states set aside as unreadable and the task runs
    if `store` keeps them (`prune_outbox`, `prune_unreadable_states`, `prune_task_runs`), every
    `every_s` seconds while the context is open (the first pass one interval after start), by a
    `SteadyClock`."""
    if every_s <= 0:
        raise ValueError(f"journal pruning interval must be > 0 seconds, got {every_s}")
    steady = SteadyClock(clock, monotonic=monotonic)
    outbox = store if isinstance(store, PrunableOutbox) else None
    set_aside = store if isinstance(store, PrunableUnreadableStates) else None
    task_runs = store if isinstance(store, PrunableTaskRuns) else None

    async def loop() -> None:
        while True:
            # Not at start: a host that boots with its clock ahead (no RTC battery, time sync
            # not done yet) would prune message ids providers still redeliver, and the
            # steady clock trusts its first reading. One interval gives time sync its chance.
            await asyncio.sleep(every_s)
            await prune_once(store, steady, retention)
            if outbox is not None:
                await prune_outbox_once(outbox, steady, retention)
            if set_aside is not None:
                await prune_unreadable_states_once(set_aside, steady, retention)
            if task_runs is not None:
                await prune_task_runs_once(task_runs, steady, retention)

    async with running_in_background(loop(), "journal-pruning") as task:
        yield task


@asynccontextmanager
async def running_in_background(
    work: Coroutine[Any, Any, None], name: str
) -> AsyncIterator[asyncio.Task[None]]:
    """`work` as a task while the context is open, cancelled (and awaited) when it closes."""
    task = asyncio.create_task(work, name=name)
    try:
        yield task
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
