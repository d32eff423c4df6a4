"""How late a one-off task may be when it is scheduled: the rule the engine (a `schedule_task`'s
`result_key`) and the scheduler adapters (`adapters/scheduling/rules.check_request`) share, so
what a flow tells the contact and what the scheduler does cannot drift apart. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

#: Jobs that were due less than this long ago still run (late, once); older ones are missed.
DEFAULT_MISFIRE_GRACE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SchedulerInfo:
    """What the engine knows of the tenant's scheduler, to tell a flow whether its
    `schedule_task` will be kept (the engine has no other way to ask: it does no I/O)."""

    #: False: the data plane runs without a scheduler, and nothing a flow schedules is kept.
    enabled: bool = True
    #: The scheduler's misfire grace window (`DP_SCHEDULER_GRACE_S`).
    grace: timedelta = DEFAULT_MISFIRE_GRACE

    def __post_init__(self) -> None:
        if self.grace <= timedelta():
            raise ValueError(f"misfire grace must be positive, got {self.grace}")


def grace_seconds(grace: timedelta) -> int:
    """APScheduler wants whole seconds (at least 1); round up so the window never shrinks."""
    seconds = grace.total_seconds()
    if seconds <= 0:
        raise ValueError(f"misfire grace must be positive, got {grace}")
    return max(1, int(-(-seconds // 1)))


def late_window(run_late_within: timedelta) -> timedelta:
    """A job's own misfire window as both adapters apply it: whole seconds, rounded up (what
    APScheduler keeps, `grace_seconds`)."""
    return timedelta(seconds=grace_seconds(run_late_within))


def schedule_window(grace: timedelta, run_late_within: timedelta | None) -> timedelta:
    """How far in the past a `run_at` may be when it is scheduled.

    Never more than the grace window, even for a job with a longer `run_late_within`: that
    window is for runs an outage kept from their time. A run already past when a turn
    schedules it would come right after that turn, which has just told the contact the same
    (booked at 12:00 for tomorrow at 10:00: "see you tomorrow at 10:00", then the "day before"
    reminder). A shorter window of its own holds ("never more than a minute late")."""
    return grace if run_late_within is None else min(grace, late_window(run_late_within))


def lateness(run_at: datetime, now: datetime) -> timedelta:
    """How long ago `run_at` was (negative: still ahead); both aware."""
    # In UTC: Python subtracts two times of one zone on their wall clock, so in the hour the
    # clocks repeat, a run_at 30 minutes ahead (02:15 winter time, `now` 02:45 summer time)
    # would read as 30 minutes past, and be refused.
    return now.astimezone(UTC) - run_at.astimezone(UTC)


def run_at_passed(
    run_at: datetime, now: datetime, grace: timedelta, run_late_within: timedelta | None
) -> bool:
    """Whether a task due at `run_at` is too far in the past to be scheduled at `now`."""
    return lateness(run_at, now) > schedule_window(grace, run_late_within)
