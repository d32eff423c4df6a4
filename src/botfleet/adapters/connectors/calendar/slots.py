"""Slot rules of the calendar category: pure functions of settings, events and `now`. No I/O.

The rules (docs: flow-dsl.md, "Slot rules"):

* A day's windows come from the weekly `schedule`; `closed_dates` and all-day events titled
  with a closing directive in any language the calendar writes (``[CFG] CERRADO``, ``[CFG]
  FECHADO``, ``[CFG] VACACIONES...``, ``[CFG] FÉRIAS...``: `CLOSING_DIRECTIVES`) close the days
  they cover (end date exclusive, case- and accent-insensitive); ``[CFG] HORARIO H:MM-H:MM``
  replaces that day's hours. Closing wins over ``HORARIO``; with several ``HORARIO`` events on
  a day, the first one listed applies. A ``[CFG]`` title that is neither changes nothing (a
  timed one blocks its time as any timed event) and is logged once per connector instance
  (`calendar_directive_unknown`).
* Slots start at each window's opening and step by `slot_duration_min` in *wall-clock* time; a
  start that does not exist (spring-forward gap) is skipped, an ambiguous one (fall back) is its
  first occurrence.
* A slot is offered when ``start + presence <= window end``, no timed event overlaps
  ``[start, start + service)`` by more than 60 seconds, ``start >= now + min_notice`` and the
  day is within the booking horizon (today + `lookahead_days_manual` - 1).
* With `capacity` above 1 (a class: N places per slot) a booking made through the bot
  (`BookedEvent`) takes one place and any other timed event still blocks the slot; the slot is
  offered while fewer than `capacity` bookings overlap it at once (`places_taken`).
* Morning = slots starting before 14:00 local time, afternoon = from 14:00; a `period` may
  also be a range ``HH:MM-HH:MM`` of local start times, end excluded (`parse_period`).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple
from zoneinfo import ZoneInfo

import structlog

from botfleet.adapters.connectors.calendar.config import CalendarSettings
from botfleet.domain.calendar import (
    AllDayEvent,
    Appointment,
    BusyEvent,
    CalendarEvent,
    TimeWindow,
    epoch_micros,
)

# The period parser is the domain's: the flow validator reads a literal `period` with it too.
from botfleet.domain.calendar_period import AFTERNOON as AFTERNOON
from botfleet.domain.calendar_period import AFTERNOON_STARTS as AFTERNOON_STARTS
from botfleet.domain.calendar_period import MORNING as MORNING
from botfleet.domain.calendar_period import parse_period

#: An event must overlap a slot by more than this to block it (calendar apps round times).
OVERLAP_TOLERANCE = timedelta(seconds=60)
#: The same, and other durations, as integer microseconds: the slot loop compares instants as
#: integers (comparing aware datetimes asks the time zone for offsets every time).
OVERLAP_TOLERANCE_US = OVERLAP_TOLERANCE // timedelta(microseconds=1)
_US_PER_MIN = 60_000_000
_US_PER_DAY = 24 * 60 * _US_PER_MIN
_ONE_DAY = timedelta(days=1)
_us = epoch_micros
_CFG_RE = re.compile(r"^\s*\[cfg\]\s*(.*?)\s*$", re.IGNORECASE | re.DOTALL)
_WINDOW_IN_TEXT_RE = re.compile(r"(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})")

log = structlog.get_logger("botfleet.connectors.calendar")

#: The ``[CFG]`` directives that close the days an all-day event covers, by language of the
#: calendar's texts (`texts.LANGUAGES`): ``(words, prefixes)``, the whole directive one of the
#: words (``[CFG] FECHADO``; ``[CFG] CERRADO por obras`` is not, as it never was) or starting
#: with one of the prefixes (``[CFG] Férias de agosto``). Written without accents: directives
#: are compared in capitals without them (`_folded`). Every calendar accepts every language's:
#: staff write in their own, whatever language the contacts are answered in.
CLOSING_DIRECTIVES: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType(
    {
        "ca": (("TANCAT",), ("VACANCES",)),
        "de": (("GESCHLOSSEN",), ("URLAUB",)),
        "en": (("CLOSED",), ("HOLIDAY", "VACATION")),
        "es": (("CERRADO",), ("VACACIONES",)),
        "fr": (("FERME",), ("VACANCES",)),
        "it": (("CHIUSO",), ("FERIE",)),
        "pt": (("FECHADO",), ("FERIAS",)),
    }
)
_CLOSED_WORDS = frozenset(w for words, _ in CLOSING_DIRECTIVES.values() for w in words)
_HOLIDAY_PREFIXES = tuple(
    sorted({p for _, prefixes in CLOSING_DIRECTIVES.values() for p in prefixes})
)
#: The log keeps only this much of a directive it does not know: enough to find the event,
#: while whatever else staff wrote in the title stays out of the log.
DIRECTIVE_LOGGED_CHARS = 40
#: Distinct unknown directives remembered per connector instance: past this many, further ones
#: are no longer logged (a calendar with a new ``[CFG]`` note every day must not grow it forever).
_UNKNOWN_REMEMBERED = 256
#: What the log line tells staff to write instead (the words any case, accents optional).
UNKNOWN_DIRECTIVE_HINT = (
    "this [CFG] directive changes no opening hours (a timed event still blocks its time): "
    f"close a day with an all-day [CFG] {' / '.join(sorted(_CLOSED_WORDS))} or one starting "
    f"with {' / '.join(_HOLIDAY_PREFIXES)}; set its hours with [CFG] HORARIO H:MM-H:MM"
)


@dataclass(frozen=True, slots=True)
class BookedEvent(BusyEvent):
    """A booking made through the bot, as the back ends hand it to the slot rules: on a
    calendar with `capacity` above 1 it takes one place of its slot (any other timed event
    takes them all); `contact_id` says whose, so a contact is not booked twice into one
    class. A `BusyEvent` everywhere else."""

    contact_id: str = ""


def booked_event(appointment: Appointment) -> BookedEvent:
    """A booking as the slot rules see it (`Appointment.as_busy_event`, marked as a booking)."""
    return BookedEvent(
        appointment.start,
        appointment.end,
        title=appointment.label,
        event_id=appointment.event_id,
        contact_id=appointment.contact_id,
    )


def places_taken(booked: Iterable[tuple[int, int]], start: int, end: int) -> int:
    """How many of the `booked` spans (microseconds) run at once, at most, within
    ``[start, end)``: the places of a slot they take. A span overlapping the slot by no more
    than the tolerance takes none, and two spans that touch by no more than it are not at once
    (calendar apps round times, as for a blocking event)."""
    edges: list[tuple[int, int]] = []
    for b_start, b_end in booked:
        low, high = max(b_start, start), min(b_end, end)
        if high - low > OVERLAP_TOLERANCE_US:
            edges += ((low, 1), (high - OVERLAP_TOLERANCE_US, -1))
    edges.sort()  # at one instant an end (-1) comes before a start
    taken = most = 0
    for _, step in edges:
        taken += step
        most = max(most, taken)
    return most


def split_places(events: Iterable[CalendarEvent]) -> tuple[list[CalendarEvent], list[BookedEvent]]:
    """`events` as what blocks a slot whole (all-day and other timed events) and the bookings
    made through the bot, which take one place each on a calendar with `capacity` above 1."""
    whole: list[CalendarEvent] = []
    booked: list[BookedEvent] = []
    for event in events:
        if isinstance(event, BookedEvent):
            booked.append(event)
        else:
            whole.append(event)
    return whole, booked


def is_config_title(title: str) -> bool:
    """True for ``[CFG] ...`` titles: schedule directives, never appointments."""
    return _CFG_RE.match(title) is not None


def _written(title: str) -> str | None:
    """The directive of a ``[CFG]`` title as written, its spaces collapsed; None for others."""
    match = _CFG_RE.match(title)
    return None if match is None else " ".join(match.group(1).split())


def _directive(title: str) -> str | None:
    written = _written(title)
    return None if written is None else written.upper()


def _folded(text: str) -> str:
    """`text` in capitals without accents: ``Férias``, ``FERIAS`` and ``férias`` read alike."""
    decomposed = unicodedata.normalize("NFKD", text.upper())
    return "".join([c for c in decomposed if not unicodedata.combining(c)])


@lru_cache(maxsize=1024)
def closes_day(title: str) -> bool:
    """A closing directive (`CLOSING_DIRECTIVES`): ``[CFG] CERRADO`` or ``[CFG] FECHADO``
    (the whole directive), ``[CFG] VACACIONES...`` or ``[CFG] FÉRIAS...`` (any suffix), in any
    case, with or without accents. Memoised: the slot rules ask it of each all-day event for
    every day it covers, and a calendar holds few distinct titles."""
    directive = _written(title)
    if directive is None:
        return False
    folded = _folded(directive)
    return folded in _CLOSED_WORDS or folded.startswith(_HOLIDAY_PREFIXES)


def unknown_directive(title: str) -> str | None:
    """The directive of a ``[CFG]`` title that neither closes a day nor is a ``HORARIO``, as
    written (spaces collapsed); None for a known directive and for any other title.

    A ``HORARIO`` whose hours cannot be read is known: it is ignored, as documented.
    """
    directive = _written(title)
    if directive is None or directive.upper().startswith("HORARIO") or closes_day(title):
        return None
    return directive


def note_unknown_directives(settings: CalendarSettings, events: Iterable[CalendarEvent]) -> None:
    """Log each ``[CFG]`` directive of `events` the slot rules do not know
    (`calendar_directive_unknown`, the directive cut to `DIRECTIVE_LOGGED_CHARS` and nothing
    else of the event), once per connector instance: staff who mistype ``[CFG] FECHADO`` would
    otherwise see the day offered with no word why. `settings` is the instance's own (each
    connector parses its binding's anew), so it keeps what was logged."""
    titles = [event.title for event in events]
    if "[" not in "".join(titles):  # the usual read: no title could be a directive
        return
    logged = settings.unknown_directives_logged
    for title in titles:
        directive = unknown_directive(title)
        if directive is None:
            continue
        shown = directive[:DIRECTIVE_LOGGED_CHARS]
        if shown in logged or len(logged) >= _UNKNOWN_REMEMBERED:
            continue
        logged.add(shown)
        log.warning("calendar_directive_unknown", directive=shown, hint=UNKNOWN_DIRECTIVE_HINT)


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
    if day in settings.closed_days:
        return ()
    override = _override(day, events)
    return settings.weekly_windows[day.weekday()] if override is None else override


