"""The `mock_calendar` connector: every operation, races, idempotent retries, bad params."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from botfleet.adapters.connectors.calendar import InMemoryCalendar, build, slots
from botfleet.adapters.connectors.calendar.memory import SLOT_TAKEN, InMemoryCalendarStore
from botfleet.domain.calendar import AllDayEvent, Appointment, BusyEvent
from botfleet.domain.errors import ConnectorRejected, UnknownOperation
from botfleet.ports.connectors import Connector

MADRID = ZoneInfo("Europe/Madrid")
SCHEDULE = {
    "mon": ["10:00-14:00", "17:00-19:00"],
    "tue": ["10:00-14:00"],
    "wed": ["10:00-14:00"],
}


class StoppedClock:
    """A clock that only moves when told (local to this module: no other test needs it)."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


def madrid(day: int, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2024, 1, day, hour, minute, tzinfo=MADRID)


def make(now: datetime | None = None, **settings: Any) -> tuple[InMemoryCalendar, StoppedClock]:
    clock = StoppedClock(now or madrid(5, "12:00"))  # Friday 5 Jan 2024
    raw: dict[str, Any] = {"type": "mock_calendar", "schedule": SCHEDULE}
    raw.update(settings)
    return build(raw, timezone="Europe/Madrid", clock=clock), clock


_keys = iter(range(1_000_000))


async def call(cal: InMemoryCalendar, operation: str, key: str | None = None, **params: Any) -> Any:
    return await cal.call(operation, params, idempotency_key=key or f"k{next(_keys)}")


async def book(cal: InMemoryCalendar, slot: str, contact: str = "c1", **params: Any) -> Any:
    return await call(
        cal, "book_appointment", slot=slot, contact_id=contact, service_key="corte", **params
    )


# ---------------------------------------------------------------- port shape


def test_it_is_a_calendar_connector_with_every_operation() -> None:
    cal, _ = make()
    connector: Connector = cal
    assert connector.category == "calendar"
    assert connector.operations() == {
        "get_available_days",
        "get_slots_for_day",
        "book_appointment",
        "get_future_appointments",
        "cancel_event",
        "list_appointments",
        "cancel_appointment",
        "reschedule_appointment",
    }


async def test_unknown_operation_lists_the_known_ones() -> None:
    cal, _ = make()
    with pytest.raises(UnknownOperation, match=r"no operation 'book'.*book_appointment"):
        await call(cal, "book")


def test_build_rejects_bad_settings() -> None:
    with pytest.raises(ValidationError, match=r"schedule\.mon"):
        build(
            {"schedule": {"mon": ["14:00-10:00"]}},
            timezone="UTC",
            clock=StoppedClock(madrid(5, "12:00")),
        )


# ---------------------------------------------------------------- reads


async def test_available_days_from_today_by_default() -> None:
    cal, _ = make()
    days = await call(cal, "get_available_days", lookahead_days="7")
    assert days == [
        {"id": "day_2024-01-08", "title": "Mon 8 Jan"},
        {"id": "day_2024-01-09", "title": "Tue 9 Jan"},
        {"id": "day_2024-01-10", "title": "Wed 10 Jan"},
    ]


async def test_available_days_default_lookahead_is_the_client_one() -> None:
    cal, _ = make(lookahead_days_client=4)
    days = await call(cal, "get_available_days", from_date="2024-01-05")
    assert [d["id"] for d in days] == ["day_2024-01-08"]


async def test_available_days_honour_durations_as_strings() -> None:
    cal, _ = make()
    # 5 hours of presence fit in no window.
    assert await call(cal, "get_available_days", presence_min="300") == []
    days = await call(
        cal,
        "get_available_days",
        from_date="2024-01-08",
        lookahead_days=1,
        service_duration_min="240",
        presence_min=240,
    )
    assert [d["id"] for d in days] == ["day_2024-01-08"]


async def test_slots_for_day_by_period() -> None:
    cal, _ = make()
    everything = await call(cal, "get_slots_for_day", date_str="2024-01-08", period="")
    morning = await call(cal, "get_slots_for_day", date_str="2024-01-08", period="morning")
    afternoon = await call(cal, "get_slots_for_day", date_str="day_2024-01-08", period="tarde")
    assert len(everything) == 12
    assert everything[0] == {"id": "hour_2024-01-08_1000", "title": "10:00"}
    assert [s["title"] for s in afternoon] == ["17:00", "17:30", "18:00", "18:30"]
    assert morning + afternoon == everything


