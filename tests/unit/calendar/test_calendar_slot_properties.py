"""Property tests of the slot rules, over random schedules, events, `now` and time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from botfleet.adapters.connectors.calendar import slots
from botfleet.adapters.connectors.calendar.config import WEEKDAYS, CalendarSettings
from botfleet.adapters.connectors.calendar.slots import (
    OVERLAP_TOLERANCE,
    available_days,
    slots_for_day,
)
from botfleet.domain.calendar import BusyEvent, TimeWindow, epoch_micros, format_clock_minutes

ZONES = ["Europe/Madrid", "America/New_York", "UTC", "Australia/Lord_Howe"]
# Ordinary days and DST change days of the zones above.
DAYS = [
    date(2024, 1, 8),
    date(2024, 3, 31),
    date(2024, 10, 27),
    date(2024, 3, 10),
    date(2024, 4, 7),
]


@st.composite
def windows(draw: st.DrawFn) -> list[TimeWindow]:
    bounds = sorted(draw(st.sets(st.integers(0, 1440), min_size=2, max_size=6)))
    pairs = list(zip(bounds[::2], bounds[1::2], strict=False))
    return [TimeWindow(start, end) for start, end in pairs if start < 1440]


@st.composite
def scenario(draw: st.DrawFn) -> tuple[CalendarSettings, date, list[BusyEvent], datetime, int, int]:
    tz_name = draw(st.sampled_from(ZONES))
    tz = ZoneInfo(tz_name)
    day = draw(st.sampled_from(DAYS))
    day_windows = draw(windows())
    config = CalendarSettings(
        type="mock_calendar",
        timezone=tz_name,
        slot_duration_min=draw(st.integers(5, 120)),
        min_notice_min=draw(st.integers(0, 600)),
        schedule={name: [str(w) for w in day_windows] for name in WEEKDAYS},
    )
    midnight = datetime.combine(day, time(), tz).astimezone(UTC)
    events = [
        BusyEvent(
            midnight + timedelta(minutes=offset), midnight + timedelta(minutes=offset + length)
        )
        for offset, length in draw(
            st.lists(st.tuples(st.integers(-600, 2000), st.integers(0, 400)), max_size=8)
        )
    ]
    now = midnight + timedelta(minutes=draw(st.integers(-3000, 1500)))
    return config, day, events, now, draw(st.integers(5, 240)), draw(st.integers(5, 300))


def _window_of(slot: datetime, config: CalendarSettings) -> TimeWindow | None:
    minute = slot.hour * 60 + slot.minute
    for window in config.weekly_windows[slot.weekday()]:
        if window.start_min <= minute < window.end_min:
            return window
    return None


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_offered_slots_respect_windows_events_and_now(
    case: tuple[CalendarSettings, date, list[BusyEvent], datetime, int, int],
) -> None:
    config, day, events, now, service, presence = case
    offered = slots_for_day(day, config, events, now, service, presence)
    tz = config.tz
    for slot in offered:
        assert slot.date() == day
        # The wall time exists in the zone (no slot inside a DST gap).
        assert slot.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == slot.replace(tzinfo=None)
        window = _window_of(slot, config)
        assert window is not None, f"{slot} outside {config.schedule}"
        offset = slot.hour * 60 + slot.minute - window.start_min
        assert offset % config.slot_duration_min == 0, "slot off the grid"
        # Either reading of the closing wall time (they differ only around DST changes).
        wall_close = datetime.combine(day, time()) + timedelta(minutes=window.end_min)
        latest_close = max(wall_close.replace(tzinfo=tz, fold=f).astimezone(UTC) for f in (0, 1))
        # Durations are real time: arithmetic on a zone's datetime is wall-clock arithmetic,
        # off by an hour across a DST change, so it is done in UTC.
        instant = slot.astimezone(UTC)
        assert instant + timedelta(minutes=presence) <= latest_close
        end = instant + timedelta(minutes=service)
        for event in events:
            overlap = min(event.end, end) - max(event.start, instant)
            assert overlap <= OVERLAP_TOLERANCE, f"{slot} overlaps {event}"
        assert slot >= now + timedelta(minutes=config.min_notice_min)
    instants = [s.astimezone(UTC) for s in offered]
    assert instants == sorted(set(instants)), "slots repeated or out of order"


@settings(max_examples=200, deadline=None)
@given(scenario())
def test_events_only_ever_remove_slots(
    case: tuple[CalendarSettings, date, list[BusyEvent], datetime, int, int],
) -> None:
    config, day, events, now, service, presence = case
    with_events = slots_for_day(day, config, events, now, service, presence)
    without = slots_for_day(day, config, [], now, service, presence)
    assert set(with_events) <= set(without)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_on_ordinary_days_every_fitting_grid_time_is_offered(data: st.DataObject) -> None:
    day_windows = data.draw(windows())
    step = data.draw(st.integers(5, 120))
    presence = data.draw(st.integers(5, 300))
    config = CalendarSettings(
        type="mock_calendar",
        timezone="Europe/Madrid",
        slot_duration_min=step,
        schedule={"mon": [str(w) for w in day_windows]},
    )
    far_before = datetime(2024, 1, 1, tzinfo=UTC)
    offered = slots_for_day(date(2024, 1, 8), config, [], far_before, 30, presence)
    expected = [
        format_clock_minutes(minute)
        for window in sorted(day_windows)
        for minute in range(window.start_min, window.end_min, step)
        if minute + presence <= window.end_min
    ]
    assert [s.strftime("%H:%M") for s in offered] == expected


def _reference_slots(
    day: date, config: CalendarSettings, events: list[BusyEvent], now: datetime, s: int, p: int
) -> list[datetime]:
    """The slot rule written the plain way (every grid time against every event, instants
    compared in UTC): what the optimised `slots_for_day` must agree with."""
    tz = config.tz
    if day > now.astimezone(tz).date() + timedelta(days=config.horizon_days - 1):
        return []
    earliest = now.astimezone(UTC) + timedelta(minutes=config.min_notice_min)
    offered = []
    for window in config.weekly_windows[day.weekday()]:
        wall_close = datetime.combine(day, time()) + timedelta(minutes=window.end_min)
        # The moment the wall clock reaches the close (its first occurrence; a closing time
        # inside a gap is the jump over it).
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
            if all(min(e.end, end) - max(e.start, start) <= OVERLAP_TOLERANCE for e in events):
                offered.append(local)
    return offered


@settings(max_examples=400, deadline=None)
@given(scenario())
def test_agrees_with_the_plain_rule_and_available_days_with_slots_for_day(
    case: tuple[CalendarSettings, date, list[BusyEvent], datetime, int, int],
) -> None:
    config, day, events, now, service, presence = case
    offered = slots_for_day(day, config, events, now, service, presence)
    expected = _reference_slots(day, config, events, now, service, presence)
    assert [s.astimezone(UTC) for s in offered] == [s.astimezone(UTC) for s in expected], (
        config.schedule,
        config.slot_duration_min,
        config.min_notice_min,
        config.horizon_days,
    )
    assert [s.replace(tzinfo=None) for s in offered] == [s.replace(tzinfo=None) for s in expected]
    around = [day - timedelta(days=1), day, day + timedelta(days=1)]
    days = available_days(around[0], config, events, now, 3, service, presence)
    assert days == [d for d in around if slots_for_day(d, config, events, now, service, presence)]


# ---------------------------------------------------------------- the memo of a day's slots


def _all_spans(events: list[BusyEvent]) -> tuple[tuple[int, int], ...]:
    return tuple(sorted(e.span for e in events))


@settings(max_examples=300, deadline=None)
@given(scenario())
def test_the_memo_key_drops_only_inputs_that_cannot_change_the_day(
    case: tuple[CalendarSettings, date, list[BusyEvent], datetime, int, int],
) -> None:
    """`slots_for_day` keys its memo on the spans near the opening hours and on the first grid
    start `now` allows: the plain scan with every span and the raw `now` gives the same."""
    config, day, events, now, service, presence = case
    if day > slots.horizon_end(config, now):
        return
    raw = slots._scan_day(
        day,
        config.weekly_windows[day.weekday()],
        config.tz,
        config.slot_duration_min,
        epoch_micros(now) + config.min_notice_min * 60_000_000,
        service * 60_000_000,
        presence * 60_000_000,
        _all_spans(events),
        False,
    )
    assert slots_for_day(day, config, events, now, service, presence) == list(raw)


_CHANGES = st.lists(
    st.one_of(
        st.tuples(st.just("event"), st.integers(-600, 2000), st.integers(0, 400)),
        st.tuples(st.just("drop"), st.integers(0, 10), st.just(0)),
        st.tuples(st.just("time"), st.integers(-120, 600), st.just(0)),
        st.tuples(st.just("service"), st.integers(5, 240), st.integers(5, 300)),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(scenario(), _CHANGES)
def test_the_memo_never_answers_for_an_earlier_calendar_or_an_earlier_now(
    case: tuple[CalendarSettings, date, list[BusyEvent], datetime, int, int],
    changes: list[tuple[str, int, int]],
) -> None:
    """Asked again after each change (an event added or removed, time passing, another
    service), with the earlier answers memoised, the slots are the plain rule's."""
    config, day, events, now, service, presence = case
    midnight = datetime.combine(day, time(), config.tz).astimezone(UTC)
    events = list(events)
    for kind, first, second in changes:
        if kind == "event":
            start = midnight + timedelta(minutes=first)
            events.append(BusyEvent(start, start + timedelta(minutes=second)))
        elif kind == "drop" and events:
            del events[first % len(events)]
        elif kind == "time":
            now += timedelta(minutes=first)
        elif kind == "service":
            service, presence = first, second
        offered = slots_for_day(day, config, events, now, service, presence)
        expected = _reference_slots(day, config, events, now, service, presence)
        assert [s.astimezone(UTC) for s in offered] == [s.astimezone(UTC) for s in expected]
        around = [day - timedelta(days=1), day, day + timedelta(days=1)]
        days = available_days(around[0], config, events, now, 3, service, presence)
        assert days == [
            d for d in around if _reference_slots(d, config, events, now, service, presence)
        ]


