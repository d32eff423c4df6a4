"""Google Calendar: what a 404/410/412 means depends on the request that got it.

Scripted with `HttpMockSequence` and the error bodies Google documents
(https://developers.google.com/workspace/calendar/api/guides/errors): a missing calendar and a
missing event both answer 404 ``notFound``, so the request (calendar-wide `events.list` /
`events.insert` vs. `events.get`/`patch`/`delete` of one event) tells them apart.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
import structlog
from googleapiclient.http import HttpMockSequence

from botfleet.adapters.connectors.calendar.google import build
from botfleet.adapters.connectors.calendar.service import CHANGED, NOT_FOUND, CalendarService
from botfleet.adapters.connectors.calendar.store import CalendarNotFound
from botfleet.adapters.connectors.policy import ResiliencePolicy
from botfleet.data_plane.resilience import ResilientConnector
from botfleet.data_plane.resilience.breaker import BreakerState

MADRID = ZoneInfo("Europe/Madrid")
CAL = "salon@group.calendar.google.com"
BASE = "http://127.0.0.1:8777/calendar/v3/"
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}
EVENTS = f"/calendar/v3/calendars/{CAL}/events"

Response = tuple[dict[str, str], str]


class StoppedClock:
    def now(self) -> datetime:
        return datetime(2024, 1, 5, 12, 0, tzinfo=MADRID)  # Friday


def ok(body: dict[str, Any] | str = "", status: str = "200") -> Response:
    return {"status": status}, body if isinstance(body, str) else json.dumps(body)


def error(status: int, reason: str, message: str) -> Response:
    """Google's documented error body."""
    detail = {"domain": "global", "reason": reason, "message": message}
    body = {"error": {"errors": [detail], "code": status, "message": message}}
    return {"status": str(status)}, json.dumps(body)


NOT_FOUND_404 = error(404, "notFound", "Not Found")
DELETED_410 = error(410, "deleted", "Resource has been deleted")
CONDITION_412 = error(412, "conditionNotMet", "Precondition Failed")


def events_page(*items: dict[str, Any]) -> Response:
    return ok({"kind": "calendar#events", "items": list(items)})


def booking(event_id: str, start: str, end: str, contact: str = "c1") -> dict[str, Any]:
    return {
        "kind": "calendar#event",
        "id": event_id,
        "status": "confirmed",
        "summary": "Haircut · Ana",
        "start": {"dateTime": start, "timeZone": "Europe/Madrid"},
        "end": {"dateTime": end, "timeZone": "Europe/Madrid"},
        "extendedProperties": {"private": {"botfleet_contact_id": contact}},
    }


OLD = booking("b1", "2024-01-08T10:00:00+01:00", "2024-01-08T11:00:00+01:00")


def calendar(*responses: Response) -> tuple[ResilientConnector, HttpMockSequence]:
    http = HttpMockSequence(list(responses))
    connector: CalendarService = build(
        {"calendar_id": CAL, "schedule": SCHEDULE, "api_base_url": BASE},
        timezone="Europe/Madrid",
        clock=StoppedClock(),
        http=http,
    )
    # As in production: behind the resilience layer, so retries and the breaker are seen.
    policy = ResiliencePolicy(max_attempts=3, failure_threshold=1, backoff_initial_s=0.01)
    return ResilientConnector(connector, policy), http


def sent(http: HttpMockSequence) -> list[tuple[str, str, dict[str, list[str]]]]:
    out = []
    for uri, method, _body, _headers in http.request_sequence:
        parts = urlsplit(uri)
        out.append((method, unquote(parts.path), parse_qs(parts.query)))
    return out


async def call(connector: Any, operation: str, **params: Any) -> Any:
    return await connector.call(operation, params, idempotency_key=f"k-{operation}")


async def move(connector: Any) -> Any:
    return await call(
        connector, "reschedule_appointment", event_id="b1", contact_id="c1", slot="2024-01-09_1200"
    )


# ---------------------------------------------------------------- the event changed meanwhile


@pytest.mark.parametrize("gone", [NOT_FOUND_404, DELETED_410], ids=["404", "410"])
async def test_an_event_deleted_before_its_patch_is_not_found(gone: Response) -> None:
    connector, http = calendar(ok(OLD), events_page(OLD), events_page(OLD), gone)
    reply = await move(connector)
    assert reply == {"success": False, "event_id": "", "reason": "not_found", "message": NOT_FOUND}
    assert [m for m, _, _ in sent(http)] == ["GET", "GET", "GET", "PATCH"]  # no retry
    assert connector.breaker.state is BreakerState.CLOSED


@pytest.mark.parametrize("gone", [NOT_FOUND_404, DELETED_410], ids=["404", "410"])
async def test_an_event_deleted_before_its_delete_is_not_found(gone: Response) -> None:
    connector, http = calendar(ok(OLD), gone)
    reply = await call(connector, "cancel_event", event_id="b1", contact_id="c1")
    assert reply == {"success": False, "reason": "not_found", "message": NOT_FOUND}
    assert [m for m, _, _ in sent(http)] == ["GET", "DELETE"]
    assert connector.breaker.state is BreakerState.CLOSED