async def test_seeded_busy_events_and_directives_apply() -> None:
    cal, _ = make(
        busy=[
            {"start": "2024-01-08T10:00", "end": "2024-01-08T11:00", "title": "dentist"},
            {"day": "2024-01-09", "title": "[CFG] CERRADO"},
            {"day": "2024-01-10", "title": "[CFG] HORARIO 12:00-13:00"},
        ]
    )
    monday = await call(cal, "get_slots_for_day", date_str="2024-01-08", period="morning")
    assert [s["title"] for s in monday][:2] == ["11:00", "11:30"]
    assert await call(cal, "get_slots_for_day", date_str="2024-01-09") == []
    wednesday = await call(cal, "get_slots_for_day", date_str="2024-01-10")
    assert [s["title"] for s in wednesday] == ["12:00", "12:30"]


async def test_events_added_later_are_seen() -> None:
    cal, _ = make()
    cal.add_event(
        AllDayEvent(madrid(8, "00:00").date(), madrid(9, "00:00").date(), "[CFG] VACACIONES")
    )
    cal.add_event(BusyEvent(madrid(9, "10:00"), madrid(9, "14:00")))
    days = await call(cal, "get_available_days", lookahead_days=7)
    assert [d["id"] for d in days] == ["day_2024-01-10"]


async def test_reads_follow_the_clock() -> None:
    cal, clock = make()
    clock.current = madrid(8, "13:10")
    slots = await call(cal, "get_slots_for_day", date_str="2024-01-08", period="morning")
    assert [s["title"] for s in slots] == ["13:30"]


# ---------------------------------------------------------------- booking


async def test_booking_takes_the_slot_and_reports_it() -> None:
    cal, _ = make()
    reply = await book(cal, "2024-01-08_1000", contact_name="Ana")
    assert reply["success"] is True
    assert reply["event_id"]
    assert "Mon 8 Jan · 10:00 · corte" in reply["message"]
    (appointment,) = cal.appointments
    assert appointment.contact_id == "c1"
    assert appointment.contact_name == "Ana"
    assert appointment.service_key == "corte"
    assert appointment.start == madrid(8, "10:00")
    assert appointment.end == madrid(8, "10:30")
    slots = await call(cal, "get_slots_for_day", date_str="2024-01-08", period="morning")
    assert "10:00" not in [s["title"] for s in slots]


async def test_booking_duration_blocks_following_slots() -> None:
    cal, _ = make()
    assert (await book(cal, "hour_2024-01-08_1000", duration_min="90"))["success"]
    assert cal.appointments[0].end == madrid(8, "11:30")
    slots = await call(cal, "get_slots_for_day", date_str="2024-01-08", period="morning")
    assert [s["title"] for s in slots][:2] == ["11:30", "12:00"]


@pytest.mark.parametrize(
    "slot",
    ["2024-01-07_1000", "2024-01-08_0600", "2024-01-05_1100"],  # a Sunday, before opening, past
)
async def test_a_time_that_cannot_be_booked_says_unavailable_not_taken(slot: str) -> None:
    cal, _ = make()
    reply = await book(cal, slot)
    assert (reply["success"], reply["reason"]) == (False, "unavailable")
    assert "not available" in reply["message"]
    assert len(cal.appointments) == 0


async def test_booking_an_occupied_slot_fails_clearly() -> None:
    cal, _ = make()
    await book(cal, "2024-01-08_1000", contact="c1")
    reply = await book(cal, "2024-01-08_1000", contact="c2")
    assert reply == {
        "success": False,
        "event_id": "",
        "reason": "slot_taken",
        "message": SLOT_TAKEN,
    }
    assert "slot was just taken" in reply["message"]
    assert len(cal.appointments) == 1


@pytest.mark.parametrize(
    "slot",
    [
        "2024-01-08_0930",  # before opening
        "2024-01-08_1015",  # off the grid
        "2024-01-06_1000",  # Saturday: closed
        "2024-01-05_1000",  # today, but already past
        "2025-06-02_1000",  # beyond the booking horizon
    ],
)
async def test_booking_outside_the_offer_is_refused(slot: str) -> None:
    cal, _ = make()
    reply = await book(cal, slot)
    assert reply["success"] is False
    assert "not available" in reply["message"]
    assert cal.appointments == ()


async def test_booking_respects_presence_before_closing() -> None:
    cal, _ = make()
    assert (await book(cal, "2024-01-08_1330", presence_min=60))["success"] is False
    assert (await book(cal, "2024-01-08_1330", presence_min=30))["success"] is True