def _override(day: date, events: Iterable[CalendarEvent]) -> tuple[TimeWindow, ...] | None:
    """What the ``[CFG]`` all-day events covering `day` make of its hours: ``()`` when one
    closes it, the first readable ``HORARIO``'s windows, else None (the weekly schedule)."""
    override: tuple[TimeWindow, ...] | None = None
    for event in events:
        if not isinstance(event, AllDayEvent) or not event.covers(day):
            continue
        if closes_day(event.title):
            return ()
        if override is None:
            override = horario_windows(event.title)
    return override


#: A day's opening windows as ``(start_min, end_min)`` pairs, in `day_windows`' order.
Minutes = tuple[tuple[int, int], ...]


def _day_minutes(day: date, settings: CalendarSettings, events: Sequence[CalendarEvent]) -> Minutes:
    """`day_windows` as `Minutes`: the memo keys hold pairs of ints, which hash in C (a
    `TimeWindow` hashes in Python), and the weekly ones are converted once per settings."""
    if day in settings.closed_days:
        return ()
    if events:  # (no events, as usual: the weekly schedule without looking further)
        override = _override(day, events)
        if override is not None:
            return tuple([(w.start_min, w.end_min) for w in override])
    return settings.weekly_minutes[day.weekday()]


@lru_cache(maxsize=4096)
def local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime | None:
    """`day` at wall-clock `minute` in `tz`; None if that wall time does not exist (DST gap).

    An ambiguous wall time (DST fall back) gives its first occurrence (``fold=0``). A pure
    function of its arguments, memoised (a booking asks for its start's instant twice).
    """
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    aware = wall.replace(tzinfo=tz)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        return None
    return aware


