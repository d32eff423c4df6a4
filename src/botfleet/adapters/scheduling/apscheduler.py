"""`SchedulerService` on APScheduler 3 (asyncio) with the job store in a SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from time import monotonic
from types import TracebackType
from typing import Any, TypeVar

import structlog
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
)
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.date import DateTrigger
from prometheus_client import CollectorRegistry

from botfleet.adapters.scheduling.dispatch import fire_job, register_runner, unregister_runner
from botfleet.adapters.scheduling.in_flight import RunsInFlight, job_of
from botfleet.adapters.scheduling.job_file import job_file_error
from botfleet.adapters.scheduling.jobstore import (
    LATE_WITHIN,
    IndexedJobStore,
    JobQuery,
    is_locked,
    open_job_db,
    run_of,
    transient_cause,
)
from botfleet.adapters.scheduling.rules import (
    ONE_OFF,
    STANDING,
    check_request,
    fingerprint,
    grace_seconds,
    one_off_job_id,
    run_id,
    standing_job_id,
)
from botfleet.adapters.scheduling.run_to_end import run_to_end
from botfleet.adapters.scheduling.stats import SchedulerStats
from botfleet.adapters.scheduling.triggers import build_trigger
from botfleet.contact_hash import hash_contact, scrub_contact
from botfleet.domain.errors import StoreError, StoreUnavailable
from botfleet.flows.effects import ScheduleTask
from botfleet.ports.clock import Clock, SystemClock
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
)

log = structlog.get_logger("botfleet.scheduler")
#: Runs of one one-off key at once: a key scheduled again while its earlier run still waits
#: for the contact's turn (voided, see `in_flight`) must not be refused as "still running",
#: which APScheduler's default of 1 did, dropping the new reminder. Standing jobs keep 1.
ONE_OFF_INSTANCES = 8

_EVENTS = EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
#: Seconds a call waits for another process to release the job file's lock, in `asyncio.sleep`s
#: (the store never waits inside SQLite: the event loop would stall); then `StoreUnavailable`
#: is raised, which a turn treats as the state file's (it runs again later).
LOCK_WAIT_S = 10.0
_FIRST_PAUSE_S = 0.001
_LONGEST_PAUSE_S = 0.05

T = TypeVar("T")


class SchedulerStopped(ValueError):
    """A request reached a scheduler that is not running (before start, after stop)."""


def _is_standing_run(run: str) -> bool:
    """Whether `run` (a run id, `rules.run_id`) names a standing job's run."""
    return job_of(run).startswith(standing_job_id(""))


