"""Google Calendar: staff edit a booking after the contact was shown it, before they act on it.

The contact lists their appointments, staff move one in the calendar app (the phone rang), and
the contact, still looking at the old time, cancels or moves it. The write must name the
version the contact was shown (``If-Match`` with the etag listed), so Google answers 412
``conditionNotMet`` and nothing is deleted or overwritten. Against
`calendar_fakes.FakeGoogleCalendar`, which honours ``If-Match`` as Google documents
(https://developers.google.com/workspace/calendar/api/guides/version-resources), and
`HttpMockSequence` for the booking's own answer.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from calendar_fakes import FakeGoogleCalendar
from googleapiclient.http import HttpMockSequence

from botfleet.adapters.connectors.calendar import events as wire
from botfleet.adapters.connectors.calendar import google as google_adapter
from botfleet.adapters.connectors.calendar.service import CHANGED, CalendarService
from botfleet.domain.calendar import Appointment

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)  # Monday morning
CAL = "salon@group.calendar.google.com"
BOOKED_AT = datetime(2024, 5, 6, 10, 0, tzinfo=MADRID)
SETTINGS = {
    "calendar_id": CAL,
    "schedule": {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]},
    "api_base_url": "http://127.0.0.1:8777/calendar/v3/",
}


class StoppedClock:
    def now(self) -> datetime:
        return NOW


def connect(http: Any) -> CalendarService:
    return google_adapter.build(SETTINGS, timezone="Europe/Madrid", clock=StoppedClock(), http=http)


def with_booking() -> FakeGoogleCalendar:
    api = FakeGoogleCalendar(CAL)
    booked = Appointment("b1", "c1", BOOKED_AT, BOOKED_AT + timedelta(minutes=30))
    api.put({**wire.google_body(booked, MADRID, idempotency_key=""), "id": "b1"})
    return api


def staff_move(api: FakeGoogleCalendar, hours: int) -> None:
    start = BOOKED_AT + timedelta(hours=hours)
    api.staff_edit(
        "b1",
        start=wire.google_time(start, MADRID),
        end=wire.google_time(start + timedelta(minutes=30), MADRID),
    )


async def call(connector: CalendarService, operation: str, key: str, **params: Any) -> Any:
    return await connector.call(operation, params, idempotency_key=key)


async def listed(connector: CalendarService) -> list[str]:
    items = await call(connector, "get_future_appointments", "list", contact_id="c1")
    return [item["title"] for item in items]


async def test_a_cancel_after_staff_moved_the_listed_appointment_is_refused() -> None:
    api = with_booking()
    calendar = connect(api)
    shown_etag = api.events["b1"]["etag"]
    assert await listed(calendar) == ["Mon 6 May · 10:00"]
    staff_move(api, hours=3)  # 13:00 now; the contact still sees 10:00
    reply = await call(calendar, "cancel_event", "cancel", event_id="b1", contact_id="c1")
    assert reply == {"success": False, "reason": "changed", "message": CHANGED}
    assert [s.if_match for s in api.sent("DELETE")] == [shown_etag]
    assert api.events["b1"]["start"]["dateTime"].startswith("2024-05-06T13:00")  # kept


async def test_a_move_after_staff_moved_the_listed_appointment_is_refused() -> None:
    api = with_booking()
    calendar = connect(api)
    shown_etag = api.events["b1"]["etag"]
    await listed(calendar)
    staff_move(api, hours=1)
    reply = await call(
        calendar, "reschedule_appointment", "move", event_id="b1", contact_id="c1",
        slot="2024-05-07_1200",
    )  # fmt: skip
    assert reply == {"success": False, "event_id": "", "reason": "changed", "message": CHANGED}
    assert [s.if_match for s in api.sent("PATCH")] == [shown_etag]
    assert api.events["b1"]["start"]["dateTime"].startswith("2024-05-06T11:00")  # staff's time


async def test_after_listing_again_the_contact_can_cancel_the_new_version() -> None:
    api = with_booking()
    calendar = connect(api)
    await listed(calendar)
    staff_move(api, hours=3)
    refused = await call(calendar, "cancel_event", "first", event_id="b1", contact_id="c1")
    assert refused["success"] is False
    assert await listed(calendar) == ["Mon 6 May · 13:00"]  # what staff made
    reply = await call(calendar, "cancel_event", "second", event_id="b1", contact_id="c1")
    assert reply["success"] is True
    assert api.live() == {}


async def test_a_cancel_after_listing_with_no_edit_names_the_listed_version() -> None:
    api = with_booking()
    calendar = connect(api)
    shown_etag = api.events["b1"]["etag"]
    await listed(calendar)
    reply = await call(calendar, "cancel_event", "cancel", event_id="b1", contact_id="c1")
    assert reply["success"] is True
    assert [s.if_match for s in api.sent("DELETE")] == [shown_etag]


def _answer(body: dict[str, Any] | str, status: str = "200") -> tuple[dict[str, str], str]:
    return {"status": status}, body if isinstance(body, str) else json.dumps(body)


async def test_a_cancel_names_the_version_the_booking_answer_showed() -> None:
    booked = Appointment("", "c1", BOOKED_AT, BOOKED_AT + timedelta(minutes=30))
    inserted = {**wire.google_body(booked, MADRID, idempotency_key="book"), "etag": '"100"'}
    edited = {**inserted, "summary": "Ana (moved by phone)", "etag": '"101"'}
    empty = _answer({"kind": "calendar#events", "items": []})
    http = HttpMockSequence(
        [empty, empty, empty, _answer(inserted), _answer(edited), _answer("", "204")]
    )
    calendar = connect(http)
    made = await call(calendar, "book_appointment", "book", slot="2024-05-06_1000", contact_id="c1")
    assert made["success"] is True
    await call(calendar, "cancel_event", "cancel", event_id=made["event_id"], contact_id="c1")
    _uri, method, _body, headers = http.request_sequence[-1]
    assert method == "DELETE"
    assert {k.lower(): v for k, v in headers.items()}["if-match"] == '"100"'
