"""CalDAV: someone else's edit in the middle of an operation, and a calendar that moved.

Against a local Radicale (`calendar_fakes.CalDavServer`): staff edits run right before the
bot's request reaches the server, so the 412 and 404 answers are the server's own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import structlog
from calendar_fakes import USER, CalDavServer

from botfleet.adapters.connectors.calendar import caldav as caldav_adapter
from botfleet.adapters.connectors.calendar import events as wire
from botfleet.adapters.connectors.calendar.service import CHANGED, NOT_FOUND, CalendarService
from botfleet.adapters.connectors.calendar.store import CalendarNotFound
from botfleet.adapters.connectors.policy import ResiliencePolicy
from botfleet.data_plane.resilience import ResilientConnector
from botfleet.data_plane.resilience.breaker import BreakerState
from botfleet.domain.calendar import Appointment
from botfleet.domain.errors import ConnectorRejected

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)  # Monday morning
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}


class StoppedClock:
    def now(self) -> datetime:
        return NOW


def connect(server: CalDavServer, **settings: Any) -> CalendarService:
    raw = {"url": server.url, "username": USER, "password": "secret", "schedule": SCHEDULE}
    return caldav_adapter.build({**raw, **settings}, timezone="Europe/Madrid", clock=StoppedClock())


def resilient(connector: CalendarService) -> ResilientConnector:
    return ResilientConnector(
        connector, ResiliencePolicy(max_attempts=3, failure_threshold=1, backoff_initial_s=0.01)
    )


async def call(connector: Any, operation: str, key: str = "", **params: Any) -> Any:
    return await connector.call(operation, params, idempotency_key=key or f"k-{id(params)}")


def staff_booking(uid: str, start: datetime, contact: str = "c1") -> str:
    """A booking for `contact` as staff would write it (same properties as the bot's)."""
    appointment = Appointment(uid, contact, start, start + timedelta(minutes=30))
    return wire.ical_text(appointment, uid=uid, idempotency_key="", now=NOW)


@pytest.fixture
def bookings(caldav_server: CalDavServer) -> str:
    """The calendar "Bookings"; returns its URL."""
    return caldav_server.make_calendar("Bookings")


async def booked(connector: Any, slot: str = "2024-05-06_1000") -> str:
    reply = await call(connector, "book_appointment", f"book-{slot}", slot=slot, contact_id="c1")
    assert reply["success"] is True
    return str(reply["event_id"])


# ---------------------------------------------------------------- edits in the middle


async def test_a_move_refused_412_after_a_staff_edit_says_it_changed(
    caldav_server: CalDavServer, bookings: str
) -> None:
    calendar = resilient(connect(caldav_server, calendar_name="Bookings"))
    event_id = await booked(calendar)
    caldav_server.before_next("PUT", lambda: caldav_server.edit_event(bookings, event_id, "Ana*"))
    reply = await call(
        calendar, "reschedule_appointment", event_id=event_id, contact_id="c1",
        slot="2024-05-07_1100",
    )  # fmt: skip
    # The flow's "appointment gone" path (empty event_id), not "calendar unavailable".
    assert reply == {"success": False, "event_id": "", "reason": "changed", "message": CHANGED}
    puts = caldav_server.sent("PUT")
    assert len(puts) == 2  # the booking, then one conditional move: never retried
    assert puts[-1].if_match  # only the version that was read may be overwritten
    assert calendar.breaker.state is BreakerState.CLOSED
    kept = await call(calendar, "list_appointments", contact_id="c1")
    assert [a["start"] for a in kept] == ["2024-05-06T10:00:00+02:00"]  # staff's version stays


async def test_a_cancel_refused_412_after_a_staff_edit_says_it_changed(
    caldav_server: CalDavServer, bookings: str
) -> None:
    calendar = resilient(connect(caldav_server, calendar_name="Bookings"))
    event_id = await booked(calendar)
    caldav_server.before_next(
        "DELETE", lambda: caldav_server.edit_event(bookings, event_id, "Ana, moved by phone")
    )
    reply = await call(calendar, "cancel_event", event_id=event_id, contact_id="c1")
    assert reply == {"success": False, "reason": "changed", "message": CHANGED}
    (delete,) = caldav_server.sent("DELETE")
    assert delete.if_match
    assert event_id in caldav_server.uids(bookings)  # nothing was deleted
    assert calendar.breaker.state is BreakerState.CLOSED


async def test_an_event_deleted_just_before_the_bots_delete_is_not_found(
    caldav_server: CalDavServer, bookings: str
) -> None:
    calendar = resilient(connect(caldav_server, calendar_name="Bookings"))
    event_id = await booked(calendar)
    caldav_server.before_next("DELETE", lambda: caldav_server.delete_event(bookings, event_id))
    reply = await call(calendar, "cancel_event", event_id=event_id, contact_id="c1")
    assert reply == {"success": False, "reason": "not_found", "message": NOT_FOUND}
    assert calendar.breaker.state is BreakerState.CLOSED


async def test_an_event_deleted_just_before_the_bots_move_is_refused_not_failed(
    caldav_server: CalDavServer, bookings: str
) -> None:
    calendar = resilient(connect(caldav_server, calendar_name="Bookings"))
    event_id = await booked(calendar)
    caldav_server.before_next("PUT", lambda: caldav_server.delete_event(bookings, event_id))
    reply = await call(
        calendar, "reschedule_appointment", event_id=event_id, contact_id="c1",
        slot="2024-05-07_1100",
    )  # fmt: skip
    # If-Match on a resource that no longer exists is a 412 too: "changed or cancelled".
    assert reply == {"success": False, "event_id": "", "reason": "changed", "message": CHANGED}
    assert caldav_server.uids(bookings) == set()  # not written back
    assert calendar.breaker.state is BreakerState.CLOSED


async def test_an_event_deleted_after_listing_is_not_found_and_nothing_is_deleted(
    caldav_server: CalDavServer, bookings: str
) -> None:
    calendar = connect(caldav_server, calendar_name="Bookings")
    event_id = await booked(calendar)
    listed = await call(calendar, "get_future_appointments", contact_id="c1")
    assert [i["id"] for i in listed] == [f"cancel_appt_{event_id}"]
    caldav_server.delete_event(bookings, event_id)
    reply = await call(calendar, "cancel_event", event_id=listed[0]["id"], contact_id="c1")
    assert reply == {"success": False, "reason": "not_found", "message": NOT_FOUND}
    assert caldav_server.sent("DELETE") == []


# ---------------------------------------------------------------- the calendar's address


async def test_a_calendar_recreated_elsewhere_is_found_again_once(
    caldav_server: CalDavServer, bookings: str
) -> None:
    calendar = connect(caldav_server, calendar_name="Bookings")
    await call(calendar, "get_future_appointments", contact_id="c1")  # found and remembered
    caldav_server.delete_calendar(bookings)
    moved = caldav_server.make_calendar("Bookings")
    assert moved != bookings
    caldav_server.put_event(
        moved, staff_booking("staff-1", datetime(2024, 5, 7, 11, tzinfo=MADRID))
    )
    caldav_server.requests.clear()

    with structlog.testing.capture_logs() as logs:
        items = await call(calendar, "get_future_appointments", contact_id="c1")
    assert [i["id"] for i in items] == ["cancel_appt_staff-1"]
    sent = [(s.method, s.path) for s in caldav_server.requests]
    old, new = (
        bookings.removeprefix(caldav_server.url[:-1]),
        moved.removeprefix(caldav_server.url[:-1]),
    )
    assert sent[0] == ("REPORT", old)  # the remembered address answers 404...
    assert ("PROPFIND", "/") in sent  # ...so the calendar is looked up again...
    assert sent[-1] == ("REPORT", new)  # ...and the search repeated there
    assert [e["event"] for e in logs] == ["caldav_calendar_rediscovered"]

    caldav_server.requests.clear()
    await call(calendar, "cancel_event", event_id="staff-1", contact_id="c1")
    assert caldav_server.sent("PROPFIND") == []  # remembered again: no lookup per call
    assert all(s.path.startswith(new) for s in caldav_server.requests)


async def test_a_calendar_deleted_for_good_is_a_configuration_error(
    caldav_server: CalDavServer, bookings: str
) -> None:
    calendar = resilient(connect(caldav_server, calendar_name="Bookings"))
    event_id = await booked(calendar)
    caldav_server.delete_calendar(bookings)
    # Not "no such appointment": the contact's appointment is not the problem.
    with pytest.raises(ConnectorRejected, match=r"no CalDAV calendar named 'Bookings'") as raised:
        await call(calendar, "cancel_event", event_id=event_id, contact_id="c1")
    assert raised.value.retryable is False
    assert calendar.breaker.state is BreakerState.CLOSED


async def test_a_dead_calendar_id_names_the_setting_and_is_not_looked_up(
    caldav_server: CalDavServer, bookings: str
) -> None:
    path = bookings.removeprefix(caldav_server.url)
    # Behind the resilience layer, as served: it writes `calendar_not_found`, naming the binding.
    calendar = resilient(connect(caldav_server, calendar_id=path))
    await call(calendar, "get_future_appointments", contact_id="c1")
    caldav_server.delete_calendar(bookings)
    caldav_server.requests.clear()
    with structlog.testing.capture_logs() as logs, pytest.raises(CalendarNotFound) as raised:
        await call(calendar, "cancel_event", event_id="bf123", contact_id="c1")
    assert "check the calendar_id setting" in str(raised.value)
    assert path not in str(raised.value)  # messages carry no addresses
    assert caldav_server.sent("PROPFIND") == []  # a calendar_id is the address: nothing to find
    (logged,) = [e for e in logs if e["event"] == "calendar_not_found"]
    assert (logged["setting"], logged["calendar_id"], logged["connector"], logged["type"]) == (
        "calendar_id",
        path,
        "calendar",
        "caldav",
    )
