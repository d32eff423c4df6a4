"""A cancel repeated after its answer was lost is still a success, where the back end can know.

The calendar deleted the event, then the process died before the turn was committed: after a
restart the turn runs again, with the same idempotency key, and the connector's memory of
replies is gone. Memory (its own record of what it cancelled), Google (a local fake that keeps
deleted events with ``status: cancelled``, as Google does) and CalDAV (a local Radicale; the
server keeps nothing, so only within the process) are compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from calendar_fakes import USER, CalDavServer, FakeGoogleCalendar

from botfleet.adapters.connectors.calendar import caldav as caldav_adapter
from botfleet.adapters.connectors.calendar import events as wire
from botfleet.adapters.connectors.calendar import google as google_adapter
from botfleet.adapters.connectors.calendar import memory as memory_adapter
from botfleet.adapters.connectors.calendar.service import NOT_FOUND, CalendarService
from botfleet.domain.calendar import Appointment

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)  # Monday
AT = datetime(2024, 5, 7, 11, 0, tzinfo=MADRID)
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}
CAL = "salon@group.calendar.google.com"
CANCELLED = "Cancelled: Tue 7 May · 11:00 · haircut."
ALREADY = "That appointment was already cancelled: Tue 7 May · 11:00 · haircut."


class StoppedClock:
    def now(self) -> datetime:
        return NOW


@dataclass
class Backend:
    connector: CalendarService
    #: A new connector over the same calendar, as the data plane builds after a restart.
    restart: Callable[[], CalendarService]


def booking(uid: str = "b1") -> Appointment:
    return Appointment(uid, "c1", AT, AT + timedelta(minutes=30), service_key="haircut")


def memory_backend() -> Backend:
    mem = memory_adapter.build(
        {"schedule": SCHEDULE}, timezone="Europe/Madrid", clock=StoppedClock()
    )
    mem.memory.bookings["b1"] = booking()
    return Backend(mem, lambda: CalendarService(mem.settings, mem.memory, clock=StoppedClock()))


def google_backend(api: FakeGoogleCalendar | None = None) -> tuple[Backend, FakeGoogleCalendar]:
    api = api or FakeGoogleCalendar(CAL)
    api.put({**wire.google_body(booking(), MADRID, idempotency_key=""), "id": "b1"})

    def connect() -> CalendarService:
        raw = {
            "schedule": SCHEDULE,
            "calendar_id": CAL,
            "api_base_url": "http://127.0.0.1:9/calendar/v3/",
        }
        return google_adapter.build(raw, timezone="Europe/Madrid", clock=StoppedClock(), http=api)

    return Backend(connect(), connect), api


def caldav_backend(server: CalDavServer) -> Backend:
    url = server.make_calendar("Bookings")
    server.put_event(url, wire.ical_text(booking(), uid="b1", idempotency_key="", now=NOW))
    raw = {
        "schedule": SCHEDULE,
        "url": server.url,
        "username": USER,
        "password": "x",
        "calendar_name": "Bookings",
    }

    def connect() -> CalendarService:
        return caldav_adapter.build(raw, timezone="Europe/Madrid", clock=StoppedClock())

    return Backend(connect(), connect)


def make_backend(kind: str, request: pytest.FixtureRequest) -> Backend:
    if kind == "memory":
        return memory_backend()
    if kind == "google":
        return google_backend()[0]
    return caldav_backend(request.getfixturevalue("caldav_server"))


async def cancel(connector: CalendarService, key: str, contact: str = "c1") -> Any:
    params = {"event_id": "cancel_appt_b1", "contact_id": contact}
    return await connector.call("cancel_event", params, idempotency_key=key)


@pytest.mark.parametrize("kind", ["memory", "google", "caldav"])
async def test_a_cancel_repeated_in_the_same_process_is_a_success(
    kind: str, request: pytest.FixtureRequest
) -> None:
    backend = make_backend(kind, request)
    first = await cancel(backend.connector, "turn-1")
    assert first == {"success": True, "message": CANCELLED}
    # The same turn again: the reply remembered by its key.
    assert await cancel(backend.connector, "turn-1") == first
    # Another turn (an old button pressed again): still cancelled, and said so.
    assert await cancel(backend.connector, "turn-2") == {"success": True, "message": ALREADY}
    # Nobody else learns anything about the booking from its id.
    stranger = await cancel(backend.connector, "turn-3", contact="c2")
    assert stranger == {"success": False, "reason": "not_found", "message": NOT_FOUND}


@pytest.mark.parametrize(("kind", "after_restart"), [("memory", ALREADY), ("google", ALREADY)])
async def test_a_cancel_run_again_after_a_restart_is_a_success(
    kind: str, after_restart: str, request: pytest.FixtureRequest
) -> None:
    backend = make_backend(kind, request)
    assert (await cancel(backend.connector, "turn-1"))["success"] is True  # answer lost
    again = backend.restart()
    assert await cancel(again, "turn-1") == {"success": True, "message": after_restart}
    stranger = await cancel(again, "turn-2", contact="c2")
    assert stranger == {"success": False, "reason": "not_found", "message": NOT_FOUND}


async def test_on_caldav_a_cancel_run_again_after_a_restart_is_not_found(
    caldav_server: CalDavServer,
) -> None:
    # The server deleted the resource and keeps nothing of it: documented, and a flow treats
    # `not_found` like a success for the appointment's reminder.
    backend = caldav_backend(caldav_server)
    assert (await cancel(backend.connector, "turn-1"))["success"] is True
    again = await cancel(backend.restart(), "turn-1")
    assert again == {"success": False, "reason": "not_found", "message": NOT_FOUND}


async def test_a_cancel_of_a_cancelled_appointment_sends_no_second_delete() -> None:
    backend, api = google_backend()
    await cancel(backend.connector, "turn-1")
    await cancel(backend.restart(), "turn-1")
    assert len(api.sent("DELETE")) == 1
    assert api.events["b1"]["status"] == "cancelled"


async def test_on_google_an_appointment_staff_deleted_is_already_cancelled() -> None:
    # Google does not say who deleted an event: the contact's wish holds either way.
    backend, api = google_backend()
    api.staff_delete("b1")
    assert await cancel(backend.connector, "turn-1") == {"success": True, "message": ALREADY}
    assert api.sent("DELETE") == []


async def test_on_google_a_deleted_event_reduced_to_its_id_is_not_found() -> None:
    # Google guarantees only the id of a deleted event: nothing says whose booking it was.
    backend, api = google_backend()
    api.events["b1"] = {"id": "b1", "status": "cancelled", "etag": '"9"'}
    reply = await cancel(backend.connector, "turn-1")
    assert reply == {"success": False, "reason": "not_found", "message": NOT_FOUND}


async def test_on_google_an_event_staff_restored_is_cancelled_again() -> None:
    backend, api = google_backend()
    await cancel(backend.connector, "turn-1")
    api.staff_edit("b1", status="confirmed")  # restored from the bin
    assert await cancel(backend.connector, "turn-2") == {"success": True, "message": CANCELLED}
    assert len(api.sent("DELETE")) == 2
    assert api.live() == {}


async def test_in_memory_a_booking_staff_removed_is_not_found_and_a_restored_one_is_cancelled() -> (
    None
):
    backend = memory_backend()
    mem = backend.connector
    assert isinstance(mem, memory_adapter.InMemoryCalendar)
    del mem.memory.bookings["b1"]  # staff removed it: not a cancel the contact made
    assert (await cancel(mem, "turn-1"))["reason"] == "not_found"
    mem.memory.bookings["b1"] = booking()
    assert await cancel(mem, "turn-2") == {"success": True, "message": CANCELLED}
    mem.memory.bookings["b1"] = booking()  # back again after the bot's cancel
    assert await cancel(mem, "turn-3") == {"success": True, "message": CANCELLED}
    assert mem.appointments == ()


@pytest.mark.parametrize("kind", ["memory", "google"])
async def test_a_move_of_a_cancelled_appointment_is_still_not_found(
    kind: str, request: pytest.FixtureRequest
) -> None:
    backend = make_backend(kind, request)
    await cancel(backend.connector, "turn-1")
    params = {"event_id": "b1", "contact_id": "c1", "slot": "2024-05-07_1200"}
    moved = await backend.connector.call("reschedule_appointment", params, idempotency_key="m")
    assert moved == {"success": False, "event_id": "", "reason": "not_found", "message": NOT_FOUND}
