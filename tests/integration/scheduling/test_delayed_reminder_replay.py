"""A turn that scheduled a reminder with a `delay` and died before its commit runs again at the
next start: its delay counts from the moment the message was received (its journal entry), not
from the replay, so it asks for the same due time, which names the same run, and the contact gets
the reminder once. It used to count from the replay: a new due time, a second reminder.

The crash is a turn stopped at its commit (`GatedStore`) and a shutdown that cannot wait, as in
`test_reminder_replay_windows.py`; `tests/faults/test_delayed_reminder_crash.py` kills a real
process.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from reminder_harness import (
    KEY,
    booking_flow,
    call_mock,
    schedule_reminder,
    stopped_at_the_commit,
    texts,
)

from botfleet.ports.scheduling import one_off_run_id
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime
from botfleet.testing.scheduling import ManualJobStore, ManualScheduler
from botfleet.testing.stores import GatedStore

REMINDER = "Reminder: your appointment"
RECEIVED = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
DUE = RECEIVED + timedelta(minutes=10)
FLOW: dict[str, Any] = booking_flow(
    "delayed_replay",
    REMINDER,
    call_mock("confirm", "confirmed"),
    schedule_reminder(delay="10m"),
)


class SlowConfirm:
    """`mock.confirm` takes `minutes` of the frozen clock: the schedule after it runs later
    than the message was received, in the first run as in the replay."""

    category = "mock"

    def __init__(self, clock: FrozenClock, minutes: float) -> None:
        self.clock, self.minutes = clock, minutes

    def operations(self) -> frozenset[str]:
        return frozenset({"confirm"})

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        self.clock.advance(minutes=self.minutes)
        return {"ok": True}


async def crash_before_the_commit(clock: FrozenClock, jobs: ManualJobStore) -> GatedStore:
    """The message is received at `RECEIVED`; its turn schedules the reminder (due `DUE`), then
    stops at its commit: the process dies. The job survives in the job store."""
    store = GatedStore(closed=True)
    entry = await stopped_at_the_commit(
        store,
        "book",
        flow=FLOW,
        connectors={"mock": SlowConfirm(clock, 1)},
        clock=clock,
        scheduler=ManualScheduler(clock, tenant_id="test", store=jobs),
    )
    assert entry.received_at == RECEIVED
    return store


async def test_a_replayed_turn_asks_for_the_same_due_time_and_the_reminder_runs_once() -> None:
    """Down past the reminder, within the grace window: the job fires at the start, then the
    replayed turn, 13 minutes after the message, schedules it for 09:10 again (not 09:23), the
    same run, which is skipped as already run."""
    clock, jobs, sender = FrozenClock(RECEIVED), ManualJobStore(), RecordingSender()
    store = await crash_before_the_commit(clock, jobs)
    clock.set(DUE + timedelta(minutes=2))
    scheduler = ManualScheduler(clock, tenant_id="test", store=jobs)
    with structlog.testing.capture_logs() as logs:
        async with bootstrap_test_runtime(
            flow=FLOW,
            stores=store,
            connectors={"mock": SlowConfirm(clock, 1)},
            clock=clock,
            scheduler=scheduler,
            sender=sender,
        ) as runtime:
            assert texts(sender) == [REMINDER]  # fired as the scheduler started
            assert await runtime.recover() == 1
            await runtime.sequencer.drain()
            await scheduler.advance(hours=1)  # whatever the replay stored falls due here
            await runtime.sequencer.drain()
            assert await scheduler.jobs() == []
    assert texts(sender) == [REMINDER, "Booked"]
    assert [(run.run_id, run.due_at) for run in scheduler.runs] == [
        (one_off_run_id(KEY, DUE), DUE),
        (one_off_run_id(KEY, DUE), DUE),
    ]
    assert [e["event"] for e in logs if e["event"] == "task_already_ran"] == ["task_already_ran"]
    assert await store.task_ran(one_off_run_id(KEY, DUE))


async def test_a_turn_replayed_before_the_reminder_is_due_keeps_its_due_time() -> None:
    clock, jobs, sender = FrozenClock(RECEIVED), ManualJobStore(), RecordingSender()
    store = await crash_before_the_commit(clock, jobs)
    clock.set(RECEIVED + timedelta(minutes=5))
    scheduler = ManualScheduler(clock, tenant_id="test", store=jobs)
    async with bootstrap_test_runtime(
        flow=FLOW,
        stores=store,
        connectors={"mock": SlowConfirm(clock, 1)},
        clock=clock,
        scheduler=scheduler,
        sender=sender,
    ) as runtime:
        assert await runtime.recover() == 1
        await runtime.sequencer.drain()
        [job] = await scheduler.jobs()
        assert job.next_run_at == DUE  # not 09:16, 10 minutes after the replay's schedule
        await scheduler.advance(hours=1)
        await runtime.sequencer.drain()
    assert texts(sender) == ["Booked", REMINDER]
    assert [(run.run_id, run.ran_at) for run in scheduler.runs] == [(one_off_run_id(KEY, DUE), DUE)]
