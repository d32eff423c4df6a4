"""Waiting for another process's write lock never blocks the event loop: the statement is tried
again after `asyncio.sleep`s until the store's busy timeout, then fails as `StoreUnavailable`.
The data plane runs every SQLite statement on the loop's thread, so this is what keeps one
locked file from freezing every other conversation."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from botfleet.adapters.stores import SqliteTenantStore
from botfleet.domain.errors import StoreUnavailable
from botfleet.testing.stores import sample_state

TICK_S = 0.005


@asynccontextmanager
async def ticking() -> AsyncIterator[list[float]]:
    """A coroutine noting the time every few milliseconds while the block runs."""
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(TICK_S)

    task = asyncio.create_task(tick())
    try:
        yield ticks
    finally:
        task.cancel()


def hold_write_lock(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # what another process writing the file holds
    return other


async def test_a_write_waits_for_the_lock_while_the_loop_keeps_running(tmp_path: Path) -> None:
    path = tmp_path / "tenant.db"
    async with SqliteTenantStore.open(path, busy_timeout=5.0) as store:
        other = hold_write_lock(path)
        async with ticking() as ticks:
            write = asyncio.create_task(store.states.save(sample_state(), expected_version=0))
            await asyncio.sleep(0.3)
            assert not write.done()
            # Reads go on while the write waits (WAL readers do not need the lock).
            assert await store.states.load("contact-1") is None
            other.execute("COMMIT")
            saved = await asyncio.wait_for(write, timeout=2)
        other.close()
        assert saved.version == 1
        assert await store.states.load("contact-1") == saved
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    # The lock was held for 0.3 s; a loop blocked on it would show one gap that long.
    assert len(ticks) > 10
    assert max(gaps) < 0.25, f"the loop stalled for {max(gaps):.3f} s"


async def test_a_lock_held_past_the_busy_timeout_is_store_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "tenant.db"
    async with SqliteTenantStore.open(path, busy_timeout=0.3) as store:
        other = hold_write_lock(path)
        started = time.monotonic()
        async with ticking() as ticks:
            with pytest.raises(StoreUnavailable, match="locked") as refused:
                await store.states.save(sample_state(), expected_version=0)
        waited = time.monotonic() - started
        other.execute("ROLLBACK")
        other.close()
        assert str(path) in str(refused.value)
        assert 0.3 <= waited < 2
        assert len(ticks) > 10  # the loop ran while the write waited
        # Nothing was half-written, and the store works once the lock is gone.
        assert await store.states.load("contact-1") is None
        saved = await store.states.save(sample_state(), expected_version=0)
        assert saved.version == 1
