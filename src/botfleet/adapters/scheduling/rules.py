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
    if late > schedule_window(grace, own):
        raise RunAtPassed(f"{where}: {passed_detail(run_at, late, grace, own)}")
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


def passed_detail(
    run_at: datetime, late: timedelta, grace: timedelta, run_late_within: timedelta | None
) -> str:
    """Why a `run_at` `late` in the past is not scheduled, naming the window that applied
    (`schedule_window`): the task's own `run_late_within` when it is not longer than the grace
    window, else the grace window, saying why a longer `run_late_within` did not count."""
    said = f"its time {_moment(run_at)} had passed {duration_text(late)} ago when it was scheduled"
    if run_late_within is not None and late_window(run_late_within) <= grace:
        own = duration_text(run_late_within)
        return f"{said}, beyond its run_late_within of {own}: not scheduled"
    detail = (
        f"{said}, beyond the data plane's misfire grace window "
        f"(DP_SCHEDULER_GRACE_S, {duration_text(grace)}): not scheduled"
    )
    if run_late_within is None:
        return detail
    # A longer window of its own is for runs an outage kept from their time: one already past
    # when the turn schedules it would come right after that turn (`schedule_window`).
    return (
        f"{detail} (its run_late_within of {duration_text(run_late_within)} is for a run a "
        "restart or an outage delays, not for a time already past when it is scheduled)"
    )


def _moment(moment: datetime) -> str:
    """`2026-12-08T21:30+01:00`: to the minute when that is all there is to it."""
    whole = moment.second == 0 and moment.microsecond == 0
    return moment.isoformat(timespec="minutes" if whole else "auto")


def duration_text(delta: timedelta) -> str:
    """A duration as people write it, in its two largest units: `5h`, `5h30m`, `2d3h`, `5m`,
    `1m30s`, `45s`, `1.6s` (under a minute, to a tenth of a second)."""
    seconds = delta.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f}".removesuffix(".0") + "s"
    whole = int(seconds)
    amounts = [
        ("d", whole // 86400),
        ("h", whole % 86400 // 3600),
        ("m", whole % 3600 // 60),
        ("s", whole % 60),
    ]
    first = next(i for i, (_, amount) in enumerate(amounts) if amount)
    return "".join(f"{amount}{unit}" for unit, amount in amounts[first : first + 2] if amount)
