"""Bookings on DST change days: an appointment lasts its service in real minutes, and "has it
begun?" compares instants, in the repeated hour too.

The slot rules already measure a service in elapsed time (`slots.py`); these tests hold the
writes (book, move) and the reads of a booking (its duration, whether it is past) to the same
meaning. Businesses open across the change (24-hour clinics, vets, evening clinics in zones
whose clocks change at midnight) are the ones that meet it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from botfleet.adapters.connectors.calendar import InMemoryCalendar, build, slots
from botfleet.adapters.connectors.calendar.config import MockCalendarSettings
from botfleet.adapters.connectors.calendar.formatting import slot_key
from botfleet.adapters.connectors.calendar.memory import InMemoryCalendarStore
from botfleet.adapters.connectors.calendar.service import CalendarService
from botfleet.domain.calendar import Appointment, BusyEvent
from botfleet.testing.clock import FrozenClock

MADRID = ZoneInfo("Europe/Madrid")
SPRING = date(2024, 3, 31)  # Sunday: 02:00 CET jumps to 03:00 CEST
AUTUMN = date(2024, 10, 27)  # Sunday: 03:00 CEST falls back to 02:00 CET
OPEN_ALL_DAY = {day: ["00:00-24:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def calendar(now: datetime, zone: str = "Europe/Madrid") -> tuple[InMemoryCalendar, FrozenClock]:
    clock = FrozenClock(now)
    raw = {"type": "mock_calendar", "schedule": OPEN_ALL_DAY}
    return build(raw, timezone=zone, clock=clock), clock


async def call(cal: InMemoryCalendar, operation: str, **params: Any) -> Any:
    return await cal.call(operation, params, idempotency_key=f"{operation}:{sorted(params)}")


async def book(cal: InMemoryCalendar, slot: str, minutes: int, contact: str = "ana") -> Any:
    return await cal.call(
        "book_appointment",
        {"slot": slot, "contact_id": contact, "duration_min": minutes},
        idempotency_key=f"book:{slot}:{contact}",
    )


async def titles(cal: InMemoryCalendar, day: date) -> list[str]:
    offered = await call(cal, "get_slots_for_day", date_str=day.isoformat())
    return [item["title"] for item in offered]


def real_minutes(start: datetime, end: datetime) -> float:
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 60


# ---------------------------------------------------------------- how long a booking lasts


async def test_a_booking_across_spring_forward_blocks_its_real_length() -> None:
    cal, _ = calendar(datetime(2024, 3, 29, 9, 0, tzinfo=UTC))
    reply = await book(cal, "2024-03-31_0130", minutes=90)
    assert reply["success"] is True
    (appointment,) = cal.appointments
    # 01:30 CET + 90 minutes is 04:00 CEST; the wall clock's 03:00 would be 30 minutes.
    assert appointment.end == datetime(2024, 3, 31, 4, 0, tzinfo=MADRID)
    assert reply["appointment"]["end"] == "2024-03-31T04:00:00+02:00"
    assert reply["appointment"]["duration_min"] == 90
    # The client is in the chair until 04:00: nobody else may be given 03:00 or 03:30.
    offered = await titles(cal, SPRING)
    assert "03:00" not in offered
    assert "03:30" not in offered
    assert "04:00" in offered


async def test_a_booking_in_the_repeated_hour_frees_the_calendar_after_its_real_length() -> None:
    cal, _ = calendar(datetime(2024, 10, 25, 9, 0, tzinfo=UTC))
    reply = await book(cal, "2024-10-27_0230", minutes=60)
    assert reply["success"] is True
    (appointment,) = cal.appointments
    # 02:30 summer time + 60 minutes is 02:30 winter time (01:30 UTC), not 03:30 winter time.
    assert appointment.end.astimezone(UTC) == datetime(2024, 10, 27, 1, 30, tzinfo=UTC)
    assert reply["appointment"]["duration_min"] == 60
    assert "03:00" in await titles(cal, AUTUMN)


async def test_the_duration_of_a_booking_ending_in_the_second_pass_is_its_real_length() -> None:
    cal, _ = calendar(datetime(2024, 10, 25, 9, 0, tzinfo=UTC))
    reply = await book(cal, "2024-10-27_0230", minutes=30)
    # 02:30 -> 03:00 summer time, which is 02:00 winter time: the wall clock reads -30 minutes.
    (appointment,) = cal.appointments
    assert real_minutes(appointment.start, appointment.end) == 30
    assert reply["appointment"]["duration_min"] == 30
    listed = await call(cal, "list_appointments", contact_id="ana")
    assert [a["duration_min"] for a in listed] == [30]


async def test_moving_a_booking_keeps_its_real_length() -> None:
    cal, _ = calendar(datetime(2024, 10, 25, 9, 0, tzinfo=UTC))
    booked = await book(cal, "2024-10-27_0230", minutes=30)
    moved = await call(
        cal,
        "reschedule_appointment",
        event_id=booked["event_id"],
        contact_id="ana",
        slot="2024-10-27_1000",
    )
    assert moved["success"] is True
    (appointment,) = cal.appointments
    assert real_minutes(appointment.start, appointment.end) == 30
    assert moved["appointment"]["end"] == "2024-10-27T10:30:00+01:00"


ZONES_AND_CHANGES = [
    ("Europe/Madrid", SPRING),
    ("Europe/Madrid", AUTUMN),
    ("Australia/Lord_Howe", date(2024, 4, 7)),  # back 30 minutes, 02:00 -> 01:30
    ("Australia/Lord_Howe", date(2024, 10, 6)),  # forward 30 minutes, 02:00 -> 02:30
    ("Australia/Adelaide", date(2024, 4, 7)),  # a half-hour offset: +10:30 -> +09:30
    ("America/Santiago", date(2024, 4, 6)),  # 24:00 -> 23:00: the evening repeats
    ("Africa/Cairo", date(2024, 10, 31)),  # 24:00 -> 23:00, a Thursday
]


@pytest.mark.parametrize(("zone", "day"), ZONES_AND_CHANGES)
@pytest.mark.parametrize("minutes", [30, 60, 90])
async def test_every_booking_on_a_change_day_lasts_its_service(
    zone: str, day: date, minutes: int
) -> None:
    tz = ZoneInfo(zone)
    cal, _ = calendar(datetime.combine(day - timedelta(days=2), time(), tz), zone)
    starts = slots.slots_for_day(
        day, cal.settings, [], cal.now(), service_min=minutes, presence_min=minutes
    )
    assert starts, "the day must offer slots"
    for start in starts:
        fresh, _ = calendar(datetime.combine(day - timedelta(days=2), time(), tz), zone)
        reply = await book(fresh, slot_key(start), minutes)
        assert reply["success"] is True, (start, reply)
        (appointment,) = fresh.appointments
        assert real_minutes(appointment.start, appointment.end) == minutes, start
        assert reply["appointment"]["duration_min"] == minutes, start


# ---------------------------------------------------------------- has it begun? (repeated hour)


def _give(cal: InMemoryCalendar, start: datetime, minutes: int, event_id: str) -> None:
    """An appointment staff entered for the contact (any instant, the second pass included),
    kept in the calendar's zone as the bot's own bookings are."""
    end = start + timedelta(minutes=minutes)
    tz = cal.settings.tz
    cal.memory.bookings[event_id] = Appointment(
        event_id, "ana", start.astimezone(tz), end.astimezone(tz)
    )


async def test_an_appointment_later_in_the_repeated_hour_is_still_upcoming() -> None:
    # Now is 02:40 summer time (00:40 UTC); the appointment is at 02:30 winter time (01:30 UTC),
    # 50 minutes ahead, though its wall time reads earlier.
    cal, _ = calendar(datetime(2024, 10, 27, 0, 40, tzinfo=UTC))
    _give(cal, datetime(2024, 10, 27, 1, 30, tzinfo=UTC), 30, "later")
    listed = await call(cal, "list_appointments", contact_id="ana")
    assert [a["event_id"] for a in listed] == ["later"]
    cancelled = await call(cal, "cancel_appointment", event_id="later", contact_id="ana")
    assert cancelled["success"] is True


async def test_an_appointment_earlier_in_the_repeated_hour_has_begun() -> None:
    # Now is 02:40 winter time (01:40 UTC); the appointment began at 02:50 summer time
    # (00:50 UTC), 50 minutes ago, though its wall time reads later.
    cal, _ = calendar(datetime(2024, 10, 27, 1, 40, tzinfo=UTC))
    _give(cal, datetime(2024, 10, 27, 0, 50, tzinfo=UTC), 120, "begun")
    assert await call(cal, "list_appointments", contact_id="ana") == []
    cancelled = await call(cal, "cancel_appointment", event_id="begun", contact_id="ana")
    assert (cancelled["success"], cancelled["reason"]) == (False, "not_found")
    assert [a.event_id for a in cal.appointments] == ["begun"]


async def test_appointments_are_listed_in_the_order_they_happen() -> None:
    cal, _ = calendar(datetime(2024, 10, 26, 9, 0, tzinfo=UTC))
    _give(cal, datetime(2024, 10, 27, 1, 10, tzinfo=UTC), 30, "second")  # 02:10 winter time
    _give(cal, datetime(2024, 10, 27, 0, 50, tzinfo=UTC), 30, "first")  # 02:50 summer time
    listed = await call(cal, "list_appointments", contact_id="ana")
    assert [a["event_id"] for a in listed] == ["first", "second"]
    assert [a.event_id for a in cal.appointments] == ["first", "second"]


async def test_moving_to_the_same_wall_time_in_the_other_pass_moves_it() -> None:
    # Staff put the appointment at 02:30 winter time; the contact picks the 02:30 slot the bot
    # offers, which is 02:30 summer time: an hour earlier, so it must move.
    cal, _ = calendar(datetime(2024, 10, 25, 9, 0, tzinfo=UTC))
    _give(cal, datetime(2024, 10, 27, 1, 30, tzinfo=UTC), 30, "staff")
    moved = await call(
        cal, "reschedule_appointment", event_id="staff", contact_id="ana", slot="2024-10-27_0230"
    )
    assert moved["success"] is True
    (appointment,) = cal.appointments
    assert appointment.start.astimezone(UTC) == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)


def test_an_event_ending_in_the_second_pass_is_not_read_as_ending_before_it_starts() -> None:
    start = datetime(2024, 10, 27, 2, 45, tzinfo=MADRID)  # summer time
    end = datetime(2024, 10, 27, 2, 15, fold=1, tzinfo=MADRID)  # winter time, 30 minutes later
    event = BusyEvent(start, end)
    assert event.span[1] - event.span[0] == 30 * 60 * 1_000_000
    with pytest.raises(ValueError, match="before start"):
        BusyEvent(end, start)


class StaffWritesMeanwhile(InMemoryCalendarStore):
    """Staff add an event after the bot read the day, before it writes: only the free/busy
    re-check right before the write (`busy_between`) sees it."""

    def __init__(self, late: BusyEvent) -> None:
        super().__init__()
        self.late = late

    async def busy_between(
        self, start: datetime, end: datetime, *, ignore: str | None = None
    ) -> list[BusyEvent]:
        return [*await super().busy_between(start, end, ignore=ignore), self.late]


async def test_the_recheck_before_a_write_compares_instants_in_the_repeated_hour() -> None:
    # The booking is 02:30 summer time + 60 minutes = 00:30-01:30 UTC. Staff took 02:10-02:40
    # winter time (01:10-01:40 UTC): 20 minutes of it. On the wall clock the two look disjoint.
    late = BusyEvent(
        datetime(2024, 10, 27, 2, 10, fold=1, tzinfo=MADRID),
        datetime(2024, 10, 27, 2, 40, fold=1, tzinfo=MADRID),
    )
    clock = FrozenClock(datetime(2024, 10, 25, 9, 0, tzinfo=UTC))
    config = MockCalendarSettings(timezone="Europe/Madrid", schedule=OPEN_ALL_DAY)
    service = CalendarService(config, StaffWritesMeanwhile(late), clock=clock)
    reply = await service.call(
        "book_appointment",
        {"slot": "2024-10-27_0230", "contact_id": "ana", "duration_min": 60},
        idempotency_key="book:late",
    )
    assert (reply["success"], reply["reason"]) == (False, "slot_taken")