async def test_two_contacts_racing_for_one_slot_get_one_booking() -> None:
    cal, _ = make()
    replies = await asyncio.gather(
        *(book(cal, "2024-01-08_1000", contact=f"c{i}") for i in range(5))
    )
    assert sum(r["success"] for r in replies) == 1
    assert all("slot was just taken" in r["message"] for r in replies if not r["success"])
    assert len(cal.appointments) == 1


async def test_a_retry_with_the_same_key_returns_the_first_booking() -> None:
    cal, _ = make()
    first = await call(cal, "book_appointment", "req-1", slot="2024-01-08_1000", contact_id="c1")
    again = await call(cal, "book_appointment", "req-1", slot="2024-01-08_1000", contact_id="c1")
    assert again == first
    assert again["success"] is True
    assert len(cal.appointments) == 1


async def test_concurrent_retries_with_one_key_book_once() -> None:
    cal, _ = make()
    replies = await asyncio.gather(
        *(
            call(cal, "book_appointment", "req-1", slot="2024-01-08_1000", contact_id="c1")
            for _ in range(3)
        )
    )
    assert all(r["success"] for r in replies)
    assert len({r["event_id"] for r in replies}) == 1
    assert len(cal.appointments) == 1


async def test_a_failed_booking_is_not_remembered() -> None:
    cal, _ = make()
    await book(cal, "2024-01-08_1000", contact="c1")
    failed = await call(cal, "book_appointment", "req-2", slot="2024-01-08_1000", contact_id="c2")
    assert failed["success"] is False
    event_id = cal.appointments[0].event_id
    await call(cal, "cancel_event", event_id=event_id, contact_id="c1")
    retried = await call(cal, "book_appointment", "req-2", slot="2024-01-08_1000", contact_id="c2")
    assert retried["success"] is True


async def test_min_notice_applies_to_bookings() -> None:
    cal, _ = make(now=madrid(8, "09:00"), min_notice_min=120)
    assert (await book(cal, "2024-01-08_1030"))["success"] is False
    assert (await book(cal, "2024-01-08_1100"))["success"] is True


# ---------------------------------------------------------------- listing and cancelling


async def test_future_appointments_are_the_contacts_own_upcoming_ones() -> None:
    cal, clock = make()
    await book(cal, "2024-01-09_1000", contact="c1")
    await book(cal, "2024-01-08_1000", contact="c1")
    await book(cal, "2024-01-08_1100", contact="c2")
    items = await call(cal, "get_future_appointments", contact_id="c1")
    assert [i["title"] for i in items] == ["Mon 8 Jan · 10:00 · corte", "Tue 9 Jan · 10:00 · corte"]
    assert all(i["id"].startswith("cancel_appt_") for i in items)
    clock.current = madrid(8, "10:05")
    later = await call(cal, "get_future_appointments", contact_id="c1")
    assert [i["title"] for i in later] == ["Tue 9 Jan · 10:00 · corte"]


async def test_list_appointments_is_structured() -> None:
    cal, _ = make()
    booked = await book(cal, "2024-01-08_1000", contact_name="Ana", service_name="Haircut")
    (record,) = await call(cal, "list_appointments", contact_id="c1")
    assert record["event_id"] == booked["event_id"]
    assert record["date"] == "2024-01-08"
    assert record["time"] == "10:00"
    assert record["service"] == "corte"
    assert record["contact_name"] == "Ana"
    assert record["title"] == "Mon 8 Jan · 10:00 · Haircut"
    assert await call(cal, "list_appointments", contact_id="c2") == []


@pytest.mark.parametrize(
    "services",
    [{"corte": {"name": "Haircut", "price": 18}}, {"corte": "Haircut"}],
    ids=["flow-table", "names"],
)
async def test_bookings_that_kept_only_the_key_are_named_from_services(
    services: dict[str, Any],
) -> None:
    cal, _ = make()
    await book(cal, "2024-01-08_1000")  # service "corte", no service_name
    await book(cal, "2024-01-08_1100", service_name="Corte largo")  # its own name wins
    await call(  # a key `services` does not know
        cal, "book_appointment", slot="2024-01-08_1200", contact_id="c1", service_key="tinte"
    )
    listed = await call(cal, "get_future_appointments", contact_id="c1", services=services)
    assert [i["title"] for i in listed] == [
        "Mon 8 Jan · 10:00 · Haircut",
        "Mon 8 Jan · 11:00 · Corte largo",
        "Mon 8 Jan · 12:00 · tinte",
    ]
    records = await call(cal, "list_appointments", contact_id="c1", services=services)
    assert [(r["service"], r["service_name"]) for r in records] == [
        ("corte", "Haircut"),
        ("corte", "Corte largo"),
        ("tinte", ""),
    ]
    plain = await call(cal, "get_future_appointments", contact_id="c1")
    assert plain[0]["title"] == "Mon 8 Jan · 10:00 · corte"


