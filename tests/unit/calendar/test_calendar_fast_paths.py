"""The calendar connector's fast paths against the computations they replaced (docs/benchmarks.md,
"Calendar connector CPU, eighteenth session"):

* `slots.start_offered` (a booking's check of its one start) against membership in the day's
  slots, with every event and with the all-day ones only, as `CalendarService._refusal` asked
  before; and a service whose `_refusal` is the old one against today's, call by call;
* the in-memory store's `events_between`, which hands the slot rules their `BusySpans` built
  from its indexes (`PreparedEvents`), against `BusySpans.of` of the same list;
* `Params.positive_int`'s shortcut for ints and digit strings against the general path.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botfleet.adapters.connectors.calendar import slots
from botfleet.adapters.connectors.calendar.config import (
    WEEKDAYS,
    CalendarSettings,
    MockCalendarSettings,
)
from botfleet.adapters.connectors.calendar.memory import InMemoryCalendar, InMemoryCalendarStore
from botfleet.adapters.connectors.calendar.params import Params
from botfleet.adapters.connectors.calendar.service import (
    _ends,
    _query_range,
)
from botfleet.adapters.connectors.calendar.slots import BusySpans, PreparedEvents
from botfleet.adapters.connectors.calendar.texts import Refusal
from botfleet.domain.calendar import (
    AllDayEvent,
    Appointment,
    BusyEvent,
    CalendarEvent,
    TimeWindow,
    epoch_micros,
)
from botfleet.domain.errors import ConnectorRejected
from botfleet.testing.clock import FrozenClock

ZONES = ["Europe/Madrid", "America/New_York", "UTC", "Australia/Lord_Howe"]
# Ordinary days and DST change days of the zones above.
DAYS = [
    date(2024, 1, 8),
    date(2024, 3, 31),
    date(2024, 10, 27),
    date(2024, 3, 10),
    date(2024, 4, 7),
]
ALL_DAY_TITLES = [
    "[CFG] CERRADO",
    "[cfg] vacaciones de verano",
    "[CFG] HORARIO 10:00-13:00",
    "[CFG] HORARIO 09:00-12:00 11:00-14:30",  # overlapping windows: a minute in both
    "[CFG] HORARIO 01:30-03:30",  # across the clock changes
    "[CFG] HORARIO 25:00-26:00",  # unreadable: the weekly schedule stays
    "Cumpleaños",
]


@st.composite
def windows(draw: st.DrawFn) -> list[TimeWindow]:
    bounds = sorted(draw(st.sets(st.integers(0, 1440), min_size=2, max_size=6)))
    pairs = list(zip(bounds[::2], bounds[1::2], strict=False))
    return [TimeWindow(start, end) for start, end in pairs if start < 1440]


Case = tuple[CalendarSettings, date, list[CalendarEvent], datetime, int, int]


@st.composite
def scenario(draw: st.DrawFn) -> Case:
    tz_name = draw(st.sampled_from(ZONES))
    tz = ZoneInfo(tz_name)
    day = draw(st.sampled_from(DAYS))
    day_windows = draw(windows())
    config = CalendarSettings(
        type="mock_calendar",
        timezone=tz_name,
        slot_duration_min=draw(st.integers(5, 120)),
        min_notice_min=draw(st.integers(0, 600)),
        lookahead_days_client=draw(st.sampled_from([1, 2, 14])),
        lookahead_days_manual=draw(st.sampled_from([1, 2, 60])),
        schedule={name: [str(w) for w in day_windows] for name in WEEKDAYS},
        closed_dates=draw(st.sampled_from([[], [day], [day + timedelta(days=1)]])),
    )
    midnight = datetime.combine(day, time(), tz).astimezone(UTC)
    events: list[CalendarEvent] = [
        BusyEvent(
            midnight + timedelta(minutes=offset), midnight + timedelta(minutes=offset + length)
        )
        for offset, length in draw(
            st.lists(st.tuples(st.integers(-600, 2000), st.integers(0, 400)), max_size=8)
        )
    ]
    for shift, days, title in draw(
        st.lists(
            st.tuples(st.integers(-2, 1), st.integers(1, 3), st.sampled_from(ALL_DAY_TITLES)),
            max_size=3,
        )
    ):
        first = day + timedelta(days=shift)
        events.insert(
            draw(st.integers(0, len(events))),
            AllDayEvent(first, first + timedelta(days=days), title),
        )
    now = midnight + timedelta(minutes=draw(st.integers(-3000, 1500)))
    return config, day, events, now, draw(st.integers(5, 240)), draw(st.integers(5, 300))


def _old_day_windows(
    day: date, config: CalendarSettings, events: list[CalendarEvent]
) -> tuple[TimeWindow, ...]:
    """`day_windows` as it was written before (`closed_dates` a list)."""
    if day in config.closed_dates:
        return ()
    override: tuple[TimeWindow, ...] | None = None
    for event in events:
        if not isinstance(event, AllDayEvent) or not event.covers(day):
            continue
        if slots.closes_day(event.title):
            return ()
        if override is None:
            override = slots.horario_windows(event.title)
    return config.weekly_windows[day.weekday()] if override is None else override


def _plain_slots(
    day: date, config: CalendarSettings, events: list[CalendarEvent], now: datetime, s: int, p: int
) -> list[datetime]:
    """The slot rule the plain way (every grid time against every event, in UTC)."""
    tz = config.tz
    if day > now.astimezone(tz).date() + timedelta(days=config.horizon_days - 1):
        return []
    earliest = now.astimezone(UTC) + timedelta(minutes=config.min_notice_min)
    busy = [e for e in events if isinstance(e, BusyEvent)]
    offered = []
    for window in _old_day_windows(day, config, events):
        wall_close = datetime.combine(day, time()) + timedelta(minutes=window.end_min)
        close = wall_close.replace(tzinfo=tz, fold=0).astimezone(UTC)
        for minute in range(window.start_min, window.end_min, config.slot_duration_min):
            wall = datetime.combine(day, time()) + timedelta(minutes=minute)
            local = wall.replace(tzinfo=tz)
            start = local.astimezone(UTC)
            if start.astimezone(tz).replace(tzinfo=None) != wall:
                continue  # inside a DST gap
            if start < earliest or start + timedelta(minutes=p) > close:
                continue
            end = start + timedelta(minutes=s)
            tolerance = slots.OVERLAP_TOLERANCE
            if all(min(e.end, end) - max(e.start, start) <= tolerance for e in busy):
                offered.append(local)
    return offered


def _prepared(events: list[CalendarEvent], config: CalendarSettings, day: date) -> Any:
    """`events` as the in-memory store hands them over for `day` (a `PreparedEvents`)."""
    store = InMemoryCalendarStore(events)
    low, high = _query_range(day, day, config.tz)
    return asyncio.run(store.events_between(low, high))


@settings(max_examples=400, deadline=None)
@given(scenario(), st.lists(st.integers(0, 1439), max_size=6), st.data())
def test_one_start_is_offered_exactly_when_the_days_slots_hold_it(
    case: Case, minutes: list[int], data: st.DataObject
) -> None:
    config, day, events, now, service, presence = case
    grid = [
        minute
        for window in slots.day_windows(day, config, events)
        for minute in range(window.start_min, window.end_min, config.slot_duration_min)
    ]
    if grid:
        minutes += data.draw(st.lists(st.sampled_from(grid), max_size=8))
    all_day = [e for e in events if isinstance(e, AllDayEvent)]
    offered = slots.slots_for_day(day, config, events, now, service, presence)
    open_hours = slots.slots_for_day(day, config, all_day, now, service, presence)
    plain = _plain_slots(day, config, events, now, service, presence)
    plain_open = _plain_slots(day, config, all_day, now, service, presence)
    prepared = _prepared(events, config, day)
    assert isinstance(prepared, PreparedEvents)
    for minute in minutes:
        start = slots.local_instant(day, minute, config.tz)
        if start is None:  # (`_refusal` refuses it before asking)
            continue
        expected = (start in open_hours, start in offered)
        assert expected == (start in plain_open, start in plain)
        args = (day, minute, config)
        assert slots.start_offered(*args, events, now, service, presence) == expected, minute
        assert slots.start_offered(*args, prepared, now, service, presence) == expected, minute


@settings(max_examples=300, deadline=None)
@given(scenario(), st.data())
def test_events_at_the_overlap_tolerance_block_a_start_as_they_block_a_slot(
    case: Case, data: st.DataObject
) -> None:
    """Events that overlap a start's service by exactly the tolerance, or a minute more."""
    config, day, events, now, service, presence = case
    grid = [
        minute
        for window in slots.day_windows(day, config, events)
        for minute in range(window.start_min, window.end_min, config.slot_duration_min)
    ]
    if not grid:
        return
    minute = data.draw(st.sampled_from(grid))
    start = slots.local_instant(day, minute, config.tz)
    if start is None:
        return
    begins = start.astimezone(UTC)
    ends = begins + timedelta(minutes=service)
    overlap = timedelta(minutes=data.draw(st.sampled_from([1, 2])))
    edge = data.draw(st.sampled_from(["head", "tail"]))
    if edge == "head":
        events = [*events, BusyEvent(begins - timedelta(minutes=30), begins + overlap)]
    else:
        events = [*events, BusyEvent(ends - overlap, ends + timedelta(minutes=30))]
    all_day = [e for e in events if isinstance(e, AllDayEvent)]
    expected = (
        start in _plain_slots(day, config, all_day, now, service, presence),
        start in _plain_slots(day, config, events, now, service, presence),
    )
    args = (day, minute, config)
    assert slots.start_offered(*args, events, now, service, presence) == expected
    prepared = _prepared(events, config, day)
    assert slots.start_offered(*args, prepared, now, service, presence) == expected