def _window_end(day: date, end_min: int, tz: ZoneInfo) -> datetime:
    """The instant the wall clock reaches a window's closing time `end_min`.

    Inside a DST overlap that is the first occurrence. Inside a gap (the time never shows) it
    is the instant `fold=0` gives, the wall time read with the offset before the change: as far
    past the jump as the time is into the gap (02:30 in Madrid's spring gap is 03:30 summer
    time), not the jump itself (docs/connectors.md, "Clock changes"). Slot limits compare instants:
    Python compares two datetimes of the same zone by wall time, which on a change day is off
    by the hour that was skipped or repeated.
    """
    wall = datetime.combine(day, time()) + timedelta(minutes=end_min)
    return wall.replace(tzinfo=tz, fold=0)


@lru_cache(maxsize=2048)
def _close(day: date, end_min: int, tz: ZoneInfo) -> int:
    """`_window_end` as an instant in microseconds (a pure function of its arguments)."""
    return _us(_window_end(day, end_min, tz))


def horizon_end(settings: CalendarSettings, now: datetime) -> date:
    """The last day (inclusive) on which slots can be offered or booked."""
    today = now.astimezone(settings.tz).date()
    return today + timedelta(days=settings.horizon_days - 1)


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
    if settings.capacity > 1:
        places = slot_places(day, settings, events, now, service_min, presence_min)
        return [start for start, _ in places]
    note_unknown_directives(settings, events)
    if day > horizon_end(settings, now):
        return []
    earliest = _us(now) + settings.min_notice_min * _US_PER_MIN
    return list(_offered(day, settings, BusySpans.of(events), earliest, service_min, presence_min))


