"""The CalDAV and Google Calendar clients never follow a redirect: a 3xx from the binding's host
would send the request (and its credentials) to wherever it points, an internal address or
another host. A local server answers 307 towards a second one, which must never be asked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from botfleet.adapters.connectors.calendar import caldav as caldav_adapter
from botfleet.adapters.connectors.calendar import google as google_adapter
from botfleet.domain.errors import ConnectorError

SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}


class Server:
    def __init__(self, redirect_to: str | None) -> None:
        self.hits: list[tuple[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                owner.hits.append((self.command, self.path))
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if redirect_to is not None:
                    self.send_response(307)
                    self.send_header("Location", redirect_to + self.path)
                else:
                    self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = _answer
            do_OPTIONS = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    target = Server(redirect_to=None)
    redirecting = Server(redirect_to=target.url)
    yield redirecting, target
    redirecting.close()
    target.close()


class Clock:
    def now(self) -> datetime:
        return datetime(2024, 5, 6, 9, 0, tzinfo=UTC)


async def ask(service: Any) -> None:
    await service.call(
        "get_available_days", {"from_date": "2024-05-06", "lookahead_days": 2}, idempotency_key="k"
    )


async def test_caldav_does_not_follow_a_redirect(servers: tuple[Server, Server]) -> None:
    redirecting, target = servers
    raw = {
        "url": redirecting.url + "/dav/",
        "username": "salon",
        "password": "secret",
        "calendar_name": "salon",
        "schedule": SCHEDULE,
        "request_timeout_s": 5,
    }
    service = caldav_adapter.build(raw, timezone="UTC", clock=Clock())
    with pytest.raises(ConnectorError):
        await ask(service)
    assert redirecting.hits
    assert target.hits == []


async def test_google_calendar_does_not_follow_a_redirect(servers: tuple[Server, Server]) -> None:
    redirecting, target = servers
    raw = {
        "calendar_id": "salon@example.com",
        "schedule": SCHEDULE,
        "api_base_url": redirecting.url + "/calendar/v3/",
        "request_timeout_s": 5,
    }
    service = google_adapter.build(raw, timezone="UTC", clock=Clock())
    with pytest.raises(ConnectorError, match="307"):
        await ask(service)
    assert redirecting.hits
    assert target.hits == []


def test_the_no_redirect_switch_wraps_the_session() -> None:
    calls: list[dict[str, Any]] = []

    class Session:
        def request(self, *args: Any, **kwargs: Any) -> None:
            calls.append(kwargs)

    session = Session()
    caldav_adapter.no_redirects(session)
    session.request("GET", "http://x.example/")
    assert calls == [{"allow_redirects": False}]
