"""Oversized and deeply nested bodies on every write route of the data plane: refused early with
413 / 422 (never a 500, a hang or a `RecursionError`), nothing processed or stored, and the plane
serves the next normal request."""

from __future__ import annotations

import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from botfleet.http_guards import MAX_BODY_BYTES, MAX_DEPTH
from botfleet.testing.runtime import make_settings, make_tenant_config, running_app

sys.path.insert(0, str(Path(__file__).parents[1] / "channels"))
from channel_harness import (  # the channel harness lives next to its tests
    TELEGRAM_CHANNEL,
    WHATSAPP_CHANNEL,
    bot_api,
    channel_app,
    graph_api,
)

TOKEN = "internal-token-for-oversized-tests-0123456789"
FLOW = {
    "id": "echo",
    "initial_state": "ECHO",
    "tasks": {"ping": [{"action": "send_text", "text": "ping"}]},
    "states": {"ECHO": {"on_enter": [{"action": "send_text", "text": "ok"}], "fallback": "ECHO"}},
}
HUGE = b'{"contact_id": "ana", "text": "' + b"x" * (5 * MAX_BODY_BYTES) + b'"}'
DEEP = b'{"contact_id": "ana", "text": "hi", "extra": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
JUST_TOO_DEEP = (
    b'{"contact_id": "ana", "text": "hi", "x": '
    + b"[" * (MAX_DEPTH + 1)
    + b"]" * (MAX_DEPTH + 1)
    + b"}"
)


async def _chunks(total: int) -> AsyncIterator[bytes]:
    for _ in range(total // 65_536 + 1):
        yield b"x" * 65_536


async def _assert_refused(client: httpx.AsyncClient, path: str) -> None:
    for body, status, headers in (
        (HUGE, 413, {}),
        (DEEP, 422, {}),
        (JUST_TOO_DEEP, 422, {}),
        (HUGE, 413, {"content-length": "12"}),  # a lying Content-Length
    ):
        started = time.perf_counter()
        response = await client.post(
            path, content=body, headers={"content-type": "application/json", **headers}
        )
        # Refused before any parser runs: quick even on a busy machine.
        assert time.perf_counter() - started < 10, path
        assert response.status_code == status, (path, response.text)
        assert "limit" in response.json()["detail"] or "deeper" in response.json()["detail"]
    streamed = await client.post(path, content=_chunks(2 * MAX_BODY_BYTES))  # no Content-Length
    assert streamed.status_code == 413, path


@pytest.fixture
async def webchat(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    config = make_tenant_config(FLOW)
    settings = make_settings(tmp_path / "state.db", internal_token=TOKEN)
    async with running_app(config, settings=settings) as chat:
        chat.http.headers["Authorization"] = f"Bearer {TOKEN}"
        yield chat.http


async def test_web_chat_and_task_routes_refuse_and_store_nothing(
    webchat: httpx.AsyncClient,
) -> None:
    for path in ("/inbound", "/run-task"):
        await _assert_refused(webchat, path)
    stored = await webchat.get("/messages", params={"contact_id": "ana"})
    assert stored.json()["messages"] == []
    normal = await webchat.post("/inbound", json={"contact_id": "ana", "text": "hi"})
    assert normal.status_code == 200
    assert [r["text"] for r in normal.json()["replies"]] == ["ok"]


@pytest.mark.parametrize("kind", ["whatsapp", "telegram"])
async def test_webhooks_refuse_before_checking_and_process_nothing(kind: str) -> None:
    channel, provider = (
        (WHATSAPP_CHANNEL, graph_api()) if kind == "whatsapp" else (TELEGRAM_CHANNEL, bot_api())
    )
    async with channel_app(channel, provider) as dp:
        await _assert_refused(dp.client, "/webhook")
        await dp.settle()
        assert dp.messages_in == 0
        assert provider.requests == []
        assert (await dp.client.get("/health")).status_code == 200


async def test_a_route_with_its_own_limit_is_refused_naming_it(
    webchat: httpx.AsyncClient,
) -> None:
    """A body over both limits is refused by the guard, before the route reads it: the answer
    names the web chat's 64 KB, which its docs promise, not the app's 1 MiB."""
    from botfleet.adapters.channels.webchat import MAX_BODY_BYTES as WEBCHAT_LIMIT

    headers = {"content-type": "application/json"}
    for body in (HUGE, _chunks(2 * MAX_BODY_BYTES)):
        answer = await webchat.post("/inbound", content=body, headers=headers)
        assert answer.status_code == 413
        assert answer.json()["detail"] == f"request body is over the limit of {WEBCHAT_LIMIT} bytes"
    # Between the two limits too (the route's own check, same words).
    between = b'{"contact_id": "ana", "text": "' + b"x" * (2 * WEBCHAT_LIMIT) + b'"}'
    answer = await webchat.post("/inbound", content=between, headers=headers)
    assert answer.status_code == 413
    assert str(WEBCHAT_LIMIT) in answer.json()["detail"]
    # Routes without a limit of their own keep the app's.
    task = await webchat.post("/run-task", content=HUGE, headers=headers)
    assert task.json()["detail"] == f"request body is over the limit of {MAX_BODY_BYTES} bytes"
