"""Slot rules of the calendar category: pure functions of settings, events and `now`. No I/O.

The rules (docs: flow-dsl.md, "Slot rules"):

* A day's windows come from the weekly `schedule`; `closed_dates` and all-day events titled
  ``[CFG] CERRADO`` or ``[CFG] VACACIONES...`` close the days they cover (end date exclusive,
  case-insensitive); ``[CFG] HORARIO H:MM-H:MM`` replaces that day's hours. Closing wins over
  ``HORARIO``; with several ``HORARIO`` events on a day, the first one listed applies.
* Slots start at each window's opening and step by `slot_duration_min` in *wall-clock* time; a
  start that does not exist (spring-forward gap) is skipped, an ambiguous one (fall back) is its
  first occurrence.
* A slot is offered when ``start + presence <= window end``, no timed event overlaps
  ``[start, start + service)`` by more than 60 seconds, ``start >= now + min_notice`` and the
  day is within the booking horizon (today + `lookahead_days_manual` - 1).
* Morning = slots starting before 14:00 local time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from botfleet.adapters.connectors.calendar.config import CalendarSettings
from botfleet.domain.calendar import AllDayEvent, BusyEvent, CalendarEvent, TimeWindow

#: An event must overlap a slot by more than this to block it (calendar apps round times).
OVERLAP_TOLERANCE = timedelta(seconds=60)
#: Slots starting before this local time are "morning".
AFTERNOON_STARTS = time(14, 0)

_CFG_RE = re.compile(r"^\s*\[cfg\]\s*(.*?)\s*$", re.IGNORECASE | re.DOTALL)
_WINDOW_IN_TEXT_RE = re.compile(r"(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})")


def is_config_title(title: str) -> bool:
    """True for ``[CFG] ...`` titles: schedule directives, never appointments."""
    return _CFG_RE.match(title) is not None


def _directive(title: str) -> str | None:
    match = _CFG_RE.match(title)
    return None if match is None else " ".join(match.group(1).split()).upper()


def closes_day(title: str) -> bool:
    """``[CFG] CERRADO`` (exactly) or ``[CFG] VACACIONES...`` (any suffix), any case."""
    directive = _directive(title)
    return directive is not None and (directive == "CERRADO" or directive.startswith("VACACIONES"))


def horario_windows(title: str) -> tuple[TimeWindow, ...] | None:
    """The windows of a ``[CFG] HORARIO 10:00-13:00`` title (several allowed); None otherwise.

    A ``HORARIO`` title whose hours cannot be read is ignored (None): the weekly schedule
    stays, which is safer than closing the day on a typo.
    """
    directive = _directive(title)
    if directive is None or not directive.startswith("HORARIO"):
        return None
    windows: list[TimeWindow] = []
    for start, end in _WINDOW_IN_TEXT_RE.findall(directive):
        try:
            windows.append(TimeWindow.parse(f"{start}-{end}"))
        except ValueError:
            return None
    return tuple(sorted(windows)) or None


def day_windows(
    day: date, settings: CalendarSettings, events: Iterable[CalendarEvent]
) -> tuple[TimeWindow, ...]:
    """Opening windows of `day` after `closed_dates` and ``[CFG]`` all-day events."""
    if day in settings.closed_dates:
        return ()
    override: tuple[TimeWindow, ...] | None = None
    for event in events:
        if not isinstance(event, AllDayEvent) or not event.covers(day):
            continue
        if closes_day(event.title):
            return ()
        if override is None:
            override = horario_windows(event.title)
    if override is not None:
        return override
    return settings.weekly_windows[day.weekday()]


def local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime | None:
    """`day` at wall-clock `minute` in `tz`; None if that wall time does not exist (DST gap).

    An ambiguous wall time (DST fall back) gives its first occurrence (``fold=0``).
    """
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    aware = wall.replace(tzinfo=tz)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        return None
    return aware


def _window_end(day: date, window: TimeWindow, tz: ZoneInfo) -> datetime:
    wall = datetime.combine(day, time()) + timedelta(minutes=window.end_min)
    # A closing time inside a DST gap or overlap reads two ways: take the earlier instant so
    # nothing is offered past the intended close.
    readings = (wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1))
    return min(readings, key=lambda moment: moment.astimezone(UTC))


def horizon_end(settings: CalendarSettings, now: datetime) -> date:
    """The last day (inclusive) on which slots can be offered or booked."""
    today = now.astimezone(settings.tz).date()
    return today + timedelta(days=settings.horizon_days - 1)


def _blocks(event: BusyEvent, start: datetime, end: datetime) -> bool:
    overlap = min(event.end, end) - max(event.start, start)
    return overlap > OVERLAP_TOLERANCE


def slots_for_day(
    day: date,
    settings: CalendarSettings,
    events: Sequence[CalendarEvent],
    now: datetime,
    service_min: int,
    presence_min: int,
) -> list[datetime]:
    """Start times offered on `day`, aware in the settings' time zone, in order.

    Args:
        day: the local date.
        settings: schedule, time zone, slot step, minimum notice, horizon.
        events: timed (busy) and all-day (``[CFG]`` directives) events; any range of days.
        now: the current instant (aware).
        service_min: how long the booking blocks the calendar.
        presence_min: how long the client stays; must fit before the window closes.
    """
    if day > horizon_end(settings, now):
        return []
    windows = day_windows(day, settings, events)
    if not windows:
        return []
    tz = settings.tz
    earliest = now + timedelta(minutes=settings.min_notice_min)
    service = timedelta(minutes=service_min)
    presence = timedelta(minutes=presence_min)
    busy = _busy_near(day, tz, service, events)
    offered: list[datetime] = []
    for window in windows:
        close = _window_end(day, window, tz)
        for minute in range(window.start_min, window.end_min, settings.slot_duration_min):
            start = local_instant(day, minute, tz)
            if start is None or start < earliest or start + presence > close:
                continue
            end = start + service
            if not any(_blocks(event, start, end) for event in busy):
                offered.append(start)
    return offered


def _busy_near(
    day: date, tz: ZoneInfo, service: timedelta, events: Iterable[CalendarEvent]
) -> list[BusyEvent]:
    # Every slot of `day`, service time included, lies inside this span (a day of margin on
    # each side absorbs DST shifts), so other events can be dropped before the slot loop.
    low = datetime.combine(day, time(), tz) - timedelta(days=1)
    high = datetime.combine(day, time(), tz) + timedelta(days=2) + service
    return [e for e in events if isinstance(e, BusyEvent) and e.end > low and e.start < high]


def in_period(slot: datetime, period: str) -> bool:
    """Whether a local slot start falls in `period` (``morning``, ``afternoon``, ``""``/``all``)."""
    if period == "morning":
        return slot.time() < AFTERNOON_STARTS
    if period == "afternoon":
        return slot.time() >= AFTERNOON_STARTS
    if period in ("", "all"):
        return True
    raise ValueError(f"unknown period {period!r} (use morning, afternoon or leave it empty)")


def available_days(
    from_date: date,
    settings: CalendarSettings,
    events: Sequence[CalendarEvent],
    now: datetime,
    lookahead: int,
    service_min: int,
    presence_min: int,
) -> list[date]:
    """Days in ``[from_date, from_date + lookahead)`` with at least one slot, in order.

    Days before today or past the booking horizon have no slots, so they never appear.
    """
    today = now.astimezone(settings.tz).date()
    first = max(from_date, today)
    last = min(from_date + timedelta(days=lookahead - 1), horizon_end(settings, now))
    days: list[date] = []
    day = first
    while day <= last:
        if slots_for_day(day, settings, events, now, service_min, presence_min):
            days.append(day)
        day += timedelta(days=1)
    return days
