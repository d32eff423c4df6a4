"""Google Calendar adapter behaviour over a small in-memory fake of the Calendar API (httplib2
seam): racing bookings, a booking retried after a timeout, the whole booking life cycle."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

import httplib2

from botfleet.adapters.connectors.calendar.google import build
from botfleet.adapters.connectors.calendar.service import SLOT_TAKEN, CalendarService
from botfleet.adapters.connectors.policy import ResiliencePolicy
from botfleet.data_plane.resilience import ResilientConnector

MADRID = ZoneInfo("Europe/Madrid")
CAL = "salon@group.calendar.google.com"
PREFIX = f"/calendar/v3/calendars/{CAL}/events"


class FakeCalendarApi:
    """Plays Google Calendar v3 for one calendar, as an httplib2.Http (thread-safe)."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.inserts: list[str] = []
        self.insert_delay_s: list[float] = []  # per insert, first ones first
        self._lock = threading.Lock()

    def request(self, uri: str, method: str = "GET", body: Any = None, **_: Any) -> Any:
        parts = urlsplit(uri)
        path, query = unquote(parts.path), parse_qs(parts.query)
        payload = json.loads(body) if body else None
        time.sleep(0.005)  # widen race windows a little, as a network would
        if path == "/calendar/v3/freeBusy":
            return self._answer(200, self._freebusy(payload))
        if method == "POST" and path == PREFIX:
            delay = self.insert_delay_s.pop(0) if self.insert_delay_s else 0.0
            answer = self._insert(payload)
            time.sleep(delay)  # the event exists; the answer is late
            return answer
        if path == PREFIX:
            return self._answer(200, {"items": self._list(query)})
        event_id = path.removeprefix(PREFIX + "/")
        with self._lock:
            event = self.events.get(event_id)
            if event is None:
                return self._answer(404, {"error": {"code": 404, "message": "Not Found"}})
            if method == "DELETE":
                del self.events[event_id]
                return self._answer(204, "")
            if method == "PATCH":
                event.update(payload)
            return self._answer(200, event)

    def _insert(self, event: dict[str, Any]) -> Any:
        with self._lock:
            if event["id"] in self.events:
                return self._answer(409, {"error": {"code": 409, "message": "duplicate"}})
            self.events[event["id"]] = {**event, "status": "confirmed"}
            self.inserts.append(event["id"])
            return self._answer(200, self.events[event["id"]])

    def _list(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        wanted = [p.split("=", 1) for p in query.get("privateExtendedProperty", [])]
        low = _instant(query["timeMin"][0]) if "timeMin" in query else None
        high = _instant(query["timeMax"][0]) if "timeMax" in query else None
        with self._lock:
            found = []
            for event in self.events.values():
                private = event.get("extendedProperties", {}).get("private", {})
                if any(private.get(k) != v for k, v in wanted):
                    continue
                start, end = _span(event)
                if (low and end <= low) or (high and start >= high):
                    continue
                found.append(event)
        return sorted(found, key=lambda e: _span(e)[0])

    def _freebusy(self, query: dict[str, Any]) -> dict[str, Any]:
        # As Google does: every opaque event is busy time, all-day ones included (from midnight
        # to midnight in the calendar's zone); transparent and cancelled ones are not.
        low, high = _instant(query["timeMin"]), _instant(query["timeMax"])
        busy = [
            {"start": start.isoformat(), "end": end.isoformat()}
            for start, end in map(_span, self._list({}))
            if end > low and start < high
        ]
        return {"calendars": {CAL: {"busy": busy}}}

    @staticmethod
    def _answer(status: int, body: Any) -> Any:
        content = body if isinstance(body, str) else json.dumps(body)
        return httplib2.Response({"status": str(status)}), content.encode()


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _span(event: dict[str, Any]) -> tuple[datetime, datetime]:
    """An event's instants; an all-day one runs from midnight to midnight in the calendar's zone."""
    start, end = event["start"], event["end"]
    if "dateTime" in start:
        return _instant(start["dateTime"]), _instant(end["dateTime"])
    first, last = date.fromisoformat(start["date"]), date.fromisoformat(end["date"])
    return (
        datetime(first.year, first.month, first.day, tzinfo=MADRID),
        datetime(last.year, last.month, last.day, tzinfo=MADRID),
    )


class StoppedClock:
    def now(self) -> datetime:
        return datetime(2024, 1, 5, 12, tzinfo=MADRID)  # Friday


def connect(api: FakeCalendarApi) -> CalendarService:
    settings = {
        "calendar_id": CAL,
        "schedule": {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]},
        "api_base_url": "http://127.0.0.1:9/calendar/v3/",
    }
    return build(settings, timezone="Europe/Madrid", clock=StoppedClock(), http=api)


