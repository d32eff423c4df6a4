"""Item shapes of the calendar category and parsing of their ids."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botfleet.adapters.connectors.calendar import formatting
from botfleet.domain.calendar import Appointment, TimeWindow

MADRID = ZoneInfo("Europe/Madrid")


def test_day_items_have_ids_and_english_titles() -> None:
    items = formatting.day_items([date(2025, 3, 10), date(2024, 1, 8), date(2024, 12, 1)])
    assert items == [
        {"id": "day_2025-03-10", "title": "Mon 10 Mar"},
        {"id": "day_2024-01-08", "title": "Mon 8 Jan"},
        {"id": "day_2024-12-01", "title": "Sun 1 Dec"},
    ]


def test_slot_items_use_local_wall_time() -> None:
    start = datetime(2025, 3, 10, 9, 5, tzinfo=MADRID)
    assert formatting.slot_items([start]) == [{"id": "hour_2025-03-10_0905", "title": "09:05"}]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
        max_size=20,
    ).map(sorted),
    st.sampled_from(["Europe/Madrid", "UTC", "Australia/Lord_Howe"]),
)
def test_slot_items_are_each_starts_key_and_time(starts: list[datetime], zone: str) -> None:
    aware = [s.replace(tzinfo=ZoneInfo(zone)) for s in starts]
    assert formatting.slot_items(aware) == [
        {"id": f"hour_{formatting.slot_key(s)}", "title": formatting.time_title(s)} for s in aware
    ]


def test_appointment_items_show_day_time_and_service() -> None:
    appointment = Appointment(
        event_id="abc123",
        contact_id="c1",
        start=datetime(2025, 3, 10, 9, 0, tzinfo=ZoneInfo("UTC")),  # 10:00 in Madrid
        end=datetime(2025, 3, 10, 9, 30, tzinfo=ZoneInfo("UTC")),
        service_key="corte",
    )
    assert formatting.appointment_items([appointment], MADRID) == [
        {"id": "cancel_appt_abc123", "title": "Mon 10 Mar · 10:00 · corte"}
    ]
    record = formatting.appointment_record(appointment, MADRID)
    assert record["date"] == "2025-03-10"
    assert record["time"] == "10:00"
    assert record["duration_min"] == 30
    assert record["slot"] == "2025-03-10_1000"
    assert record["service"] == "corte"


def test_appointment_title_prefers_the_service_name_and_drops_a_missing_one() -> None:
    start = datetime(2025, 3, 10, 10, 0, tzinfo=MADRID)
    named = Appointment("e", "c", start, start, service_key="corte", service_name="Haircut")
    bare = Appointment("e", "c", start, start)
    assert formatting.appointment_title(named, MADRID) == "Mon 10 Mar · 10:00 · Haircut"
    assert formatting.appointment_title(bare, MADRID) == "Mon 10 Mar · 10:00"


@pytest.mark.parametrize("text", ["2025-03-10_1000", "hour_2025-03-10_1000", " 2025-03-10_1000 "])
def test_slots_parse_to_naive_wall_time(text: str) -> None:
    assert formatting.parse_slot(text) == datetime(2025, 3, 10, 10, 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2025-03-10 10:00", r"is not a slot \(expected YYYY-MM-DD_HHMM"),
        ("2025-02-30_1000", "is not a real calendar date"),
        ("2025-03-10_2460", "impossible time 24:60"),
        ("", "is not a slot"),
    ],
)
def test_bad_slots_are_explained(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        formatting.parse_slot(text)


def test_days_parse_with_or_without_prefix() -> None:
    assert formatting.parse_day("day_2024-01-08") == date(2024, 1, 8)
    assert formatting.parse_day("2024-01-08") == date(2024, 1, 8)
    with pytest.raises(ValueError, match="expected YYYY-MM-DD"):
        formatting.parse_day("08/01/2024")


def test_event_ids_accept_the_cancel_item_id() -> None:
    assert formatting.parse_event_id("cancel_appt_mem3") == "mem3"
    assert formatting.parse_event_id("mem3") == "mem3"
    with pytest.raises(ValueError, match="not an event id"):
        formatting.parse_event_id("cancel_appt_")


def test_time_windows_parse_and_print() -> None:
    assert TimeWindow.parse("9:00 - 13:30") == TimeWindow(540, 810)
    assert str(TimeWindow(540, 1440)) == "09:00-24:00"
    with pytest.raises(ValueError, match="expected HH:MM-HH:MM"):
        TimeWindow.parse("9:00")
    with pytest.raises(ValueError, match="start must be before end"):
        TimeWindow.parse("14:00-10:00")