# ---------------------------------------------------------------- days offered for a period


@st.composite
def periods(draw: st.DrawFn) -> TimeWindow:
    start = draw(st.integers(0, 1439))
    return TimeWindow(start, draw(st.integers(start + 1, 1440)))


@settings(max_examples=300, deadline=None)
@given(scenario(), periods(), st.sampled_from([1, 3]), st.sets(st.integers(0, 7)))
def test_a_day_is_offered_for_a_period_exactly_when_it_has_a_slot_in_it(
    case: tuple[CalendarSettings, date, list[BusyEvent], datetime, int, int],
    period: TimeWindow,
    capacity: int,
    bookings: set[int],
) -> None:
    """`available_days` with a period offers the days whose `slot_places` (with places) or
    `slots_for_day` keep a start in it, as `get_slots_for_day` filters them."""
    config, day, events, now, service, presence = case
    config = config.model_copy(update={"capacity": capacity})
    # Some events as bookings made through the bot: on a calendar of places they take one each.
    mixed = [
        slots.BookedEvent(e.start, e.end, contact_id=f"c{i}") if i in bookings else e
        for i, e in enumerate(events)
    ]
    around = [day - timedelta(days=1), day, day + timedelta(days=1)]
    days = available_days(around[0], config, mixed, now, 3, service, presence, period=period)
    assert days == [
        d
        for d in around
        if any(
            slots.in_period(s, period)
            for s in slots_for_day(d, config, mixed, now, service, presence)
        )
    ]
