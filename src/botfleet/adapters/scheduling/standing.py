"""A flow's `standing_schedules` as `StandingJob`s, each checked by building its trigger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from botfleet.adapters.scheduling.triggers import build_trigger
from botfleet.flows.durations import parse_duration
from botfleet.flows.schema import FlowSpec
from botfleet.ports.scheduling import StandingJob


@dataclass(frozen=True, slots=True)
class StandingJobs:
    """The valid standing jobs, and one message per schedule that could not be used."""

    jobs: tuple[StandingJob, ...]
    problems: tuple[str, ...] = ()


def standing_jobs_of(flow: FlowSpec, timezone: str) -> StandingJobs:
    """Every standing schedule of `flow`, in the tenant's `timezone`.

    A schedule whose rule does not parse is left out and reported in `problems` (naming the
    flow and the schedule), so one bad rule does not stop the others or the data plane.
    """
    jobs: list[StandingJob] = []
    problems: list[str] = []
    for name, rule in flow.schedules:
        try:
            interval = parse_duration(rule.interval) if rule.interval is not None else None
            job = StandingJob(
                name=name,
                task=rule.task,
                cron=rule.cron,
                interval=interval,
                timezone=timezone,
                contact_id=rule.contact_id,
                data=dict(rule.data),
            )
            trigger = build_trigger(job)
            if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
                raise ValueError(f"standing_schedules.{name}.cron: {rule.cron!r} never fires")
        except ValueError as exc:
            problems.append(f"flow {flow.id}: {_named(str(exc), name)}")
            continue
        if rule.task not in flow.tasks:
            problems.append(
                f"flow {flow.id}: standing_schedules.{name}.task: unknown task {rule.task!r}"
            )
            continue
        jobs.append(job)
    return StandingJobs(tuple(jobs), tuple(problems))


def _named(message: str, name: str) -> str:
    prefix = f"standing_schedules.{name}"
    return message if message.startswith(prefix) else f"{prefix}: {message}"