class _OldRefusal(InMemoryCalendar):
    """`mock_calendar` with `_refusal` as it was: the whole day's slots computed, twice when
    the start is not among them, from the events as a plain list."""

    async def _refusal(
        self,
        wall: datetime,
        service: int,
        presence: int,
        *,
        contact_id: str = "",  # (places per slot came later: these calendars have one)
        ignore: str | None = None,
    ) -> tuple[datetime | None, Refusal | None]:
        day = wall.date()
        start = slots.local_instant(day, wall.hour * 60 + wall.minute, self.settings.tz)
        if start is None:
            return None, Refusal.SLOT_UNAVAILABLE
        now = self.now()
        events = list(await self._events(day, day, ignore))
        if start not in slots.slots_for_day(day, self.settings, events, now, service, presence):
            all_day = [e for e in events if isinstance(e, AllDayEvent)]
            open_hours = slots.slots_for_day(day, self.settings, all_day, now, service, presence)
            return start, Refusal.SLOT_TAKEN if start in open_hours else Refusal.SLOT_UNAVAILABLE
        end = _ends(start, service)
        low, high = epoch_micros(start), epoch_micros(end)
        for busy in await self.store.busy_between(start, end, ignore=ignore):
            b_start, b_end = busy.span
            if min(b_end, high) - max(b_start, low) > slots.OVERLAP_TOLERANCE_US:
                return start, Refusal.SLOT_TAKEN
        return start, None


