"""Google refusing the service account (401, a token refused) or its access to a calendar (a
403 that is no rate or usage limit) is the binding's to fix: the operator gets one
`connector_misconfigured` line naming the binding, the calendar and the service account to share
it with, never the key. A clinic with a calendar per practitioner needs to know which one.

A local fake of Google (its token endpoint and the Calendar API's error bodies) runs on
127.0.0.1; the key is a fresh one whose `token_uri` is the fake's, so the whole authorised path
runs as against Google."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from structlog.testing import capture_logs

from botfleet.adapters.connectors.calendar import google
from botfleet.testing.runtime import (
    MONDAY_MORNING,
    bootstrap_test_runtime,
    make_tenant_config,
    text_message,
)

CONTACT = "+34600111222"
CALENDAR = "lopez@group.calendar.google.com"
ACCOUNT = "physio-bot@fisio.iam.gserviceaccount.com"
SCHEDULE = {"mon": ["10:00-14:00"], "tue": ["10:00-14:00"]}
FAST = {"max_attempts": 1}


@cache
def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


class FakeGoogle:
    """The token endpoint, and every Calendar API request answered with `answer` (only the
    writes when `reads_work`: lists are then empty)."""

    def __init__(self) -> None:
        self.answer: tuple[int, str] = (403, "forbidden")
        self.token_refused = False
        self.reads_work = False
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                if self.path == "/token":
                    if owner.token_refused:
                        self._reply(400, {"error": "invalid_grant", "error_description": "x"})
                    else:
                        token = {"access_token": "t", "expires_in": 3599, "token_type": "Bearer"}
                        self._reply(200, token)
                    return
                if owner.reads_work and self.command == "GET":
                    self._reply(200, {"kind": "calendar#events", "items": []})
                    return
                status, reason = owner.answer
                detail = {"domain": "calendar", "reason": reason, "message": "refused"}
                body = {"error": {"errors": [detail], "code": status, "message": "refused"}}
                self._reply(status, body)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    server = FakeGoogle()
    yield server
    server.close()


class _Clock:
    def now(self) -> Any:
        return MONDAY_MORNING


def _flow(operation: str, params: dict[str, Any]) -> dict[str, Any]:
    call = {
        "action": "invoke_connector",
        "connector": "calendar.lopez",
        "operation": operation,
        "params": params,
        "on_error": {"text": "failed", "target": "START"},
    }
    return {
        "id": "calls_v1",
        "initial_state": "START",
        "states": {
            "START": {"transitions": [{"target": "CALL"}]},
            "CALL": {"on_enter": [call, {"action": "send_text", "text": "done"}], "next": "START"},
        },
    }


async def _refused_turn(fake: FakeGoogle, operation: str, **params: Any) -> list[dict[str, Any]]:
    key = {
        "type": "service_account",
        "private_key": _pem(),
        "client_email": ACCOUNT,
        "token_uri": f"{fake.url}/token",
    }
    settings = {
        "calendar_id": CALENDAR,
        "schedule": SCHEDULE,
        "api_base_url": f"{fake.url}/calendar/v3/",
        "service_account_info": key,
    }
    lopez = google.build(settings, timezone="Europe/Madrid", clock=_Clock())
    binding = {"type": "google_calendar", "calendar_id": CALENDAR, "resilience": FAST}
    config = make_tenant_config(
        _flow(operation, params), tenant_id="fisio", connectors={"calendar.lopez": binding}
    )
    with capture_logs() as logs:
        async with bootstrap_test_runtime(config, connectors={"calendar.lopez": lopez}) as rt:
            result = await rt.handle(text_message(CONTACT, "hi"))
    assert [getattr(output, "text", None) for output in result.outputs] == ["failed"]
    assert not any(_pem().splitlines()[1] in repr(entry) for entry in logs)
    return logs


def _line(logs: list[dict[str, Any]], event: str) -> dict[str, Any]:
    (found,) = [entry for entry in logs if entry["event"] == event]
    return found


async def test_a_calendar_not_shared_names_the_calendar_and_the_service_account(
    fake: FakeGoogle,
) -> None:
    logs = await _refused_turn(fake, "get_available_days")

    refused = _line(logs, "connector_misconfigured")
    assert refused["log_level"] == "error"
    assert (refused["connector"], refused["operation"], refused["request"]) == (
        "calendar.lopez",
        "get_available_days",
        "events.list",
    )
    assert (refused["setting"], refused["calendar_id"], refused["service_account"]) == (
        "calendar_id",
        CALENDAR,
        ACCOUNT,
    )
    assert "share the calendar" in _line(logs, "connector_failed")["detail"]


async def test_a_calendar_shared_read_only_says_to_let_it_make_changes(fake: FakeGoogle) -> None:
    # Reads work; the insert is refused with Google's `requiredAccessLevel`.
    fake.answer = (403, "requiredAccessLevel")
    fake.reads_work = True
    logs = await _refused_turn(
        fake, "book_appointment", slot="2024-05-06_1100", contact_id="{{ contact.id }}"
    )

    assert "Make changes to events" in _line(logs, "connector_failed")["detail"]
    refused = _line(logs, "connector_misconfigured")
    assert (refused["setting"], refused["request"]) == ("calendar_id", "events.insert")


@pytest.mark.parametrize("how", ["401", "token refused"])
async def test_a_refused_key_points_at_the_key(fake: FakeGoogle, how: str) -> None:
    fake.answer = (401, "authError")
    fake.token_refused = how == "token refused"
    logs = await _refused_turn(fake, "get_available_days")

    refused = _line(logs, "connector_misconfigured")
    assert (refused["setting"], refused["service_account"], refused["connector"]) == (
        "service_account_info",
        ACCOUNT,
        "calendar.lopez",
    )


async def test_a_rate_limit_403_is_no_misconfiguration(fake: FakeGoogle) -> None:
    fake.answer = (403, "quotaExceeded")
    logs = await _refused_turn(fake, "get_available_days")

    assert not [entry for entry in logs if entry["event"] == "connector_misconfigured"]