@pytest.mark.parametrize(
    ("services", "error"),
    [
        (["Haircut"], "'services' must be a mapping of service keys, got list"),
        ({"corte": {"price": 18}}, "'services' \\['corte'\\] needs a name"),
        ({"corte": 5}, "'services' \\['corte'\\] needs a name"),
    ],
)
async def test_services_that_name_nothing_are_refused(services: Any, error: str) -> None:
    cal, _ = make()
    with pytest.raises(ConnectorRejected, match=error):
        await call(cal, "list_appointments", contact_id="c1", services=services)


@pytest.mark.parametrize("operation", ["cancel_event", "cancel_appointment"])
async def test_a_contact_cancels_its_own_appointment(operation: str) -> None:
    cal, _ = make()
    booked = await book(cal, "2024-01-08_1000")
    reply = await call(
        cal, operation, event_id=f"cancel_appt_{booked['event_id']}", contact_id="c1"
    )
    assert reply["success"] is True
    assert "Mon 8 Jan · 10:00" in reply["message"]
    assert cal.appointments == ()
    assert (await book(cal, "2024-01-08_1000", contact="c2"))["success"] is True


@pytest.mark.parametrize("operation", ["cancel_event", "cancel_appointment"])
async def test_nobody_cancels_someone_elses_appointment(operation: str) -> None:
    cal, _ = make()
    booked = await book(cal, "2024-01-08_1000", contact="c1")
    stranger = await call(cal, operation, event_id=booked["event_id"], contact_id="c2")
    missing = await call(cal, operation, event_id="nope", contact_id="c2")
    assert {k: v for k, v in stranger.items() if k != "event_id"} == {
        "success": False,
        "reason": "not_found",
        "message": stranger["message"],
    }
    assert stranger == missing
    assert stranger["success"] is False
    assert len(cal.appointments) == 1


async def test_a_repeated_cancel_with_the_same_key_reports_the_first_success() -> None:
    cal, _ = make()
    booked = await book(cal, "2024-01-08_1000")
    params = {"event_id": booked["event_id"], "contact_id": "c1"}
    first = await cal.call("cancel_event", params, idempotency_key="x")
    again = await cal.call("cancel_event", params, idempotency_key="x")
    other_key = await cal.call("cancel_event", params, idempotency_key="y")
    assert first == again
    assert first == {"success": True, "message": "Cancelled: Mon 8 Jan · 10:00 · corte."}
    # Another turn cancelling it again: still cancelled, and said so (not "no such appointment").
    assert other_key == {
        "success": True,
        "message": "That appointment was already cancelled: Mon 8 Jan · 10:00 · corte.",
    }


async def test_an_appointment_that_has_begun_can_no_longer_be_cancelled_or_moved() -> None:
    # An old "cancel"/"move" button pressed during or after the visit must not erase the
    # salon's record of it (nor move it into the future): it is not an upcoming appointment.
    cal, clock = make()
    booked = await book(cal, "2024-01-08_1000", duration_min=60)
    mine = {"event_id": booked["event_id"], "contact_id": "c1"}
    clock.current = madrid(8, "10:15")  # the visit is under way
    assert await call(cal, "get_future_appointments", contact_id="c1") == []
    cancelled = await call(cal, "cancel_event", **mine)
    moved = await call(cal, "reschedule_appointment", **mine, slot="2024-01-09_1200")
    offered = await call(cal, "get_slots_for_day", **mine, date_str="2024-01-09")
    assert (cancelled["success"], cancelled["reason"]) == (False, "not_found")
    assert (moved["success"], moved["reason"]) == (False, "not_found")
    assert offered == []
    (kept,) = cal.appointments
    assert (kept.start, kept.end) == (madrid(8, "10:00"), madrid(8, "11:00"))
    clock.current = madrid(8, "09:59")  # until it begins, it is the contact's to change
    assert (await call(cal, "cancel_event", **mine))["success"] is True


# ---------------------------------------------------------------- rescheduling


