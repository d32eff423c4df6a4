"""Cron rules (5 fields) read as wall time in a zone, with defined DST behaviour. Pure.

In the domain, not the scheduler adapter, so that the flow validator reads a rule exactly as the
scheduler will: a rule the scheduler would drop at boot is an error when the flow is loaded.

Why not APScheduler 3's `CronTrigger`: its day-of-week numbers start at Monday = 0 (so
`* * * * 1` runs on Tuesdays), both day fields must match (cron: either), and around DST changes
it does wall-clock arithmetic in UTC, so e.g. a daily 00:00 rule in Europe/Madrid skips the day
after the spring change, and with `now == previous` in a repeated hour it can answer `previous`.

Meaning here, as in cron:

* Fields: minute, hour, day of month, month (1-12 or jan..dec), day of week (0-7 or sun..sat;
  0 and 7 are Sunday). Each is `*`, a value, a range `a-b`, a step `*/n` or `a-b/n`, or a
  comma list of those. When both day fields are restricted, a day matches if either does.
* Spring forward: a matching wall time that does not exist (02:30 when 02:00 jumps to 03:00)
  runs once, at the instant Python gives it with `fold=0` (03:30 on the wall clock).
* Fall back: a wall time that happens twice runs once (the first time) when the hour field is
  fixed; when the hour field is a wildcard (`*`, `*/2`) the rule measures elapsed time and
  runs in both passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from botfleet.domain.timezones import check_zone_name

__all__ = ["CronRule", "parse_cron"]

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
#: The longest wait between two fire times of a valid rule (Feb 29 on a given weekday: 28 years).
_SEARCH_DAYS = 366 * 29
#: More than any DST change moves the wall clock (the largest in tzdata is 2 hours).
_SLACK = timedelta(hours=3)


@dataclass(frozen=True, slots=True)
class CronRule:
    """A parsed rule; `next_after` gives its fire times as UTC instants."""

    expression: str
    zone: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool
    hour_is_wildcard: bool

    def next_after(self, moment: datetime, *, inclusive: bool = False) -> datetime | None:
        """The first fire time after `moment` (or at it, if `inclusive`), in UTC."""
        zone = ZoneInfo(self.zone)
        threshold = moment.astimezone(UTC)
        # Wall times map to instants in order except across a DST change, which shifts them by
        # at most _SLACK: walls that far before the threshold cannot fire after it, and walls
        # that far after the best candidate cannot fire before it.
        floor = threshold.astimezone(zone).replace(tzinfo=None) - _SLACK
        best: datetime | None = None
        best_wall: datetime | None = None
        day = floor.date()
        for _ in range(_SEARCH_DAYS):
            if best_wall is not None and datetime.combine(day, time()) > best_wall + _SLACK:
                break
            if self._matches(day):
                for wall in self._walls(day, floor):
                    if best_wall is not None and wall > best_wall + _SLACK:
                        break
                    for instant in self._instants(wall, zone):
                        later = instant >= threshold if inclusive else instant > threshold
                        if later and (best is None or instant < best):
                            best, best_wall = instant, wall
            day += timedelta(days=1)
        return best

    def _matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        in_weekdays = day.isoweekday() % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def _walls(self, day: date, floor: datetime) -> Iterator[datetime]:
        for hour in self.hours:
            for minute in self.minutes:
                wall = datetime.combine(day, time(hour, minute))
                if wall >= floor:
                    yield wall

    def _instants(self, wall: datetime, zone: ZoneInfo) -> list[datetime]:
        first = wall.replace(tzinfo=zone)
        instants = [first.astimezone(UTC)]  # fold=0: the first pass, or a skipped time shifted
        if self.hour_is_wildcard:
            second = first.replace(fold=1)
            if second.utcoffset() != first.utcoffset() and _exists(first):
                instants.append(second.astimezone(UTC))
        return instants


def _exists(wall: datetime) -> bool:
    round_trip = wall.astimezone(UTC).astimezone(wall.tzinfo)
    return round_trip.replace(tzinfo=None) == wall.replace(tzinfo=None)


def parse_cron(expression: str, zone: str) -> CronRule:
    """Parse a 5-field cron rule evaluated in `zone`.

    Raises:
        ValueError: wrong number of fields, a value out of range, an unknown name, or a zone
            `check_zone_name` refuses; the message names the field.
    """
    check_zone_name(zone)
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            f"{expression!r} needs 5 fields (minute hour day-of-month month day-of-week), "
            f"got {len(fields)}"
        )
    minute, hour, dom, month, dow = fields
    weekdays = {d % 7 for d in _field(dow, "day-of-week", 0, 7, _DAYS, wraps=True)}
    return CronRule(
        expression=expression,
        zone=zone,
        minutes=tuple(sorted(_field(minute, "minute", 0, 59))),
        hours=tuple(sorted(_field(hour, "hour", 0, 23))),
        days=frozenset(_field(dom, "day-of-month", 1, 31)),
        months=frozenset(_field(month, "month", 1, 12, _MONTHS, first=1)),
        weekdays=frozenset(weekdays),
        days_restricted=not dom.startswith(("*", "?")),
        weekdays_restricted=not dow.startswith(("*", "?")),
        hour_is_wildcard=hour.startswith("*"),
    )


def _field(
    text: str,
    what: str,
    low: int,
    high: int,
    names: tuple[str, ...] = (),
    *,
    first: int = 0,
    wraps: bool = False,
) -> set[int]:
    values: set[int] = set()
    for part in text.lower().split(","):
        body, slash, step_text = part.partition("/")
        step = _number(step_text, text, what) if slash else 1
        if step < 1:
            raise ValueError(f"{what} field {text!r}: a step must be at least 1")
        if body in ("*", "?"):
            start, end = low, (6 if wraps else high)
        elif "-" in body:
            left, right = body.split("-", 1)
            start = _value(left, text, what, low, high, names, first)
            end = _value(right, text, what, low, high, names, first)
            if end < start:
                if not wraps:
                    raise ValueError(f"{what} field {text!r}: range {body!r} goes backwards")
                end += 7  # fri-mon: over the week's end
        else:
            start = _value(body, text, what, low, high, names, first)
            end = start if not slash else high
        values.update(v % 7 if wraps else v for v in range(start, end + 1, step))
    return values


def _value(
    token: str, text: str, what: str, low: int, high: int, names: tuple[str, ...], first: int
) -> int:
    if token in names:
        return names.index(token) + first
    value = _number(token, text, what)
    if not low <= value <= high:
        raise ValueError(f"{what} field {text!r}: {value} is outside {low}-{high}")
    return value


def _number(token: str, text: str, what: str) -> int:
    if not token.isdigit():
        raise ValueError(f"{what} field {text!r}: {token!r} is not a number or a name")
    return int(token)
