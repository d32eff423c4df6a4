"""APScheduler triggers for standing schedules, with standard cron meaning in the tenant's zone.

Two fixes over APScheduler 3's own `CronTrigger.from_crontab`:

* Day-of-week numbers follow cron (0 and 7 = Sunday, 1 = Monday); APScheduler 3 counts from
  Monday = 0, so `* * * * 1` would silently run on Tuesdays.
* On the autumn DST change a wall time such as 02:30 happens twice; a rule with fixed hours runs
  once (at the first occurrence), as cron does. Rules whose hour field is a wildcard (`*`, `*/2`)
  measure elapsed time and run in both passes. On the spring change a fixed time that does not
  exist (02:30 in Europe/Madrid) runs once, an hour later on the wall clock (03:30).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from botfleet.ports.scheduling import StandingJob

__all__ = ["TenantCronTrigger", "build_trigger", "cron_day_of_week"]

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron numbering: index = number
_DAY_NUMBERS = {name: i for i, name in enumerate(_DAY_NAMES)}
#: A rule can skip at most one repeated wall time per fire; this bounds a pathological zone.
_MAX_SKIPS = 8


class TenantCronTrigger(CronTrigger):  # type: ignore[misc]
    """`CronTrigger` that fires a fixed wall time once on the day it repeats (DST fall-back)."""

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        moment: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        for _ in range(_MAX_SKIPS):
            if moment is None or not self._second_pass(moment):
                return moment
            moment = super().get_next_fire_time(moment, moment)
        return moment

    def _second_pass(self, moment: datetime) -> bool:
        hour = next(f for f in self.fields if f.name == "hour")
        if str(hour).startswith("*"):
            return False
        local = moment.astimezone(UTC).astimezone(self.timezone)
        return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()


def build_trigger(job: StandingJob, *, now: datetime | None = None) -> Any:
    """The APScheduler trigger of a standing job.

    `now` starts an interval rule's count (default: the system clock, as APScheduler does);
    fakes with their own clock pass theirs.

    Raises:
        ValueError: unknown time zone, bad cron expression, or neither/both rules given. The
            message names the schedule.
    """
    where = f"standing_schedules.{job.name}"
    try:
        zone = ZoneInfo(job.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{where}: unknown time zone {job.timezone!r}") from None
    if (job.cron is None) == (job.interval is None):
        raise ValueError(f"{where}: give exactly one of 'cron' or 'interval'")
    if job.interval is not None:
        if job.interval.total_seconds() <= 0:
            raise ValueError(f"{where}.interval: must be positive")
        start = None if now is None else now + job.interval
        return IntervalTrigger(
            seconds=job.interval.total_seconds(), start_date=start, timezone=zone
        )
    assert job.cron is not None
    fields = job.cron.split()
    if len(fields) != 5:
        raise ValueError(
            f"{where}.cron: {job.cron!r} needs 5 fields (minute hour day-of-month month "
            f"day-of-week), got {len(fields)}"
        )
    minute, hour, day, month, dow = fields
    try:
        return TenantCronTrigger(
            minute=minute,
            hour=hour,
            day=day,
            month=month,
            day_of_week=cron_day_of_week(dow),
            timezone=zone,
        )
    except ValueError as exc:
        raise ValueError(f"{where}.cron: {job.cron!r}: {exc}") from None


def cron_day_of_week(field: str) -> str:
    """Translate a cron day-of-week field (0/7 = Sunday, names allowed) to APScheduler's.

    Raises:
        ValueError: a value outside 0-7 or an unknown day name.
    """
    if field in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.lower().split(","):
        days |= _expand(part, field)
    return ",".join(_DAY_NAMES[d] for d in sorted(days))


def _expand(part: str, field: str) -> set[int]:
    body, _, step_text = part.partition("/")
    step = _number(step_text, field) if step_text else 1
    if step < 1:
        raise ValueError(f"day-of-week {field!r}: step must be at least 1")
    if body in ("*", "?"):
        first, last = 0, 6
    elif "-" in body:
        low, high = body.split("-", 1)
        first, last = _day(low, field), _day(high, field)
        if last < first:  # e.g. fri-mon: wraps over the week's end
            last += 7
    else:
        first = _day(body, field)
        last = first if not step_text else 6
    return {d % 7 for d in range(first, last + 1, step)}


def _day(text: str, field: str) -> int:
    if text in _DAY_NUMBERS:
        return _DAY_NUMBERS[text]
    value = _number(text, field)
    if not 0 <= value <= 7:
        raise ValueError(f"day-of-week {field!r}: {value} is outside 0-7 (0 and 7 are Sunday)")
    return value


def _number(text: str, field: str) -> int:
    if not text.isdigit():
        raise ValueError(f"day-of-week {field!r}: {text!r} is not a day number or name")
    return int(text)
