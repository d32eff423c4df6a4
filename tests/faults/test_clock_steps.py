"""The wall clock steps (NTP correcting a skewed host, an operator's `date -s`, a restored VM).

Received times come from it, so neither the order in which recovered messages are answered nor
how long processed message ids are kept may depend on it alone: a step back must not reorder a
contact's messages, and a step ahead must not forget ids the provider may still redeliver."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import structlog

from botfleet.adapters.stores.sqlite import SqliteTenantStore
from botfleet.data_plane.runtime.housekeeping import (
    DEFAULT_JOURNAL_RETENTION,
    SteadyClock,
    journal_pruning,
)
from botfleet.domain.outputs import Output, Text
from botfleet.testing.runtime import (
    FrozenClock,
    RecordingSender,
    bootstrap_test_runtime,
    text_message,
)
from botfleet.testing.stores import SAMPLE_TIME, InMemoryTenantStore, sample_message


def texts(outputs: Sequence[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Text)]


# ----------------------------------------------------------------- recovery order


async def test_messages_recovered_after_a_step_back_are_answered_in_the_order_they_came(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    async with SqliteTenantStore.open(path) as store:  # acknowledged, then the crash
        await store.journal.record(text_message("c1", "first", message_id="w-1"), SAMPLE_TIME)
        # NTP stepped the clock back an hour between the two deliveries.
        stepped_back = SAMPLE_TIME - timedelta(hours=1)
        await store.journal.record(text_message("c1", "second", message_id="w-2"), stepped_back)

    sender = RecordingSender()
    async with (
        SqliteTenantStore.open(path) as store,
        bootstrap_test_runtime(stores=store, sender=sender) as runtime,
    ):
        assert await runtime.recover() == 2
        await runtime.sequencer.drain()
    assert texts(sender.to("c1")) == ["You said: first", "You said: second"]


# ----------------------------------------------------------------- journal pruning


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def _passes(count: int = 5) -> None:
    """Let the pruning loop (every 10 ms) run a few passes."""
    await asyncio.sleep(0.01 * count + 0.02)


async def test_a_step_ahead_beyond_the_retention_keeps_ids_the_provider_may_redeliver() -> None:
    store, clock = InMemoryTenantStore(), FrozenClock(SAMPLE_TIME)
    await store.journal.record(sample_message("w-1"), SAMPLE_TIME)
    await store.journal.complete("w-1", [])
    with structlog.testing.capture_logs() as logs:
        async with journal_pruning(store, clock, every_s=0.01):
            await _passes()
            clock.advance(days=30)  # the host's clock jumps; an hour has really passed, if that
            await _passes()
            assert await store.journal.get("w-1") is not None
            # A redelivery of the message is still seen as a duplicate.
            assert await store.journal.record(sample_message("w-1"), clock.now()) is False
    jumps = [line for line in logs if line["event"] == "clock_jumped_ahead"]
    assert len(jumps) == 1 and jumps[0]["log_level"] == "warning"
    assert jumps[0]["ahead_s"] >= 30 * 86_400 - 60


def test_the_steady_clock_follows_the_time_elapsed_once_the_wall_clock_jumped() -> None:
    wall, ticks = FrozenClock(SAMPLE_TIME), Ticks()
    steady = SteadyClock(wall, monotonic=ticks)
    assert steady.now() == SAMPLE_TIME
    wall.advance(seconds=60)
    ticks.now += 60.5  # in line, within the tolerance: the wall clock is trusted
    assert steady.now() == SAMPLE_TIME + timedelta(seconds=60)
    wall.advance(days=30)
    ticks.now += 3_600
    assert steady.now() == SAMPLE_TIME + timedelta(seconds=3_660)
    # Nine days later (really): what was received before the jump is old enough now.
    wall.advance(days=9)
    ticks.now += 9 * 86_400
    assert steady.now() == SAMPLE_TIME + timedelta(days=9, seconds=3_660)
    assert steady.now() - DEFAULT_JOURNAL_RETENTION > SAMPLE_TIME


def test_a_step_back_is_followed_at_once_and_a_correction_forward_trusted_again() -> None:
    wall, ticks = FrozenClock(SAMPLE_TIME), Ticks()
    steady = SteadyClock(wall, monotonic=ticks)
    steady.now()
    wall.set(SAMPLE_TIME - timedelta(days=2))  # back: pruning keeps rows longer, never shorter
    ticks.now += 60
    assert steady.now() == SAMPLE_TIME - timedelta(days=2)
    wall.set(SAMPLE_TIME + timedelta(seconds=120))  # corrected: in line with the time elapsed
    ticks.now += 60
    assert steady.now() == SAMPLE_TIME + timedelta(seconds=120)


async def test_after_the_jump_pruning_resumes_once_the_time_has_really_passed() -> None:
    store, clock, ticks = InMemoryTenantStore(), FrozenClock(SAMPLE_TIME), Ticks()
    await store.journal.record(sample_message("w-1"), SAMPLE_TIME)
    await store.journal.complete("w-1", [])
    async with journal_pruning(store, clock, every_s=0.01, monotonic=ticks):
        await _passes()
        clock.advance(days=30)
        await _passes()
        assert await store.journal.get("w-1") is not None
        ticks.now += 9 * 86_400
        await _passes()
        assert await store.journal.get("w-1") is None