_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["book", "book", "book", "move", "cancel", "staff", "closed", "time"]),
        st.integers(0, 6),  # day
        st.integers(0, 24 * 4 - 1),  # quarter of an hour
        st.sampled_from([15, 30, 45, 60, 90]),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(["Europe/Madrid", "America/New_York", "Australia/Lord_Howe"]),
    st.sampled_from([date(2024, 3, 28), date(2024, 10, 24), date(2024, 3, 7), date(2024, 4, 4)]),
    _STEPS,
)
def test_bookings_and_moves_answer_as_with_the_old_check(
    zone: str, first: date, steps: list[tuple[str, int, int, int]]
) -> None:
    """Two calendars driven alike, one with the old `_refusal`: every reply is the same."""
    tz = ZoneInfo(zone)
    clock = FrozenClock(datetime.combine(first, time(8), tz).astimezone(UTC))
    config = MockCalendarSettings(
        timezone=zone,
        slot_duration_min=15,
        min_notice_min=60,
        schedule={
            day: ["00:00-04:00", "09:00-13:30", "16:00-20:00"] for day in WEEKDAYS if day != "sun"
        },
    )
    new, old = InMemoryCalendar(config, clock=clock), _OldRefusal(config, clock=clock)

    async def both(operation: str, params: dict[str, Any], key: str) -> Any:
        replies = [await cal.call(operation, params, idempotency_key=key) for cal in (new, old)]
        assert replies[0] == replies[1], (operation, params)
        return replies[0]

    async def run() -> None:
        for n, (kind, day_n, quarter, minutes) in enumerate(steps):
            day = first + timedelta(days=day_n)
            slot = f"{day.isoformat()}_{quarter // 4:02d}{15 * (quarter % 4):02d}"
            contact = f"c{n % 2}"
            if kind == "book":
                params = {"slot": slot, "contact_id": contact, "duration_min": minutes}
                await both("book_appointment", params, f"k{n}")
            elif kind in ("move", "cancel") and new.appointments:
                target = new.appointments[quarter % len(new.appointments)]
                params = {"event_id": target.event_id, "contact_id": target.contact_id}
                if kind == "move":
                    params |= {"slot": slot, "duration_min": minutes}
                    await both("reschedule_appointment", params, f"k{n}")
                else:
                    await both("cancel_event", params, f"k{n}")
            elif kind == "staff":
                start = datetime.combine(day, time(), tz) + timedelta(minutes=15 * quarter)
                for cal in (new, old):
                    cal.add_event(BusyEvent(start, start + timedelta(minutes=minutes)))
            elif kind == "closed":
                title = ALL_DAY_TITLES[quarter % len(ALL_DAY_TITLES)]
                for cal in (new, old):
                    cal.add_event(AllDayEvent(day, day + timedelta(days=1), title=title))
            elif kind == "time":
                clock.advance(minutes=7 * quarter)
            await both("get_slots_for_day", {"date_str": day.isoformat()}, "")

    asyncio.run(run())


