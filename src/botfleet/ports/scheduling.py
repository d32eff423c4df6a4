"""Scheduling port: tasks the flow schedules for a contact (reminders) and standing schedules."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from botfleet.flows.effects import ScheduleTask

#: Jobs that were due less than this long ago still run (late, once); older ones are missed.
#: Defined beside the window rule, which the engine applies too.
from botfleet.flows.schedule_window import DEFAULT_MISFIRE_GRACE as DEFAULT_MISFIRE_GRACE


class RunAtPassed(ValueError):
    """`run_at` is further in the past than a task may be when it is scheduled (the misfire
    grace window, or the task's `run_late_within` when that is shorter: `schedule_window`):
    the task is not scheduled. The message names the task, its key, how late it was and the
    window that applied.

    Expected in normal use (a "day before" reminder for an appointment booked for tomorrow
    morning), unlike the other refusals, which are mistakes in the flow.
    """


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A pending job as the scheduler reports it (`GET /tasks`)."""

    job_id: str
    task: str
    contact_id: str | None
    next_run_at: datetime | None
    data: dict[str, Any] = field(default_factory=dict)
    kind: str = "one_off"  # "one_off" | "standing"
    #: The flow's idempotency key (one-off jobs) or the standing schedule's name.
    key: str = ""


#: A strict run's claim on the job it runs: awaited once the run's turn rendered, before
#: anything of it is stored or sent; False (the job is not the one asked for any more) skips it.
Claim = Callable[[], Awaitable[bool]]


class TaskRunner(Protocol):
    """What the scheduler calls when a job is due (the runtime's `run_task`).

    `run_id` names this run (connector idempotency keys derive from it): `run_id(job id,
    moment)`, a one-off job's from its idempotency key and due time (`one_off_run_id`).
    `strict` and `claim` come only with a strict run by id (`RunsJobsNow.run_now`): its
    templates render strictly, and `claim` is awaited once its turn rendered. A due job is
    called with the four positional arguments alone.
    """

    def __call__(
        self,
        contact_id: str | None,
        task: str,
        data: dict[str, Any],
        run_id: str,
        /,
        *,
        strict: bool = False,
        claim: Claim | None = None,
    ) -> Awaitable[object]: ...


_ONE_OFF_PREFIX = "once:"


def one_off_job_id(idempotency_key: str) -> str:
    """The stored id of a one-off job: one job per idempotency key, whatever its contact."""
    return _ONE_OFF_PREFIX + idempotency_key


def run_id(job_id: str, moment: datetime) -> str:
    """Names one run of a job: connector idempotency keys in the task derive from it, so two
    runs of a standing job never share them, and a late retry of one run does."""
    utc = moment.astimezone(UTC)
    millis = f".{utc.microsecond // 1000:03d}" if utc.microsecond else ""
    return f"{job_id}@{utc.strftime('%Y%m%dT%H%M%S')}{millis}Z"


#: The moment at the end of a run id (`run_id`): `@20240506T090000[.123]Z`.
_RUN_MOMENT = re.compile(r"@([0-9]{8}T[0-9]{6})(\.[0-9]{3})?Z\Z")


def run_moment(run: str) -> datetime | None:
    """The moment a run id names (the inverse of `run_id`, to the millisecond): a one-off run's
    due time, a standing run's hand-over to the runtime, a manual run's request. The same
    each time that run runs (a job file that kept a fired job): the task's `delay`s count from
    it. None for an id without one."""
    found = _RUN_MOMENT.search(run)
    if found is None:
        return None
    seconds, millis = found.groups()
    try:
        moment = datetime.strptime(seconds, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:  # e.g. month 13: not an id `run_id` wrote
        return None
    return moment + timedelta(milliseconds=int(millis[1:])) if millis else moment


def one_off_run_id(idempotency_key: str, due: datetime) -> str:
    """The run of the one-off job `idempotency_key` due at `due`.

    A request scheduled again after its run (the turn that scheduled it replayed after a crash)
    names the same run, so the runtime can run it at most once.
    """
    return run_id(one_off_job_id(idempotency_key), due)


def runs_once(run_id: str) -> bool:
    """Whether `run_id` names a one-off job's run (`one_off_run_id`), which the runtime runs at
    most once; standing and manual runs are new runs every time."""
    return run_id.startswith(_ONE_OFF_PREFIX)


def moved_key(idempotency_key: str, old_contact_id: str, new_contact_id: str) -> str:
    """A one-off job's key once its contact moved (`MovesContactJobs`): every `:`-separated
    part that is the old contact id becomes the new one. So `schedule_task`'s default key
    (`<task>:<contact id>`), and keys a flow builds from `contact.id`, stay the keys the moved
    conversation schedules and cancels with; any other key is left as it is."""
    parts = idempotency_key.split(":")
    return ":".join(new_contact_id if part == old_contact_id else part for part in parts)


def check_jobs_move(old_contact_id: str, new_contact_id: str) -> None:
    """`MovesContactJobs.move_jobs`'s one precondition, for every scheduler: the jobs move to
    another contact id, never onto their own."""
    if old_contact_id == new_contact_id:
        raise ValueError(f"the jobs of {old_contact_id!r} cannot be moved onto itself")


@dataclass(frozen=True, slots=True)
class StandingJob:
    """A recurring task declared in the flow's `standing_schedules`, registered at boot.

    Exactly one of `cron` (5 fields, evaluated in `timezone`) or `interval` is set.
    """

    name: str
    task: str
    cron: str | None = None
    interval: timedelta | None = None
    timezone: str = "UTC"
    contact_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StandingSync:
    """What registering the standing schedules changed (names of the schedules)."""

    added: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


class TaskScheduler(Protocol):
    """The scheduler as the conversation runtime and the API see it.

    Errors: where jobs are kept cannot be used right now (a job file locked by another process
    past the adapter's wait, a full disk, an I/O error) is `StoreUnavailable` from every call
    that reads or writes them, never the storage's own error: the same call may succeed later,
    so a turn runs again (with the same idempotency keys) and `GET /tasks` answers 503. Other
    errors are for good: a refused request (`ValueError`, `RunAtPassed` among them) or a bug.
    """

    async def schedule(self, request: ScheduleTask) -> None:
        """Schedule (or replace, by idempotency key) a one-off task for a contact.

        The job keeps `request.run_late_within` (when set) as its own misfire window, in place
        of the scheduler's grace window: found due later than that, it is missed.

        Raises:
            RunAtPassed: `run_at` is further in the past than that window.
            ValueError: `run_at` is naive, the key is empty, `data` is not JSON, or
                `run_late_within` is not positive.
            StoreUnavailable: the job could not be stored now; nothing changed.
        """
        ...

    async def cancel(self, idempotency_key: str) -> bool:
        """Cancel a pending task by idempotency key; False if there was none.

        A run of the key that fell due and waits for the contact's turn is cancelled too
        (`wanted` says so when it starts); so is it by `schedule` of the same key (replaced),
        unless that asks for the very same run (same due time): it is then wanted (again).

        Raises:
            StoreUnavailable: the stored job could not be removed now (a waiting run of the
                key is cancelled all the same; calling again removes the job).
        """
        ...

    def wanted(self, run_id: str) -> bool:
        """Whether a handed-over run should still run as it starts (False: its key was
        cancelled or scheduled again while it waited for the contact's turn)."""
        ...

    async def jobs(
        self,
        *,
        contact_id: str | None = None,
        task: str | None = None,
        due_after: datetime | None = None,
        due_before: datetime | None = None,
        limit: int | None = None,
    ) -> list[ScheduledJob]:
        """Pending jobs with their next run time, soonest first, filtered as asked.

        Raises:
            StoreUnavailable: the jobs cannot be read now.
        """
        ...

    async def count(self) -> int:
        """How many jobs are pending (one-off and standing), without reading them (`/metrics`).

        Raises:
            StoreUnavailable: the jobs cannot be counted now.
        """
        ...


#: Whether a run (its run id) ran already: `TurnStore.task_ran`.
RunRecorded = Callable[[str], Awaitable[bool]]


@runtime_checkable
class MovesContactJobs(Protocol):
    """Jobs that follow their contact to a new id (see `ports.stores.MovesConversations`)."""

    async def move_jobs(
        self, old_contact_id: str, new_contact_id: str, *, ran: RunRecorded | None = None
    ) -> int:
        """Give the pending one-off jobs of `old_contact_id` to `new_contact_id`, all or
        nothing; returns how many moved. Works on a stopped scheduler too (a start finishing
        a move a crash cut short, before any job fires).

        A moved job's run id changes with its id (`one_off_run_id` of the new key): a job
        whose run `ran` says ran already (a fired job a crash kept in the store) is removed
        instead of moved, as its old id would have been skipped when it fired again.

        A moved job keeps its due time, task, data and misfire window; its key becomes
        `moved_key(key, old, new)` (and its job id with it). A job whose new key another
        pending job holds stays as it is, with the old contact (never two jobs for one key).
        Standing jobs stay: their contact is the flow's `standing_schedules`'. Runs handed
        over already are not jobs any more: the runtime takes care of them. Idempotent: a
        second call finds nothing to move.

        Raises:
            ValueError: both ids are the same.
            StoreUnavailable: the jobs cannot be written now; nothing moved.
        """
        ...


class JobStillRunning(Exception):
    """`run_now` of a standing job whose run (fired by its schedule, or asked for now) is still
    going, from its hand-over to the runner until the runner returns: not run again.

    Refused rather than waited for: the run under way sends the job's messages, and one more
    run after it would send them again (a standing run is a new run id each time, which the
    runtime never takes for a repeat). A caller waiting on that run (it waits behind the
    contact's turns) could also give up before it ends, not knowing whether anything went.
    Both schedulers raise it (`APSchedulerTaskScheduler`, the fake `ManualScheduler`)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(
            f"{job_id[:200]!r} is running already (a run of it, fired by its schedule or asked "
            "for now, has not ended): it was not run again, which would send its messages "
            "twice; run it once that run has ended, if still needed"
        )
        self.job_id = job_id


@dataclass(frozen=True, slots=True)
class JobRun:
    """A pending job run now (`RunsJobsNow.run_now`): the job as it was pending, the run id it
    ran under, and what the runner returned for it (the runtime's `TaskOutcome`)."""

    job: ScheduledJob
    run_id: str
    outcome: object


@runtime_checkable
class RunsJobsNow(Protocol):
    """Pending jobs looked up, and run now, by their id (`ScheduledJob.job_id`): the operator's
    "send this reminder now" (`POST /tasks/{job_id}/run`) and "cancel this one"."""

    async def job(self, job_id: str) -> ScheduledJob | None:
        """The pending job `job_id`, or None.

        Raises:
            StoreUnavailable: the jobs cannot be read now.
        """
        ...

    async def run_now(self, job_id: str, *, strict: bool = False) -> JobRun | None:
        """Hand the pending job `job_id` to the runner now, as when it falls due, and wait for
        the run; None when no such job is pending. Logs `task_run_now`.

        A one-off job leaves the store first and runs under the run id it would have fired
        with (`one_off_run_id` of its key and due time): it does not fire again, and the
        runtime runs that id at most once. A standing job runs once now under a run id of this
        moment, as a standing run does, and keeps its schedule. The run is in flight as a fired
        one is: a `cancel` of its key while it waits for the contact's turn voids it.

        `strict` (`POST /tasks/{job_id}/run?strict=true`): the runner gets `strict=True` and a
        `claim`. A one-off job then stays in the store until its turn rendered: the claim
        removes it, or says False when it is no longer the pending job the run was asked for
        (cancelled, run, or scheduled again with another time or data meanwhile). A run the
        runner refuses (a template lacks a value) never claims, so the job stays pending and
        fires when due. A standing job's claim is None (its schedule stays either way).

        Raises:
            StoreUnavailable: the job cannot be read or removed now; nothing ran (from the
                claim: the runner's to handle, as a turn meeting an unavailable store).
            JobStillRunning: a standing job whose run (fired, or asked for now) is under way:
                not run again.
        """
        ...


@runtime_checkable
class ForgetsErasedJobs(Protocol):
    """Jobs kept in a file whose write-ahead log holds copies of deleted rows (SQLite's)."""

    async def forget_erased(self) -> None:
        """A contact's jobs were cancelled by an erasure (or ran before it): leave no copy of
        their rows (contact id, task data) in the job file's log. Never raises for a file busy
        elsewhere (a backup reading it): the log is then left as it is, logged, and goes when
        the file is closed."""
        ...


class SchedulerService(TaskScheduler, Protocol):
    """The whole scheduler as the composition root drives it: lifecycle and standing rules."""

    def bind(self, runner: TaskRunner) -> None:
        """Set what due jobs call (the runtime's `run_task`); before `start`."""
        ...

    async def start(self, standing: Sequence[StandingJob] | None = None) -> StandingSync:
        """Start firing jobs (jobs missed while stopped follow the misfire rules).

        `standing` (when given) is synced as by `sync_standing` before any job fires.
        """
        ...

    async def stop(self) -> None:
        """Stop firing jobs; stored jobs stay for the next start."""
        ...

    async def sync_standing(self, jobs: Sequence[StandingJob]) -> StandingSync:
        """Make the stored standing schedules equal `jobs` (idempotent: unchanged ones are kept
        with their next run time, changed ones replaced, vanished ones removed)."""
        ...
