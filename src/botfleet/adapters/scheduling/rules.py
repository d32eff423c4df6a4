"""Rules every scheduler adapter applies the same way: job ids, request checks, run ids. Pure."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from botfleet.flows.effects import ScheduleTask

# The window rule is the engine's too (a `schedule_task`'s `result_key`): one definition.
from botfleet.flows.schedule_window import grace_seconds as grace_seconds
from botfleet.flows.schedule_window import late_window as late_window
from botfleet.flows.schedule_window import lateness, schedule_window
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
    late = lateness(run_at, now)
    window = schedule_window(grace, own)
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


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{delta.total_seconds():.1f}s"