class APSchedulerTaskScheduler:
    """One tenant's scheduler: jobs in `jobs_db` (None: in memory), fired into the runner.

    Args:
        tenant_id: routes stored jobs back to this tenant's runner (see `dispatch`).
        jobs_db: the SQLite job file; None keeps jobs in memory (tests, in-memory demo).
        grace: misfire grace window: a job found due less than this late runs once, late;
            later than that it is recorded as missed and not run. Whole seconds, at least 1.
        clock: used to judge `run_at` in `schedule()` (APScheduler itself reads the system
            clock).
        metrics: registry for the `botfleet_tasks_*` counters (the runtime's, for `/metrics`).
        stop_timeout_s: how long `stop()` waits for jobs already handed to the runner.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        jobs_db: Path | None,
        grace: timedelta = DEFAULT_MISFIRE_GRACE,
        clock: Clock | None = None,
        metrics: CollectorRegistry | None = None,
        stop_timeout_s: float = 10.0,
    ) -> None:
        self.tenant_id = tenant_id
        self.jobs_db = jobs_db
        self.grace = grace
        self._grace_s = grace_seconds(grace)
        self._clock = clock or SystemClock()
        self._stop_timeout_s = stop_timeout_s
        #: Seconds a call waits for another process's lock on the job file (`LOCK_WAIT_S`).
        self.lock_wait_s = LOCK_WAIT_S
        self.stats = SchedulerStats(metrics)
        self._runner: TaskRunner | None = None
        self._in_flight = RunsInFlight()
        #: Standing jobs with a run handed to the runner and not returned yet: APScheduler's
        #: `max_instances` sees only the runs it fires, not a `run_now`'s.
        self._standing_runs: set[str] = set()
        self._scheduler: Any = None
        self._store: IndexedJobStore | None = None

    # ---------------------------------------------------------------- lifecycle

    def bind(self, runner: TaskRunner) -> None:
        self._runner = runner

    async def start(self, standing: Sequence[StandingJob] | None = None) -> StandingSync:
        """Open the job file and start firing; `standing` is registered before any job runs."""
        if self._runner is None:
            raise RuntimeError("APSchedulerTaskScheduler.start: bind(runner) first")
        if self._scheduler is not None:
            raise RuntimeError("APSchedulerTaskScheduler.start: already started")
        try:
            store = IndexedJobStore(open_job_db(self.jobs_db), misfire_grace_s=self._grace_s)
        except sqlite3.Error as exc:
            raise job_file_error(self.jobs_db, exc) from exc
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            jobstores={"default": store},
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": self._grace_s,
                "max_instances": 1,
            },
        )
        scheduler.add_listener(self._on_event, _EVENTS)
        register_runner(self.tenant_id, self._hand_over)
        # Paused until the standing schedules are in: a changed rule must not fire in its old form.
        scheduler.start(paused=True)
        self._scheduler, self._store = scheduler, store
        try:
            report = await self.sync_standing(standing) if standing is not None else StandingSync()
            jobs = await self._unlocked(store.count, "count the jobs")
        except BaseException as exc:
            # Nothing fired (paused): close the file and forget the runner, as a stop would.
            await self.stop()
            if isinstance(exc, StoreError | sqlite3.Error):
                raise job_file_error(self.jobs_db, exc) from exc
            raise
        scheduler.resume()
        log.info("scheduler_started", tenant=self.tenant_id, jobs=jobs)
        return report

    async def stop(self) -> None:
        """Stop firing; jobs already handed to the runner finish first (up to the timeout)."""
        scheduler, store = self._scheduler, self._store
        if scheduler is None or store is None:
            return
        scheduler.pause()
        await _wait_for(lambda: not store.in_flight, self._stop_timeout_s)
        try:  # what the last walks could not write (the file locked): before it is closed
            await self._unlocked(store.flush, "write the fired jobs' changes")
        except (StoreUnavailable, sqlite3.Error) as exc:
            cause = exc.cause if isinstance(exc, StoreUnavailable) else None
            log.error("job_file_not_written", tenant=self.tenant_id, error=cause or str(exc))
        scheduler.shutdown(wait=False)
        # AsyncIOScheduler shuts down on its next loop turn; the file is closed after that.
        await _wait_for(lambda: scheduler.state == STATE_STOPPED, self._stop_timeout_s)
        self._scheduler = self._store = None
        unregister_runner(self.tenant_id, self._hand_over)

    async def _hand_over(
        self,
        contact_id: str | None,
        task: str,
        data: dict[str, Any],
        run_id: str,
        /,
        *,
        strict: bool = False,
        claim: Claim | None = None,
    ) -> object:
        """The runner as registered: the run is in flight (cancellable) until it is done. A
        standing job's run is one at a time: a fired run meeting one under way (a `run_now`'s)
        is skipped, as APScheduler skips one meeting its own (`task_still_running`), and
        `run_now` refuses before it gets here (`JobStillRunning`)."""
        runner = self._runner
        assert runner is not None
        standing = job_of(run_id) if _is_standing_run(run_id) else None
        if standing is not None:
            if standing in self._standing_runs:
                self.stats.skipped()
                log.warning(
                    "task_still_running",
                    tenant=self.tenant_id,
                    task=task,
                    kind=STANDING,
                    contact=hash_contact(self.tenant_id, contact_id),
                )
                return None
            self._standing_runs.add(standing)
        self._in_flight.start(run_id)
        if not strict:
            # As a due job calls it: a runner that never runs strictly takes four arguments.
            call = runner(contact_id, task, data, run_id)
        else:
            call = runner(contact_id, task, data, run_id, strict=True, claim=claim)
        if standing is None:
            try:
                return await call
            finally:
                self._in_flight.finish(run_id)

        def release() -> None:
            self._in_flight.finish(run_id)
            self._standing_runs.discard(standing)

        # Held until the run ends, not until this caller stops waiting (`run_to_end`).
        return await run_to_end(call, release)

    async def __aenter__(self) -> APSchedulerTaskScheduler:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ---------------------------------------------------------------- TaskScheduler

    async def schedule(self, request: ScheduleTask) -> None:
        scheduler = self._running()
        job_id, kwargs = self._one_off(request)
        # One job per key: a waiting run of the old one is replaced, unless it is this very run.
        self._in_flight.void(job_id, keep=run_id(job_id, kwargs["run_at"]))
        await self._unlocked(
            lambda: scheduler.add_job(
                fire_job,
                trigger=DateTrigger(run_date=kwargs["run_at"], timezone=UTC),
                id=job_id,
                name=request.task,
                replace_existing=True,
                kwargs=kwargs,
                max_instances=ONE_OFF_INSTANCES,
                misfire_grace_time=kwargs.get(LATE_WITHIN, self._grace_s),
            ),
            f"schedule task {request.idempotency_key!r}",
        )

    async def schedule_many(self, requests: Sequence[ScheduleTask]) -> int:
        """Store many new one-off jobs in one transaction (bulk imports, benchmarks).

        Every request is checked as in `schedule()` first; keys must not be stored yet.
        """
        scheduler = self._running()
        assert self._store is not None
        jobs = []
        for request in requests:
            job_id, kwargs = self._one_off(request)
            jobs.append(
                Job(
                    scheduler,
                    id=job_id,
                    func=fire_job,
                    trigger=DateTrigger(run_date=kwargs["run_at"], timezone=UTC),
                    executor="default",
                    args=(),
                    kwargs=kwargs,
                    name=request.task,
                    misfire_grace_time=kwargs.get(LATE_WITHIN, self._grace_s),
                    coalesce=True,
                    max_instances=ONE_OFF_INSTANCES,
                    next_run_time=kwargs["run_at"],
                )
            )
        store = self._store
        await self._unlocked(lambda: store.insert_many(jobs), f"store {len(jobs)} tasks")
        scheduler.wakeup()  # one of them may be due before the next planned wake-up
        return len(jobs)

    def _one_off(self, request: ScheduleTask) -> tuple[str, dict[str, Any]]:
        data = check_request(request, self._clock.now(), self.grace)
        job_id = one_off_job_id(request.idempotency_key)
        kwargs = {
            "tenant_id": self.tenant_id,
            "job_id": job_id,
            "kind": ONE_OFF,
            "task": request.task,
            "contact_id": request.contact_id,
            "data": data,
            "key": request.idempotency_key,
            "run_at": request.run_at.astimezone(UTC),
        }
        if request.run_late_within is not None:
            # In the job's arguments, where the job store finds it (see `IndexedJobStore`);
            # left out otherwise, so the job keeps following the start's grace window.
            kwargs[LATE_WITHIN] = grace_seconds(request.run_late_within)
        return job_id, kwargs

    async def cancel(self, idempotency_key: str) -> bool:
        job_id = one_off_job_id(idempotency_key)
        voided = self._in_flight.void(job_id)
        scheduler = self._running()
        try:
            await self._unlocked(
                lambda: scheduler.remove_job(job_id), f"cancel task {idempotency_key!r}"
            )
        except JobLookupError:
            return voided
        return True

    def wanted(self, run_id: str) -> bool:
        return self._in_flight.wanted(run_id)

    async def job(self, job_id: str) -> ScheduledJob | None:
        """`RunsJobsNow.job`: one row read and unpickled (its arguments hold the exact due time
        the run id is made of; the query columns keep it as a float)."""
        self._running()
        store = self._store
        assert store is not None
        found = await self._unlocked(partial(store.lookup_job, job_id), "read the job")
        return None if found is None else _pending(found)

    async def run_now(self, job_id: str, *, strict: bool = False) -> JobRun | None:
        """`RunsJobsNow.run_now`: the path `fire_job` takes, with the run id it would give.

        Raises:
            JobStillRunning: a standing job whose run is under way (checked and taken with no
                `await` in between, so two requests at once cannot both pass)."""
        scheduler = self._running()
        store = self._store
        assert store is not None
        found = await self._unlocked(partial(store.lookup_job, job_id), "read the job")
        if found is None:
            return None
        job = _pending(found)
        claim: Claim | None = None
        if job.kind != ONE_OFF:
            if job_id in self._standing_runs:
                raise JobStillRunning(job_id)
            rid = run_id(job_id, self._clock.now())
        elif strict:
            rid = run_of(found)
            claim = partial(self._claim, job)
        else:
            rid = run_of(found)
            try:
                # Out of the store before it runs, as a fired one-off leaves it.
                await self._unlocked(partial(scheduler.remove_job, job_id), "run the job now")
            except JobLookupError:  # it fell due (or was cancelled) meanwhile
                return None
        log.info(
            "task_run_now",
            tenant=self.tenant_id,
            task=job.task,
            kind=job.kind,
            contact=hash_contact(self.tenant_id, job.contact_id),
            strict=strict,
        )
        outcome = await self._hand_over(
            job.contact_id, job.task, dict(job.data), rid, strict=strict, claim=claim
        )
        return JobRun(job, rid, outcome)

    async def _claim(self, pending: ScheduledJob) -> bool:
        """A strict one-off run's claim (`run_now`): the job leaves the store once the run's
        turn rendered, if it is still the pending job the run was asked for."""
        # Cancelled, fired, or scheduled again (another time or data) while the run waited for
        # the contact's turn: running it would send what nobody asked for any more.
        if await self.job(pending.job_id) != pending:
            return False
        scheduler = self._running()
        try:
            await self._unlocked(partial(scheduler.remove_job, pending.job_id), "run the job now")
        except JobLookupError:  # it fell due meanwhile: that run is the one to keep
            return False
        return True

    async def move_jobs(
        self, old_contact_id: str, new_contact_id: str, *, ran: RunRecorded | None = None
    ) -> int:
        """`MovesContactJobs.move_jobs`: due times are unchanged, so no wake-up is needed.
        Stopped, on the job file itself: the start finishes a crashed move before any job
        fires."""
        check_jobs_move(old_contact_id, new_contact_id)
        moving = "move a contact's jobs"
        async with self._job_store() as store:
            done: list[str] = []
            if ran is not None:
                runs = await self._unlocked(partial(store.one_off_runs, old_contact_id), moving)
                done = [run for run in runs if await ran(run)]
            move = partial(store.move_contact, old_contact_id, new_contact_id, drop=done)
            return await self._unlocked(move, moving)

    @asynccontextmanager
    async def _job_store(self) -> AsyncIterator[IndexedJobStore]:
        """The running scheduler's job store, or the job file opened for the call's time."""
        if self._store is not None:
            yield self._store
            return
        try:
            conn = open_job_db(self.jobs_db)
        except sqlite3.Error as exc:
            raise job_file_error(self.jobs_db, exc) from exc
        try:
            yield IndexedJobStore(conn, misfire_grace_s=self._grace_s)
        finally:
            conn.close()

    async def forget_erased(self) -> None:
        """`ForgetsErasedJobs.forget_erased`, on the event loop: the job file is small (a few
        hundred KB for thousands of reminders) and erasures are rare, so the two fsyncs of the
        checkpoint cost less than handing the connection to a thread."""
        self._running()
        store = self._store
        assert store is not None
        try:
            # A reader in the way is waited for as a lock is, up to `lock_wait_s`.
            await self._unlocked(store.cut_log, "cut the job file's log back")
        except (StoreUnavailable, sqlite3.Error) as exc:
            cause = exc.cause if isinstance(exc, StoreUnavailable) else None
            log.warning("job_log_not_cut", tenant=self.tenant_id, error=cause or str(exc))

    async def jobs(
        self,
        *,
        contact_id: str | None = None,
        task: str | None = None,
        due_after: datetime | None = None,
        due_before: datetime | None = None,
        limit: int | None = None,
    ) -> list[ScheduledJob]:
        self._running()
        assert self._store is not None
        query = JobQuery(None, contact_id, task, due_after, due_before, limit)
        store = self._store
        # A reader (`GET /tasks`) meeting the lock is told to try again (503), not shown a 500:
        # listing first writes the scheduler's pending changes, which the lock blocks.
        return await self._unlocked(lambda: store.find(query), "list the jobs")

    async def count(self) -> int:
        """One `SELECT count(*)`: `/metrics` asks on every scrape, and listing unpickles nothing
        but still reads every job's data."""
        self._running()
        assert self._store is not None
        return await self._unlocked(self._store.count, "count the jobs")

    async def sync_standing(self, jobs: Sequence[StandingJob]) -> StandingSync:
        scheduler = self._running()
        assert self._store is not None
        syncing = "sync the standing schedules"
        stored = await self._unlocked(partial(self._store.fingerprints, STANDING), syncing)
        added: list[str] = []
        kept: list[str] = []
        replaced: list[str] = []
        wanted: set[str] = set()
        for job in jobs:
            job_id = standing_job_id(job.name)
            wanted.add(job_id)
            print_ = fingerprint(job)
            if stored.get(job_id) == print_:
                kept.append(job.name)
                continue
            (replaced if job_id in stored else added).append(job.name)
            add = partial(
                scheduler.add_job,
                fire_job,
                trigger=build_trigger(job),
                id=job_id,
                name=job.task,
                replace_existing=True,
                kwargs={
                    "tenant_id": self.tenant_id,
                    "job_id": job_id,
                    "kind": STANDING,
                    "task": job.task,
                    "contact_id": job.contact_id,
                    "data": dict(job.data),
                    "key": job.name,
                    "fingerprint": print_,
                },
            )
            await self._unlocked(add, syncing)
        removed = sorted(set(stored) - wanted)
        for job_id in removed:
            await self._unlocked(partial(scheduler.remove_job, job_id), syncing)
        report = StandingSync(
            tuple(added), tuple(kept), tuple(replaced), tuple(r.split(":", 1)[1] for r in removed)
        )
        if added or replaced or removed:
            log.info("standing_schedules_synced", tenant=self.tenant_id, **_counts(report))
        return report

    # ---------------------------------------------------------------- internals

    async def _unlocked(self, call: Callable[[], T], doing: str) -> T:
        """`call()` (a job store call), tried again after `asyncio.sleep`s while another
        process holds the job file's lock, for up to `lock_wait_s`. A call that met the lock
        changed nothing, so trying it again is safe.

        The lock still held then, or another transient sqlite failure (a full disk, an I/O
        error), is `StoreUnavailable` ("the scheduler cannot `doing`: ..."), the port's error:
        callers never see sqlite's. Other errors pass unchanged.
        """
        deadline: float | None = None
        pause = _FIRST_PAUSE_S
        while True:
            try:
                return call()
            except Exception as exc:
                transient = transient_cause(exc)
                if transient is None:
                    raise
                now = monotonic()
                locked = is_locked(exc)
                if locked and deadline is None:
                    deadline = now + self.lock_wait_s
                if not locked or deadline is None or now >= deadline:
                    raise StoreUnavailable(
                        f"the scheduler cannot {doing}: {transient}", cause=str(transient)
                    ) from exc
            await asyncio.sleep(min(pause, max(deadline - now, 0)))
            pause = min(pause * 2, _LONGEST_PAUSE_S)

    def _running(self) -> Any:
        if self._scheduler is None:
            # A ValueError: the runtime logs a refused `schedule()` and finishes the turn.
            raise SchedulerStopped("the scheduler is not running: start() it first")
        return self._scheduler

    def _on_event(self, event: Any) -> None:
        store = self._store
        info = store.in_flight.pop(event.job_id, {}) if store is not None else {}
        if event.code == EVENT_JOB_EXECUTED:
            self.stats.fired()
            return
        fields = {
            "tenant": self.tenant_id,
            "task": info.get("task"),
            "kind": info.get("kind"),
            "contact": hash_contact(self.tenant_id, info.get("contact_id")),
        }
        if event.code == EVENT_JOB_MISSED:
            self.stats.missed()
            late = datetime.now(UTC) - event.scheduled_run_time
            log.warning(
                "task_missed",
                **fields,
                # Which booking's reminder it was (the owner may want to call that client): the
                # key, with the contact id in it hashed, as the runtime's lines show keys.
                key=_scrubbed_key(self.tenant_id, info),
                scheduled_at=event.scheduled_run_time.astimezone(UTC).isoformat(),
                late_by_s=round(late.total_seconds(), 1),
                grace_s=info.get(LATE_WITHIN) or self._grace_s,
            )
        elif event.code == EVENT_JOB_ERROR:
            self.stats.failed()
            log.error("task_error", **fields, error=type(event.exception).__name__)
        else:  # EVENT_JOB_MAX_INSTANCES: the previous run of a standing job is still going
            self.stats.skipped()
            log.warning("task_still_running", **fields)


