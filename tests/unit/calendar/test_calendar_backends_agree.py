"""The three calendar back ends answer "my appointments" alike, however far ahead staff booked.

Memory, Google (a local fake of the API, `calendar_fakes.FakeGoogleCalendar`) and CalDAV (a
local Radicale) get the same staff-made bookings and must list, and cancel, the same ones.
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
from botfleet.adapters.connectors.calendar.service import APPOINTMENTS_AHEAD_DAYS, CalendarService
from botfleet.adapters.connectors.calendar.store import EventGone
from botfleet.domain.calendar import Appointment

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}
CAL = "salon@group.calendar.google.com"
BACKENDS = ["memory", "google", "caldav"]


class StoppedClock:
    def now(self) -> datetime:
        return NOW


@dataclass
class Backend:
    connector: CalendarService
    add: Callable[[str, datetime], None]  # staff book c1 at that time, with that id


def appointment(uid: str, start: datetime) -> Appointment:
    return Appointment(uid, "c1", start, start + timedelta(minutes=30), service_key="haircut")


def make_backend(kind: str, request: pytest.FixtureRequest, **settings: Any) -> Backend:
    raw = {"schedule": SCHEDULE, **settings}
    clock = StoppedClock()
    if kind == "memory":
        mem = memory_adapter.build(raw, timezone="Europe/Madrid", clock=clock)

        def add_memory(uid: str, start: datetime) -> None:
            mem.memory.bookings[uid] = appointment(uid, start)

        return Backend(mem, add_memory)
    if kind == "google":
        api = FakeGoogleCalendar(CAL)
        google = google_adapter.build(
            {**raw, "calendar_id": CAL, "api_base_url": "http://127.0.0.1:8777/calendar/v3/"},
            timezone="Europe/Madrid",
            clock=clock,
            http=api,
        )

        def add_google(uid: str, start: datetime) -> None:
            body = wire.google_body(appointment(uid, start), MADRID, idempotency_key="")
            api.put({**body, "id": uid, "status": "confirmed"})

        return Backend(google, add_google)
    server: CalDavServer = request.getfixturevalue("caldav_server")
    url = server.make_calendar("Bookings")
    dav = caldav_adapter.build(
        {**raw, "url": server.url, "username": USER, "password": "x", "calendar_name": "Bookings"},
        timezone="Europe/Madrid",
        clock=clock,
    )

    def add_caldav(uid: str, start: datetime) -> None:
        text = wire.ical_text(appointment(uid, start), uid=uid, idempotency_key="", now=NOW)
        server.put_event(url, text)

    return Backend(dav, add_caldav)


async def call(connector: Any, operation: str, **params: Any) -> Any:
    return await connector.call(operation, params, idempotency_key=f"k-{operation}")


def days_ahead(days: int) -> datetime:
    return (NOW + timedelta(days=days)).replace(hour=11)


@pytest.mark.parametrize("kind", BACKENDS)
async def test_appointments_booked_beyond_the_horizon_are_listed_and_cancellable(
    kind: str, request: pytest.FixtureRequest
) -> None:
    backend = make_backend(kind, request)  # bookable horizon: 60 days (the default)
    backend.add("soon", days_ahead(10))
    backend.add("far", days_ahead(200))  # staff booked it, or the horizon was shortened since
    backend.add("next-year", days_ahead(APPOINTMENTS_AHEAD_DAYS + 30))
    listed = await call(backend.connector, "list_appointments", contact_id="c1")
    # A year ahead on every back end (CalDAV looked only to the horizon: "far" was missing).
    assert [a["event_id"] for a in listed] == ["soon", "far"]
    items = await call(backend.connector, "get_future_appointments", contact_id="c1")
    assert [i["id"] for i in items] == ["cancel_appt_soon", "cancel_appt_far"]
    cancelled = await call(backend.connector, "cancel_event", event_id="far", contact_id="c1")
    assert cancelled["success"] is True
    left = await call(backend.connector, "list_appointments", contact_id="c1")
    assert [a["event_id"] for a in left] == ["soon"]


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_horizon_longer_than_a_year_is_searched_whole(
    kind: str, request: pytest.FixtureRequest
) -> None:
    backend = make_backend(kind, request, lookahead_days_manual=500)
    backend.add("in-480-days", days_ahead(480))  # bookable by the bot itself
    listed = await call(backend.connector, "list_appointments", contact_id="c1")
    assert [a["event_id"] for a in listed] == ["in-480-days"]


async def test_the_memory_store_does_not_bring_back_a_booking_removed_meanwhile() -> None:
    store = memory_adapter.InMemoryCalendarStore()
    booked = await store.create(appointment("", days_ahead(3)), "k1")
    del store.bookings[booked.event_id]  # staff removed it
    with pytest.raises(EventGone):
        await store.move(booked, days_ahead(4), days_ahead(4) + timedelta(minutes=30))
    assert dict(store.bookings) == {}
