"""APScheduler triggers for standing schedules: cron rules in the tenant's zone, intervals.

`TenantCronTrigger` hands APScheduler the fire times of a `CronRule` (see `domain/cron.py` for
what a rule means, DST included). It is pickled into the job file, so it keeps only the
expression and the zone and re-parses them when loaded.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from botfleet.domain.cron import CronRule, parse_cron
from botfleet.domain.timezones import check_zone_name
from botfleet.ports.scheduling import StandingJob

__all__ = ["TenantCronTrigger", "build_trigger"]

#: How far back catching up after downtime starts, tried in turn (see `get_next_fire_time`).
_CATCH_UP = (timedelta(hours=1), timedelta(days=1))


class TenantCronTrigger(BaseTrigger):  # type: ignore[misc]
    """A cron rule as an APScheduler trigger (APScheduler's own misreads cron: `domain/cron.py`)."""

    __slots__ = ("rule",)

    def __init__(self, expression: str, zone: str) -> None:
        self.rule: CronRule = parse_cron(expression, zone)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        # APScheduler's contract: after a run, the first time after it (even if already past:
        # that is how it counts missed runs); for a new job, the first time from `now` on.
        if previous_fire_time is None:
            return self.rule.next_after(now, inclusive=True)
        following = self.rule.next_after(previous_fire_time)
        if following is None or following > now:
            return following
        # Missed while the data plane was down. APScheduler asks for every missed time, one call
        # each, and keeps only the last (standing jobs coalesce): a week of `* * * * *` was
        # 10,000 calls, ~10 s with the loop blocked at boot. The runs before the last hour (or
        # day) cannot be the last one, so go straight to the first after it.
        for window in _CATCH_UP:
            # In UTC: an hour before a zone's `now` on its wall clock is two in the repeated hour.
            recent = self.rule.next_after(now.astimezone(UTC) - window)
            if recent is not None and following < recent <= now:
                return recent
        return following

    def __getstate__(self) -> dict[str, Any]:
        return {"version": 1, "expression": self.rule.expression, "zone": self.rule.zone}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.rule = parse_cron(state["expression"], state["zone"])

    def __str__(self) -> str:
        return f"cron[{self.rule.expression} {self.rule.zone}]"

    def __repr__(self) -> str:
        return f"TenantCronTrigger({self.rule.expression!r}, {self.rule.zone!r})"


def build_trigger(job: StandingJob, *, now: datetime | None = None) -> Any:
    """The APScheduler trigger of a standing job.

    `now` starts an interval rule's count (default: the system clock, as APScheduler does);
    fakes with their own clock pass theirs.

    Raises:
        ValueError: a time zone `check_zone_name` refuses (``localtime``...), bad cron
            expression, or neither/both rules given. The message names the schedule.
    """
    where = f"standing_schedules.{job.name}"
    try:
        check_zone_name(job.timezone)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    zone = ZoneInfo(job.timezone)
    if (job.cron is None) == (job.interval is None):
        raise ValueError(f"{where}: give exactly one of 'cron' or 'interval'")
    if job.interval is not None:
        if job.interval.total_seconds() <= 0:
            raise ValueError(f"{where}.interval: must be positive")
        # In UTC: `now` may be a zone's time (a test clock), on which `+` is wall-clock, and
        # APScheduler compares the start with `now` by wall time when they share the zone.
        start = None if now is None else now.astimezone(UTC) + job.interval
        return IntervalTrigger(
            seconds=job.interval.total_seconds(), start_date=start, timezone=zone
        )
    assert job.cron is not None
    try:
        return TenantCronTrigger(job.cron, job.timezone)
    except ValueError as exc:
        raise ValueError(f"{where}.cron: {exc}") from None