async def test_reschedule_moves_the_appointment_and_keeps_its_id() -> None:
    cal, _ = make()
    booked = await book(cal, "2024-01-08_1000", duration_min=60)
    reply = await call(
        cal,
        "reschedule_appointment",
        event_id=booked["event_id"],
        contact_id="c1",
        slot="2024-01-09_1200",
    )
    assert reply["success"] is True
    assert reply["event_id"] == booked["event_id"]
    (moved,) = cal.appointments
    assert moved.start == madrid(9, "12:00")
    assert moved.end == madrid(9, "13:00")  # duration kept
    assert (await book(cal, "2024-01-08_1000", contact="c2"))["success"] is True


async def test_reschedule_may_overlap_the_appointments_own_old_time() -> None:
    cal, _ = make()
    booked = await book(cal, "2024-01-08_1000", duration_min=60)
    reply = await call(
        cal,
        "reschedule_appointment",
        event_id=booked["event_id"],
        contact_id="c1",
        slot="2024-01-08_1030",
    )
    assert reply["success"] is True
    assert cal.appointments[0].start == madrid(8, "10:30")


async def test_reschedule_to_a_taken_slot_changes_nothing() -> None:
    cal, _ = make()
    mine = await book(cal, "2024-01-08_1000", contact="c1")
    await book(cal, "2024-01-08_1100", contact="c2")
    reply = await call(
        cal,
        "reschedule_appointment",
        event_id=mine["event_id"],
        contact_id="c1",
        slot="2024-01-08_1100",
    )
    assert reply["success"] is False
    assert "slot was just taken" in reply["message"]
    assert [a.start for a in cal.appointments] == [madrid(8, "10:00"), madrid(8, "11:00")]


async def test_reschedule_of_someone_elses_appointment_is_refused() -> None:
    cal, _ = make()
    theirs = await book(cal, "2024-01-08_1000", contact="c2")
    reply = await call(
        cal,
        "reschedule_appointment",
        event_id=theirs["event_id"],
        contact_id="c1",
        slot="2024-01-09_1000",
    )
    assert reply["success"] is False
    assert cal.appointments[0].start == madrid(8, "10:00")


# ---------------------------------------------------------------- bad params


@pytest.mark.parametrize(
    ("operation", "params", "message"),
    [
        ("book_appointment", {"contact_id": "c1"}, "param 'slot' is required"),
        ("book_appointment", {"slot": "2024-01-08_1000"}, "param 'contact_id' is required"),
        (
            "book_appointment",
            {"slot": "tomorrow", "contact_id": "c1"},
            "param 'slot'.*YYYY-MM-DD_HHMM",
        ),
        ("get_slots_for_day", {}, "param 'date_str' is required"),
        ("get_slots_for_day", {"date_str": "2024-02-30"}, "param 'date_str'.*not a real"),
        ("get_slots_for_day", {"date_str": "2024-01-08", "period": "evening"}, "param 'period'"),
        (
            "get_slots_for_day",
            {"date_str": "2024-01-08", "period": "20-23"},
            "param 'period' must be a time range HH:MM-HH:MM .*got '20-23'",
        ),
        (
            "get_slots_for_day",
            {"date_str": "2024-01-08", "period": "25:00-26:00"},
            "param 'period' must be a time range .*got '25:00-26:00': .*not a valid time",
        ),
        (
            "get_slots_for_day",
            {"date_str": "2024-01-08", "period": "21:00-20:00"},
            "param 'period' .*starting before it ends, got '21:00-20:00'",
        ),
        ("get_available_days", {"from_date": "08/01/2024"}, "param 'from_date'"),
        ("get_available_days", {"lookahead_days": "two"}, "param 'lookahead_days' must be a whole"),
        (
            "get_available_days",
            {"service_duration_min": 0},
            "'service_duration_min' must be between",
        ),
        ("get_available_days", {"presence_min": 30.5}, "param 'presence_min' must be a whole"),
        ("get_available_days", {"presence_min": True}, "param 'presence_min' must be a whole"),
        ("get_future_appointments", {}, "param 'contact_id' is required"),
        ("cancel_event", {"contact_id": "c1"}, "param 'event_id' is required"),
        ("reschedule_appointment", {"event_id": "e", "contact_id": "c"}, "param 'slot'"),
    ],
)
async def test_bad_params_are_rejected_naming_the_param(
    operation: str, params: dict[str, Any], message: str
) -> None:
    cal, _ = make()
    with pytest.raises(ConnectorRejected, match=message) as caught:
        await cal.call(operation, params, idempotency_key="k")
    # The call itself is named once, by `connector_failed` (`calendar.get_slots_for_day:
    # rejected param 'date_str' ...`), not again in the message.
    assert f"calendar.{operation}" not in str(caught.value)
    assert caught.value.retryable is False


