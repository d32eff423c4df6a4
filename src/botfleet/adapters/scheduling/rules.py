"""Rules every scheduler adapter applies the same way: job ids, request checks, run ids. Pure."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from botfleet.flows.effects import ScheduleTask
from botfleet.ports.scheduling import RunAtPassed, StandingJob

# One-off job ids and run ids are the port's: the runtime reads run ids too.
from botfleet.ports.scheduling import one_off_job_id as one_off_job_id
from botfleet.ports.scheduling import run_id as run_id

ONE_OFF = "one_off"
STANDING = "standing"
_STANDING_PREFIX = "standing:"


def standing_job_id(name: str) -> str:
    return _STANDING_PREFIX + name


def check_request(request: ScheduleTask, now: datetime, grace: timedelta) -> dict[str, Any]:
    """Validate a schedule request; returns its data as plain JSON values.

    Raises:
        RunAtPassed: `run_at` older than `grace`, or than a shorter `run_late_within`.
        ValueError: naive `run_at`, empty key or task, data that is not JSON, a
            `run_late_within` that is not positive. The message names the task and the key, so
            the runtime's log line says which action.
    """
    where = f"schedule_task {request.task!r} (key {request.idempotency_key!r})"
    if not request.task:
        raise ValueError(f"{where}: the task name is empty")
    if not request.idempotency_key.strip():
        raise ValueError(f"{where}: the idempotency key rendered empty")
    own = request.run_late_within
    if own is not None and own <= timedelta():
        raise ValueError(f"{where}: run_late_within must be positive, got {own}")
    run_at = request.run_at
    if run_at.tzinfo is None or run_at.utcoffset() is None:
        raise ValueError(f"{where}: run_at {run_at.isoformat()} has no time zone")
    # In UTC: Python subtracts two times of one zone on their wall clock, so in the hour the
    # clocks repeat, a run_at 30 minutes ahead (02:15 winter time, `now` 02:45 summer time)
    # would read as 30 minutes past, and be refused.
    late = now.astimezone(UTC) - run_at.astimezone(UTC)
    # Never later than the grace window, even for a job with a longer `run_late_within`: that
    # window is for runs an outage kept from their time. A run already past when a turn
    # schedules it would come right after that turn, which has just told the contact the same
    # (booked at 12:00 for tomorrow at 10:00: "see you tomorrow at 10:00", then the "day
    # before" reminder). A shorter window of its own holds ("never more than a minute late").
    window = grace if own is None else min(grace, late_window(own))
    if late > window:
        beyond = (
            f"the {_human(grace)} misfire grace window"
            if window == grace
            else f"its run_late_within of {_human(window)}"
        )
        raise RunAtPassed(
            f"{where}: run_at {run_at.isoformat()} is {_human(late)} in the past, beyond {beyond}"
        )
    try:
        data: dict[str, Any] = json.loads(json.dumps(request.data, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: data must be JSON values: {exc}") from None
    return data


def fingerprint(job: StandingJob) -> str:
    """Identifies a standing rule's definition: equal fingerprints mean "keep the stored job"."""
    spec = {
        "task": job.task,
        "cron": job.cron,
        "interval": job.interval.total_seconds() if job.interval is not None else None,
        "timezone": job.timezone,
        "contact_id": job.contact_id,
        "data": job.data,
    }
    text = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{delta.total_seconds():.1f}s"
