"""Local stand-ins for the calendar back ends (127.0.0.1 only, never Google or a real server).

* `CalDavServer`: Radicale, in this process (a thread, a temp folder, no auth), behind a WSGI
  layer that records the bot's requests and can run a staff edit right before one of them. The
  412s and 404s the tests need are then produced by a real CalDAV implementation, the way a
  server produces them, instead of being scripted.
* `FakeGoogleCalendar`: Google Calendar v3 events of one calendar as an `httplib2.Http`
  (`events.list` with timeMin/timeMax/privateExtendedProperty, `get`, `patch`, `delete`; each
  event's ``etag`` changes at every write and ``If-Match`` is honoured with 412
  ``conditionNotMet``, as documented in
  https://developers.google.com/workspace/calendar/api/guides/version-resources), recording the
  bot's requests and able to run a staff edit right before one of them, like `CalDavServer`.
  A deleted event is kept with ``status: cancelled``, as Google keeps it for a while: `get`
  still answers it (fields and all, as Google does in practice; only its ``id`` is guaranteed),
  a list leaves it out (``showDeleted=false``), a `delete` or `patch` of it answers 410
  ``deleted``.
  The exact request/response shapes are tested with `HttpMockSequence`
  (`tests/unit/connectors/test_google_calendar.py`, `test_calendar_google_errors.py`).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httplib2

USER = "salon"
_STAFF = "HTTP_X_TEST_STAFF"  # requests made by the test itself, as staff would


@dataclass(frozen=True)
class Seen:
    """One request the connector sent."""

    method: str
    path: str
    if_match: str | None


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class CalDavServer:
    """Radicale behind a recording, fault-injecting WSGI layer. `url` is the server's root."""

    def __init__(self, folder: Path) -> None:
        from radicale import Application, config

        configuration = config.load()
        configuration.update(
            {
                "storage": {"filesystem_folder": str(folder / "collections")},
                "auth": {"type": "none"},
                "rights": {"type": "owner_only"},
                "logging": {"level": "critical"},
            },
            "test",
            privileged=True,
        )
        self._app = Application(configuration)
        self.requests: list[Seen] = []
        self._before: list[tuple[str, Callable[[], None]]] = []
        self._lock = threading.Lock()
        self._server = make_server(
            "127.0.0.1", 0, self._wsgi, server_class=_Server, handler_class=_Quiet
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}/"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get(_STAFF):
            seen = Seen(
                environ["REQUEST_METHOD"], environ["PATH_INFO"], environ.get("HTTP_IF_MATCH")
            )
            with self._lock:
                self.requests.append(seen)
                hooks = [h for h in self._before if h[0] == seen.method]
                action = hooks[0][1] if hooks else None
                if hooks:
                    self._before.remove(hooks[0])
            if action is not None:
                action()  # staff act just before the server sees the bot's request
        return self._app(environ, start_response)

    def before_next(self, method: str, action: Callable[[], None]) -> None:
        """Run `action` (once) right before the bot's next `method` request reaches Radicale."""
        with self._lock:
            self._before.append((method, action))

    def sent(self, method: str | None = None) -> list[Seen]:
        return [s for s in self.requests if method is None or s.method == method]

    # ------------------------------------------------------------------ staff, in their app

    @contextmanager
    def staff(self) -> Iterator[Any]:
        from caldav.davclient import DAVClient

        with DAVClient(
            url=self.url,
            username=USER,
            password="x",
            auth_type="basic",
            headers={"X-Test-Staff": "1"},
        ) as client:
            yield client

    def make_calendar(self, name: str) -> str:
        """A new calendar of user `salon`; returns its URL."""
        with self.staff() as client:
            return str(client.principal().make_calendar(name=name).url)

    def delete_calendar(self, url: str) -> None:
        with self.staff() as client:
            client.calendar(url=url).delete()

    def put_event(self, calendar_url: str, ics: str) -> None:
        with self.staff() as client:
            client.calendar(url=calendar_url).add_event(ics)

    def edit_event(self, calendar_url: str, uid: str, summary: str) -> None:
        """Staff change an event (its title): its ETag changes."""
        with self.staff() as client:
            resource = client.calendar(url=calendar_url).get_event_by_uid(uid)
            component = resource.icalendar_component
            component.pop("summary", None)
            component.add("summary", summary)
            resource.save()

    def delete_event(self, calendar_url: str, uid: str) -> None:
        with self.staff() as client:
            client.calendar(url=calendar_url).get_event_by_uid(uid).delete()

    def uids(self, calendar_url: str) -> set[str]:
        with self.staff() as client:
            found = client.calendar(url=calendar_url).events()
            return {str(c.icalendar_component["uid"]) for c in found}


# ---------------------------------------------------------------- Google Calendar