def slot_places(
    day: date,
    settings: CalendarSettings,
    events: Sequence[CalendarEvent],
    now: datetime,
    service_min: int,
    presence_min: int,
) -> list[tuple[datetime, int]]:
    """`slots_for_day` with the places each slot has left (`capacity` less the bookings made
    through the bot that overlap it at once); a slot with none left is not offered."""
    note_unknown_directives(settings, events)
    if day > horizon_end(settings, now):
        return []
    earliest = _us(now) + settings.min_notice_min * _US_PER_MIN
    whole, booked = split_places(events)
    starts = _offered(day, settings, BusySpans.of(whole), earliest, service_min, presence_min)
    spans = BusySpans.of(booked)
    return _with_places(starts, spans, settings.capacity, service_min * _US_PER_MIN)


def _with_places(
    starts: Iterable[datetime], spans: BusySpans, capacity: int, service: int
) -> list[tuple[datetime, int]]:
    """The `starts` that have a place left, each with how many (`spans`: the bookings')."""
    if not spans.spans:
        return [(start, capacity) for start in starts]
    found: list[tuple[datetime, int]] = []
    for start in starts:
        low = _us(start)
        left = capacity - places_taken(spans.near(low, low + service), low, low + service)
        if left > 0:
            found.append((start, left))
    return found