async def book(calendar: Any, contact: str, key: str, slot: str = "2024-01-08_1000") -> Any:
    params = {"slot": slot, "contact_id": contact, "service_key": "haircut"}
    return await calendar.call("book_appointment", params, idempotency_key=key)


async def test_contacts_racing_for_one_slot_get_one_booking() -> None:
    api = FakeCalendarApi()
    calendar = connect(api)
    replies = await asyncio.gather(*(book(calendar, f"c{i}", f"k{i}") for i in range(5)))
    assert sum(r["success"] for r in replies) == 1
    assert all(r["message"] == SLOT_TAKEN for r in replies if not r["success"])
    assert len(api.events) == 1


async def test_a_booking_retried_after_a_timeout_books_once() -> None:
    api = FakeCalendarApi()
    api.insert_delay_s = [0.5]  # the first insert lands, but answers after the timeout
    calendar = connect(api)
    resilient = ResilientConnector(
        calendar, ResiliencePolicy(timeout_s=0.3, max_attempts=3, backoff_initial_s=0.01)
    )
    params = {"slot": "2024-01-08_1000", "contact_id": "c1"}
    reply = await resilient.call("book_appointment", params, idempotency_key="req-1")
    assert reply["success"] is True
    assert api.inserts == [reply["event_id"]]
    # After a restart (nothing remembered in memory) the event found by its key is the answer.
    again = await book(connect(api), "c1", "req-1")
    assert (again["success"], again["event_id"]) == (True, reply["event_id"])
    assert len(api.events) == 1


async def test_the_booking_life_cycle() -> None:
    api = FakeCalendarApi()
    calendar = connect(api)
    booked = await book(calendar, "c1", "k1")
    (record,) = await calendar.call("list_appointments", {"contact_id": "c1"}, idempotency_key="")
    assert record["event_id"] == booked["event_id"]
    mine = {"event_id": booked["event_id"], "contact_id": "c1"}
    moved = await calendar.call(
        "reschedule_appointment", {**mine, "slot": "2024-01-09_1100"}, idempotency_key="k2"
    )
    assert moved["success"] is True
    stored = api.events[booked["event_id"]]
    assert stored["start"]["dateTime"] == "2024-01-09T11:00:00+01:00"
    assert (await book(calendar, "c2", "k3"))["success"] is True  # Monday 10:00 is free again
    cancelled = await calendar.call("cancel_appointment", mine, idempotency_key="k4")
    assert cancelled["success"] is True
    assert booked["event_id"] not in api.events


async def test_an_all_day_directive_marked_busy_does_not_refuse_the_slots_it_offers() -> None:
    # Google's API (and many calendar apps) make all-day events opaque unless told otherwise,
    # and free/busy counts them as busy for the whole day: the slot rules read a
    # ``[CFG] HORARIO`` event as that day's hours, so its busy time must not refuse them.
    api = FakeCalendarApi()
    api.events["cfg1"] = {
        "id": "cfg1",
        "status": "confirmed",
        "summary": "[CFG] HORARIO 16:00-19:00",
        "start": {"date": "2024-01-08"},
        "end": {"date": "2024-01-09"},
    }
    api.events["team"] = {  # a staff all-day note that is not a directive: it blocks nothing
        "id": "team",
        "status": "confirmed",
        "summary": "Inventory day",
        "start": {"date": "2024-01-09"},
        "end": {"date": "2024-01-10"},
        "transparency": "opaque",
    }
    calendar = connect(api)
    params = {"date_str": "2024-01-08"}
    slots = await calendar.call("get_slots_for_day", params, idempotency_key="")
    assert [s["title"] for s in slots][:2] == ["16:00", "16:30"]
    monday = await book(calendar, "c1", "k1", slot="2024-01-08_1600")
    tuesday = await book(calendar, "c2", "k2", slot="2024-01-09_1000")
    assert (monday["success"], tuesday["success"]) == (True, True), (monday, tuesday)
    assert len(api.inserts) == 2
    # A timed event still refuses the slot it holds.
    assert (await book(calendar, "c3", "k3", slot="2024-01-08_1600"))["reason"] == "slot_taken"


async def test_a_booking_staff_marked_free_can_still_be_seen_and_cancelled() -> None:
    api = FakeCalendarApi()
    calendar = connect(api)
    booked = await book(calendar, "c1", "k1")
    api.events[booked["event_id"]]["transparency"] = "transparent"  # staff: "Show as free"
    mine = {"event_id": booked["event_id"], "contact_id": "c1"}
    listed = await calendar.call("list_appointments", {"contact_id": "c1"}, idempotency_key="")
    assert [r["event_id"] for r in listed] == [booked["event_id"]]
    cancelled = await calendar.call("cancel_appointment", mine, idempotency_key="k2")
    assert cancelled["success"] is True
    assert booked["event_id"] not in api.events
