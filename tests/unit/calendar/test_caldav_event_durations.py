"""iCalendar events given as DTSTART + DURATION, across a DST change (RFC 5545, 3.3.6): hours
are elapsed time, days keep the wall time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from botfleet.adapters.connectors.calendar import events as wire
from botfleet.adapters.connectors.calendar.config import CalendarSettings
from botfleet.adapters.connectors.calendar.slots import slots_for_day
from botfleet.domain.calendar import BusyEvent

MADRID = ZoneInfo("Europe/Madrid")


def busy(dtstart: str, duration: str) -> BusyEvent:
    text = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:staff-1\r\n"
        f"{dtstart}\r\nDURATION:{duration}\r\nSUMMARY:staff\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (component,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    event = wire.ical_event(component, MADRID)
    assert isinstance(event, BusyEvent)
    return event


def utc(event: BusyEvent) -> tuple[datetime, datetime]:
    return event.start.astimezone(UTC), event.end.astimezone(UTC)


@pytest.mark.parametrize(
    ("dtstart", "duration", "start_utc", "end_utc"),
    [
        # 01:30 CET + 2 hours = 04:30 CEST (02:30 UTC); on the wall clock it would be 03:30.
        ("DTSTART;TZID=Europe/Madrid:20240331T013000", "PT2H", (0, 30), (2, 30)),
        # A floating time (no zone) is read in the calendar's zone, then counted the same way.
        ("DTSTART:20240331T013000", "PT2H", (0, 30), (2, 30)),
        # 02:30 CEST + 1 hour = 02:30 CET (01:30 UTC), not 03:30 CET.
        ("DTSTART;TZID=Europe/Madrid:20241027T023000", "PT1H", (0, 30), (1, 30)),
        ("DTSTART:20240331T003000Z", "PT90M", (0, 30), (2, 0)),
    ],
)
def test_hours_of_a_duration_are_elapsed_time(
    dtstart: str, duration: str, start_utc: tuple[int, int], end_utc: tuple[int, int]
) -> None:
    start, end = utc(busy(dtstart, duration))
    assert (start.hour, start.minute) == start_utc
    assert (end.hour, end.minute) == end_utc


def test_days_of_a_duration_keep_the_wall_time() -> None:
    # A staff block from 10:00 Saturday for one day ends at 10:00 on Sunday, after the change.
    event = busy("DTSTART;TZID=Europe/Madrid:20240330T100000", "P1D")
    assert event.end.astimezone(MADRID).replace(tzinfo=None) == datetime(2024, 3, 31, 10, 0)
    assert event.end.astimezone(UTC) - event.start.astimezone(UTC) == timedelta(hours=23)
    mixed = busy("DTSTART;TZID=Europe/Madrid:20240330T100000", "P1DT2H")
    assert mixed.end.astimezone(MADRID).replace(tzinfo=None) == datetime(2024, 3, 31, 12, 0)


def test_a_staff_block_written_with_a_duration_blocks_the_slots_it_covers() -> None:
    # Nights at a 24-hour clinic: staff block 01:00-04:00 (3 real hours from 01:00 CET).
    block = busy("DTSTART;TZID=Europe/Madrid:20240331T010000", "PT3H")
    config = CalendarSettings(
        type="mock_calendar", timezone="Europe/Madrid", schedule={"sun": ["00:00-06:00"]}
    )
    before = datetime(2024, 3, 29, 9, 0, tzinfo=UTC)
    offered = slots_for_day(date(2024, 3, 31), config, [block], before, 30, 30)
    # 01:00 CET + 3h = 05:00 CEST: nothing from 01:00 to 05:00 on the wall clock is free.
    assert [s.strftime("%H:%M") for s in offered] == ["00:00", "00:30", "05:00", "05:30"]