def start_offered(
    day: date,
    minute: int,
    settings: CalendarSettings,
    events: Sequence[CalendarEvent],
    now: datetime,
    service_min: int,
    presence_min: int,
) -> tuple[bool, bool]:
    """Whether `slots_for_day` offers the wall time `minute` of `day`, asked for that one start
    (a booking's check) without computing the day's other slots: ``(open, offered)``, what
    `slots_for_day` says with only the all-day events of `events`, and with all of them.

    Open: within the horizon, the time exists, is on the grid of one of the day's windows with
    the stay fitting before that window closes, and is not before `now` + notice. Offered: open
    and no timed event overlaps ``[start, start + service)`` by more than the tolerance.
    """
    note_unknown_directives(settings, events)
    if day > horizon_end(settings, now):
        return False, False
    busy = events.busy if isinstance(events, PreparedEvents) else None
    step = settings.slot_duration_min
    windows = _day_minutes(day, settings, events if busy is None else busy.all_day)
    closes = [
        end_min
        for start_min, end_min in windows
        if start_min <= minute < end_min and (minute - start_min) % step == 0
    ]
    if not closes:
        return False, False
    tz = settings.tz
    midnight, steady = _day_frame(day, tz)
    if steady:  # as `_scan_day` takes the instant of a wall minute
        start = midnight + minute * _US_PER_MIN
    else:
        local = local_instant(day, minute, tz)
        if local is None:
            return False, False
        start = _us(local)
    if start < _us(now) + settings.min_notice_min * _US_PER_MIN:
        return False, False
    stay_ends = start + presence_min * _US_PER_MIN
    if not any(stay_ends <= _close(day, end_min, tz) for end_min in closes):
        return False, False
    end = start + service_min * _US_PER_MIN
    if settings.capacity > 1:
        whole, booked = split_places(events)
        if any(
            isinstance(e, BusyEvent)
            and min(e.span[1], end) - max(e.span[0], start) > OVERLAP_TOLERANCE_US
            for e in whole
        ):
            return True, False
        return True, places_taken([e.span for e in booked], start, end) < settings.capacity
    if busy is None:
        spans: Iterable[tuple[int, int]] = [e.span for e in events if isinstance(e, BusyEvent)]
    else:
        spans = busy.near(start, end)
    for b_start, b_end in spans:
        if min(b_end, end) - max(b_start, start) > OVERLAP_TOLERANCE_US:
            return True, False
    return True, True


class BusySpans(NamedTuple):
    """Events prepared once for many days: timed ones as integer-microsecond spans sorted by
    start (comparing aware datetimes asks the time zone for offsets every time, which was most
    of the cost of a calendar read) and their starts, all-day ones kept for `day_windows`.

    `longest` is at least the longest span's length (a back end that keeps its events indexed
    may give its own bound): `near` only looks that far back for spans still running."""

    spans: list[tuple[int, int]]
    starts: list[int]
    longest: int
    all_day: tuple[AllDayEvent, ...]

    @classmethod
    def of(cls, events: Iterable[CalendarEvent]) -> BusySpans:
        if isinstance(events, PreparedEvents):
            return events.busy
        events = events if isinstance(events, list) else list(events)
        all_day = tuple([e for e in events if isinstance(e, AllDayEvent)])
        if all_day:
            spans = sorted([e.span for e in events if isinstance(e, BusyEvent)])
        else:  # every event is timed
            spans = sorted([e.span for e in events])  # type: ignore[union-attr]
        if not spans:
            return cls(spans, [], 0, all_day)
        longest = max([end - start for start, end in spans])
        return cls(spans, [start for start, _ in spans], longest, all_day)

    def near(self, low: int, high: int) -> tuple[tuple[int, int], ...]:
        """The spans that overlap ``(low, high)``, sorted by start."""
        starts, spans = self.starts, self.spans
        first = bisect_left(starts, low - self.longest)
        last = bisect_left(starts, high, first)
        # From `inside` on a span starts after `low`, so it also ends after it.
        inside = bisect_right(starts, low, first, last)
        if first == inside:
            return tuple(spans[inside:last])
        return (*[span for span in spans[first:inside] if span[1] > low], *spans[inside:last])


class PreparedEvents(list[CalendarEvent]):
    """Events as a back end's `events_between` returns them, with their `BusySpans` ready
    (`busy`): a back end that keeps its events indexed (the in-memory one) builds them from
    its index for less than `BusySpans.of` costs. `busy` must be exactly what
    `BusySpans.of` would make of the list (`longest` may be any bound at least as long); a
    copy or a filtered list is a plain list again, prepared anew."""

    __slots__ = ("busy",)

    def __init__(self, events: Iterable[CalendarEvent], busy: BusySpans) -> None:
        super().__init__(events)
        self.busy = busy


