"""A turn that scheduled a reminder and died before its commit runs again at the next start and
schedules the same reminder (same idempotency key, same due time) again. Whichever comes first,
that replayed turn or the reminder falling due, and whenever the reminder falls due while the
replayed turn runs, the contact gets the reminder exactly once.

The crash is a turn stopped at its commit (`GatedStore`) and a shutdown that cannot wait; the
job survives it in the job store. `tests/faults/test_reminder_crash.py` kills a real process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from reminder_harness import (
    booking_flow,
    call_mock,
    schedule_reminder,
    stopped_at_the_commit,
    texts,
)
from reminder_harness import until as eventually

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.ports.clock import SystemClock
from botfleet.testing.clock import FrozenClock
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime
from botfleet.testing.scheduling import ManualJobStore, ManualScheduler
from botfleet.testing.stores import GatedStore

REMINDER = "Reminder: your appointment"
#: The message's text is the reminder's due time, so the replayed turn asks for the same one.
FLOW: dict[str, Any] = booking_flow(
    "replay_windows",
    REMINDER,
    call_mock("wait", "before", label="before"),
    schedule_reminder(run_at="{{ message.text }}"),
    call_mock("wait", "after", label="after"),
)


class GatedConnector:
    """`mock.wait` waits until the test opens the gate named by its `label` (open: at once)."""

    category = "mock"

    def __init__(self, closed: tuple[str, ...] = ()) -> None:
        self.gates = {"before": asyncio.Event(), "after": asyncio.Event()}
        for label, gate in self.gates.items():
            if label not in closed:
                gate.set()
        self.reached: list[str] = []

    def operations(self) -> frozenset[str]:
        return frozenset({"wait"})

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        label = str(params["label"])
        self.reached.append(label)
        await self.gates[label].wait()
        return {"ok": label}


#: Polled every 10 ms, for 5 s at most (the gates hold turns at exact points).
until = partial(eventually, timeout_s=5.0, poll_s=0.01)


def real(jobs_db: Path) -> APSchedulerTaskScheduler:
    return APSchedulerTaskScheduler(tenant_id="test", jobs_db=jobs_db, clock=SystemClock())


async def fallen_due(scheduler: APSchedulerTaskScheduler) -> None:
    """Once the job has left the job file, handed over to the runtime (the contact's queue)."""
    for _ in range(500):
        if not await scheduler.jobs():
            await asyncio.sleep(0.05)
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the job never fell due")


async def crash_before_the_commit(store: GatedStore, due: datetime, **fakes: Any) -> None:
    """The booking's turn schedules the reminder, then stops at its commit: the process dies."""
    await stopped_at_the_commit(
        store, due.isoformat(), flow=FLOW, connectors={"mock": GatedConnector()}, **fakes
    )


async def test_the_reminder_runs_at_the_start_and_the_replayed_turn_asks_for_it_again() -> None:
    clock = FrozenClock(datetime(2024, 5, 6, 9, 0, tzinfo=UTC))
    jobs, store, sender = ManualJobStore(), GatedStore(closed=True), RecordingSender()
    due = clock.now() + timedelta(minutes=10)
    await crash_before_the_commit(
        store, due, clock=clock, scheduler=ManualScheduler(clock, tenant_id="test", store=jobs)
    )
    clock.set(due + timedelta(minutes=2))  # down past the reminder, within the grace window
    scheduler = ManualScheduler(clock, tenant_id="test", store=jobs)
    async with bootstrap_test_runtime(
        flow=FLOW,
        stores=store,
        connectors={"mock": GatedConnector()},
        clock=clock,
        scheduler=scheduler,
        sender=sender,
    ) as runtime:
        assert texts(sender) == [REMINDER]  # fired as the scheduler started
        assert await runtime.recover() == 1
        await runtime.sequencer.drain()
        [again] = await scheduler.advance()  # the replayed turn's job: due, inside the window
        await runtime.sequencer.drain()
    assert again.run_id == scheduler.runs[0].run_id  # the same run: key and due time
    assert texts(sender) == [REMINDER, "Booked"]
    assert await store.task_ran(again.run_id)


async def test_the_reminder_falls_due_while_the_replayed_turn_waits_before_its_schedule(
    tmp_path: Path,
) -> None:
    """That schedule asks for the very run waiting behind the turn: the run is kept (it used to
    be cancelled as replaced), and the job stored again fires while the turn still runs, a run
    with the same id. Both used to be skipped, as cancelled, and the reminder was lost."""
    store, sender, jobs_db = GatedStore(closed=True), RecordingSender(), tmp_path / "jobs.db"
    due = datetime.now(UTC) + timedelta(seconds=2)
    await crash_before_the_commit(store, due, clock=SystemClock(), scheduler=real(jobs_db))
    crm, scheduler = GatedConnector(closed=("before", "after")), real(jobs_db)
    async with bootstrap_test_runtime(
        flow=FLOW,
        stores=store,
        connectors={"mock": crm},
        clock=SystemClock(),
        scheduler=scheduler,
        sender=sender,
    ) as runtime:
        assert await runtime.recover() == 1
        await until(lambda: crm.reached == ["before"])
        assert datetime.now(UTC) < due  # the reminder is not due yet
        await fallen_due(scheduler)  # out of the job file, waiting behind the replayed turn
        crm.gates["before"].set()
        await until(lambda: crm.reached == ["before", "after"])
        await fallen_due(scheduler)  # the job the turn stored again, waiting too
        crm.gates["after"].set()
        await until(lambda: scheduler.stats.counts["fired"] == 2)
        await runtime.sequencer.drain()
    assert texts(sender) == ["Booked", REMINDER]


async def test_the_reminder_falls_due_while_the_replayed_turn_waits_after_its_schedule(
    tmp_path: Path,
) -> None:
    """That schedule replaced the job with the same one, which fires once, behind the turn."""
    store, sender, jobs_db = GatedStore(closed=True), RecordingSender(), tmp_path / "jobs.db"
    due = datetime.now(UTC) + timedelta(seconds=2)
    await crash_before_the_commit(store, due, clock=SystemClock(), scheduler=real(jobs_db))
    crm, scheduler = GatedConnector(closed=("after",)), real(jobs_db)
    async with bootstrap_test_runtime(
        flow=FLOW,
        stores=store,
        connectors={"mock": crm},
        clock=SystemClock(),
        scheduler=scheduler,
        sender=sender,
    ) as runtime:
        assert await runtime.recover() == 1
        await until(lambda: crm.reached == ["before", "after"])
        assert datetime.now(UTC) < due
        await fallen_due(scheduler)
        crm.gates["after"].set()
        await until(lambda: scheduler.stats.counts["fired"] == 1)
        await runtime.sequencer.drain()
        assert await scheduler.jobs() == []
    assert texts(sender) == ["Booked", REMINDER]
