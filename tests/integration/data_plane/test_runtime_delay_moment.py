"""What the runtime gives the engine as the moment a turn's `delay`s count from: the message's
reception (as journaled; the first text's for merged texts), a task run's moment (a one-off
run's due time). Not the clock when the step runs: a turn run again must ask for the same due
times (`tests/integration/scheduling/test_delayed_reminder_replay.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from botfleet.domain.outputs import Text
from botfleet.ports.scheduling import one_off_run_id, run_id
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import (
    MADRID,
    RecordingSender,
    bootstrap_test_runtime,
    choice_message,
    text_message,
)
from botfleet.testing.scheduling import ManualScheduler
from botfleet.testing.stores import GatedStore, InMemoryTenantStore

CONTACT = "ana"
RECEIVED = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
FLOW: dict[str, Any] = {
    "id": "delay_moments",
    "initial_state": "IDLE",
    "settings": {"debounce_ms": 150},
    "tasks": {
        "nudge": [
            {"action": "send_text", "text": "now {{ now.isoformat() }}"},
            {"action": "schedule_task", "task": "ping", "delay": "1h", "idempotency_key": "n"},
        ],
        "ping": [{"action": "send_text", "text": "ping"}],
    },
    "states": {
        "IDLE": {
            "transitions": [
                {"on_payload": "book", "target": "BOOK"},
                {"on_type": "text", "target": "NOTE"},
            ]
        },
        "NOTE": {
            "on_enter": [
                {"action": "schedule_task", "task": "ping", "delay": "30m", "idempotency_key": "t"}
            ],
            "next": "IDLE",
        },
        "BOOK": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "mock",
                    "operation": "confirm",
                    "params": {},
                },
                {"action": "schedule_task", "task": "ping", "delay": "30m", "idempotency_key": "b"},
                {"action": "send_text", "text": "Booked"},
            ],
            "next": "IDLE",
        },
    },
}


class SlowConfirm:
    """`mock.confirm` takes three minutes of the frozen clock."""

    category = "mock"

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock

    def operations(self) -> frozenset[str]:
        return frozenset({"confirm"})

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        self.clock.advance(minutes=3)
        return {"ok": True}


async def due_times(scheduler: ManualScheduler) -> dict[str, datetime | None]:
    return {job.key: job.next_run_at for job in await scheduler.jobs()}


async def test_a_synchronous_message_counts_from_its_reception_across_a_connector_call() -> None:
    """The web chat's `handle`: the message is journaled by its commit, with that moment."""
    clock = FrozenClock(RECEIVED)
    scheduler, store = ManualScheduler(clock, tenant_id="test"), InMemoryTenantStore()
    async with bootstrap_test_runtime(
        flow=FLOW,
        stores=store,
        clock=clock,
        scheduler=scheduler,
        connectors={"mock": SlowConfirm(clock)},
    ) as runtime:
        result = await runtime.handle(choice_message(CONTACT, "book", message_id="m-1"))
        assert result.outputs == (Text("Booked"),)
        assert await due_times(scheduler) == {"b": RECEIVED + timedelta(minutes=30)}  # not :33
    entry = await store.journal.get("m-1")
    assert entry is not None and entry.received_at == RECEIVED


async def test_a_journaled_message_counts_from_its_journal_entry() -> None:
    """`accept` journals the message, then its turn runs, later (here, after another's)."""
    clock = FrozenClock(RECEIVED)
    scheduler, store = ManualScheduler(clock, tenant_id="test"), GatedStore(closed=True)
    async with bootstrap_test_runtime(
        flow=FLOW,
        stores=store,
        clock=clock,
        scheduler=scheduler,
        connectors={"mock": SlowConfirm(clock)},
    ) as runtime:
        assert await runtime.accept(choice_message(CONTACT, "book", message_id="m-1"))
        await asyncio.wait_for(store.waiting.wait(), timeout=5)
        clock.set(RECEIVED + timedelta(minutes=10))
        store.gate.set()
        await runtime.sequencer.drain()
        entry = await store.journal.get("m-1")
        assert entry is not None and entry.received_at == RECEIVED
        assert await due_times(scheduler) == {"b": RECEIVED + timedelta(minutes=30)}


async def test_merged_texts_count_from_the_first_texts_reception() -> None:
    """The first text is the one the turn was started for, and the one a replay starts its
    batch with again (later texts pending then may join it, earlier ones cannot)."""
    clock = FrozenClock(RECEIVED)
    scheduler, store = ManualScheduler(clock, tenant_id="test"), InMemoryTenantStore()
    async with bootstrap_test_runtime(
        flow=FLOW,
        stores=store,
        clock=clock,
        scheduler=scheduler,
        connectors={"mock": SlowConfirm(clock)},
    ) as runtime:
        assert await runtime.accept(text_message(CONTACT, "I want", message_id="m-1"))
        clock.advance(seconds=40)
        assert await runtime.accept(text_message(CONTACT, "a reminder", message_id="m-2"))
        await runtime.sequencer.drain()
        assert runtime.metrics.registry.get_sample_value("botfleet_merged_messages_total") == 1
        assert await due_times(scheduler) == {"t": RECEIVED + timedelta(minutes=30)}


@pytest.mark.parametrize(
    ("run", "moment"),
    [
        (one_off_run_id("nudge:ana", RECEIVED), RECEIVED),  # a one-off run: its due time
        (
            run_id("standing:daily", RECEIVED + timedelta(seconds=1)),
            RECEIVED + timedelta(seconds=1),
        ),
        (
            run_id("manual:nudge", RECEIVED + timedelta(milliseconds=250)),
            RECEIVED + timedelta(milliseconds=250),
        ),
    ],
)
async def test_a_task_counts_from_its_runs_moment_not_from_when_it_runs(
    run: str, moment: datetime
) -> None:
    """Run 4 minutes late (a restart, within the grace window): `now` in templates is the
    clock, the task's delay counts from its run, the same however late or often it runs."""
    clock = FrozenClock(RECEIVED + timedelta(minutes=4))
    scheduler, sender = ManualScheduler(clock, tenant_id="test"), RecordingSender()
    async with bootstrap_test_runtime(
        flow=FLOW,
        clock=clock,
        scheduler=scheduler,
        sender=sender,
        connectors={"mock": SlowConfirm(clock)},
    ) as runtime:
        await runtime.run_task(CONTACT, "nudge", {}, run)
        assert await due_times(scheduler) == {"n": moment + timedelta(hours=1)}
    assert sender.to(CONTACT) == [Text(f"now {clock.now().astimezone(MADRID).isoformat()}")]


async def test_a_task_run_without_a_moment_counts_from_the_clock() -> None:
    clock = FrozenClock(RECEIVED)
    scheduler = ManualScheduler(clock, tenant_id="test")
    async with bootstrap_test_runtime(
        flow=FLOW, clock=clock, scheduler=scheduler, connectors={"mock": SlowConfirm(clock)}
    ) as runtime:
        await runtime.run_task(CONTACT, "nudge", {}, "job-1")
        assert await due_times(scheduler) == {"n": RECEIVED + timedelta(hours=1)}
