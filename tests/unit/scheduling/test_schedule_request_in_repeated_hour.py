"""Scheduling during the hour the clocks repeat, on a clock kept in the tenant's zone (as in
`botfleet chat` and `botfleet test`): "how late is this run_at?" is a question about instants.

Europe/Madrid, 27 October 2024: 03:00 summer time (01:00 UTC) falls back to 02:00 winter time,
so 02:00-02:59 happens twice: 00:00-00:59 UTC (summer), then 01:00-01:59 UTC (winter).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from botfleet.adapters.scheduling.rules import check_request
from botfleet.adapters.scheduling.triggers import build_trigger
from botfleet.domain.cron import parse_cron
from botfleet.domain.instants import elapsed_after
from botfleet.flows.effects import ScheduleTask
from botfleet.ports.scheduling import RunAtPassed, StandingJob
from botfleet.testing.clock import FrozenClock
from botfleet.testing.scheduling import ManualScheduler

MADRID = ZoneInfo("Europe/Madrid")
GRACE = timedelta(minutes=5)
#: 02:45 summer time, the first pass (00:45 UTC).
FIRST_PASS = datetime(2024, 10, 27, 2, 45, tzinfo=MADRID)
#: 02:45 winter time, the second pass (01:45 UTC).
SECOND_PASS = datetime(2024, 10, 27, 2, 45, fold=1, tzinfo=MADRID)


def request(run_at: datetime) -> ScheduleTask:
    return ScheduleTask("reminder", run_at, "reminder:evt-1", "ana", {})


def test_a_run_at_ahead_in_the_second_pass_is_accepted() -> None:
    run_at = elapsed_after(FIRST_PASS, timedelta(minutes=30))  # 02:15 winter time
    assert run_at.replace(tzinfo=None) < FIRST_PASS.replace(tzinfo=None)  # reads earlier
    assert check_request(request(run_at), FIRST_PASS, GRACE) == {}


def test_a_run_at_long_past_in_the_first_pass_is_refused() -> None:
    run_at = datetime(2024, 10, 27, 2, 50, tzinfo=MADRID)  # summer time: 55 minutes ago
    assert run_at.replace(tzinfo=None) > SECOND_PASS.replace(tzinfo=None)  # reads later
    with pytest.raises(RunAtPassed, match="had passed 55m ago when it was scheduled"):
        check_request(request(run_at), SECOND_PASS, GRACE)


async def test_a_delay_asked_in_the_repeated_hour_fires_once_when_due() -> None:
    clock = FrozenClock(FIRST_PASS)
    scheduler = ManualScheduler(clock, tenant_id="t", grace=GRACE)
    ran: list[tuple[Any, ...]] = []

    async def runner(*args: Any) -> None:
        ran.append(args)

    scheduler.bind(runner)
    await scheduler.start()
    await scheduler.schedule(request(elapsed_after(clock.now(), timedelta(minutes=30))))
    assert [j.next_run_at for j in await scheduler.jobs()] == [
        datetime(2024, 10, 27, 1, 15, tzinfo=UTC)
    ]
    runs = await scheduler.advance_to(datetime(2024, 10, 27, 2, 0, tzinfo=UTC))
    assert [r.due_at for r in runs] == [datetime(2024, 10, 27, 1, 15, tzinfo=UTC)]
    assert len(ran) == 1
    assert scheduler.missed == []


async def test_waiting_across_the_repeated_hour_on_a_zone_clock_moves_on() -> None:
    """`:wait 30m` in `botfleet chat` at 02:45 summer time: 02:15 winter time is 30 minutes
    on, though its wall clock reads earlier, and what falls due meanwhile fires."""
    clock = FrozenClock(FIRST_PASS)
    scheduler = ManualScheduler(clock, tenant_id="t", grace=GRACE)
    ran: list[tuple[Any, ...]] = []

    async def runner(*args: Any) -> None:
        ran.append(args)

    scheduler.bind(runner)
    await scheduler.start()
    await scheduler.schedule(request(elapsed_after(clock.now(), timedelta(minutes=20))))
    runs = await scheduler.advance(minutes=30)
    assert clock.now().astimezone(UTC) == datetime(2024, 10, 27, 1, 15, tzinfo=UTC)
    assert [r.due_at for r in runs] == [datetime(2024, 10, 27, 1, 5, tzinfo=UTC)]
    assert len(ran) == 1
    with pytest.raises(ValueError, match="does not go back"):
        await scheduler.advance_to(FIRST_PASS)  # 02:45 summer time: 30 minutes ago


def test_catching_up_from_a_zone_clock_in_the_repeated_hour_takes_few_steps() -> None:
    # A clock in the tenant's zone hands the trigger `now` in that zone (`ManualScheduler`):
    # the look-back for the last missed run is an hour of real time, not of the wall clock
    # (two real hours here), or catching up `* * * * *` takes twice the steps.
    expr = "* * * * *"
    rule = parse_cron(expr, "Europe/Madrid")
    trigger = build_trigger(StandingJob("every", "task", cron=expr, timezone="Europe/Madrid"))
    now = datetime(2024, 10, 27, 3, 30, tzinfo=MADRID)  # 02:30 UTC, just after the second pass
    stored = rule.next_after(now - timedelta(days=8))
    missed: list[datetime] = []
    moment = stored
    while moment is not None and moment <= now:
        missed.append(moment)
        moment = trigger.get_next_fire_time(moment, now)
    assert missed[-1] == datetime(2024, 10, 27, 2, 30, tzinfo=UTC)
    assert moment == rule.next_after(now)
    assert len(missed) <= 70


def test_an_interval_rule_starts_one_real_interval_after_a_zone_clock_in_the_repeated_hour() -> (
    None
):
    # `botfleet chat` hands its tenant-zone clock to the fake scheduler, which starts interval
    # rules from it: one hour after 02:30 summer time is 02:30 winter time, not 03:30.
    job = StandingJob("sync", "refresh", interval=timedelta(hours=1), timezone="Europe/Madrid")
    now = datetime(2024, 10, 27, 2, 30, tzinfo=MADRID)
    first = build_trigger(job, now=now).get_next_fire_time(None, now)
    assert first.astimezone(UTC) == datetime(2024, 10, 27, 1, 30, tzinfo=UTC)
