"""Slot rules (flow-dsl.md "Slot rules"): known cases, DST, notice, horizon, directives."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from botfleet.adapters.connectors.calendar.config import CalendarSettings
from botfleet.adapters.connectors.calendar.slots import (
    AFTERNOON_STARTS,
    MORNING,
    available_days,
    closes_day,
    day_windows,
    horario_windows,
    in_period,
    is_config_title,
    local_instant,
    parse_period,
    slots_for_day,
)
from botfleet.domain.calendar import AllDayEvent, BusyEvent, CalendarEvent, TimeWindow

MADRID = ZoneInfo("Europe/Madrid")
MONDAY = date(2024, 1, 8)
BEFORE = datetime(2024, 1, 1, 9, 0, tzinfo=MADRID)  # a week earlier: nothing is past


def settings(**overrides: Any) -> CalendarSettings:
    values: dict[str, Any] = {
        "type": "mock_calendar",
        "timezone": "Europe/Madrid",
        "schedule": {"mon": ["10:00-14:00"]},
    }
    values.update(overrides)
    return CalendarSettings(**values)


def at(day: date, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=MADRID)


def busy(day: date, start: str, end: str, title: str = "busy") -> BusyEvent:
    return BusyEvent(at(day, start), at(day, end), title=title)


def times(slots: list[datetime]) -> list[str]:
    return [s.strftime("%H:%M") for s in slots]


def offered(
    events: list[CalendarEvent] | None = None,
    *,
    day: date = MONDAY,
    now: datetime = BEFORE,
    service: int = 30,
    presence: int = 30,
    **overrides: Any,
) -> list[str]:
    return times(slots_for_day(day, settings(**overrides), events or [], now, service, presence))


# ---------------------------------------------------------------- the spec's known cases


def test_known_case_open_morning_gives_eight_half_hour_slots() -> None:
    assert offered() == ["10:00", "10:30", "11:00", "11:30", "12:00", "12:30", "13:00", "13:30"]


def test_known_case_event_at_ten_blocks_ten_only() -> None:
    result = offered([busy(MONDAY, "10:00", "10:30")])
    assert "10:00" not in result
    assert "10:30" in result


def test_known_case_event_ending_at_ten_leaves_ten_free() -> None:
    assert offered([busy(MONDAY, "09:00", "10:00")])[0] == "10:00"


def test_known_case_presence_of_three_hours_must_fit_before_closing() -> None:
    assert offered(presence=180) == ["10:00", "10:30", "11:00"]


def test_known_case_two_windows_each_step_half_hourly() -> None:
    result = offered(schedule={"mon": ["10:00-12:00", "15:00-17:00"]})
    assert result == ["10:00", "10:30", "11:00", "11:30", "15:00", "15:30", "16:00", "16:30"]


def test_known_case_horario_replaces_the_days_hours() -> None:
    event = AllDayEvent(MONDAY, MONDAY + timedelta(days=1), "[CFG] HORARIO 11:00-13:00")
    assert offered([event]) == ["11:00", "11:30", "12:00", "12:30"]


def test_known_case_cerrado_end_date_is_exclusive() -> None:
    event = AllDayEvent(date(2024, 1, 7), MONDAY, "[CFG] CERRADO")
    assert len(offered([event])) == 8


# ---------------------------------------------------------------- overlap tolerance


@pytest.mark.parametrize(
    ("start", "end", "ten_offered"),
    [
        ("09:30", "10:01", True),  # one minute of overlap is tolerated
        ("10:29", "11:00", True),
        ("09:30", "10:02", False),  # more than a minute blocks
        ("10:10", "10:20", False),  # inside the slot
        ("09:00", "12:00", False),  # covers the slot
    ],
)
def test_events_block_slots_only_beyond_a_minute_of_overlap(
    start: str, end: str, ten_offered: bool
) -> None:
    assert ("10:00" in offered([busy(MONDAY, start, end)])) is ten_offered


def test_long_service_is_blocked_by_a_later_event() -> None:
    # A 60-minute service at 10:00 runs into an event at 10:30.
    result = offered([busy(MONDAY, "10:30", "11:00")], service=60)
    assert "10:00" not in result
    assert "11:00" in result


def test_event_in_another_time_zone_is_compared_as_an_instant() -> None:
    event = BusyEvent(
        datetime(2024, 1, 8, 9, 0, tzinfo=UTC), datetime(2024, 1, 8, 9, 30, tzinfo=UTC)
    )  # 10:00-10:30 in Madrid
    assert offered([event])[0] == "10:30"


def test_all_day_events_without_cfg_titles_do_not_block() -> None:
    birthday = AllDayEvent(MONDAY, MONDAY + timedelta(days=1), "Ana's birthday")
    assert len(offered([birthday])) == 8


# ---------------------------------------------------------------- directives


@pytest.mark.parametrize(
    "title", ["[CFG] CERRADO", "[cfg] cerrado", "  [CFG]   Cerrado ", "[CFG] VACACIONES verano"]
)
def test_closing_titles_close_the_day(title: str) -> None:
    assert closes_day(title)
    assert offered([AllDayEvent(MONDAY, MONDAY + timedelta(days=1), title)]) == []


@pytest.mark.parametrize(
    "title", ["CERRADO", "[CFG] CERRADO por obras", "[CFG] HORARIO 10:00-11:00"]
)
def test_other_titles_do_not_close(title: str) -> None:
    assert not closes_day(title)


def test_vacaciones_closes_every_day_it_covers_end_exclusive() -> None:
    holidays = AllDayEvent(date(2024, 1, 8), date(2024, 1, 10), "[CFG] VACACIONES")
    everyday = {d: ["10:00-14:00"] for d in ("mon", "tue", "wed")}
    days = available_days(
        date(2024, 1, 8), settings(schedule=everyday), [holidays], BEFORE, 3, 30, 30
    )
    assert days == [date(2024, 1, 10)]


def test_closing_wins_over_horario_on_the_same_day() -> None:
    next_day = MONDAY + timedelta(days=1)
    events: list[CalendarEvent] = [
        AllDayEvent(MONDAY, next_day, "[CFG] HORARIO 11:00-13:00"),
        AllDayEvent(MONDAY, next_day, "[CFG] CERRADO"),
    ]
    assert offered(events) == []


def test_horario_opens_a_day_the_weekly_schedule_leaves_closed() -> None:
    sunday = date(2024, 1, 14)
    event = AllDayEvent(sunday, sunday + timedelta(days=1), "[CFG] HORARIO 9:00-10:00")
    assert offered([event], day=sunday) == ["09:00", "09:30"]


def test_horario_covering_several_days_applies_to_each() -> None:
    event = AllDayEvent(MONDAY, MONDAY + timedelta(days=2), "[cfg] horario 12:00-13:00")
    schedule = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}
    for day in (MONDAY, MONDAY + timedelta(days=1)):
        assert offered([event], day=day, schedule=schedule) == ["12:00", "12:30"]


def test_horario_with_two_windows_and_unreadable_horario() -> None:
    assert horario_windows("[CFG] HORARIO 10:00-12:00 17:00-19:00") == (
        TimeWindow(600, 720),
        TimeWindow(1020, 1140),
    )
    assert horario_windows("[CFG] HORARIO 13:00-11:00") is None
    assert horario_windows("[CFG] HORARIO mañana") is None
    assert horario_windows("HORARIO 10:00-12:00") is None


def test_unreadable_horario_keeps_the_weekly_schedule() -> None:
    event = AllDayEvent(MONDAY, MONDAY + timedelta(days=1), "[CFG] HORARIO 25:00-26:00")
    assert len(offered([event])) == 8


def test_config_titles_are_recognised() -> None:
    assert is_config_title("[CFG] anything")
    assert is_config_title(" [cfg]HORARIO 10:00-11:00")
    assert not is_config_title("Corte - Ana")


def test_closed_dates_close_the_day() -> None:
    assert offered(closed_dates=[MONDAY]) == []
    assert day_windows(MONDAY, settings(closed_dates=[MONDAY]), []) == ()


def test_days_missing_or_empty_in_the_schedule_are_closed() -> None:
    tuesday = MONDAY + timedelta(days=1)
    assert offered(day=tuesday) == []
    assert offered(day=tuesday, schedule={"mon": ["10:00-14:00"], "tue": []}) == []


# ---------------------------------------------------------------- now, notice, horizon


def test_past_slots_are_not_offered() -> None:
    now = at(MONDAY, "11:15")
    assert offered(now=now) == ["11:30", "12:00", "12:30", "13:00", "13:30"]


def test_a_slot_starting_exactly_now_is_still_offered() -> None:
    assert offered(now=at(MONDAY, "13:30")) == ["13:30"]


def test_minimum_notice_hides_slots_too_close_to_now() -> None:
    now = at(MONDAY, "10:00")
    assert offered(now=now, min_notice_min=90) == ["11:30", "12:00", "12:30", "13:00", "13:30"]


def test_now_in_utc_is_read_as_the_same_instant() -> None:
    now_utc = datetime(2024, 1, 8, 12, 0, tzinfo=UTC)  # 13:00 in Madrid
    assert offered(now=now_utc) == ["13:00", "13:30"]


def test_slot_step_follows_slot_duration() -> None:
    assert offered(slot_duration_min=60) == ["10:00", "11:00", "12:00", "13:00"]
    assert offered(slot_duration_min=45, presence=45) == [
        "10:00",
        "10:45",
        "11:30",
        "12:15",
        "13:00",
    ]


def test_window_ending_at_midnight() -> None:
    assert offered(schedule={"mon": ["22:00-24:00"]}) == ["22:00", "22:30", "23:00", "23:30"]


def test_days_beyond_the_booking_horizon_have_no_slots() -> None:
    now = at(date(2024, 1, 1), "09:00")
    # lookahead_days_manual=8 counts today: 2024-01-01 .. 2024-01-08.
    assert offered(now=now, lookahead_days_client=7, lookahead_days_manual=8) != []
    assert offered(now=now, lookahead_days_client=7, lookahead_days_manual=7) == []


# ---------------------------------------------------------------- available days


WEEKDAYS_OPEN = {d: ["10:00-14:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def test_available_days_cover_lookahead_days_from_the_start_date() -> None:
    days = available_days(
        MONDAY,
        settings(schedule=WEEKDAYS_OPEN),
        [],
        BEFORE,
        lookahead=7,
        service_min=30,
        presence_min=30,
    )
    assert days == [MONDAY + timedelta(days=i) for i in range(5)]


def test_available_days_edges_of_the_lookahead() -> None:
    s = settings(schedule=WEEKDAYS_OPEN)
    assert available_days(MONDAY, s, [], BEFORE, 1, 30, 30) == [MONDAY]
    # lookahead 8 from a Monday reaches the next Monday, 9 does not add the Tuesday twice.
    assert available_days(MONDAY, s, [], BEFORE, 8, 30, 30)[-1] == MONDAY + timedelta(days=7)
    assert len(available_days(MONDAY, s, [], BEFORE, 9, 30, 30)) == 7


def test_available_days_skip_full_days_and_days_already_past() -> None:
    s = settings(schedule=WEEKDAYS_OPEN)
    full_tuesday = busy(MONDAY + timedelta(days=1), "10:00", "14:00")
    now = at(MONDAY, "13:45")  # Monday's last slot has started
    # From Friday 5th, six days reach Wednesday 10th; the 5th-7th are past or closed.
    days = available_days(MONDAY - timedelta(days=3), s, [full_tuesday], now, 6, 30, 30)
    assert days == [MONDAY + timedelta(days=2)]


def test_available_days_stop_at_the_booking_horizon() -> None:
    s = settings(schedule=WEEKDAYS_OPEN, lookahead_days_client=3, lookahead_days_manual=3)
    assert available_days(MONDAY, s, [], at(MONDAY, "08:00"), 60, 30, 30) == [
        MONDAY,
        MONDAY + timedelta(days=1),
        MONDAY + timedelta(days=2),
    ]


# ---------------------------------------------------------------- periods


def test_morning_is_before_two_in_the_afternoon() -> None:
    assert in_period(at(MONDAY, "13:59"), "morning")
    assert not in_period(at(MONDAY, "14:00"), "morning")
    assert in_period(at(MONDAY, "14:00"), "afternoon")
    assert in_period(at(MONDAY, "08:00"), "")
    with pytest.raises(ValueError, match=r"must be morning, afternoon, .* got 'evening'"):
        in_period(at(MONDAY, "08:00"), "evening")


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("", None),
        ("all", None),
        ("Morning", TimeWindow(0, 14 * 60)),
        ("afternoon", TimeWindow(14 * 60, 24 * 60)),
        ("20:00-23:30", TimeWindow(20 * 60, 23 * 60 + 30)),
        (" 9:00 - 13:00 ", TimeWindow(9 * 60, 13 * 60)),
        ("20:00-24:00", TimeWindow(20 * 60, 24 * 60)),  # until midnight
        ("00:00-00:01", TimeWindow(0, 1)),
    ],
)
def test_a_period_is_a_word_or_a_range_of_start_times(text: str, window: TimeWindow) -> None:
    assert parse_period(text) == window


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("20-23", "'20' is not a time"),
        ("25:00-26:00", "'25:00' is not a valid time of day"),
        ("20:00-24:30", "'24:30' is not a valid time of day"),
        ("21:00-20:00", "starting before it ends"),
        ("20:00-20:00", "starting before it ends"),
        ("22:00-02:00", "cannot cross midnight"),
        ("20:00", "two times joined by '-'"),
        ("20:00-21:00-22:00", "two times joined by '-'"),
        ("20:00–23:30", "two times joined by '-'"),  # an en dash
        ("20h-23h", "'20h' is not a time"),
    ],
)
def test_a_malformed_range_is_refused_quoting_it(text: str, why: str) -> None:
    with pytest.raises(ValueError, match="must be a time range HH:MM-HH:MM") as caught:
        parse_period(text)
    assert repr(text) in str(caught.value)
    assert why in str(caught.value)


def test_a_range_keeps_the_slots_starting_within_it_end_excluded() -> None:
    dinner = "20:00-23:30"
    assert not in_period(at(MONDAY, "19:59"), dinner)
    assert in_period(at(MONDAY, "20:00"), dinner)
    assert in_period(at(MONDAY, "23:29"), dinner)
    assert not in_period(at(MONDAY, "23:30"), dinner)
    assert in_period(at(MONDAY, "23:59"), "20:00-24:00")
    assert in_period(at(MONDAY, "23:00"), parse_period(dinner))


def test_the_named_periods_split_the_day_as_before() -> None:
    starts = [at(MONDAY, f"{h:02d}:{m:02d}") for h in range(24) for m in (0, 29, 30, 59)]
    for start in starts:
        assert in_period(start, "morning") == (start.time() < AFTERNOON_STARTS)
        assert in_period(start, "morning") != in_period(start, "afternoon")
        assert in_period(start, "morning") == in_period(start, MORNING)
        assert in_period(start, "afternoon") == in_period(start, "14:00-24:00")


# ---------------------------------------------------------------- DST


SPRING = date(2024, 3, 31)  # Sunday: 02:00 CET jumps to 03:00 CEST in Madrid
AUTUMN = date(2024, 10, 27)  # Sunday: 03:00 CEST falls back to 02:00 CET
BEFORE_SPRING = datetime(2024, 3, 29, 9, 0, tzinfo=MADRID)
BEFORE_AUTUMN = datetime(2024, 10, 25, 9, 0, tzinfo=MADRID)


def test_dst_forward_day_keeps_wall_clock_hours() -> None:
    result = slots_for_day(
        SPRING, settings(schedule={"sun": ["10:00-14:00"]}), [], BEFORE_SPRING, 30, 30
    )
    assert times(result)[0] == "10:00"
    assert len(result) == 8
    assert result[0].utcoffset() == timedelta(hours=2)
    assert result[0].astimezone(UTC).hour == 8


def test_dst_forward_gap_wall_times_are_skipped() -> None:
    result = slots_for_day(
        SPRING, settings(schedule={"sun": ["01:00-04:00"]}), [], BEFORE_SPRING, 30, 30
    )
    assert times(result) == ["01:00", "01:30", "03:00", "03:30"]
    assert local_instant(SPRING, 2 * 60 + 30, MADRID) is None


def test_dst_back_ambiguous_wall_times_are_offered_once() -> None:
    result = slots_for_day(
        AUTUMN, settings(schedule={"sun": ["01:00-04:00"]}), [], BEFORE_AUTUMN, 30, 30
    )
    assert times(result) == ["01:00", "01:30", "02:00", "02:30", "03:00", "03:30"]
    two = result[2]
    assert two.utcoffset() == timedelta(hours=2)  # the first 02:00 (summer time)
    assert two.astimezone(UTC) == datetime(2024, 10, 27, 0, 0, tzinfo=UTC)


def test_dst_back_day_keeps_wall_clock_hours() -> None:
    result = slots_for_day(
        AUTUMN, settings(schedule={"sun": ["10:00-14:00"]}), [], BEFORE_AUTUMN, 30, 30
    )
    assert len(result) == 8
    assert result[0].astimezone(UTC).hour == 9  # CET, UTC+1


def test_dst_events_are_compared_as_instants() -> None:
    # 00:00-00:30 UTC is 02:00-02:30 summer time: it blocks the first 02:00 only.
    event = BusyEvent(
        datetime(2024, 10, 27, 0, 0, tzinfo=UTC), datetime(2024, 10, 27, 0, 30, tzinfo=UTC)
    )
    result = slots_for_day(
        AUTUMN, settings(schedule={"sun": ["01:00-04:00"]}), [event], BEFORE_AUTUMN, 30, 30
    )
    assert times(result) == ["01:00", "01:30", "02:30", "03:00", "03:30"]