def _scrubbed_key(tenant_id: str, info: dict[str, Any]) -> str:
    key = str(info.get("key", ""))
    contact_id = info.get("contact_id")
    return key if contact_id is None else scrub_contact(key, tenant_id, contact_id)


def _pending(job: Job) -> ScheduledJob:
    """A stored job as `jobs()` lists it, from its arguments (`fire_job`'s)."""
    kwargs = job.kwargs
    return ScheduledJob(
        job_id=job.id,
        task=kwargs.get("task", job.name),
        contact_id=kwargs.get("contact_id"),
        next_run_at=job.next_run_time,
        data=dict(kwargs.get("data") or {}),
        kind=kwargs.get("kind", ONE_OFF),
        key=kwargs.get("key", ""),
    )


def jobs_db_beside(state_db: Path) -> Path:
    """The job file next to a tenant's state file: `state.db` -> `state.jobs.db`.

    A separate file: APScheduler writes through a synchronous engine, and sharing the state
    file's write lock with the async stores would make each wait on the other.
    """
    return state_db.with_name(f"{state_db.stem}.jobs{state_db.suffix or '.db'}")


def _counts(report: StandingSync) -> dict[str, int]:
    return {
        "added": len(report.added),
        "kept": len(report.kept),
        "replaced": len(report.replaced),
        "removed": len(report.removed),
    }


async def _wait_for(condition: Callable[[], bool], timeout_s: float) -> None:
    """Poll `condition` (APScheduler offers no awaitable for these states) until the timeout."""
    step = 0.005
    for _ in range(max(1, int(timeout_s / step))):
        if condition():
            return
        await asyncio.sleep(step)
