"""A control plane that cannot use its database at start-up says so in one line (host, port,
database; never the password), which uvicorn prints instead of Starlette's traceback."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from cp_harness import Database, make_settings, postgres_unreachable_reason

from botfleet.control_plane.app import create_app

PASSWORD = "hunter2-not-to-be-printed"
CLOSED_PORT_URL = f"postgresql+asyncpg://postgres:{PASSWORD}@127.0.0.1:1/nothing"


async def startup_answer(app: Any) -> dict[str, Any]:
    """What the app tells the server when asked to start (the ASGI lifespan protocol)."""
    sent: list[dict[str, Any]] = []
    incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await incoming.put({"type": "lifespan.startup"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    # Starlette raises the error again after reporting it; the report is what is tested.
    with contextlib.suppress(Exception):
        await app(scope, incoming.get, send)
    (answer,) = sent
    return answer


async def test_an_unreachable_database_is_one_line_naming_host_port_and_database() -> None:
    settings = make_settings(Database("postgres", CLOSED_PORT_URL), startup_db_attempts=2)
    answer = await startup_answer(create_app(settings))
    assert answer["type"] == "lifespan.startup.failed"
    message = answer["message"]
    assert "\n" not in message
    assert "Traceback" not in message
    assert "127.0.0.1:1" in message
    assert "'nothing'" in message
    assert "after 2 attempt(s)" in message
    assert PASSWORD not in message


@pytest.mark.external_service
async def test_a_missing_database_says_to_create_it_without_retrying() -> None:
    reason = await postgres_unreachable_reason()
    if reason is not None:
        pytest.skip(reason)
    from cp_harness import POSTGRES_URL
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL).set(database="botfleet_no_such_db", password=PASSWORD)
    settings = make_settings(
        Database("postgres", url.render_as_string(hide_password=False)), startup_db_attempts=5
    )
    started = asyncio.get_running_loop().time()
    answer = await startup_answer(create_app(settings))
    assert asyncio.get_running_loop().time() - started < 2  # no waiting between attempts
    message = answer["message"]
    assert "\n" not in message
    assert "'botfleet_no_such_db'" in message
    assert "does not exist" in message
    assert "create it with createdb" in message
    assert f"{url.host}:{url.port or 5432}" in message
    assert PASSWORD not in message