async def test_a_patch_refused_412_says_the_appointment_changed() -> None:
    connector, http = calendar(ok(OLD), events_page(OLD), events_page(OLD), CONDITION_412)
    reply = await move(connector)
    assert reply == {"success": False, "event_id": "", "reason": "changed", "message": CHANGED}
    assert len(sent(http)) == 4
    assert connector.breaker.state is BreakerState.CLOSED


async def test_a_delete_refused_412_says_the_appointment_changed() -> None:
    connector, _ = calendar(ok(OLD), CONDITION_412)
    reply = await call(connector, "cancel_event", event_id="b1", contact_id="c1")
    assert reply == {"success": False, "reason": "changed", "message": CHANGED}


def if_match(http: HttpMockSequence, method: str) -> list[str | None]:
    found = []
    for _uri, sent_method, _body, headers in http.request_sequence:
        if sent_method == method:
            lowered = {k.lower(): v for k, v in (headers or {}).items()}
            found.append(lowered.get("if-match"))
    return found


async def test_a_patch_and_a_delete_name_the_etag_their_get_read() -> None:
    read = {**OLD, "etag": '"3181161784712000"'}  # as Google gives it: quoted
    moved = {**read, "etag": '"3181161784713000"'}
    connector, http = calendar(ok(read), events_page(read), events_page(read), ok(moved))
    assert (await move(connector))["success"] is True
    assert if_match(http, "PATCH") == ['"3181161784712000"']

    connector, http = calendar(ok(read), ok("", status="204"))
    assert (await call(connector, "cancel_event", event_id="b1", contact_id="c1"))["success"]
    assert if_match(http, "DELETE") == ['"3181161784712000"']


async def test_an_event_read_without_an_etag_is_written_unconditionally() -> None:
    connector, http = calendar(ok(OLD), ok("", status="204"))
    assert (await call(connector, "cancel_event", event_id="b1", contact_id="c1"))["success"]
    assert if_match(http, "DELETE") == [None]


# ---------------------------------------------------------------- the calendar itself is missing


async def test_an_events_list_404_is_a_configuration_error_naming_calendar_id() -> None:
    connector, http = calendar(NOT_FOUND_404)
    with structlog.testing.capture_logs() as logs, pytest.raises(CalendarNotFound) as raised:
        await call(connector, "get_future_appointments", contact_id="c1")
    assert "calendar_id setting" in str(raised.value)
    assert CAL not in str(raised.value)  # no addresses in messages (they reach flows' logs)
    assert raised.value.retryable is False
    assert len(sent(http)) == 1  # not retried
    assert connector.breaker.state is BreakerState.CLOSED  # a refusal, not an outage
    (logged,) = [e for e in logs if e["event"] == "calendar_not_found"]
    assert (logged["setting"], logged["calendar_id"], logged["request"]) == (
        "calendar_id",
        CAL,
        "events.list",
    )


async def test_an_events_insert_404_is_a_configuration_error() -> None:
    connector, _ = calendar(events_page(), events_page(), events_page(), NOT_FOUND_404)
    with pytest.raises(CalendarNotFound, match=r"events\.insert"):
        await call(connector, "book_appointment", slot="2024-01-08_1000", contact_id="c1")


async def test_a_wrong_calendar_id_on_cancel_is_a_configuration_error_not_not_found() -> None:
    # The first request is for the event: its 404 could be the calendar's, so the calendar is
    # asked once, and its own 404 settles it.
    connector, http = calendar(NOT_FOUND_404, NOT_FOUND_404)
    with pytest.raises(CalendarNotFound):
        await call(connector, "cancel_event", event_id="b1", contact_id="c1")
    (get_event, method_path_query) = sent(http)
    assert get_event[:2] == ("GET", f"{EVENTS}/b1")
    method, path, query = method_path_query
    assert (method, path, query["maxResults"]) == ("GET", EVENTS, ["1"])
    assert connector.breaker.state is BreakerState.CLOSED


async def test_an_event_404_is_not_found_when_the_calendar_exists() -> None:
    connector, http = calendar(NOT_FOUND_404, events_page(), NOT_FOUND_404)
    reply = await call(connector, "cancel_event", event_id="gone", contact_id="c1")
    assert reply == {"success": False, "reason": "not_found", "message": NOT_FOUND}
    # The calendar answered: the next event 404 is the event's without asking again.
    again = await call(connector, "cancel_appointment", event_id="gone2", contact_id="c1")
    assert again["message"] == NOT_FOUND
    assert [p for _, p, _ in sent(http)] == [f"{EVENTS}/gone", EVENTS, f"{EVENTS}/gone2"]


async def test_a_contacts_appointments_are_looked_for_a_year_ahead() -> None:
    connector, http = calendar(events_page())
    await call(connector, "list_appointments", contact_id="c1")
    ((_, _, query),) = sent(http)
    # 2024-01-05 12:00 Madrid is 11:00Z; 366 days later (the default horizon is 60 days).
    assert (query["timeMin"], query["timeMax"]) == (
        ["2024-01-05T11:00:00Z"],
        ["2025-01-05T11:00:00Z"],
    )
