"""ManualScheduler specifics: jobs fire at their exact due times as the test's clock moves, and
standing cron rules follow the tenant's zone through DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from botfleet.flows.effects import ScheduleTask
from botfleet.ports.scheduling import StandingJob
from botfleet.testing.clock import FrozenClock
from botfleet.testing.scheduling import ManualScheduler

MADRID = ZoneInfo("Europe/Madrid")
NIGHTLY = StandingJob("nightly", "cleanup", cron="30 2 * * *", timezone="Europe/Madrid")


async def started(clock: FrozenClock, standing: list[StandingJob] | None = None) -> ManualScheduler:
    scheduler = ManualScheduler(clock, tenant_id="t")
    seen: list[tuple[Any, ...]] = []

    async def runner(*args: Any) -> None:
        seen.append((*args, clock.now()))

    scheduler.bind(runner)
    await scheduler.start(standing)
    return scheduler


async def test_jobs_fire_in_due_order_at_their_due_times() -> None:
    clock = FrozenClock(datetime(2024, 5, 6, 9, tzinfo=UTC))
    scheduler = await started(clock)
    for key, minutes in [("late", 30), ("early", 10), ("middle", 20)]:
        at = clock.now() + timedelta(minutes=minutes)
        await scheduler.schedule(ScheduleTask("reminder", at, key, "c1"))
    runs = await scheduler.advance(hours=1)
    assert [(r.job_id, r.ran_at - r.due_at) for r in runs] == [
        ("once:early", timedelta(0)),
        ("once:middle", timedelta(0)),
        ("once:late", timedelta(0)),
    ]
    assert clock.now() == datetime(2024, 5, 6, 10, tzinfo=UTC)


async def test_schedule_never_fires_by_itself() -> None:
    # It is called inside the contact's turn: the run must wait for the next advance().
    clock = FrozenClock(datetime(2024, 5, 6, 9, tzinfo=UTC))
    scheduler = await started(clock)
    await scheduler.schedule(ScheduleTask("reminder", clock.now(), "now", "c1"))
    assert scheduler.runs == []
    assert len(await scheduler.advance()) == 1


async def test_the_clock_does_not_go_back() -> None:
    clock = FrozenClock(datetime(2024, 5, 6, 9, tzinfo=UTC))
    scheduler = await started(clock)
    with pytest.raises(ValueError, match="does not go back"):
        await scheduler.advance_to(datetime(2024, 5, 6, 8, tzinfo=UTC))


@pytest.mark.parametrize(
    ("start", "expected_local"),
    [
        # spring forward on 03-31: 02:30 does not exist; it runs once, at 03:30
        (datetime(2024, 3, 30, 12, tzinfo=MADRID), ["03-31 03:30", "04-01 02:30", "04-02 02:30"]),
        # fall back on 10-27: 02:30 happens twice; it runs once
        (datetime(2024, 10, 26, 12, tzinfo=MADRID), ["10-27 02:30", "10-28 02:30", "10-29 02:30"]),
    ],
)
async def test_nightly_cron_runs_once_a_night_across_dst(
    start: datetime, expected_local: list[str]
) -> None:
    clock = FrozenClock(start.astimezone(UTC))
    scheduler = await started(clock, [NIGHTLY])
    runs = await scheduler.advance(days=3)
    assert [r.due_at.astimezone(MADRID).strftime("%m-%d %H:%M") for r in runs] == expected_local
    assert len({r.run_id for r in runs}) == 3