def _offered(
    day: date,
    settings: CalendarSettings,
    events: BusySpans,
    earliest: int,
    service_min: int,
    presence_min: int,
    *,
    first_only: bool = False,
) -> tuple[datetime, ...]:
    """`slots_for_day` over prepared events, for a day within the horizon (the caller checks),
    from the instant `earliest` (microseconds) on: the day's inputs reduced to what can change
    its slots, then `_day_slots` (memoised on exactly those inputs). `first_only`: the first
    slot, or none (asking whether a day has one stops there)."""
    windows = _day_minutes(day, settings, events.all_day)
    if not windows:
        return ()
    tz = settings.tz
    step = settings.slot_duration_min
    service = service_min * _US_PER_MIN
    midnight, steady = _day_frame(day, tz)
    if steady:  # slot starts are midnight + minute: exactly the opening hours can matter
        opens, closes = _bounds(windows)
        low = midnight + opens * _US_PER_MIN
        high = midnight + closes * _US_PER_MIN + service
        # (`now` before the first opening, as on every day but today, allows every start)
        earliest = (
            low if earliest <= low else _first_start_from(earliest, midnight, windows, step, high)
        )
    else:  # a day of margin on each side absorbs the DST shift
        low = midnight - _US_PER_DAY
        high = midnight + 2 * _US_PER_DAY + service
        earliest = max(earliest, low)
    busy = events.near(low, high)
    presence = presence_min * _US_PER_MIN
    return _day_slots(day, windows, tz, step, earliest, service, presence, busy, first_only)


@lru_cache(maxsize=256)
def _bounds(windows: Minutes) -> tuple[int, int]:
    """The first opening and the last closing minute of a day's (non-empty) windows."""
    return min([start for start, _ in windows]), max([end for _, end in windows])


@lru_cache(maxsize=2048)
def _day_frame(day: date, tz: ZoneInfo) -> tuple[int, bool]:
    """Local midnight of `day` as an instant, and whether the day has no UTC offset change."""
    start_of_day = datetime.combine(day, time(), tz)
    steady = start_of_day.utcoffset() == datetime.combine(day + _ONE_DAY, time(), tz).utcoffset()
    return _us(start_of_day), steady


