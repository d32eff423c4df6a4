"""Google Calendar adapter against the documented API shapes (googleapiclient's HttpMockSequence).

Each test scripts the HTTP responses Google documents for events.list,
events.insert/get/delete/patch and checks the requests the adapter sends. No network.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
from googleapiclient.http import HttpMockSequence

from botfleet.adapters.connectors.calendar import events as wire
from botfleet.adapters.connectors.calendar.google import build
from botfleet.adapters.connectors.calendar.service import (
    NOT_FOUND,
    SLOT_TAKEN,
    CalendarService,
)
from botfleet.domain.calendar import Appointment
from botfleet.domain.errors import (
    ConnectorRateLimited,
    ConnectorRejected,
    ConnectorTimeout,
    ConnectorUnavailable,
)

MADRID = ZoneInfo("Europe/Madrid")
CAL = "salon@group.calendar.google.com"
BASE = "http://127.0.0.1:8777/calendar/v3/"
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}


class StoppedClock:
    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


def ok(body: dict[str, Any] | str = "", status: str = "200") -> tuple[dict[str, str], str]:
    return {"status": status}, body if isinstance(body, str) else json.dumps(body)


def error(status: int, reason: str, message: str = "error") -> tuple[dict[str, str], str]:
    body = {"error": {"code": status, "message": message, "errors": [{"reason": reason}]}}
    return {"status": str(status)}, json.dumps(body)


def events_page(*items: dict[str, Any], page: str | None = None) -> tuple[dict[str, str], str]:
    body: dict[str, Any] = {"kind": "calendar#events", "items": list(items)}
    if page:
        body["nextPageToken"] = page
    return ok(body)


def timed(event_id: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "calendar#event",
        "id": event_id,
        "status": "confirmed",
        "summary": extra.pop("summary", "busy"),
        "start": {"dateTime": start, "timeZone": "Europe/Madrid"},
        "end": {"dateTime": end, "timeZone": "Europe/Madrid"},
        **extra,
    }


def booking(event_id: str, start: str, end: str, contact: str = "c1") -> dict[str, Any]:
    return timed(
        event_id,
        start,
        end,
        summary="Haircut · Ana",
        extendedProperties={
            "private": {"botfleet_contact_id": contact, "botfleet_service_key": "haircut"}
        },
    )


def calendar(*responses: tuple[dict[str, str], str]) -> tuple[CalendarService, HttpMockSequence]:
    http = HttpMockSequence(list(responses))
    connector = build(
        {"calendar_id": CAL, "schedule": SCHEDULE, "api_base_url": BASE},
        timezone="Europe/Madrid",
        clock=StoppedClock(datetime(2024, 1, 5, 12, 0, tzinfo=MADRID)),  # Friday
        http=http,
    )
    return connector, http


def request(http: HttpMockSequence, index: int) -> tuple[str, str, dict[str, list[str]], Any]:
    uri, method, body, _headers = http.request_sequence[index]
    parts = urlsplit(uri)
    return unquote(parts.path), method, parse_qs(parts.query), json.loads(body) if body else None


async def call(connector: CalendarService, operation: str, key: str = "k1", **params: Any) -> Any:
    return await connector.call(operation, params, idempotency_key=key)


# ---------------------------------------------------------------- reads


async def test_available_days_come_from_one_events_list() -> None:
    connector, http = calendar(
        events_page(
            timed("a", "2024-01-08T10:00:00+01:00", "2024-01-08T14:00:00+01:00"),
            {"id": "b", "summary": "[CFG] CERRADO", "start": {"date": "2024-01-09"},
             "end": {"date": "2024-01-10"}},
        )
    )  # fmt: skip
    days = await call(connector, "get_available_days", lookahead_days=7)
    assert days == []  # Monday fully busy, Tuesday closed by the directive
    path, method, query, _ = request(http, 0)
    assert (method, path) == ("GET", f"/calendar/v3/calendars/{CAL}/events")
    assert query["singleEvents"] == ["true"]
    assert query["orderBy"] == ["startTime"]
    assert query["timeMin"] == ["2024-01-03T23:00:00Z"]  # local midnight today, less a day
    assert query["timeMax"][0].startswith("2024-01-13T")


async def test_cancelled_and_free_events_do_not_block_and_pages_are_followed() -> None:
    connector, http = calendar(
        events_page(
            timed("c", "2024-01-08T10:00:00+01:00", "2024-01-08T11:00:00+01:00",
                  status="cancelled"),
            page="p2",
        ),
        events_page(
            timed("t", "2024-01-08T11:00:00+01:00", "2024-01-08T12:00:00+01:00",
                  transparency="transparent"),
            timed("x", "2024-01-08T12:00:00Z", "2024-01-08T13:00:00Z"),
        ),
    )  # fmt: skip
    slots = await call(connector, "get_slots_for_day", date_str="2024-01-08")
    titles = [s["title"] for s in slots]
    assert titles[:4] == ["10:00", "10:30", "11:00", "11:30"]
    assert "13:00" not in titles and "13:30" not in titles  # 12:00Z-13:00Z is 13:00-14:00 local
    assert request(http, 1)[2]["pageToken"] == ["p2"]


async def test_a_contacts_appointments_are_found_by_private_property() -> None:
    described = timed(
        "d",
        "2024-01-09T10:00:00+01:00",
        "2024-01-09T10:30:00+01:00",
        description=wire.description(
            Appointment(
                event_id="",
                contact_id="c1",
                start=datetime(2024, 1, 9, 10, tzinfo=MADRID),
                end=datetime(2024, 1, 9, 10, 30, tzinfo=MADRID),
                service_key="beard",
            )
        ),
    )
    connector, http = calendar(
        events_page(
            booking("b1", "2024-01-08T10:00:00+01:00", "2024-01-08T10:30:00+01:00"), described
        )
    )  # fmt: skip
    items = await call(connector, "get_future_appointments", contact_id="c1")
    assert items == [
        {"id": "cancel_appt_b1", "title": "Mon 8 Jan · 10:00 · haircut"},
        {"id": "cancel_appt_d", "title": "Tue 9 Jan · 10:00 · beard"},
    ]
    _, _, query, _ = request(http, 0)
    assert query["privateExtendedProperty"] == ["botfleet_contact_id=c1"]


# ---------------------------------------------------------------- booking


async def test_booking_checks_idempotency_then_the_slot_then_inserts() -> None:
    created = booking("ignored", "2024-01-08T10:00:00+01:00", "2024-01-08T10:30:00+01:00")
    connector, http = calendar(
        events_page(),  # no event carries this request's idempotency tag
        events_page(),  # the day's events
        events_page(),  # the re-check of the slot itself, right before the insert
        ok({**created, "id": wire.event_id_for_key("req-1")}),
    )
    reply = await call(
        connector,
        "book_appointment",
        "req-1",
        slot="2024-01-08_1000",
        contact_id="c1",
        contact_name="Ana",
        service_key="haircut",
        service_name="Haircut",
        duration_min="30",
    )
    assert reply["success"] is True
    assert reply["event_id"] == wire.event_id_for_key("req-1")
    assert reply["appointment"]["start"] == "2024-01-08T10:00:00+01:00"
    tag = wire.idempotency_tag("req-1")
    assert request(http, 0)[2]["privateExtendedProperty"] == [f"botfleet_idempotency={tag}"]
    path, method, query, _ = request(http, 2)
    assert (method, path) == ("GET", f"/calendar/v3/calendars/{CAL}/events")
    assert (query["timeMin"], query["timeMax"]) == (
        ["2024-01-08T09:00:00Z"],
        ["2024-01-08T09:30:00Z"],
    )
    assert query["singleEvents"] == ["true"]
    path, method, query, body = request(http, 3)
    assert (method, path) == ("POST", f"/calendar/v3/calendars/{CAL}/events")
    assert query["sendUpdates"] == ["none"]
    assert body["id"] == wire.event_id_for_key("req-1")
    assert body["start"] == {"dateTime": "2024-01-08T10:00:00+01:00", "timeZone": "Europe/Madrid"}
    assert body["end"]["dateTime"] == "2024-01-08T10:30:00+01:00"
    assert body["summary"] == "Haircut · Ana"
    assert body["extendedProperties"]["private"] == {
        "botfleet_contact_id": "c1",
        "botfleet_contact_name": "Ana",
        "botfleet_service_key": "haircut",
        "botfleet_service_name": "Haircut",
        "botfleet_idempotency": tag,
    }
    assert wire.parse_description(body["description"]) == {
        "contact_id": "c1",
        "contact_name": "Ana",
        "service_key": "haircut",
        "service_name": "Haircut",
    }


async def test_a_slot_busy_at_the_last_check_is_not_booked() -> None:
    connector, http = calendar(
        events_page(),
        events_page(),
        events_page(timed("walk-in", "2024-01-08T09:00:00Z", "2024-01-08T09:30:00Z")),
    )
    reply = await call(connector, "book_appointment", slot="2024-01-08_1000", contact_id="c2")
    assert reply == {
        "success": False,
        "event_id": "",
        "reason": "slot_taken",
        "message": SLOT_TAKEN,
    }
    assert len(http.request_sequence) == 3  # no insert


async def test_a_retried_booking_finds_the_first_attempts_event() -> None:
    earlier = booking("bfearlier", "2024-01-08T10:00:00+01:00", "2024-01-08T10:30:00+01:00")
    connector, http = calendar(events_page(earlier))
    reply = await call(
        connector, "book_appointment", "req-1", slot="2024-01-08_1000", contact_id="c1"
    )
    assert reply["success"] is True
    assert reply["event_id"] == "bfearlier"
    assert len(http.request_sequence) == 1  # nothing inserted


async def test_an_insert_answered_409_returns_the_existing_event() -> None:
    event_id = wire.event_id_for_key("req-9")
    existing = booking(event_id, "2024-01-08T10:00:00+01:00", "2024-01-08T10:30:00+01:00")
    connector, http = calendar(
        events_page(),
        events_page(),
        events_page(),
        error(409, "duplicate", "The requested identifier already exists."),
        ok(existing),
    )
    reply = await call(
        connector, "book_appointment", "req-9", slot="2024-01-08_1000", contact_id="c1"
    )
    assert reply["success"] is True
    assert reply["event_id"] == event_id
    path, method, _, _ = request(http, 4)
    assert (method, path) == ("GET", f"/calendar/v3/calendars/{CAL}/events/{event_id}")


# ---------------------------------------------------------------- cancel and reschedule


async def test_cancel_checks_the_owner_then_deletes() -> None:
    connector, http = calendar(
        ok(booking("b1", "2024-01-08T10:00:00+01:00", "2024-01-08T10:30:00+01:00")),
        ok("", status="204"),
    )
    reply = await call(connector, "cancel_event", event_id="cancel_appt_b1", contact_id="c1")
    assert reply["success"] is True
    assert "Mon 8 Jan · 10:00" in reply["message"]
    path, method, query, _ = request(http, 1)
    assert (method, path) == ("DELETE", f"/calendar/v3/calendars/{CAL}/events/b1")
    assert query["sendUpdates"] == ["none"]


async def test_nobody_cancels_someone_elses_or_a_missing_event() -> None:
    connector, http = calendar(
        ok(booking("b1", "2024-01-08T10:00:00+01:00", "2024-01-08T10:30:00+01:00", contact="c1")),
        error(404, "notFound", "Not Found"),
        error(410, "deleted", "Resource has been deleted"),
    )
    assert await call(connector, "cancel_event", event_id="b1", contact_id="c2") == {
        "success": False,
        "reason": "not_found",
        "message": NOT_FOUND,
    }
    assert (await call(connector, "cancel_event", event_id="nope", contact_id="c1"))[
        "message"
    ] == NOT_FOUND
    assert (await call(connector, "cancel_appointment", event_id="gone", contact_id="c1"))[
        "success"
    ] is False
    assert [m for _, m, _, _ in http.request_sequence] == ["GET", "GET", "GET"]  # no delete


async def test_reschedule_patches_the_times_of_the_same_event() -> None:
    old = booking("b1", "2024-01-08T10:00:00+01:00", "2024-01-08T11:00:00+01:00")
    moved = {**old, "start": {"dateTime": "2024-01-09T12:00:00+01:00"},
             "end": {"dateTime": "2024-01-09T13:00:00+01:00"}}  # fmt: skip
    connector, http = calendar(
        ok(old),  # events.get: ownership and current length
        events_page(old),  # the new day's events
        events_page(old),  # re-check (events.list: its own old time must not count)
        ok(moved),
    )
    reply = await call(
        connector, "reschedule_appointment", event_id="b1", contact_id="c1", slot="2024-01-09_1200"
    )
    assert reply["success"] is True
    assert reply["event_id"] == "b1"
    assert reply["appointment"]["start"] == "2024-01-09T12:00:00+01:00"
    path, method, _, body = request(http, 3)
    assert (method, path) == ("PATCH", f"/calendar/v3/calendars/{CAL}/events/b1")
    assert body == {
        "start": {"dateTime": "2024-01-09T12:00:00+01:00", "timeZone": "Europe/Madrid"},
        "end": {"dateTime": "2024-01-09T13:00:00+01:00", "timeZone": "Europe/Madrid"},
    }


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("response", "expected", "retryable"),
    [
        (error(503, "backendError"), ConnectorUnavailable, True),
        (error(500, "backendError"), ConnectorUnavailable, True),
        (error(429, "rateLimitExceeded"), ConnectorUnavailable, True),
        (error(403, "userRateLimitExceeded"), ConnectorUnavailable, True),
        (error(403, "forbidden"), ConnectorRejected, False),
        (error(401, "authError"), ConnectorRejected, False),
        (error(404, "notFound"), ConnectorRejected, False),
        (error(408, "timeout"), ConnectorTimeout, True),
    ],
)
async def test_google_errors_become_connector_errors(
    response: tuple[dict[str, str], str], expected: type[Exception], retryable: bool
) -> None:
    connector, _ = calendar(response)
    with pytest.raises(expected) as raised:
        await call(connector, "get_slots_for_day", date_str="2024-01-08")
    assert raised.value.retryable is retryable  # type: ignore[attr-defined]
    assert CAL not in str(raised.value)  # no URLs (they can carry contact ids) in messages


@pytest.mark.parametrize(
    ("response", "retry_after"),
    [
        (error(429, "rateLimitExceeded"), None),
        (({**error(429, "rateLimitExceeded")[0], "retry-after": "12"}, error(429, "x")[1]), 12.0),
        (error(403, "userRateLimitExceeded"), None),
    ],
)
async def test_google_rate_limits_are_rate_limited_with_their_retry_after(
    response: tuple[dict[str, str], str], retry_after: float | None
) -> None:
    connector, _ = calendar(response)
    with pytest.raises(ConnectorRateLimited) as raised:
        await call(connector, "get_slots_for_day", date_str="2024-01-08")
    assert raised.value.kind == "rate_limited"
    assert raised.value.retry_after == retry_after


@pytest.mark.parametrize(
    ("status", "reason", "hint"),
    [(401, "authError", "credentials refused"), (403, "forbidden", "share the calendar")],
)
async def test_a_refused_token_and_a_calendar_not_shared_say_different_things(
    status: int, reason: str, hint: str
) -> None:
    # Sharing the calendar does nothing for a revoked key: the message must not send the
    # operator there.
    connector, _ = calendar(error(status, reason))
    with pytest.raises(ConnectorRejected) as raised:
        await call(connector, "get_slots_for_day", date_str="2024-01-08")
    assert hint in str(raised.value)


async def test_transport_failures_are_retryable() -> None:
    class Broken:
        def request(self, *args: Any, **kwargs: Any) -> Any:
            raise TimeoutError("read timed out")

    connector = build(
        {"calendar_id": CAL, "schedule": SCHEDULE, "api_base_url": BASE},
        timezone="Europe/Madrid",
        clock=StoppedClock(datetime(2024, 1, 5, 12, 0, tzinfo=MADRID)),
        http=Broken(),
    )
    with pytest.raises(ConnectorTimeout):
        await call(connector, "get_slots_for_day", date_str="2024-01-08")


def test_settings_need_credentials_for_google_but_not_for_a_local_fake() -> None:
    clock = StoppedClock(datetime(2024, 1, 5, 12, 0, tzinfo=MADRID))
    with pytest.raises(ValueError, match="missing credentials"):
        build({"calendar_id": CAL}, timezone="UTC", clock=clock)
    with pytest.raises(ValueError, match="service_account_info: not a usable") as bad:
        build({"service_account_info": {"private_key": "SECRET-KEY"}}, timezone="UTC", clock=clock)
    assert "SECRET-KEY" not in str(bad.value)
    assert build({"api_base_url": BASE}, timezone="UTC", clock=clock).category == "calendar"


@pytest.mark.parametrize("reason", ["quotaExceeded", "dailyLimitExceeded"])
async def test_a_usage_limit_403_names_the_limit_not_sharing(reason: str) -> None:
    # Google's "Calendar usage limits exceeded" (and the project's daily quota) last hours: a
    # refusal, and the operator is pointed at the limit, not at the calendar's sharing.
    connector, _ = calendar(error(403, reason))
    with pytest.raises(ConnectorRejected) as raised:
        await call(connector, "get_slots_for_day", date_str="2024-01-08")
    assert reason in str(raised.value)
    assert "share the calendar" not in str(raised.value)
