"""Calendar events on the wire: booking metadata, Google Calendar JSON and iCalendar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import icalendar

from botfleet.adapters.connectors.calendar import events as wire
from botfleet.domain.calendar import AllDayEvent, Appointment, BusyEvent

MADRID = ZoneInfo("Europe/Madrid")
BOOKING = Appointment(
    event_id="",
    contact_id="+34 600 111 222",
    start=datetime(2024, 1, 8, 10, tzinfo=MADRID),
    end=datetime(2024, 1, 8, 10, 30, tzinfo=MADRID),
    service_key="haircut",
    contact_name='Ana María; "La Jefa",\nDe León',
    service_name="Haircut",
)


def test_the_description_is_readable_and_parses_back() -> None:
    text = wire.description(BOOKING)
    assert "[botfleet]" in text
    assert wire.parse_description(text) == {
        "contact_id": "+34 600 111 222",
        "contact_name": 'Ana María; "La Jefa", De León',  # one line
        "service_key": "haircut",
        "service_name": "Haircut",
    }
    staff_notes = "Allergic to dye.\n\n" + text.replace("\n", "\r\n") + "\n\nnotes: call first"
    assert wire.parse_description(staff_notes)["service_key"] == "haircut"
    assert wire.parse_description("Dentist at 10") == {}


def test_event_ids_come_from_idempotency_keys() -> None:
    assert wire.event_id_for_key("t:c:m1/s:BOOK/0") == wire.event_id_for_key("t:c:m1/s:BOOK/0")
    assert wire.event_id_for_key("a") != wire.event_id_for_key("b")
    event_id = wire.event_id_for_key("t:+34600:msg")
    assert set(event_id) <= set("0123456789abcdefghijklmnopqrstuv")  # Google's base32hex
    assert "+34600" not in event_id
    assert wire.new_event_id() != wire.new_event_id()


# ---------------------------------------------------------------- Google


def test_google_body_carries_the_booking_twice() -> None:
    body = wire.google_body(BOOKING, MADRID, idempotency_key="req-1")
    assert body["id"] == wire.event_id_for_key("req-1")
    assert body["start"] == {"dateTime": "2024-01-08T10:00:00+01:00", "timeZone": "Europe/Madrid"}
    private = body["extendedProperties"]["private"]
    assert private["botfleet_contact_id"] == "+34 600 111 222"
    assert private["botfleet_idempotency"] == wire.idempotency_tag("req-1")
    parsed = wire.google_appointment({**body, "status": "confirmed"}, MADRID)
    assert parsed is not None
    assert (parsed.contact_id, parsed.service_key, parsed.start) == (
        BOOKING.contact_id,
        "haircut",
        BOOKING.start,
    )


def test_google_body_without_a_key_has_a_fresh_id_and_no_tag() -> None:
    body = wire.google_body(BOOKING, MADRID, idempotency_key="")
    assert body["id"].startswith("bf")
    assert "botfleet_idempotency" not in body["extendedProperties"]["private"]


def test_google_items_become_slot_rule_events() -> None:
    timed = {
        "id": "a",
        "summary": "Dentist",
        "start": {"dateTime": "2024-01-08T09:00:00Z"},
        "end": {"dateTime": "2024-01-08T10:00:00Z"},
    }
    assert wire.google_event(timed, MADRID) == BusyEvent(
        datetime(2024, 1, 8, 9, tzinfo=UTC), datetime(2024, 1, 8, 10, tzinfo=UTC), "Dentist", "a"
    )
    all_day = {"id": "h", "summary": "[CFG] CERRADO", "start": {"date": "2024-01-08"},
               "end": {"date": "2024-01-09"}}  # fmt: skip
    assert wire.google_event(all_day, MADRID) == AllDayEvent(
        date(2024, 1, 8), date(2024, 1, 9), "[CFG] CERRADO", "h"
    )
    assert wire.google_event({**timed, "status": "cancelled"}, MADRID) is None
    assert wire.google_event({**timed, "transparency": "transparent"}, MADRID) is None
    assert wire.google_appointment(timed, MADRID) is None  # not a booking
    described = {**timed, "description": wire.description(BOOKING)}
    booking = wire.google_appointment(described, MADRID)
    assert booking is not None and booking.contact_id == BOOKING.contact_id


# ---------------------------------------------------------------- iCalendar


def test_ical_text_round_trips_through_icalendar() -> None:
    now = datetime(2024, 1, 5, 12, tzinfo=UTC)
    text = wire.ical_text(BOOKING, uid="bf123", idempotency_key="req-1", now=now)
    (component,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert "DTSTART:20240108T090000Z" in text  # UTC: no VTIMEZONE needed
    assert wire.ical_idempotency(component) == wire.idempotency_tag("req-1")
    parsed = wire.ical_appointment(component, MADRID)
    assert parsed == Appointment(
        event_id="bf123",
        contact_id=BOOKING.contact_id,
        start=BOOKING.start,
        end=BOOKING.end,
        service_key="haircut",
        contact_name='Ana María; "La Jefa", De León',
        service_name="Haircut",
    )


def vevent(lines: str) -> icalendar.cal.Component:
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:x\r\n"
    text = f"{head}{lines}END:VEVENT\r\nEND:VCALENDAR\r\n"
    (component,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    return component


def test_ical_times_in_every_form() -> None:
    floating = vevent("DTSTART:20240108T100000\r\nDURATION:PT45M\r\n")
    assert wire.ical_event(floating, MADRID) == BusyEvent(
        datetime(2024, 1, 8, 10, tzinfo=MADRID),
        datetime(2024, 1, 8, 10, 45, tzinfo=MADRID),
        "",
        "x",
    )
    one_day = vevent("DTSTART;VALUE=DATE:20240108\r\nSUMMARY:[CFG] VACACIONES\r\n")
    assert wire.ical_event(one_day, MADRID) == AllDayEvent(
        date(2024, 1, 8), date(2024, 1, 9), "[CFG] VACACIONES", "x"
    )
    free = vevent("DTSTART:20240108T100000Z\r\nDTEND:20240108T110000Z\r\nTRANSP:TRANSPARENT\r\n")
    assert wire.ical_event(free, MADRID) is None
    cancelled = vevent("DTSTART:20240108T100000Z\r\nDTEND:20240108T110000Z\r\nSTATUS:CANCELLED\r\n")
    assert wire.ical_event(cancelled, MADRID) is None


def test_a_booking_staff_marked_free_is_still_the_contacts_appointment() -> None:
    # Salons mark a booking "free" (transparent) to fit another client in during a colour's
    # processing time: it stops blocking slots, but the client must still see and cancel it.
    body = {**wire.google_body(BOOKING, MADRID, idempotency_key="req-1"), "status": "confirmed"}
    free = {**body, "transparency": "transparent"}
    assert wire.google_event(free, MADRID) is None  # blocks nothing
    google = wire.google_appointment(free, MADRID)
    assert google is not None and (google.contact_id, google.start) == (
        BOOKING.contact_id,
        BOOKING.start,
    )
    assert wire.google_appointment({**free, "status": "cancelled"}, MADRID) is None

    text = wire.ical_text(BOOKING, uid="bf1", idempotency_key="", now=BOOKING.start)
    text = text.replace("TRANSP:OPAQUE", "TRANSP:TRANSPARENT")
    (component,) = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert wire.ical_event(component, MADRID) is None
    ical = wire.ical_appointment(component, MADRID)
    assert ical is not None and (ical.contact_id, ical.start) == (BOOKING.contact_id, BOOKING.start)


def test_an_event_ending_before_it_starts_blocks_the_time_between() -> None:
    """A CalDAV server may keep one (or a negative DURATION); refused, it failed every read of
    the calendar, so nobody could book."""
    nine, ten = datetime(2024, 1, 8, 9, tzinfo=MADRID), datetime(2024, 1, 8, 10, tzinfo=MADRID)
    inverted = vevent("DTSTART:20240108T100000\r\nDTEND:20240108T090000\r\nSUMMARY:Staff\r\n")
    assert wire.ical_event(inverted, MADRID) == BusyEvent(nine, ten, "Staff", "x")
    negative = vevent("DTSTART:20240108T100000\r\nDURATION:-PT1H\r\n")
    assert wire.ical_event(negative, MADRID) == BusyEvent(nine, ten, "", "x")
    backwards = {
        "id": "b",
        "start": {"dateTime": "2024-01-08T10:00:00+01:00"},
        "end": {"dateTime": "2024-01-08T09:00:00+01:00"},
    }
    event = wire.google_event(backwards, MADRID)
    assert isinstance(event, BusyEvent)
    assert (event.start, event.end) == (nine, ten)