async def test_slot_in_a_dst_gap_is_not_bookable() -> None:
    clock_now = datetime(2024, 3, 29, 12, 0, tzinfo=UTC)
    cal, _ = make(now=clock_now, schedule={"sun": ["01:00-04:00"]})
    assert (await book(cal, "2024-03-31_0230"))["success"] is False
    assert (await book(cal, "2024-03-31_0300"))["success"] is True
    assert cal.appointments[0].start == datetime(2024, 3, 31, 1, 0, tzinfo=UTC)


async def test_appointment_times_are_stored_aware() -> None:
    cal, _ = make()
    await book(cal, "2024-01-08_1000")
    assert cal.appointments[0].start.utcoffset() == timedelta(hours=1)


# ---------------------------------------------------------------- moving an appointment (ours)


async def test_days_and_slots_for_moving_use_the_appointments_length_and_free_its_time() -> None:
    cal, _ = make()
    booked = await book(cal, "2024-01-08_1000", duration_min=120, contact="c1")
    await book(cal, "2024-01-08_1200", contact="c2", duration_min=60)
    mine = {"event_id": booked["event_id"], "contact_id": "c1"}
    monday = await call(cal, "get_slots_for_day", date_str="2024-01-08", period="morning", **mine)
    # 2 hours from 10:00 (its own time counts as free) and 13:00 would overlap c2 / the close.
    assert [s["title"] for s in monday] == ["10:00"]
    plain = await call(cal, "get_slots_for_day", date_str="2024-01-08", period="morning")
    assert [s["title"] for s in plain] == ["13:00", "13:30"]  # 30 min, its time is busy
    days = await call(cal, "get_available_days", lookahead_days=7, **mine)
    assert [d["id"] for d in days] == ["day_2024-01-08", "day_2024-01-09", "day_2024-01-10"]


async def test_moving_someone_elses_or_a_missing_appointment_offers_nothing() -> None:
    cal, _ = make()
    theirs = await book(cal, "2024-01-08_1000", contact="c2")
    stranger = {"event_id": theirs["event_id"], "contact_id": "c1"}
    assert await call(cal, "get_slots_for_day", date_str="2024-01-08", **stranger) == []
    assert await call(cal, "get_available_days", event_id="gone", contact_id="c1") == []


async def test_appointment_items_can_carry_another_id_prefix() -> None:
    cal, _ = make()
    booked = await book(cal, "2024-01-08_1000")
    items = await call(cal, "get_future_appointments", contact_id="c1", id_prefix="move_appt_")
    assert items == [
        {"id": f"move_appt_{booked['event_id']}", "title": "Mon 8 Jan · 10:00 · corte"}
    ]


async def test_write_replies_carry_the_appointment_record() -> None:
    cal, _ = make()
    booked = await book(cal, "2024-01-08_1000", service_name="Haircut")
    assert booked["appointment"]["start"] == "2024-01-08T10:00:00+01:00"
    assert booked["appointment"]["service_name"] == "Haircut"
    moved = await call(
        cal,
        "reschedule_appointment",
        event_id=booked["event_id"],
        contact_id="c1",
        slot="2024-01-08_1100",
    )
    assert moved["appointment"]["time"] == "11:00"


async def test_a_write_whose_caller_gave_up_still_completes_and_the_retry_gets_its_reply() -> None:
    cal, _ = make()
    store = cal.memory
    real_create = store.create
    entered = asyncio.Event()

    async def slow_create(appointment: Any, key: str) -> Any:
        entered.set()
        await asyncio.sleep(0.05)
        return await real_create(appointment, key)

    store.create = slow_create  # type: ignore[method-assign]
    params = {"slot": "2024-01-08_1000", "contact_id": "c1"}
    first = asyncio.create_task(cal.call("book_appointment", params, idempotency_key="req-1"))
    await entered.wait()
    first.cancel()  # the resilience layer's timeout
    with pytest.raises(asyncio.CancelledError):
        await first
    again = await cal.call("book_appointment", params, idempotency_key="req-1")
    assert again["success"] is True
    assert len(cal.appointments) == 1
    assert again["event_id"] == cal.appointments[0].event_id


