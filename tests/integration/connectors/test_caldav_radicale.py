"""The CalDAV adapter against a real Radicale server: every operation, races, retries, errors."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from caldav.davclient import DAVClient
from prometheus_client import CollectorRegistry

from botfleet.adapters.connectors.calendar import caldav as caldav_adapter
from botfleet.adapters.connectors.calendar import events as wire
from botfleet.adapters.connectors.calendar.service import (
    NOT_FOUND,
    SLOT_TAKEN,
    CalendarService,
)
from botfleet.adapters.connectors.policy import ResiliencePolicy
from botfleet.data_plane.resilience import ConnectorMetrics, ResilientConnector
from botfleet.domain.errors import ConnectorRejected, ConnectorUnavailable

MADRID = ZoneInfo("Europe/Madrid")
MONDAY = "2024-05-06"
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}
USER = "salon"


class StoppedClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


def connect(url: str, name: str, **settings: Any) -> CalendarService:
    raw = {
        "url": url,
        "username": USER,
        "password": "secret",
        "calendar_name": name,
        "schedule": SCHEDULE,
        **settings,
    }
    clock = StoppedClock(datetime(2024, 5, 6, 9, 0, tzinfo=MADRID))  # Monday morning
    return caldav_adapter.build(raw, timezone="Europe/Madrid", clock=clock)


def server_events(url: str, name: str) -> list[Any]:
    """Every VEVENT stored in the calendar, read straight from the server."""
    with DAVClient(url=url, username=USER, password="x", auth_type="basic") as client:
        calendar = next(c for c in client.principal().calendars() if c.get_display_name() == name)
        return [c for item in calendar.events() for c in item.icalendar_instance.walk("VEVENT")]


def add_server_event(url: str, name: str, ics_event: str) -> None:
    """Add an event as staff would in their calendar app."""
    text = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{ics_event}END:VCALENDAR\r\n"
    with DAVClient(url=url, username=USER, password="x", auth_type="basic") as client:
        calendar = next(c for c in client.principal().calendars() if c.get_display_name() == name)
        calendar.add_event(text)


async def call(connector: Any, operation: str, key: str = "", **params: Any) -> Any:
    return await connector.call(operation, params, idempotency_key=key or f"k-{id(params)}")


async def book(connector: Any, slot: str, contact: str = "c1", key: str = "", **extra: Any) -> Any:
    params = {"slot": slot, "contact_id": contact, "service_key": "haircut", **extra}
    return await call(connector, "book_appointment", key or f"book-{contact}-{slot}", **params)


# ---------------------------------------------------------------- the operations


async def test_booking_listing_rescheduling_and_cancelling(
    radicale_url: str, calendar_name: str
) -> None:
    calendar = connect(radicale_url, calendar_name)
    days = await call(calendar, "get_available_days", from_date=MONDAY, lookahead_days=2)
    assert [d["id"] for d in days] == ["day_2024-05-06", "day_2024-05-07"]

    booked = await book(calendar, f"{MONDAY}_1000", contact_name="Ana", service_name="Haircut")
    assert booked["success"] is True
    (stored,) = server_events(radicale_url, calendar_name)
    assert str(stored["uid"]) == booked["event_id"]
    assert str(stored["x-botfleet-contact-id"]) == "c1"
    assert str(stored["x-botfleet-service-key"]) == "haircut"
    assert wire.parse_description(str(stored["description"]))["contact_name"] == "Ana"
    assert stored.decoded("dtstart") == datetime(2024, 5, 6, 10, 0, tzinfo=MADRID)

    slots = await call(calendar, "get_slots_for_day", date_str=MONDAY, period="morning")
    assert "10:00" not in [s["title"] for s in slots]
    (record,) = await call(calendar, "list_appointments", contact_id="c1")
    assert (record["event_id"], record["time"], record["title"]) == (
        booked["event_id"],
        "10:00",
        "Mon 6 May · 10:00 · Haircut",
    )
    assert await call(calendar, "get_future_appointments", contact_id="someone-else") == []

    moved = await call(
        calendar,
        "reschedule_appointment",
        event_id=booked["event_id"],
        contact_id="c1",
        slot="2024-05-07_1200",
    )
    assert moved["success"] is True
    assert moved["event_id"] == booked["event_id"]
    (stored,) = server_events(radicale_url, calendar_name)
    assert stored.decoded("dtstart") == datetime(2024, 5, 7, 12, 0, tzinfo=MADRID)
    assert stored.decoded("dtend") == datetime(2024, 5, 7, 12, 30, tzinfo=MADRID)

    items = await call(calendar, "get_future_appointments", contact_id="c1", id_prefix="move_")
    assert items == [{"id": f"move_{booked['event_id']}", "title": "Tue 7 May · 12:00 · Haircut"}]
    stranger = await call(calendar, "cancel_event", event_id=booked["event_id"], contact_id="c2")
    assert stranger == {"success": False, "reason": "not_found", "message": NOT_FOUND}
    cancelled = await call(
        calendar, "cancel_event", event_id=f"cancel_appt_{booked['event_id']}", contact_id="c1"
    )
    assert cancelled["success"] is True
    assert server_events(radicale_url, calendar_name) == []


async def test_staff_events_and_directives_shape_the_offer(
    radicale_url: str, calendar_name: str
) -> None:
    add_server_event(
        radicale_url,
        calendar_name,
        "BEGIN:VEVENT\r\nUID:lunch\r\nDTSTAMP:20240101T000000Z\r\n"
        "DTSTART;TZID=Europe/Madrid:20240429T120000\r\n"
        "DTEND;TZID=Europe/Madrid:20240429T130000\r\nRRULE:FREQ=WEEKLY\r\n"
        "SUMMARY:Staff lunch\r\nEND:VEVENT\r\n",
    )
    add_server_event(
        radicale_url,
        calendar_name,
        "BEGIN:VEVENT\r\nUID:holiday\r\nDTSTAMP:20240101T000000Z\r\n"
        "DTSTART;VALUE=DATE:20240507\r\nDTEND;VALUE=DATE:20240508\r\n"
        "SUMMARY:[CFG] CERRADO\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\n",
    )
    calendar = connect(radicale_url, calendar_name)
    slots = await call(calendar, "get_slots_for_day", date_str=MONDAY)
    titles = [s["title"] for s in slots]
    assert "12:00" not in titles and "12:30" not in titles  # the weekly lunch, expanded
    assert "11:30" in titles and "13:00" in titles
    days = await call(calendar, "get_available_days", from_date=MONDAY, lookahead_days=2)
    assert [d["id"] for d in days] == ["day_2024-05-06"]  # Tuesday closed


async def test_an_event_added_after_listing_is_seen_by_the_last_check(
    radicale_url: str, calendar_name: str
) -> None:
    calendar = connect(radicale_url, calendar_name)
    slots = await call(calendar, "get_slots_for_day", date_str=MONDAY)
    assert slots[0]["id"] == "hour_2024-05-06_1000"
    add_server_event(
        radicale_url,
        calendar_name,
        "BEGIN:VEVENT\r\nUID:walk-in\r\nDTSTAMP:20240101T000000Z\r\n"
        "DTSTART:20240506T080000Z\r\nDTEND:20240506T083000Z\r\nSUMMARY:Walk-in\r\nEND:VEVENT\r\n",
    )
    reply = await book(calendar, f"{MONDAY}_1000")
    assert reply == {
        "success": False,
        "event_id": "",
        "reason": "slot_taken",
        "message": SLOT_TAKEN,
    }


async def test_a_booking_staff_marked_free_is_still_listed_and_cancellable(
    radicale_url: str, calendar_name: str
) -> None:
    calendar = connect(radicale_url, calendar_name)
    booked = await book(calendar, f"{MONDAY}_1000")
    with DAVClient(url=radicale_url, username=USER, password="x", auth_type="basic") as client:
        cal = next(
            c for c in client.principal().calendars() if c.get_display_name() == calendar_name
        )
        resource = cal.get_event_by_uid(booked["event_id"])
        resource.icalendar_component["TRANSP"] = "TRANSPARENT"  # staff: "show as free"
        resource.save()
    slots = await call(calendar, "get_slots_for_day", date_str=MONDAY)
    assert slots[0]["title"] == "10:00"  # it blocks nothing now...
    (record,) = await call(calendar, "list_appointments", contact_id="c1")
    assert record["event_id"] == booked["event_id"]  # ...but is still the contact's
    mine = {"event_id": booked["event_id"], "contact_id": "c1"}
    assert (await call(calendar, "cancel_event", **mine))["success"] is True
    assert server_events(radicale_url, calendar_name) == []


# ---------------------------------------------------------------- no double booking


async def test_contacts_racing_for_one_slot_get_one_booking(
    radicale_url: str, calendar_name: str
) -> None:
    calendar = connect(radicale_url, calendar_name)
    replies = await asyncio.gather(*(book(calendar, f"{MONDAY}_1100", f"c{i}") for i in range(4)))
    assert sum(r["success"] for r in replies) == 1
    assert all(r["message"] == SLOT_TAKEN for r in replies if not r["success"])
    assert len(server_events(radicale_url, calendar_name)) == 1


async def test_a_retry_with_the_same_key_books_once_even_after_a_restart(
    radicale_url: str, calendar_name: str
) -> None:
    first = await book(connect(radicale_url, calendar_name), f"{MONDAY}_1000", key="req-1")
    again = await book(connect(radicale_url, calendar_name), f"{MONDAY}_1000", key="req-1")
    assert again["success"] is True
    assert again["event_id"] == first["event_id"] == wire.event_id_for_key("req-1")
    assert len(server_events(radicale_url, calendar_name)) == 1


async def test_a_booking_retried_after_a_timeout_books_once(
    radicale_url: str, calendar_name: str
) -> None:
    calendar = connect(radicale_url, calendar_name)
    await call(calendar, "get_slots_for_day", date_str=MONDAY)  # finds the calendar first
    store = calendar.store
    real_create = store.create
    creates: list[str] = []

    async def slow_create(appointment: Any, key: str) -> Any:
        created = await real_create(appointment, key)  # the event is on the server...
        creates.append(key)
        if len(creates) == 1:
            await asyncio.sleep(0.6)  # ...but the answer comes too late
        return created

    store.create = slow_create  # type: ignore[method-assign]
    registry = CollectorRegistry()
    resilient = ResilientConnector(
        calendar,
        ResiliencePolicy(timeout_s=0.4, max_attempts=3, backoff_initial_s=0.01),
        metrics=ConnectorMetrics(registry),
    )
    reply = await resilient.call(
        "book_appointment",
        {"slot": f"{MONDAY}_1000", "contact_id": "c1"},
        idempotency_key="req-timeout",
    )
    assert reply["success"] is True
    assert creates == ["req-timeout"]  # the retry found the first attempt's booking
    assert len(server_events(radicale_url, calendar_name)) == 1
    retries = registry.get_sample_value(
        "botfleet_connector_retries_total",
        {"connector": "calendar", "operation": "book_appointment"},
    )
    assert retries is not None and retries >= 1


# ---------------------------------------------------------------- errors


async def test_an_unknown_calendar_name_is_refused_naming_the_ones_found(
    radicale_url: str, calendar_name: str
) -> None:
    calendar = connect(radicale_url, "No such calendar")
    with pytest.raises(ConnectorRejected, match=rf"no CalDAV calendar named.*'{calendar_name}'"):
        await call(calendar, "get_slots_for_day", date_str=MONDAY)


async def test_a_server_that_is_down_is_a_retryable_error() -> None:
    calendar = connect("http://127.0.0.1:9/", "Salon", request_timeout_s=2)
    with pytest.raises(ConnectorUnavailable) as raised:
        await call(calendar, "get_slots_for_day", date_str=MONDAY)
    assert raised.value.retryable is True
    assert "secret" not in str(raised.value)