class FakeGoogleCalendar:
    """Google Calendar v3 events of one calendar, as an httplib2.Http (thread-safe)."""

    def __init__(self, calendar_id: str) -> None:
        self.prefix = f"/calendar/v3/calendars/{calendar_id}/events"
        self.events: dict[str, dict[str, Any]] = {}
        self.requests: list[Seen] = []
        self._before: list[tuple[str, Callable[[], None]]] = []
        self._versions = itertools.count(1)
        self._lock = threading.RLock()

    def put(self, event: dict[str, Any]) -> None:
        """Add or replace an event as staff would (a new etag)."""
        with self._lock:
            self.events[event["id"]] = {**event, "etag": self._etag()}

    def staff_edit(self, event_id: str, **changes: Any) -> None:
        """Staff change an event in their calendar app: its etag changes."""
        with self._lock:
            self.events[event_id].update(changes, etag=self._etag())

    def staff_delete(self, event_id: str) -> None:
        """Staff delete an event in their calendar app (kept as cancelled, as Google does)."""
        self.staff_edit(event_id, status="cancelled")

    def live(self) -> dict[str, dict[str, Any]]:
        """The events not deleted, by id."""
        with self._lock:
            return {k: e for k, e in self.events.items() if e.get("status") != "cancelled"}

    def before_next(self, method: str, action: Callable[[], None]) -> None:
        """Run `action` (once) right before the bot's next `method` request is answered."""
        with self._lock:
            self._before.append((method, action))

    def sent(self, method: str | None = None) -> list[Seen]:
        return [s for s in self.requests if method is None or s.method == method]

    def _etag(self) -> str:
        return f'"{next(self._versions)}"'  # Google's etags are quoted, as HTTP's are

    def request(
        self,
        uri: str,
        method: str = "GET",
        body: Any = None,
        headers: dict[str, str] | None = None,
        **_: Any,
    ) -> Any:
        parts = urlsplit(uri)
        path, query = unquote(parts.path), parse_qs(parts.query)
        if_match = {k.lower(): v for k, v in (headers or {}).items()}.get("if-match")
        with self._lock:
            self.requests.append(Seen(method, path, if_match))
            hooks = [h for h in self._before if h[0] == method]
            if hooks:
                self._before.remove(hooks[0])
                hooks[0][1]()
            if path == self.prefix and method == "GET":
                return _answer(200, {"kind": "calendar#events", "items": self._list(query)})
            if path == self.prefix and method == "POST":  # events.insert (a booking)
                inserted = {"status": "confirmed", **json.loads(body), "etag": self._etag()}
                if inserted["id"] in self.events:
                    return _error(409, "duplicate", "The requested identifier already exists.")
                self.events[inserted["id"]] = inserted
                return _answer(200, inserted)
            event_id = path.removeprefix(self.prefix + "/")
            event = self.events.get(event_id)
            if event is None:
                return _error(404, "notFound", "Not Found")
            if method in ("DELETE", "PATCH") and event.get("status") == "cancelled":
                return _error(410, "deleted", "Resource has been deleted")
            if if_match is not None and if_match != event["etag"]:
                return _error(412, "conditionNotMet", "Precondition Failed")
            if method == "DELETE":
                event.update(status="cancelled", etag=self._etag())
                return _answer(204, "")
            if method == "PATCH":
                event.update(json.loads(body), etag=self._etag())
            return _answer(200, event)

    def _list(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        wanted = [p.split("=", 1) for p in query.get("privateExtendedProperty", [])]
        low = datetime.fromisoformat(query["timeMin"][0]) if "timeMin" in query else None
        high = datetime.fromisoformat(query["timeMax"][0]) if "timeMax" in query else None
        found = []
        for event in self.events.values():
            if event.get("status") == "cancelled":
                continue  # the bot lists with showDeleted=false
            private = event.get("extendedProperties", {}).get("private", {})
            if any(private.get(k) != v for k, v in wanted):
                continue
            start, end = _span(event)
            # As documented: timeMin bounds an event's end, timeMax its start (both exclusive).
            if (low and end <= low) or (high and start >= high):
                continue
            found.append(event)
        return sorted(found, key=lambda e: _span(e)[0])


def _error(status: int, reason: str, message: str) -> Any:
    detail = {"domain": "global", "reason": reason, "message": message}
    return _answer(status, {"error": {"errors": [detail], "code": status, "message": message}})


def _answer(status: int, body: Any) -> Any:
    content = body if isinstance(body, str) else json.dumps(body)
    return httplib2.Response({"status": str(status)}), content.encode()


def _span(event: dict[str, Any]) -> tuple[datetime, datetime]:
    start, end = event["start"], event["end"]
    if "dateTime" in start:
        return datetime.fromisoformat(start["dateTime"]), datetime.fromisoformat(end["dateTime"])
    first, last = date.fromisoformat(start["date"]), date.fromisoformat(end["date"])
    return (
        datetime(first.year, first.month, first.day, tzinfo=UTC),
        datetime(last.year, last.month, last.day, tzinfo=UTC),
    )
