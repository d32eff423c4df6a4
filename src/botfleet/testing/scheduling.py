"""`ManualScheduler`: a `SchedulerService` whose time is a clock the test moves.

Same rules as the APScheduler adapter (the contract suite runs against both): one job per
idempotency key, misfire grace window (a job's own `run_late_within` first), coalescing,
standing schedules kept by fingerprint, cron rules in the tenant's zone (the same triggers).
Time moves only through `advance()`/`advance_to()`, which fire every job due on the way at its
exact time (`advance()` with no step fires what is due now, e.g. a job scheduled slightly in the
past); jobs found due at `start()` (time moved while stopped) follow the misfire rules.
`schedule()` never fires anything itself: it is called from inside a contact's turn, and the
job's run must queue behind that turn. A `ManualJobStore` outlives a scheduler, so a test can
"restart the process" by starting a new scheduler on the same store.

    clock = FrozenClock()
    scheduler = ManualScheduler(clock, tenant_id="demo")
    scheduler.bind(runtime.run_task)
    await scheduler.start()
    await scheduler.advance(hours=24)   # the reminder fires on the way
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from botfleet.adapters.scheduling.in_flight import RunsInFlight
from botfleet.adapters.scheduling.rules import (
    ONE_OFF,
    STANDING,
    check_request,
    fingerprint,
    late_window,
    one_off_job_id,
    run_id,
    standing_job_id,
)
from botfleet.adapters.scheduling.run_to_end import run_to_end
from botfleet.adapters.scheduling.stats import SchedulerStats
from botfleet.adapters.scheduling.triggers import build_trigger
from botfleet.domain.instants import elapsed_after
from botfleet.flows.effects import ScheduleTask
from botfleet.ports.scheduling import (
    DEFAULT_MISFIRE_GRACE,
    Claim,
    JobRun,
    JobStillRunning,
    RunRecorded,
    ScheduledJob,
    StandingJob,
    StandingSync,
    TaskRunner,
    check_jobs_move,
    moved_key,
)

__all__ = ["ManualJobStore", "ManualScheduler", "MissedRun", "Run", "SettableClock"]

#: Runs one `advance` may fire before it gives up (see `advance_to`).
MAX_RUNS_PER_ADVANCE = 1000


class SettableClock(Protocol):
    """A clock the test moves (`botfleet.testing.clock.FrozenClock` is one)."""

    def now(self) -> datetime: ...

    def set(self, moment: datetime) -> datetime: ...


@dataclass(slots=True)
class _Job:
    job_id: str
    kind: str
    task: str
    contact_id: str | None
    data: dict[str, Any]
    key: str
    next_run: datetime | None
    trigger: Any = None  # standing jobs: an APScheduler trigger
    fingerprint: str = ""
    #: A one-off job's own misfire window (`run_late_within`); None: the scheduler's grace.
    late_window: timedelta | None = None

    def view(self) -> ScheduledJob:
        return ScheduledJob(
            self.job_id,
            self.task,
            self.contact_id,
            self.next_run,
            dict(self.data),
            self.kind,
            self.key,
        )


@dataclass(frozen=True, slots=True)
class Run:
    """A job handed to the runner: when it was due and when it ran (the clock's time)."""

    job_id: str
    task: str
    contact_id: str | None
    data: dict[str, Any]
    run_id: str
    due_at: datetime
    ran_at: datetime


@dataclass(frozen=True, slots=True)
class MissedRun:
    job_id: str
    task: str
    due_at: datetime
    noticed_at: datetime


@dataclass
class ManualJobStore:
    """The fake's persistent part: survives from one `ManualScheduler` to the next."""

    jobs: dict[str, _Job] = field(default_factory=dict)


class ManualScheduler:
    """A `SchedulerService` driven by a test's clock. See the module docstring."""

    def __init__(
        self,
        clock: SettableClock,
        *,
        tenant_id: str = "tenant",
        grace: timedelta = DEFAULT_MISFIRE_GRACE,
        store: ManualJobStore | None = None,
    ) -> None:
        if grace <= timedelta():
            raise ValueError(f"misfire grace must be positive, got {grace}")
        self.clock = clock
        self.tenant_id = tenant_id
        self.grace = grace
        self.store = store if store is not None else ManualJobStore()
        self.stats = SchedulerStats()
        self.runs: list[Run] = []
        #: Each run with what the runner returned for it (the runtime's `TaskOutcome`), in the
        #: order they ended: a sandbox tells a run that failed from one that sent nothing.
        self.outcomes: list[tuple[Run, object]] = []
        self.missed: list[MissedRun] = []
        self.running = False
        self._runner: TaskRunner | None = None
        self._in_flight = RunsInFlight()
        #: As the real one: standing jobs with a run handed to the runner, one at a time.
        self._standing_runs: set[str] = set()

    # ---------------------------------------------------------------- lifecycle

    def bind(self, runner: TaskRunner) -> None:
        self._runner = runner

    async def start(self, standing: Sequence[StandingJob] | None = None) -> StandingSync:
        if self._runner is None:
            raise RuntimeError("ManualScheduler.start: bind(runner) first")
        report = await self.sync_standing(standing) if standing is not None else StandingSync()
        self.running = True
        await self._fire_due(self.clock.now())
        return report

    async def stop(self) -> None:
        self.running = False

    # ---------------------------------------------------------------- time

    async def advance(
        self,
        delta: timedelta | None = None,
        *,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        seconds: float = 0,
    ) -> list[Run]:
        """Move the clock forward, firing what falls due on the way; returns those runs."""
        step = (delta or timedelta()) + timedelta(
            days=days, hours=hours, minutes=minutes, seconds=seconds
        )
        return await self.advance_to(elapsed_after(self.clock.now(), step))

    async def advance_to(self, moment: datetime) -> list[Run]:
        """Move the clock to `moment`; while running, each due job fires at its due time."""
        # In UTC: two times of one zone compare on their wall clock, so in the hour the clocks
        # repeat, 02:15 winter time (30 minutes on) would read as before 02:45 summer time.
        if moment.astimezone(UTC) < self.clock.now().astimezone(UTC):
            raise ValueError(f"advance_to({moment.isoformat()}): the clock does not go back")
        before = len(self.runs)
        while self.running:
            due = self._next_due()
            if due is None or due > moment:
                break
            if len(self.runs) - before >= MAX_RUNS_PER_ADVANCE:
                # A task that schedules itself again for now would never let the clock move:
                # a test or a chat session would hang instead of saying why.
                raise RuntimeError(
                    f"more than {MAX_RUNS_PER_ADVANCE} task runs fell due by "
                    f"{moment.isoformat()}: a task probably schedules itself again for the "
                    "moment it runs (give it a later run_at or delay)"
                )
            self.clock.set(max(due, self.clock.now()))
            await self._fire_due(self.clock.now())
        self.clock.set(moment)
        return self.runs[before:]

    # ---------------------------------------------------------------- TaskScheduler

    async def schedule(self, request: ScheduleTask) -> None:
        data = check_request(request, self.clock.now(), self.grace)
        job_id = one_off_job_id(request.idempotency_key)
        # As the real one: a waiting run of the key is replaced, unless it is this very run.
        self._in_flight.void(job_id, keep=run_id(job_id, request.run_at))
        self.store.jobs[job_id] = _Job(
            job_id,
            ONE_OFF,
            request.task,
            request.contact_id,
            data,
            request.idempotency_key,
            _utc(request.run_at),
            late_window=(
                None if request.run_late_within is None else late_window(request.run_late_within)
            ),
        )

    async def cancel(self, idempotency_key: str) -> bool:
        job_id = one_off_job_id(idempotency_key)
        voided = self._in_flight.void(job_id)
        return self.store.jobs.pop(job_id, None) is not None or voided

    def wanted(self, run_id: str) -> bool:
        return self._in_flight.wanted(run_id)

    async def job(self, job_id: str) -> ScheduledJob | None:
        found = self.store.jobs.get(job_id)
        return None if found is None else found.view()

    async def run_now(self, job_id: str, *, strict: bool = False) -> JobRun | None:
        """As the real one: a one-off job leaves the store and runs under its due time's run
        id; a standing one runs under this moment's and keeps its next run, unless a run of it
        is under way (`JobStillRunning`). `strict`: the runner gets a claim, and a one-off job
        leaves the store only when its run claims it."""
        job = self.store.jobs.get(job_id)
        if job is None:
            return None
        pending = job.view()
        now = self.clock.now()
        due = now
        claim: Claim | None = None
        if job.kind == ONE_OFF:
            assert job.next_run is not None
            due = job.next_run
            if strict:
                claim = partial(self._claim, pending)
            else:
                del self.store.jobs[job_id]
        ran = await self._run(job, due, now, fired=False, strict=strict, claim=claim)
        assert ran is not None  # (`_run` refuses a run asked for, it skips only fired ones)
        run, outcome = ran
        return JobRun(pending, run.run_id, outcome)

    async def _claim(self, pending: ScheduledJob) -> bool:
        """As the real one: the job leaves the store if it is still the one the run was asked
        for (not cancelled, fired or scheduled again meanwhile)."""
        if await self.job(pending.job_id) != pending:
            return False
        del self.store.jobs[pending.job_id]
        return True

    async def move_jobs(
        self, old_contact_id: str, new_contact_id: str, *, ran: RunRecorded | None = None
    ) -> int:
        check_jobs_move(old_contact_id, new_contact_id)
        jobs = self.store.jobs
        moved = 0
        for job in [j for j in jobs.values() if j.kind == ONE_OFF]:
            if job.contact_id != old_contact_id:
                continue
            due = job.next_run
            if ran is not None and due is not None and await ran(run_id(job.job_id, due)):
                del jobs[job.job_id]  # as the real one: a run that ran is not moved
                continue
            key = moved_key(job.key, old_contact_id, new_contact_id)
            new_id = one_off_job_id(key)
            if new_id != job.job_id and new_id in jobs:
                continue  # as the real one: never two jobs for one key
            del jobs[job.job_id]
            job.job_id, job.key, job.contact_id = new_id, key, new_contact_id
            jobs[new_id] = job
            moved += 1
        return moved

    async def jobs(
        self,
        *,
        contact_id: str | None = None,
        task: str | None = None,
        due_after: datetime | None = None,
        due_before: datetime | None = None,
        limit: int | None = None,
    ) -> list[ScheduledJob]:
        found = [
            job.view()
            for job in self.store.jobs.values()
            if (contact_id is None or job.contact_id == contact_id)
            and (task is None or job.task == task)
            and (due_after is None or (job.next_run is not None and job.next_run >= due_after))
            and (due_before is None or (job.next_run is not None and job.next_run <= due_before))
        ]
        found.sort(
            key=lambda j: (j.next_run_at is None, j.next_run_at or self.clock.now(), j.job_id)
        )
        return found if limit is None else found[:limit]

    async def count(self) -> int:
        return len(self.store.jobs)

    async def sync_standing(self, jobs: Sequence[StandingJob]) -> StandingSync:
        stored = {i: j for i, j in self.store.jobs.items() if j.kind == STANDING}
        added: list[str] = []
        kept: list[str] = []
        replaced: list[str] = []
        wanted: set[str] = set()
        now = self.clock.now()
        for job in jobs:
            job_id = standing_job_id(job.name)
            wanted.add(job_id)
            print_ = fingerprint(job)
            old = stored.get(job_id)
            if old is not None and old.fingerprint == print_:
                kept.append(job.name)
                continue
            (replaced if old is not None else added).append(job.name)
            trigger = build_trigger(job, now=now)
            self.store.jobs[job_id] = _Job(
                job_id,
                STANDING,
                job.task,
                job.contact_id,
                dict(job.data),
                job.name,
                _utc(trigger.get_next_fire_time(None, now)),
                trigger,
                print_,
            )
        removed = sorted(set(stored) - wanted)
        for job_id in removed:
            del self.store.jobs[job_id]
        names = tuple(stored[i].key for i in removed)
        return StandingSync(tuple(added), tuple(kept), tuple(replaced), names)

    # ---------------------------------------------------------------- firing

    def _next_due(self) -> datetime | None:
        times = [j.next_run for j in self.store.jobs.values() if j.next_run is not None]
        return min(times, default=None)

    async def _fire_due(self, now: datetime) -> None:
        due = [j for j in self.store.jobs.values() if j.next_run is not None and j.next_run <= now]
        calls = []
        for job in sorted(due, key=lambda j: (j.next_run, j.job_id)):
            last = self._last_run_time(job, now)  # coalesce: only the latest missed run counts
            self._reschedule(job, last, now)
            if now - last > (job.late_window or self.grace):
                self.missed.append(MissedRun(job.job_id, job.task, last, now))
                self.stats.missed()
                continue
            calls.append(self._run(job, last, now))
        await asyncio.gather(*calls)

    @staticmethod
    def _last_run_time(job: _Job, now: datetime) -> datetime:
        assert job.next_run is not None
        last = job.next_run
        if job.trigger is None:
            return last
        while True:
            following = _utc(job.trigger.get_next_fire_time(last, now))
            if following is None or following > now:
                return last
            last = following

    def _reschedule(self, job: _Job, last: datetime, now: datetime) -> None:
        following = _utc(job.trigger.get_next_fire_time(last, now)) if job.trigger else None
        if following is None:
            self.store.jobs.pop(job.job_id, None)
        else:
            job.next_run = following

    async def _run(
        self,
        job: _Job,
        due_at: datetime,
        now: datetime,
        *,
        fired: bool = True,
        strict: bool = False,
        claim: Claim | None = None,
    ) -> tuple[Run, object] | None:
        """`fired`: counted as the scheduler firing it (a run asked for by `run_now` is not,
        as APScheduler counts only the jobs it fires). `strict`, `claim`: a strict `run_now`'s,
        for the runner. As the real one, a standing job runs one at a time: a fired run meeting
        one under way is skipped (None, counted fired and skipped), a `run_now` refused."""
        assert self._runner is not None
        standing = job.kind == STANDING
        if standing and job.job_id in self._standing_runs:
            if not fired:
                raise JobStillRunning(job.job_id)
            self.stats.fired()  # as the real one: APScheduler counts the call it made
            self.stats.skipped()
            return None
        moment = due_at if job.kind == ONE_OFF else now
        rid = run_id(job.job_id, moment)
        run = Run(job.job_id, job.task, job.contact_id, dict(job.data), rid, due_at, now)
        self.runs.append(run)
        if fired:
            self.stats.fired()
        if standing:
            self._standing_runs.add(job.job_id)
        self._in_flight.start(rid)
        if strict:
            call = self._runner(
                job.contact_id, job.task, dict(job.data), rid, strict=True, claim=claim
            )
        else:  # as a due job calls it, with four arguments
            call = self._runner(job.contact_id, job.task, dict(job.data), rid)

        def release() -> None:
            self._in_flight.finish(rid)
            if standing:
                self._standing_runs.discard(job.job_id)

        # As the real one: held until the run ends, not until this caller stops waiting.
        outcome = await run_to_end(call, release)
        self.outcomes.append((run, outcome))
        return run, outcome


def _utc(moment: datetime | None) -> datetime | None:
    """As the real job store keeps times (UTC): a trigger's local time may be a wall time that
    does not exist (02:30 on a spring-forward day), and same-zone comparisons ignore offsets."""
    return None if moment is None else moment.astimezone(UTC)