async def test_a_write_queued_behind_another_completes_when_its_caller_gives_up() -> None:
    cal, _ = make()
    store = cal.memory
    real_create = store.create
    release = asyncio.Event()

    async def slow_create(appointment: Any, key: str) -> Any:
        if key == "req-1":
            await release.wait()
        return await real_create(appointment, key)

    store.create = slow_create  # type: ignore[method-assign]
    first = asyncio.create_task(book(cal, "2024-01-08_1000", key="req-1"))
    await asyncio.sleep(0)  # the first write holds the lock
    second = asyncio.create_task(book(cal, "2024-01-08_1100", key="req-2", contact="c2"))
    await asyncio.sleep(0)  # the second waits for the lock
    second.cancel()  # its caller gives up (the resilience layer's timeout)
    with pytest.raises(asyncio.CancelledError):
        await second
    release.set()
    assert (await first)["success"] is True
    for _ in range(5):
        await asyncio.sleep(0)
    assert [a.contact_id for a in cal.appointments] == ["c1", "c2"]  # the second was written
    again = await book(cal, "2024-01-08_1100", key="req-2", contact="c2")
    assert again["success"] is True and len(cal.appointments) == 2


# ---------------------------------------------------------------- the store's range index

_OPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["create", "delete", "move", "event", "drop", "recontact", "swap", "update", "pop"]
        ),
        st.integers(0, 30 * 24 * 4),  # start, in quarter hours from 2024-01-01
        st.integers(0, 4 * 12),  # length, in quarter hours
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(ops=_OPS, window=st.tuples(st.integers(0, 30 * 24 * 4), st.integers(0, 4 * 24 * 5)))
def test_range_queries_agree_with_a_scan_after_any_changes(
    ops: list[tuple[str, int, int]], window: tuple[int, int]
) -> None:
    """The store's indexes (busy spans by start, bookings by contact) after creates, moves,
    deletes and edits made outside the bot (the mapping and the event list changed directly)."""
    origin = datetime(2024, 1, 1, tzinfo=UTC)

    def at(quarters: int) -> datetime:
        return (origin + timedelta(minutes=15 * quarters)).astimezone(MADRID)

    store = InMemoryCalendarStore()

    async def run() -> None:
        for n, (op, start, length) in enumerate(ops):
            ids = sorted(store.bookings)
            if op == "create":
                new = Appointment("", f"c{n % 3}", at(start), at(start + length))
                await store.create(new, f"k{n}")
            elif op == "delete" and ids:
                await store.delete(ids[start % len(ids)])
            elif op == "move" and ids:
                moved = store.bookings[ids[start % len(ids)]]
                await store.move(moved, at(start), at(start + length))
            elif op == "event":
                store.events.append(BusyEvent(at(start), at(start + length), title="staff"))
            elif op == "drop" and ids:
                del store.bookings[ids[length % len(ids)]]  # edited outside the bot
            elif op == "recontact" and ids:  # the booking handed to another contact
                key = ids[start % len(ids)]
                store.bookings[key] = replace(store.bookings[key], contact_id=f"c{length % 3}")
            elif op == "swap" and store.events:  # a staff event replaced in place
                store.events[start % len(store.events)] = BusyEvent(
                    at(start), at(start + length), title="moved"
                )
            elif op == "update" and ids:
                key, longer = ids[start % len(ids)], timedelta(minutes=15 * length)
                edited = replace(store.bookings[key], end=store.bookings[key].start + longer)
                store.bookings.update({key: edited})
            elif op == "pop" and ids:
                store.bookings.popitem()
            low, high = at(window[0]), at(window[0] + window[1])
            busy = [e for e in store.events if isinstance(e, BusyEvent)]
            busy += [a.as_busy_event() for a in store.bookings.values()]
            expected = Counter(
                (e.start, e.end, e.event_id) for e in busy if e.end > low and e.start < high
            )
            found = await store.events_between(low, high)
            assert Counter((e.start, e.end, e.event_id) for e in found) == expected
            ignored = ids[0] if ids else None
            narrowed = await store.busy_between(low, high, ignore=ignored)
            assert Counter((e.start, e.end, e.event_id) for e in narrowed) == Counter(
                {k: v for k, v in expected.items() if ignored is None or k[2] != ignored}
            )
            for contact in ("c0", "c1", "c2"):
                mine = [
                    a for a in store.bookings.values() if a.contact_id == contact and a.end > low
                ]
                assert await store.appointments_from(contact, low) == mine

    asyncio.run(run())


