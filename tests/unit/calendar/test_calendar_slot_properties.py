"""Property tests of the slot rules, over random schedules, events, `now` and time zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from botfleet.adapters.connectors.calendar.config import WEEKDAYS, CalendarSettings
from botfleet.adapters.connectors.calendar.slots import OVERLAP_TOLERANCE, slots_for_day
from botfleet.domain.calendar import BusyEvent, TimeWindow, format_clock_minutes

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
        assert slot + timedelta(minutes=presence) <= latest_close
        end = slot + timedelta(minutes=service)
        for event in events:
            overlap = min(event.end, end) - max(event.start, slot)
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
