"""Calendar domain values: opening windows, busy and all-day events, appointments. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

MINUTES_PER_DAY = 24 * 60

_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_clock_minutes(text: str, *, allow_end_of_day: bool = False) -> int:
    """Minutes since midnight of a wall-clock time `H:MM` or `HH:MM`.

    Args:
        text: the time, e.g. ``"9:30"`` or ``"14:00"``.
        allow_end_of_day: accept ``"24:00"`` (a window that closes at midnight).

    Raises:
        ValueError: the text is not a valid time; the message quotes it.
    """
    match = _CLOCK_RE.match(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a time (expected HH:MM, e.g. 09:30)")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if allow_end_of_day and (hours, minutes) == (24, 0):
        return MINUTES_PER_DAY
    if hours > 23 or minutes > 59:
        raise ValueError(f"{text!r} is not a valid time of day (00:00 to 23:59)")
    return hours * 60 + minutes


def format_clock_minutes(minutes: int) -> str:
    """``570`` -> ``"09:30"``; ``1440`` -> ``"24:00"``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True, order=True)
class TimeWindow:
    """Opening hours within one day, in wall-clock minutes since midnight (end may be 24:00)."""

    start_min: int
    end_min: int

    def __post_init__(self) -> None:
        if not 0 <= self.start_min < MINUTES_PER_DAY:
            raise ValueError(f"window start {self.start_min} is outside the day")
        if not self.start_min < self.end_min <= MINUTES_PER_DAY:
            raise ValueError(
                f"window {format_clock_minutes(self.start_min)}-"
                f"{format_clock_minutes(self.end_min)}: start must be before end"
            )

    @classmethod
    def parse(cls, text: str) -> TimeWindow:
        """Parse ``"HH:MM-HH:MM"``; raises ValueError quoting the text on any problem."""
        parts = text.split("-")
        if len(parts) != 2:
            raise ValueError(
                f"{text!r} is not a time window (expected HH:MM-HH:MM, e.g. 10:00-14:00)"
            )
        start = parse_clock_minutes(parts[0])
        end = parse_clock_minutes(parts[1], allow_end_of_day=True)
        if start >= end:
            raise ValueError(f"{text!r}: start must be before end")
        return cls(start, end)

    def overlaps(self, other: TimeWindow) -> bool:
        return self.start_min < other.end_min and other.start_min < self.end_min

    def __str__(self) -> str:
        return f"{format_clock_minutes(self.start_min)}-{format_clock_minutes(self.end_min)}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


def epoch_micros(moment: datetime) -> int:
    """An aware instant as exact integer microseconds since the epoch."""
    return (moment - _EPOCH) // _ONE_MICROSECOND


@dataclass(frozen=True, slots=True)
class BusyEvent:
    """A timed calendar event; it blocks the instants ``[start, end)``. Times are aware."""

    start: datetime
    end: datetime
    title: str = ""
    event_id: str = ""
    #: ``(start, end)`` as integer microseconds since the epoch, computed once: the slot rules
    #: compare them many times, and comparing aware datetimes asks the zone each time.
    span: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError(f"event {self.title!r}: start and end must be timezone-aware")
        span = (epoch_micros(self.start), epoch_micros(self.end))
        # As instants: Python compares two times of one zone by their wall clock, so an event
        # from 02:45 summer time to 02:15 winter time (30 minutes) would read as going backwards.
        if span[1] < span[0]:
            raise ValueError(f"event {self.title!r}: end {self.end} is before start {self.start}")
        object.__setattr__(self, "span", span)


@dataclass(frozen=True, slots=True)
class AllDayEvent:
    """An all-day event covering the dates ``[start, end)`` (end exclusive, as Google stores it)."""

    start: date
    end: date
    title: str = ""
    event_id: str = ""

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(
                f"all-day event {self.title!r}: end {self.end} must be after start {self.start} "
                "(the end date is exclusive)"
            )

    def covers(self, day: date) -> bool:
        return self.start <= day < self.end


#: What a calendar back end hands to the slot rules.
CalendarEvent = BusyEvent | AllDayEvent


@dataclass(frozen=True, slots=True)
class Appointment:
    """A booking made through the bot. ``start``/``end`` are aware; ``end`` is start + service,
    in elapsed time (see `minutes`)."""

    event_id: str
    contact_id: str
    start: datetime
    end: datetime
    service_key: str = ""
    contact_name: str = ""
    service_name: str = ""

    @property
    def minutes(self) -> int:
        """How long it lasts, in real minutes: ``end - start`` in one zone is wall-clock time,
        an hour off when the clocks change in between."""
        return (epoch_micros(self.end) - epoch_micros(self.start)) // 60_000_000

    def starts_before(self, moment: datetime) -> bool:
        """Whether it starts before the instant `moment` (compared as instants, see `minutes`)."""
        return epoch_micros(self.start) < epoch_micros(moment)

    def as_busy_event(self) -> BusyEvent:
        return BusyEvent(self.start, self.end, title=self.label, event_id=self.event_id)

    @property
    def label(self) -> str:
        """What people read for the service: its name if known, else its key."""
        return self.service_name or self.service_key
