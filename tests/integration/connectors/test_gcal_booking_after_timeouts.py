"""A Google Calendar insert that answers too late still booked: the contact is told so.

The walk-through this reproduces: `request_timeout_s` shorter than Google takes to answer an
insert, two attempts. Both attempts time out at the client; the first insert is made by Google
meanwhile, after the retry's own lookup by key missed it (the deterministic event id keeps the
retry from booking twice). Before the resilience layer's lookup after the last timeout
(`FindsCreated`), the flow's `on_error` told the contact nothing was booked while the calendar
held the booking.

A local fake of the Calendar API runs on 127.0.0.1 (the binding's `api_base_url`, no
credentials); it never answers an insert in time, and makes the first one only when the next
insert arrives, so the order of events does not depend on timing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from structlog.testing import capture_logs

from botfleet.adapters.connectors.calendar import google
from botfleet.testing.runtime import (
    MONDAY_MORNING,
    bootstrap_test_runtime,
    make_tenant_config,
    text_message,
)

CONTACT = "+34600111222"
CALENDAR = "salon@group.calendar.google.com"
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}
#: The HTTP timeout expires before the attempt's own (as 4 s and 5 s did in the walk-through).
POLICY = {
    "timeout_s": 5,
    "max_attempts": 2,
    "backoff_initial_s": 0,
    "backoff_max_s": 0,
    "backoff_jitter_s": 0,
}
REQUEST_TIMEOUT_S = 0.5
WAIT_S = 10.0  # the most a held request waits (the test's own safety net)


class SlowInserts:
    """Events of one calendar. No insert is answered in time; when `lands`, the first insert is
    made when the second arrives. Lists filter by `privateExtendedProperty` only."""

    def __init__(self, *, lands: bool) -> None:
        self.lands = lands
        self.events: dict[str, dict[str, Any]] = {}
        self.inserts = 0
        self.key_lookups = 0
        self._lock = threading.Lock()
        self._second_insert = threading.Event()
        self._first_done = threading.Event()
        self._release = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=UTF-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client stopped waiting long ago

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                self._reply(200, {"kind": "calendar#events", "items": owner.listed(query)})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.insert(body)
                self._reply(409, {"error": {"code": 409, "message": "duplicate"}})

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def listed(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        wanted = [p.split("=", 1) for p in query.get("privateExtendedProperty", [])]
        with self._lock:
            if any(name == "botfleet_idempotency" for name, _ in wanted):
                self.key_lookups += 1
            return [
                event
                for event in self.events.values()
                if all(
                    event.get("extendedProperties", {}).get("private", {}).get(name) == value
                    for name, value in wanted
                )
            ]

    def insert(self, body: dict[str, Any]) -> None:
        """Hold the request past the client's timeout; the first one lands on the second."""
        with self._lock:
            self.inserts += 1
            first = self.inserts == 1
        if first:
            self._second_insert.wait(WAIT_S)
            if self.lands:
                with self._lock:
                    self.events[body["id"]] = {"status": "confirmed", "etag": '"1"', **body}
            self._first_done.set()
        else:
            self._second_insert.set()
            self._first_done.wait(WAIT_S)
        self._release.wait(WAIT_S)

    def close(self) -> None:
        self._release.set()
        self._second_insert.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def slow_api(*, lands: bool) -> Iterator[SlowInserts]:
    server = SlowInserts(lands=lands)
    try:
        yield server
    finally:
        server.close()


class _Clock:
    def now(self) -> Any:
        return MONDAY_MORNING


def _booking_flow() -> dict[str, Any]:
    book = {
        "action": "invoke_connector",
        "connector": "calendar",
        "operation": "book_appointment",
        "params": {"slot": "2024-05-06_1100", "contact_id": "{{ contact.id }}"},
        "on_error": {"text": "Sorry, nothing was booked.", "target": "START"},
    }
    return {
        "id": "book_v1",
        "initial_state": "START",
        "states": {
            "START": {"transitions": [{"target": "BOOK"}]},
            "BOOK": {
                "on_enter": [book, {"action": "send_text", "text": "Booked."}],
                "next": "START",
            },
        },
    }


async def _turn(api: SlowInserts) -> tuple[list[str | None], list[dict[str, Any]]]:
    settings = {
        "calendar_id": CALENDAR,
        "schedule": SCHEDULE,
        "api_base_url": f"{api.url}/calendar/v3/",
        "request_timeout_s": REQUEST_TIMEOUT_S,
    }
    calendar = google.build(settings, timezone="Europe/Madrid", clock=_Clock())
    binding = {"type": "google_calendar", "calendar_id": CALENDAR, "resilience": POLICY}
    config = make_tenant_config(
        _booking_flow(), tenant_id="salon", connectors={"calendar": binding}
    )
    with capture_logs() as logs:
        async with bootstrap_test_runtime(config, connectors={"calendar": calendar}) as runtime:
            result = await runtime.handle(text_message(CONTACT, "hi"))
    return [getattr(output, "text", None) for output in result.outputs], logs


def _events(logs: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [entry for entry in logs if entry["event"] == event]


async def test_a_booking_google_made_after_the_last_timeout_is_reported_booked() -> None:
    with slow_api(lands=True) as api:
        texts, logs = await _turn(api)

    assert texts == ["Booked."]
    assert len(api.events) == 1
    assert api.inserts == 2  # both attempts sent one; neither was answered in time
    assert api.key_lookups == 3  # each attempt's, then the one after the last timeout
    (found,) = _events(logs, "connector_create_found")
    assert (found["connector"], found["operation"], found["attempts"]) == (
        "calendar",
        "book_appointment",
        2,
    )
    assert found["tenant"] == "salon"
    (finished,) = _events(logs, "connector_call_finished")
    assert (finished["outcome"], finished["attempts"]) == ("ok", 2)
    assert _events(logs, "connector_failed") == []


async def test_an_insert_google_never_made_is_still_reported_failed() -> None:
    with slow_api(lands=False) as api:
        texts, logs = await _turn(api)

    assert texts == ["Sorry, nothing was booked."]
    assert api.events == {}
    assert api.key_lookups == 3
    (finished,) = _events(logs, "connector_call_finished")
    assert (finished["outcome"], finished["attempts"]) == ("timeout", 2)
    assert _events(logs, "connector_create_found") == []
