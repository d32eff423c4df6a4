"""A configuration the runtime refuses while it is built (in the app's lifespan) fails the
start with its one-line message, which `startup_problem` returns (`botfleet serve data-plane`
prints it and exits with 2), instead of Starlette's traceback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from botfleet.data_plane.app import create_app
from botfleet.startup_problems import startup_problem
from botfleet.testing.runtime import make_settings, make_tenant_config

CALLS_CALENDAR = {
    "id": "f_v1",
    "initial_state": "A",
    "states": {
        "A": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "calendar",
                    "operation": "get_available_days",
                    "on_error": "A",
                }
            ],
            "fallback": "A",
        }
    },
}


async def start(app: Any) -> list[dict[str, Any]]:
    """Run the ASGI lifespan's start-up as a server does; the messages the app sent."""
    sent: list[dict[str, Any]] = []
    incoming = [{"type": "lifespan.startup"}]

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    with suppress(Exception):  # Starlette raises again after reporting the failure
        await app(scope, receive, send)
    return sent


async def test_a_refused_binding_fails_the_start_with_its_message() -> None:
    config = make_tenant_config(
        CALLS_CALENDAR, tenant_id="salon", connectors={"calendar": {"type": "outlook"}}
    )
    app = create_app(make_settings(), config=config)
    assert startup_problem(app) is None

    (failed,) = await start(app)

    expected = (
        "<test tenant salon>: connectors.calendar.type: unknown type 'outlook' "
        "(known: caldav, calendar_pool, google_calendar, mock, mock_calendar)"
    )
    assert failed == {"type": "lifespan.startup.failed", "message": expected}
    assert startup_problem(app) == expected


async def test_another_failure_keeps_starlettes_report() -> None:
    config = make_tenant_config(CALLS_CALENDAR, connectors={"calendar": {"type": "mock"}})
    app = create_app(make_settings(), config=config)

    @asynccontextmanager
    async def failing(app: Any) -> AsyncIterator[None]:
        raise RuntimeError("not a configuration problem")
        yield  # pragma: no cover

    app.router.lifespan_context = failing
    (failed,) = await start(app)

    assert failed["type"] == "lifespan.startup.failed"
    assert "Traceback" in failed["message"]  # unexplained: reported as before
    assert startup_problem(app) is None
