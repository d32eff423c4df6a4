"""SchedulerService contract: the same suite against APScheduler (SQLite file) and the fake.

The APScheduler adapter runs on the system clock, so times here are fractions of a second and
the misfire grace window is 1 s (its minimum); the fake runs the same steps on a FrozenClock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from botfleet.adapters.scheduling import APSchedulerTaskScheduler
from botfleet.flows.effects import ScheduleTask
from botfleet.ports.scheduling import RunAtPassed, SchedulerService, StandingJob, StandingSync
from botfleet.testing.clock import FrozenClock
from botfleet.testing.scheduling import ManualJobStore, ManualScheduler

GRACE = timedelta(seconds=1)


@dataclass(frozen=True)
class Call:
    contact_id: str | None
    task: str
    data: dict[str, Any]
    run_id: str


@dataclass
class Harness:
    """Drives one adapter: start, let time pass, restart on the same job store."""

    kind: str
    tmp_path: Path
    calls: list[Call] = field(default_factory=list)
    clock: FrozenClock = field(default_factory=lambda: FrozenClock(datetime.now(UTC)))
    store: ManualJobStore = field(default_factory=ManualJobStore)
    scheduler: Any = None
    #: When set, a run (but one with `free` in its data) waits for it after being recorded,
    #: as a run waits behind the contact's turn in the runtime.
    gate: asyncio.Event | None = None
    grace: timedelta = GRACE  # for the next start

    def now(self) -> datetime:
        return datetime.now(UTC) if self.kind == "apscheduler" else self.clock.now()

    def at(self, seconds: float) -> datetime:
        return self.now() + timedelta(seconds=seconds)

    async def record(
        self, contact_id: str | None, task: str, data: dict[str, Any], rid: str
    ) -> None:
        self.calls.append(Call(contact_id, task, data, rid))
        if self.gate is not None and not data.get("free"):
            await self.gate.wait()

    def build(self) -> SchedulerService:
        if self.kind == "apscheduler":
            return APSchedulerTaskScheduler(
                tenant_id="contract", jobs_db=self.tmp_path / "jobs.db", grace=self.grace
            )
        return ManualScheduler(self.clock, tenant_id="contract", grace=self.grace, store=self.store)

    async def start(self, standing: Sequence[StandingJob] | None = None) -> StandingSync:
        self.scheduler = self.build()
        self.scheduler.bind(self.record)
        report: StandingSync = await self.scheduler.start(standing)
        return report

    async def elapse(self, seconds: float) -> None:
        if self.kind == "apscheduler":
            await asyncio.sleep(seconds)
        else:
            await self.scheduler.advance(seconds=seconds)

    async def settle(self) -> None:
        """Let jobs found due at start run (APScheduler hands them to tasks on the next turns)."""
        if self.kind == "apscheduler":
            await asyncio.sleep(0.15)

    async def restart(
        self, down_for: float, standing: Sequence[StandingJob] | None = None
    ) -> StandingSync:
        await self.scheduler.stop()
        if self.kind == "apscheduler":
            await asyncio.sleep(down_for)
        else:
            self.clock.advance(seconds=down_for)
        report = await self.start(standing)
        await self.settle()
        return report

    def missed(self) -> int:
        count: int = self.scheduler.stats.counts["missed"]
        return count

    def request(
        self, key: str, at: float, *, contact: str = "c1", task: str = "reminder", **data: Any
    ) -> ScheduleTask:
        return ScheduleTask(task, self.at(at), key, contact, dict(data))


@pytest.fixture(params=["apscheduler", "manual"])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(request.param, tmp_path)
    await h.start()
    yield h
    await h.scheduler.stop()


async def test_due_job_runs_once_with_its_contact_task_and_data(harness: Harness) -> None:
    await harness.scheduler.schedule(harness.request("reminder:e1", 0.2, time="10:00"))
    await harness.elapse(0.5)
    assert [(c.contact_id, c.task, c.data) for c in harness.calls] == [
        ("c1", "reminder", {"time": "10:00"})
    ]
    assert harness.calls[0].run_id.startswith("once:reminder:e1@")
    assert await harness.scheduler.jobs() == []


async def test_a_job_does_not_run_before_it_is_due(harness: Harness) -> None:
    await harness.scheduler.schedule(harness.request("k", 30))
    await harness.elapse(0.3)
    assert harness.calls == []


async def test_scheduling_with_the_same_key_replaces_the_job(harness: Harness) -> None:
    await harness.scheduler.schedule(harness.request("reminder:e1", 60, time="10:00"))
    await harness.scheduler.schedule(harness.request("reminder:e1", 0.2, time="12:00"))
    jobs = await harness.scheduler.jobs()
    assert [(j.key, j.data) for j in jobs] == [("reminder:e1", {"time": "12:00"})]
    await harness.elapse(0.5)
    assert [c.data for c in harness.calls] == [{"time": "12:00"}]
    await harness.elapse(0.3)
    assert len(harness.calls) == 1


async def test_cancel_removes_the_pending_job(harness: Harness) -> None:
    await harness.scheduler.schedule(harness.request("reminder:e1", 0.2))
    assert await harness.scheduler.cancel("reminder:e1") is True
    assert await harness.scheduler.cancel("reminder:e1") is False
    assert await harness.scheduler.cancel("never-scheduled") is False
    await harness.elapse(0.4)
    assert harness.calls == []


async def _until(condition: Any) -> None:
    for _ in range(300):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_a_cancel_reaches_a_run_waiting_for_its_turn(harness: Harness) -> None:
    # Due, out of the job store, queued behind the contact's turn that cancels it.
    harness.gate = asyncio.Event()
    await harness.scheduler.schedule(harness.request("reminder:e1", 0.1))
    elapsing = asyncio.create_task(harness.elapse(0.4))
    await _until(lambda: harness.calls)
    waiting = harness.calls[0].run_id
    assert harness.scheduler.wanted(waiting)
    assert await harness.scheduler.cancel("reminder:e1") is True
    assert not harness.scheduler.wanted(waiting)
    assert await harness.scheduler.cancel("reminder:e1") is False  # nothing left to cancel
    harness.gate.set()
    await elapsing
    assert await harness.scheduler.jobs() == []


async def test_a_key_scheduled_again_replaces_its_waiting_run_and_still_runs(
    harness: Harness,
) -> None:
    harness.gate = asyncio.Event()
    await harness.scheduler.schedule(harness.request("followup:c1", 0.1, n=1))
    elapsing = asyncio.create_task(harness.elapse(0.8))
    await _until(lambda: harness.calls)
    old = harness.calls[0].run_id
    await harness.scheduler.schedule(harness.request("followup:c1", 0.2, n=2, free=True))
    assert not harness.scheduler.wanted(old)  # one job per key: the waiting run is replaced
    if harness.kind == "apscheduler":  # (the fake runs one due batch at a time)
        # The new run goes while the old one still waits: not "still running", dropped.
        await _until(lambda: len(harness.calls) == 2)
    harness.gate.set()
    await elapsing
    assert [c.data["n"] for c in harness.calls] == [1, 2]
    assert harness.scheduler.wanted(harness.calls[1].run_id)
    assert harness.scheduler.stats.counts["skipped"] == 0


async def test_the_waiting_run_asked_for_again_stays_wanted(harness: Harness) -> None:
    # A turn replayed after a crash asks again for the run that fell due meanwhile (same key,
    # same due time). Voided as replaced, it could not be told from the new job's run, which
    # has its id: both were skipped, and the reminder lost. The runtime runs a run id once.
    harness.gate = asyncio.Event()
    request = harness.request("reminder:e1", 0.1)
    await harness.scheduler.schedule(request)
    elapsing = asyncio.create_task(harness.elapse(0.5))
    await _until(lambda: harness.calls)
    waiting = harness.calls[0].run_id
    assert await harness.scheduler.cancel("reminder:e1") is True  # as a move's cancel does
    assert not harness.scheduler.wanted(waiting)
    await harness.scheduler.schedule(request)
    assert harness.scheduler.wanted(waiting)
    harness.gate.set()
    await elapsing
    assert [c.run_id for c in harness.calls] == [waiting, waiting]
    assert harness.scheduler.wanted(waiting)
    assert await harness.scheduler.jobs() == []


async def test_jobs_due_at_the_same_moment_run_once_each_in_key_order(harness: Harness) -> None:
    """The order production runs them in is the order `botfleet test` (the fake) shows, and
    the order `GET /tasks` lists them in: by key, whichever was scheduled first."""
    due = harness.at(0.6)
    keys = [f"reminder:{n:03d}" for n in range(60)]
    # a key first scheduled for another time, then moved to this moment
    await harness.scheduler.schedule(ScheduleTask("reminder", harness.at(60), keys[-1], "c1"))
    for key in [*keys[1:-1:2], *keys[-2::-2]]:  # scheduled out of key order
        await harness.scheduler.schedule(ScheduleTask("reminder", due, key, "c1", {"key": key}))
    await harness.scheduler.schedule(
        ScheduleTask("reminder", due, keys[-1], "c1", {"key": keys[-1]})
    )
    assert [j.key for j in await harness.scheduler.jobs()] == keys
    await harness.elapse(1.0)
    assert [c.data["key"] for c in harness.calls] == keys
    await harness.elapse(0.3)
    assert len(harness.calls) == len(keys)


async def test_jobs_lists_pending_jobs_soonest_first_with_filters(harness: Harness) -> None:
    s = harness.scheduler
    await s.schedule(harness.request("a", 300, contact="c1", task="reminder"))
    await s.schedule(harness.request("b", 100, contact="c2", task="reminder"))
    await s.schedule(harness.request("c", 200, contact="c1", task="survey"))
    assert [j.key for j in await s.jobs()] == ["b", "c", "a"]
    assert [j.key for j in await s.jobs(contact_id="c1")] == ["c", "a"]
    assert [j.key for j in await s.jobs(task="reminder")] == ["b", "a"]
    window = await s.jobs(due_after=harness.at(150), due_before=harness.at(250))
    assert [j.key for j in window] == ["c"]
    assert [j.key for j in await s.jobs(limit=1)] == ["b"]
    first = (await s.jobs())[0]
    assert first.kind == "one_off"
    assert first.contact_id == "c2"
    assert first.next_run_at is not None
    assert abs((first.next_run_at - harness.at(100)).total_seconds()) < 2


async def test_run_at_further_in_the_past_than_the_grace_window_is_rejected(
    harness: Harness,
) -> None:
    beyond = r"when it was scheduled, beyond the data plane's misfire grace window"
    with pytest.raises(RunAtPassed, match=beyond + r" \(DP_SCHEDULER_GRACE_S, 1s\): not sched"):
        await harness.scheduler.schedule(harness.request("late", -5))
    with pytest.raises(ValueError, match="has no time zone"):
        await harness.scheduler.schedule(
            ScheduleTask("reminder", datetime(2030, 1, 1, 9, 0), "naive", "c1")
        )
    assert await harness.scheduler.jobs() == []


async def test_run_at_slightly_in_the_past_runs_at_once(harness: Harness) -> None:
    await harness.scheduler.schedule(harness.request("just-missed", -0.4))
    await harness.elapse(0.1)
    assert [c.task for c in harness.calls] == ["reminder"]


async def test_job_survives_a_restart_and_fires_once(harness: Harness) -> None:
    await harness.scheduler.schedule(harness.request("reminder:e1", 0.3, time="10:00"))
    await harness.restart(down_for=0)
    assert [j.key for j in await harness.scheduler.jobs()] == ["reminder:e1"]
    await harness.elapse(0.5)
    await harness.restart(down_for=0)
    await harness.elapse(0.2)
    assert [c.data for c in harness.calls] == [{"time": "10:00"}]
    assert await harness.scheduler.jobs() == []


async def test_job_missed_by_less_than_the_grace_window_runs_late_once(harness: Harness) -> None:
    await harness.scheduler.schedule(harness.request("k", 0.1))
    await harness.restart(down_for=0.5)
    await harness.elapse(0.1)
    assert len(harness.calls) == 1
    assert harness.missed() == 0


async def test_job_missed_by_more_than_the_grace_window_is_recorded_not_sent(
    harness: Harness,
) -> None:
    await harness.scheduler.schedule(harness.request("k", 0.1))
    await harness.restart(down_for=1.6)
    await harness.elapse(0.1)
    assert harness.calls == []
    assert harness.missed() == 1
    assert await harness.scheduler.jobs() == []


async def test_a_window_raised_for_a_restart_reaches_the_jobs_stored_before(
    harness: Harness,
) -> None:
    # An operator raises DP_SCHEDULER_GRACE_S to recover reminders after downtime.
    await harness.scheduler.schedule(harness.request("k", 0.1))
    harness.grace = timedelta(seconds=60)
    await harness.restart(down_for=1.6)
    await harness.elapse(0.1)
    assert [c.task for c in harness.calls] == ["reminder"]
    assert harness.missed() == 0


def late(request: ScheduleTask, seconds: float) -> ScheduleTask:
    """`request` with its own misfire window (a flow's `run_late_within`)."""
    return replace(request, run_late_within=timedelta(seconds=seconds))


async def test_a_jobs_own_late_window_runs_it_after_an_outage_longer_than_the_grace(
    harness: Harness,
) -> None:
    await harness.scheduler.schedule(late(harness.request("own", 0.1), 4))
    await harness.scheduler.schedule(harness.request("plain", 0.1))
    await harness.restart(down_for=1.6)  # beyond the 1 s grace, within its own 4 s
    await harness.elapse(0.1)
    assert [c.run_id.split("@")[0] for c in harness.calls] == ["once:own"]
    assert harness.missed() == 1  # the job without one kept the grace window
    assert await harness.scheduler.jobs() == []


async def test_a_jobs_own_late_window_holds_when_the_grace_is_raised(harness: Harness) -> None:
    # The flow asked for "not later than 1 s"; an operator's wider window is for the others.
    await harness.scheduler.schedule(late(harness.request("strict", 0.1), 1))
    await harness.scheduler.schedule(harness.request("plain", 0.1))
    harness.grace = timedelta(seconds=60)
    await harness.restart(down_for=1.6)
    await harness.elapse(0.1)
    assert [c.run_id.split("@")[0] for c in harness.calls] == ["once:plain"]
    assert harness.missed() == 1


async def test_a_run_at_already_past_is_judged_by_the_grace_window_not_its_own(
    harness: Harness,
) -> None:
    # Its own window is for runs an outage delayed; a run already past when scheduled would
    # follow the very turn that scheduled it.
    # The detail names the window that applied, and why the task's own did not count.
    grace = r"grace window \(DP_SCHEDULER_GRACE_S, 1s\): not scheduled"
    with pytest.raises(RunAtPassed, match=grace + r" \(its run_late_within of 5s is for"):
        await harness.scheduler.schedule(late(harness.request("old", -2.5), 5))
    await harness.scheduler.schedule(late(harness.request("recent", -0.5), 5))
    with pytest.raises(ValueError, match="run_late_within must be positive"):
        await harness.scheduler.schedule(late(harness.request("zero", 10), 0))
    await harness.elapse(0.1)
    assert [c.run_id.split("@")[0] for c in harness.calls] == ["once:recent"]
    assert await harness.scheduler.jobs() == []


DAILY = StandingJob("daily_digest", "digest", cron="0 9 * * *", timezone="Europe/Madrid")
# Flows give whole seconds; shorter here keeps the real-clock runs quick.
TICK = StandingJob("tick", "ping", interval=timedelta(seconds=0.4), contact_id="owner")


async def test_standing_schedules_are_not_duplicated_over_restarts(harness: Harness) -> None:
    first = await harness.restart(down_for=0, standing=[DAILY])
    assert first.added == ("daily_digest",)
    [job] = await harness.scheduler.jobs()
    again = await harness.scheduler.sync_standing([DAILY])
    restarted = await harness.restart(down_for=0, standing=[DAILY])
    assert again.kept == restarted.kept == ("daily_digest",)
    assert again.added == restarted.added == ()
    assert await harness.scheduler.jobs() == [job]  # same job, same next run time


async def test_changed_standing_schedule_is_replaced_and_a_vanished_one_removed(
    harness: Harness,
) -> None:
    await harness.scheduler.sync_standing([DAILY, TICK])
    later = StandingJob("daily_digest", "digest", cron="0 18 * * *", timezone="Europe/Madrid")
    report = await harness.restart(down_for=0, standing=[later])
    assert report.replaced == ("daily_digest",)
    assert report.removed == ("tick",)
    [job] = await harness.scheduler.jobs()
    assert job.kind == "standing"
    assert job.key == "daily_digest"
    assert job.next_run_at is not None
    assert job.next_run_at.astimezone(later_zone()).hour == 18


def later_zone() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Madrid")


async def test_standing_interval_job_runs_repeatedly_with_distinct_run_ids(
    harness: Harness,
) -> None:
    await harness.scheduler.sync_standing([TICK])
    await harness.elapse(0.95)
    assert [(c.contact_id, c.task) for c in harness.calls] == [("owner", "ping")] * 2
    assert harness.calls[0].run_id != harness.calls[1].run_id
    assert [j.key for j in await harness.scheduler.jobs(task="ping")] == ["tick"]


async def test_standing_runs_missed_while_down_are_coalesced_into_one(harness: Harness) -> None:
    slow_tick = StandingJob("tick", "ping", interval=timedelta(seconds=0.6))
    await harness.restart(down_for=0, standing=[slow_tick])
    # Down for 1.3 s: the runs due at +0.6 s and +1.2 s were missed; the next is due at +1.8 s.
    await harness.restart(down_for=1.3, standing=[slow_tick])
    assert len(harness.calls) == 1
    assert harness.missed() == 0


async def test_count_is_the_number_of_pending_jobs(harness: Harness) -> None:
    s = harness.scheduler
    assert await s.count() == 0
    await s.schedule(harness.request("a", 300))
    await s.schedule(harness.request("b", 100))
    await s.schedule(harness.request("b", 200))  # replaced, not added
    await s.sync_standing([DAILY])
    assert await s.count() == len(await s.jobs()) == 3
    await s.cancel("a")
    assert await s.count() == 2


# ---------------------------------------------------------------- MovesContactJobs


async def test_moved_jobs_keep_their_due_time_and_run_once_for_the_new_contact(
    harness: Harness,
) -> None:
    s = harness.scheduler
    await s.schedule(harness.request("reminder:-40", 0.3, contact="-40", time="10:00"))
    await s.schedule(harness.request("survey:e7", 60, contact="-40", task="survey"))
    await s.schedule(harness.request("reminder:c2", 0.3, contact="c2"))
    before = {j.task: j.next_run_at for j in await s.jobs(contact_id="-40")}

    assert await s.move_jobs("-40", "-100") == 2

    assert await s.jobs(contact_id="-40") == []
    moved = await s.jobs(contact_id="-100")
    # A key naming the old contact (the default `<task>:<contact>`) names the new one.
    assert [(j.key, j.job_id) for j in moved] == [
        ("reminder:-100", "once:reminder:-100"),
        ("survey:e7", "once:survey:e7"),
    ]
    assert {j.task: j.next_run_at for j in moved} == before
    assert moved[0].data == {"time": "10:00"}
    assert await s.move_jobs("-40", "-100") == 0  # a second move finds nothing

    await harness.elapse(0.6)
    assert sorted((c.contact_id, c.run_id.split("@")[0]) for c in harness.calls) == [
        ("-100", "once:reminder:-100"),
        ("c2", "once:reminder:c2"),
    ]
    # The new contact cancels it with the key its own turns build.
    assert await s.cancel("survey:-40") is False
    assert await s.cancel("survey:e7") is True


async def test_moved_jobs_survive_a_restart(harness: Harness) -> None:
    await harness.scheduler.schedule(harness.request("reminder:-40", 0.4, contact="-40"))
    await harness.scheduler.move_jobs("-40", "-100")
    await harness.restart(down_for=0)
    assert [(j.contact_id, j.key) for j in await harness.scheduler.jobs()] == [
        ("-100", "reminder:-100")
    ]
    await harness.elapse(0.6)
    assert [c.contact_id for c in harness.calls] == ["-100"]


async def test_a_job_whose_new_key_is_taken_stays_with_the_old_contact(
    harness: Harness,
) -> None:
    s = harness.scheduler
    await s.schedule(harness.request("reminder:-40", 60, contact="-40", n=1))
    await s.schedule(harness.request("reminder:-100", 90, contact="-100", n=2))
    assert await s.move_jobs("-40", "-100") == 0
    jobs = await s.jobs()
    assert [(j.contact_id, j.key, j.data) for j in jobs] == [
        ("-40", "reminder:-40", {"n": 1}),
        ("-100", "reminder:-100", {"n": 2}),
    ]


async def test_standing_jobs_do_not_move(harness: Harness) -> None:
    standing = StandingJob("digest", "digest", interval=timedelta(hours=1), contact_id="-40")
    await harness.restart(down_for=0, standing=[standing])
    assert await harness.scheduler.move_jobs("-40", "-100") == 0
    assert [j.contact_id for j in await harness.scheduler.jobs()] == ["-40"]


async def test_jobs_are_not_moved_onto_their_own_contact(harness: Harness) -> None:
    await harness.scheduler.schedule(harness.request("k", 60, contact="-40"))
    with pytest.raises(ValueError, match="cannot be moved"):
        await harness.scheduler.move_jobs("-40", "-40")
