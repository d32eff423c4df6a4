"""CalDAV: staff edit a booking after the contact was shown it, before they act on it.

The contact lists their appointments (or is answered a booking), staff move it in their
calendar app, and the contact, still looking at the old time, cancels or moves it. Nothing may
be deleted or overwritten: the version the contact was shown is no longer the one stored.
Against a local Radicale (`calendar_fakes.CalDavServer`), so the ETags are a real server's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from calendar_fakes import USER, CalDavServer

from botfleet.adapters.connectors.calendar import caldav as caldav_adapter
from botfleet.adapters.connectors.calendar.service import CHANGED, CalendarService

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)  # Monday morning
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}


class StoppedClock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def bookings(caldav_server: CalDavServer) -> str:
    return caldav_server.make_calendar("Bookings")


@pytest.fixture
def calendar(caldav_server: CalDavServer, bookings: str) -> CalendarService:
    raw = {
        "url": caldav_server.url,
        "username": USER,
        "password": "secret",
        "schedule": SCHEDULE,
        "calendar_name": "Bookings",
    }
    return caldav_adapter.build(raw, timezone="Europe/Madrid", clock=StoppedClock())


async def call(connector: CalendarService, operation: str, key: str, **params: Any) -> Any:
    return await connector.call(operation, params, idempotency_key=key)


async def book(connector: CalendarService) -> str:
    reply = await call(
        connector, "book_appointment", "book", slot="2024-05-06_1000", contact_id="c1"
    )
    assert reply["success"] is True
    return str(reply["event_id"])


async def listed(connector: CalendarService) -> list[str]:
    items = await call(connector, "get_future_appointments", "list", contact_id="c1")
    return [item["title"] for item in items]


def staff_move(server: CalDavServer, calendar_url: str, uid: str, to: datetime) -> None:
    """Staff drag the event to `to` in their calendar app (its ETag changes)."""
    with server.staff() as client:
        resource = client.calendar(url=calendar_url).get_event_by_uid(uid)
        component = resource.icalendar_component
        for name, value in (("dtstart", to), ("dtend", to + timedelta(minutes=30))):
            component.pop(name, None)
            component.add(name, value.astimezone(UTC))
        resource.save()


async def test_a_cancel_after_staff_moved_the_listed_appointment_is_refused(
    caldav_server: CalDavServer, bookings: str, calendar: CalendarService
) -> None:
    uid = await book(calendar)
    assert await listed(calendar) == ["Mon 6 May · 10:00"]
    staff_move(caldav_server, bookings, uid, datetime(2024, 5, 6, 13, 0, tzinfo=MADRID))
    reply = await call(calendar, "cancel_event", "cancel", event_id=uid, contact_id="c1")
    assert reply == {"success": False, "reason": "changed", "message": CHANGED}
    assert caldav_server.sent("DELETE") == []
    assert await listed(calendar) == ["Mon 6 May · 13:00"]  # staff's version stays


async def test_a_move_after_staff_moved_the_listed_appointment_is_refused(
    caldav_server: CalDavServer, bookings: str, calendar: CalendarService
) -> None:
    uid = await book(calendar)
    await listed(calendar)
    staff_move(caldav_server, bookings, uid, datetime(2024, 5, 6, 11, 0, tzinfo=MADRID))
    puts_before = len(caldav_server.sent("PUT"))
    reply = await call(
        calendar, "reschedule_appointment", "move", event_id=uid, contact_id="c1",
        slot="2024-05-07_1200",
    )  # fmt: skip
    assert reply == {"success": False, "event_id": "", "reason": "changed", "message": CHANGED}
    assert len(caldav_server.sent("PUT")) == puts_before  # nothing written
    assert await listed(calendar) == ["Mon 6 May · 11:00"]


async def test_a_cancel_after_staff_moved_the_booking_just_answered_is_refused(
    caldav_server: CalDavServer, bookings: str, calendar: CalendarService
) -> None:
    uid = await book(calendar)  # the booking's answer told the contact 10:00
    staff_move(caldav_server, bookings, uid, datetime(2024, 5, 6, 12, 0, tzinfo=MADRID))
    reply = await call(calendar, "cancel_event", "cancel", event_id=uid, contact_id="c1")
    assert reply["message"] == CHANGED
    assert uid in caldav_server.uids(bookings)


async def test_after_listing_again_the_contact_can_cancel_the_new_version(
    caldav_server: CalDavServer, bookings: str, calendar: CalendarService
) -> None:
    uid = await book(calendar)
    await listed(calendar)
    staff_move(caldav_server, bookings, uid, datetime(2024, 5, 6, 13, 0, tzinfo=MADRID))
    assert (await call(calendar, "cancel_event", "c-1", event_id=uid, contact_id="c1"))[
        "success"
    ] is False
    assert await listed(calendar) == ["Mon 6 May · 13:00"]
    reply = await call(calendar, "cancel_event", "c-2", event_id=uid, contact_id="c1")
    assert reply["success"] is True
    (delete,) = caldav_server.sent("DELETE")
    assert delete.if_match  # still only the version read
    assert caldav_server.uids(bookings) == set()


async def test_the_bots_own_move_is_the_version_the_contact_then_cancels(
    caldav_server: CalDavServer, bookings: str, calendar: CalendarService
) -> None:
    uid = await book(calendar)
    await listed(calendar)
    moved = await call(
        calendar, "reschedule_appointment", "move", event_id=uid, contact_id="c1",
        slot="2024-05-07_1200",
    )  # fmt: skip
    assert moved["success"] is True
    reply = await call(calendar, "cancel_event", "cancel", event_id=uid, contact_id="c1")
    assert reply["success"] is True
    assert caldav_server.uids(bookings) == set()
