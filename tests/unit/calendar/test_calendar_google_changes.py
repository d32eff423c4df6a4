"""Google Calendar: a staff edit between the bot's read of a booking and its write of it.

Against `calendar_fakes.FakeGoogleCalendar`, which keeps an etag per event and answers a stale
``If-Match`` with 412 ``conditionNotMet`` as Google documents
(https://developers.google.com/workspace/calendar/api/guides/version-resources). The edit runs
right before the bot's write reaches the fake, so only a conditional write can notice it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from calendar_fakes import FakeGoogleCalendar

from botfleet.adapters.connectors.calendar import events as wire
from botfleet.adapters.connectors.calendar import google as google_adapter
from botfleet.adapters.connectors.calendar.service import CHANGED, CalendarService
from botfleet.adapters.connectors.policy import ResiliencePolicy
from botfleet.data_plane.resilience import ResilientConnector
from botfleet.data_plane.resilience.breaker import BreakerState
from botfleet.domain.calendar import Appointment

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2024, 5, 6, 9, 0, tzinfo=MADRID)  # Monday morning
CAL = "salon@group.calendar.google.com"
EVENT = f"/calendar/v3/calendars/{CAL}/events/b1"
BOOKED_AT = datetime(2024, 5, 6, 10, 0, tzinfo=MADRID)


class StoppedClock:
    def now(self) -> datetime:
        return NOW


def connect(api: FakeGoogleCalendar) -> ResilientConnector:
    settings = {
        "calendar_id": CAL,
        "schedule": {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]},
        "api_base_url": "http://127.0.0.1:8777/calendar/v3/",
    }
    service: CalendarService = google_adapter.build(
        settings, timezone="Europe/Madrid", clock=StoppedClock(), http=api
    )
    policy = ResiliencePolicy(max_attempts=3, failure_threshold=1, backoff_initial_s=0.01)
    return ResilientConnector(service, policy)


def with_booking() -> FakeGoogleCalendar:
    api = FakeGoogleCalendar(CAL)
    booked = Appointment("b1", "c1", BOOKED_AT, BOOKED_AT + timedelta(minutes=30))
    api.put({**wire.google_body(booked, MADRID, idempotency_key=""), "id": "b1"})
    return api


async def call(connector: Any, operation: str, **params: Any) -> Any:
    return await connector.call(operation, params, idempotency_key=f"k-{operation}")


async def move(connector: Any) -> Any:
    return await call(
        connector, "reschedule_appointment", event_id="b1", contact_id="c1", slot="2024-05-07_1100"
    )


async def test_a_move_after_a_staff_edit_is_refused_and_the_edit_stays() -> None:
    api = with_booking()
    calendar = connect(api)
    api.before_next("PATCH", lambda: api.staff_edit("b1", summary="Ana, moved by phone"))
    reply = await move(calendar)
    assert reply == {"success": False, "event_id": "", "reason": "changed", "message": CHANGED}
    (patch,) = api.sent("PATCH")  # refused once, never retried
    assert patch.if_match is not None
    assert api.events["b1"]["summary"] == "Ana, moved by phone"
    assert api.events["b1"]["start"]["dateTime"] == BOOKED_AT.isoformat()  # not moved
    assert calendar.breaker.state is BreakerState.CLOSED


async def test_a_cancel_after_a_staff_edit_is_refused_and_nothing_is_deleted() -> None:
    api = with_booking()
    calendar = connect(api)
    api.before_next("DELETE", lambda: api.staff_edit("b1", description="given to Luis"))
    reply = await call(calendar, "cancel_event", event_id="b1", contact_id="c1")
    assert reply == {"success": False, "reason": "changed", "message": CHANGED}
    (delete,) = api.sent("DELETE")
    assert delete.if_match is not None
    assert "b1" in api.events
    assert calendar.breaker.state is BreakerState.CLOSED


async def test_writes_name_the_version_just_read_and_go_through_when_nobody_edited() -> None:
    api = with_booking()
    calendar = connect(api)
    read_etag = api.events["b1"]["etag"]
    moved = await move(calendar)
    assert moved["success"] is True
    assert [s.if_match for s in api.sent("PATCH")] == [read_etag]
    assert api.events["b1"]["etag"] != read_etag  # the move made a new version

    moved_etag = api.events["b1"]["etag"]
    cancelled = await call(calendar, "cancel_event", event_id="b1", contact_id="c1")
    assert cancelled["success"] is True
    # The version the cancel's own read saw, not the one the move left in memory earlier.
    assert [s.if_match for s in api.sent("DELETE")] == [moved_etag]
    assert [(s.method, s.path) for s in api.sent() if s.path == EVENT][-2:] == [
        ("GET", EVENT),
        ("DELETE", EVENT),
    ]
    assert api.live() == {}
