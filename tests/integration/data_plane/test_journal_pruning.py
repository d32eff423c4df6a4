"""Processed journal entries are pruned once older than the retention; pending ones never."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
import structlog

from botfleet.data_plane.runtime.housekeeping import (
    journal_pruning,
    prune_once,
    prune_task_runs_once,
)
from botfleet.testing.runtime import FrozenClock
from botfleet.testing.stores import SAMPLE_TIME, InMemoryTenantStore, sample_message, sample_state

RETENTION = timedelta(days=8)


async def journal_with(store: InMemoryTenantStore) -> None:
    await store.journal.record(sample_message("done-1"), SAMPLE_TIME)
    await store.journal.complete("done-1", [])
    await store.journal.record(sample_message("pending-1"), SAMPLE_TIME)


async def test_old_processed_entries_go_pending_ones_stay() -> None:
    store, clock = InMemoryTenantStore(), FrozenClock(SAMPLE_TIME)
    await journal_with(store)
    clock.advance(days=7)
    assert await prune_once(store, clock, RETENTION) == 0  # still within the window
    clock.advance(days=2)
    assert await prune_once(store, clock, RETENTION) == 1
    assert await store.journal.get("done-1") is None
    assert [e.message.message_id for e in await store.journal.pending()] == ["pending-1"]


async def test_the_background_loop_prunes_and_stops_with_its_context() -> None:
    store, clock = InMemoryTenantStore(), FrozenClock(SAMPLE_TIME + timedelta(days=30))
    await journal_with(store)
    async with journal_pruning(store, clock, retention=RETENTION, every_s=0.01) as task:
        for _ in range(100):
            if await store.journal.get("done-1") is None:
                break
            await asyncio.sleep(0.01)
        assert await store.journal.get("done-1") is None
    assert task.cancelled()


async def test_the_first_pass_waits_one_interval_for_time_sync() -> None:
    # A host booting with its clock far ahead would otherwise prune at once ids a provider
    # may still redeliver.
    store, clock = InMemoryTenantStore(), FrozenClock(SAMPLE_TIME + timedelta(days=30))
    await journal_with(store)
    async with journal_pruning(store, clock, retention=RETENTION, every_s=3600):
        await asyncio.sleep(0.05)
        assert await store.journal.get("done-1") is not None


class FailingStore:
    async def prune_journal(self, older_than: datetime) -> int:
        raise OSError("disk gone")


async def test_a_failed_prune_is_logged_not_raised() -> None:
    with structlog.testing.capture_logs() as logs:
        assert await prune_once(FailingStore(), FrozenClock(), RETENTION) == 0
    assert logs[0]["event"] == "journal_prune_failed"
    assert logs[0]["detail"] == "disk gone"


async def test_a_zero_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="> 0 seconds"):
        async with journal_pruning(InMemoryTenantStore(), FrozenClock(), every_s=0):
            pass


async def test_task_runs_are_pruned_with_the_journal_s_retention() -> None:
    """Recorded one-off runs (`TurnStore.task_ran`) go by the same pass, logged as the others."""
    store, clock = InMemoryTenantStore(), FrozenClock(SAMPLE_TIME + timedelta(days=9))
    run = "once:reminder:evt-1@20240507T080000Z"
    await store.commit_turn(
        sample_state(),
        expected_version=0,
        message_id=None,
        outputs=[],
        at=SAMPLE_TIME,
        task_run=run,
    )
    with structlog.testing.capture_logs() as logs:
        async with journal_pruning(store, clock, retention=RETENTION, every_s=0.01):
            for _ in range(100):
                if not await store.task_ran(run):
                    break
                await asyncio.sleep(0.01)
    assert not await store.task_ran(run)
    assert {"event": "task_runs_pruned", "removed": 1, "log_level": "info"} in logs


async def test_a_failed_task_run_prune_is_logged_not_raised() -> None:
    class FailingTaskRuns:
        async def prune_task_runs(self, older_than: datetime) -> int:
            raise OSError("disk gone")

    with structlog.testing.capture_logs() as logs:
        assert await prune_task_runs_once(FailingTaskRuns(), FrozenClock(), RETENTION) == 0
    assert [(e["event"], e["detail"]) for e in logs] == [("task_runs_prune_failed", "disk gone")]