_STORE_OPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "create", "delete", "move", "staff", "all_day", "edit"]),
        st.integers(0, 14 * 24 * 4),
        st.integers(0, 4 * 24),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(
    _STORE_OPS,
    st.tuples(st.integers(-4 * 24, 16 * 24 * 4), st.integers(0, 20 * 24 * 4)),
    st.lists(st.tuples(st.integers(-200, 2000), st.integers(0, 800)), max_size=6),
)
def test_the_store_prepares_the_spans_busy_spans_of_would(
    ops: list[tuple[str, int, int]],
    window: tuple[int, int],
    ranges: list[tuple[int, int]],
) -> None:
    madrid = ZoneInfo("Europe/Madrid")
    origin = datetime(2024, 3, 25, tzinfo=madrid)

    def at(quarters: int) -> datetime:
        return (origin.astimezone(UTC) + timedelta(minutes=15 * quarters)).astimezone(madrid)

    store = InMemoryCalendarStore()

    async def run() -> None:
        for n, (op, start, length) in enumerate(ops):
            ids = sorted(store.bookings)
            if op == "create":
                await store.create(Appointment("", "c", at(start), at(start + length)), f"k{n}")
            elif op == "delete" and ids:
                await store.delete(ids[start % len(ids)])
            elif op == "move" and ids:
                await store.move(store.bookings[ids[start % len(ids)]], at(start), at(start + 2))
            elif op == "edit" and ids:  # changed outside the bot
                key = ids[start % len(ids)]
                store.bookings[key] = Appointment(key, "c", at(start), at(start + length))
            elif op == "staff":
                store.events.append(BusyEvent(at(start), at(start + length)))
            elif op == "all_day":
                day = at(start).date()
                store.events.append(AllDayEvent(day, day + timedelta(days=1 + length % 3)))
        low, high = at(window[0]), at(window[0] + window[1])
        found = await store.events_between(low, high)
        assert isinstance(found, PreparedEvents)
        busy = [e for e in store.events if isinstance(e, BusyEvent)]
        busy += [a.as_busy_event() for a in store.bookings.values()]
        expected = [e.span for e in busy if e.end > low and e.start < high]
        assert sorted(e.span for e in found if isinstance(e, BusyEvent)) == sorted(expected)
        plain = BusySpans.of(list(found))
        assert found.busy.spans == plain.spans
        assert found.busy.starts == plain.starts
        assert found.busy.all_day == plain.all_day
        assert found.busy.longest >= plain.longest
        base = epoch_micros(low)
        for offset, length in ranges:
            near_low = base + offset * 60_000_000
            near_high = near_low + length * 60_000_000
            assert found.busy.near(near_low, near_high) == plain.near(near_low, near_high)

    asyncio.run(run())


def _positive_int_before(value: Any, default: int, upper: int) -> int:
    """`Params.positive_int` as it was (no shortcut), for a present value."""
    name = "n"
    not_whole = ConnectorRejected(f"param {name!r} must be a whole number, got {value!r}")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise not_whole
    try:
        number = float(value)
    except ValueError:
        raise not_whole from None
    if not math.isfinite(number) or not number.is_integer():
        raise not_whole
    if not 1 <= number <= upper:
        raise ConnectorRejected(f"param {name!r} must be between 1 and {upper}, got {value!r}")
    return int(number)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.integers(-20, 20_000),
        st.integers(),
        st.from_regex(r"\A[0-9]{1,25}\Z"),
        st.from_regex(r"\A\s*[0-9٠-٩²]{1,6}(\.0|\.5)?\s*\Z"),
        st.text(max_size=8),
        st.floats(allow_nan=True),
        st.booleans(),
        st.just("9" * 5000),
    ),
    st.sampled_from([3660, 7 * 24 * 60]),
)
def test_whole_numbers_read_as_the_general_path_reads_them(value: Any, upper: int) -> None:
    present = not (isinstance(value, str) and not value.strip())
    try:
        expected: Any = _positive_int_before(value, 7, upper) if present else 7
    except (ConnectorRejected, OverflowError) as exc:
        expected = (type(exc), str(exc))
    try:
        got: Any = Params("op", {"n": value}).positive_int("n", 7, upper=upper)
    except (ConnectorRejected, OverflowError) as exc:
        got = (type(exc), str(exc))
    assert got == expected


@pytest.mark.parametrize("value", [30, "30", "030", " 30", "30.0", 30.0, "0", 0, "10081", True])
def test_the_shortcut_keeps_the_values_and_the_refusals(value: Any) -> None:
    try:
        expected: Any = _positive_int_before(value, 7, 7 * 24 * 60)
    except ConnectorRejected as exc:
        expected = str(exc)
    try:
        got: Any = Params("op", {"n": value}).minutes("n", 7)
    except ConnectorRejected as exc:
        got = str(exc)
    assert got == expected
    assert type(got) is type(expected)