def _first_start_from(earliest: int, midnight: int, windows: Minutes, step: int, never: int) -> int:
    """On a steady day, the first grid start at or after `earliest` (`never` if none): a slot
    starts before one exactly when it starts before the other, so `now` only changes the
    memo's key when a grid time passes."""
    offset = earliest - midnight
    first: int | None = None
    for minute, end_min in windows:
        late = offset - minute * _US_PER_MIN
        if late > 0:
            minute += -(-late // (step * _US_PER_MIN)) * step
        if minute < end_min and (first is None or minute < first):
            first = minute
    return never if first is None else midnight + first * _US_PER_MIN


def _scan_day(
    day: date,
    windows: tuple[TimeWindow, ...],
    tz: ZoneInfo,
    step: int,
    earliest: int,
    service: int,
    presence: int,
    busy: tuple[tuple[int, int], ...],
    first_only: bool,
) -> tuple[datetime, ...]:
    """The slots of `day` in `windows` (only the first with `first_only`): starts from
    `earliest` on, `presence` (microseconds) fitting before the close, no span of `busy`
    (sorted by start) overlapping ``[start, start + service)`` by more than the tolerance.
    A pure function of its arguments."""
    minutes = tuple([(w.start_min, w.end_min) for w in windows])
    return _scan_minutes(day, minutes, tz, step, earliest, service, presence, busy, first_only)


def _scan_minutes(
    day: date,
    windows: Minutes,
    tz: ZoneInfo,
    step: int,
    earliest: int,
    service: int,
    presence: int,
    busy: tuple[tuple[int, int], ...],
    first_only: bool,
) -> tuple[datetime, ...]:
    """`_scan_day` with the windows as `Minutes`."""
    midnight, steady = _day_frame(day, tz)
    start_of_day = datetime.combine(day, time(), tz)
    instant = start_of_day
    offered: list[datetime] = []
    # A sweep over the busy spans (sorted by start) as slot starts grow: a span joins `active`
    # once it starts before the slot's end, and leaves for good once it ends within the
    # tolerance after a slot's start (it can block no later slot either).
    active: list[tuple[int, int]] = []
    nxt, previous, spans = 0, -1, len(busy)
    for start_min, end_min in windows:
        close = _close(day, end_min, tz)
        for minute in range(start_min, end_min, step):
            if steady:  # no DST change today: wall minutes map straight onto instants
                start = midnight + minute * _US_PER_MIN
            else:
                local = local_instant(day, minute, tz)
                if local is None:
                    continue
                instant, start = local, _us(local)
            if start < earliest or start + presence > close:
                continue
            if start < previous:  # windows out of order: sweep again from the first span
                nxt, active = 0, []
            previous = start
            end = start + service
            while nxt < spans and busy[nxt][0] < end:
                active.append(busy[nxt])
                nxt += 1
            if active:
                active = [span for span in active if span[1] - start > OVERLAP_TOLERANCE_US]
                if any(
                    min(b_end, end) - max(b_start, start) > OVERLAP_TOLERANCE_US
                    for b_start, b_end in active
                ):
                    continue
            offered.append(start_of_day + timedelta(minutes=minute) if steady else instant)
            if first_only:
                return tuple(offered)
    return tuple(offered)


#: `_scan_minutes` memoised. Its key is every input the result depends on (the busy spans that
#: can touch the day's opening hours included), so an entry can never be stale: a booking, a
#: cancellation or an edit changes the spans and so the key, and `now` enters as the first
#: grid start it allows. A booking touches one day's entries, the other days keep theirs.
_day_slots = lru_cache(maxsize=1024)(_scan_minutes)


def in_period(slot: datetime, period: str | TimeWindow | None) -> bool:
    """Whether a local slot start falls in `period`: a `parse_period` text or its result.

    Raises:
        ValueError: `period` is text that `parse_period` refuses.
    """
    window = parse_period(period) if isinstance(period, str) else period
    if window is None:
        return True
    # Whole minutes: a start at 13:59:30 is still before 14:00, as comparing times said.
    minute = slot.hour * 60 + slot.minute
    return window.start_min <= minute < window.end_min


def available_days(
    from_date: date,
    settings: CalendarSettings,
    events: Sequence[CalendarEvent],
    now: datetime,
    lookahead: int,
    service_min: int,
    presence_min: int,
    *,
    period: TimeWindow | None = None,
) -> list[date]:
    """Days in ``[from_date, from_date + lookahead)`` with at least one slot, in order; with
    a `period` (`parse_period`), one starting in it (`in_period`), as `slots_for_day` filtered
    by it would list: a dinner flow must not offer a day whose dinner is gone.

    Days before today or past the booking horizon have no slots, so they never appear.
    """
    note_unknown_directives(settings, events)
    today = now.astimezone(settings.tz).date()
    first = max(from_date, today)
    last = min(from_date + timedelta(days=lookahead - 1), horizon_end(settings, now))
    days: list[date] = []
    day = first
    earliest = _us(now) + settings.min_notice_min * _US_PER_MIN
    if settings.capacity > 1:
        whole, booked = split_places(events)
        blocking, spans = BusySpans.of(whole), BusySpans.of(booked)
        service = service_min * _US_PER_MIN
        while day <= last:
            starts = _offered(day, settings, blocking, earliest, service_min, presence_min)
            if _with_places(_within(starts, period), spans, settings.capacity, service):
                days.append(day)
            day += _ONE_DAY
        return days
    busy = BusySpans.of(events)
    # The day's first slot may fall outside the period: then every slot has to be looked at.
    first_only = period is None
    while day <= last:  # within the horizon: `last` is at most its end
        starts = _offered(
            day, settings, busy, earliest, service_min, presence_min, first_only=first_only
        )
        if any(_within(starts, period)):
            days.append(day)
        day += _ONE_DAY
    return days


def _within(starts: Iterable[datetime], period: TimeWindow | None) -> Iterable[datetime]:
    """The `starts` in `period` (all of them when None), lazily."""
    if period is None:
        return starts
    return (start for start in starts if in_period(start, period))