def test_a_copy_of_the_bookings_has_its_own_indexes() -> None:
    store = InMemoryCalendarStore()
    start = madrid(8, "10:00")
    asyncio.run(store.create(Appointment("", "c1", start, start + timedelta(minutes=30)), "k1"))
    copied = store.bookings.copy()
    copied.clear()
    assert len(store.bookings) == 1
    found = asyncio.run(store.events_between(start, start + timedelta(hours=1)))
    assert [e.start for e in found] == [start]
    assert asyncio.run(store.appointments_from("c1", start))[0].start == start


# ---------------------------------------------------------------- memoised reads never go stale

_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["book", "cancel", "move", "staff", "edit", "time", "closed"]),
        st.integers(0, 10_000),
    ),
    min_size=1,
    max_size=15,
)


@settings(max_examples=60, deadline=None)
@given(steps=_STEPS)
def test_reads_after_any_change_match_a_cold_computation(steps: list[tuple[str, int]]) -> None:
    """Days and slots, asked after every write, staff edit and clock move, equal the answer
    computed with every memo emptied first (what a fresh process would say)."""
    cal, clock = make(madrid(8, "09:00"), slot_duration_min=30)

    async def reads() -> list[Any]:
        days = await call(cal, "get_available_days", lookahead_days="10", duration_min="60")
        found = [days]
        for day in ("2024-01-08", "2024-01-09", "2024-01-15"):
            for service, presence in (("30", "30"), ("60", "90")):
                found.append(
                    await call(
                        cal,
                        "get_slots_for_day",
                        date_str=day,
                        service_duration_min=service,
                        presence_min=presence,
                    )
                )
        return found

    async def run() -> None:
        await reads()  # warm the memos
        for n, (kind, pick) in enumerate(steps):
            if kind == "book":
                day = ("2024-01-08", "2024-01-09", "2024-01-15")[pick % 3]
                free = await call(cal, "get_slots_for_day", date_str=day)
                if free:
                    await book(cal, free[pick % len(free)]["id"], contact=f"c{pick % 2}")
            elif kind == "cancel" and cal.appointments:
                gone = cal.appointments[pick % len(cal.appointments)]
                await call(cal, "cancel_event", event_id=gone.event_id, contact_id=gone.contact_id)
            elif kind == "move" and cal.appointments:
                moved = cal.appointments[pick % len(cal.appointments)]
                await call(
                    cal,
                    "reschedule_appointment",
                    event_id=moved.event_id,
                    contact_id=moved.contact_id,
                    slot=f"2024-01-{9 + pick % 2:02d}_{10 + pick % 4:02d}00",
                )
            elif kind == "staff":
                start = madrid(8 + pick % 8, f"{9 + pick % 5}:{15 * (pick % 4):02d}")
                cal.add_event(BusyEvent(start, start + timedelta(minutes=15 + pick % 120)))
            elif kind == "edit" and cal.appointments:  # changed outside the bot
                edited = cal.appointments[pick % len(cal.appointments)]
                later = edited.start + timedelta(minutes=15 * (pick % 5))
                cal.memory.bookings[edited.event_id] = replace(
                    edited, start=later, end=later + timedelta(minutes=45)
                )
            elif kind == "time":
                clock.current += timedelta(minutes=pick % 600)
            elif kind == "closed":
                day = madrid(8 + pick % 8, "00:00").date()
                cal.add_event(AllDayEvent(day, day + timedelta(days=1), title=f"[CFG] CERRADO {n}"))
            warm = await reads()
            slots._day_slots.cache_clear()
            slots._day_frame.cache_clear()
            assert await reads() == warm

    asyncio.run(run())


def test_cancelled_bookings_leave_no_idempotency_key_behind() -> None:
    """A long-running demo books and cancels all day: the store must not keep an entry per
    booking ever cancelled (found by bench/soak.py). The cancelled ones it remembers on
    purpose are bounded (`cancelled.REMEMBERED_CANCELLED`)."""
    store = InMemoryCalendarStore()
    start = madrid(8, "10:00")

    async def book_and_cancel(n: int) -> None:
        slot = start + timedelta(minutes=30 * (n % 8))
        booked = await store.create(
            Appointment("", f"c{n}", slot, slot + timedelta(minutes=30)), f"k{n}"
        )
        assert await store.booking_for_key(f"k{n}") == booked
        assert await store.delete(booked.event_id)
        assert await store.booking_for_key(f"k{n}") is None
        assert await store.cancelled(booked.event_id) == booked

    async def run() -> None:
        for n in range(200):
            await book_and_cancel(n)

    asyncio.run(run())
    assert store._keys == {}  # the index that grew by one entry per cancelled booking
    assert store._key_of == {}
