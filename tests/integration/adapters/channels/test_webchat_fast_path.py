"""`InboundFastPath`: which requests it answers itself, and that they get the route's answer.

The route's own behaviour (validation, limits, replies) runs with and without the fast path in
`test_webchat_api.py`; here, what only the fast path decides.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.requests import ClientDisconnect
from test_webchat_api import EchoHandler, make_app, make_client

from botfleet.adapters.channels.webchat import api
from botfleet.adapters.stores.memory import InMemoryOutbox
from botfleet.domain.errors import StoreUnavailable
from botfleet.domain.messages import InboundMessage
from botfleet.ports.channels import TurnResult


@pytest.fixture
def route_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """Bodies the route read: a request missing here was answered by the fast path."""
    reads: list[bytes] = []
    original = api.read_body

    async def spy(request: Any, limit: int) -> bytes:
        body = await original(request, limit)
        reads.append(body)
        return body

    monkeypatch.setattr(api, "read_body", spy)
    yield reads


@pytest.fixture
def handler() -> EchoHandler:
    return EchoHandler(InMemoryOutbox())


async def test_an_ordinary_turn_skips_the_route_and_gets_the_same_bytes(
    handler: EchoHandler, route_reads: list[bytes]
) -> None:
    async with make_client(make_app(handler, handler.outbox, fast=True)) as fast:
        quick = await fast.post(
            "/inbound", json={"contact_id": "a", "text": "hi", "message_id": "m1"}
        )
        # `?wait=true` is the same request for the route; the fast path leaves query strings to it
        routed = await fast.post(
            "/inbound",
            params={"wait": "true"},
            json={"contact_id": "b", "text": "hi", "message_id": "m1"},
        )
    assert len(route_reads) == 1  # only the second request reached the route
    assert quick.status_code == routed.status_code == 200
    assert quick.headers["content-type"] == routed.headers["content-type"]
    assert quick.headers["content-length"] == str(len(quick.content))
    # the second is a duplicate id (its replies come from the first): compare the rest
    assert quick.json()["replies"] == routed.json()["replies"]
    assert quick.json()["duplicate"] is False and routed.json()["duplicate"] is True


@pytest.mark.parametrize(
    ("request_kwargs", "status"),
    [
        ({"json": {"contact_id": "a"}}, 422),  # no text: the route words the error
        ({"content": b"{not json"}, 422),
        ({"content": b"x" * (api.MAX_BODY_BYTES + 1)}, 413),
        ({"params": {"wait": "false"}, "json": {"contact_id": "a", "text": "hi"}}, 202),
    ],
    ids=["invalid", "broken-json", "oversized", "wait-false"],
)
async def test_unusual_requests_go_to_the_route_body_intact(
    handler: EchoHandler,
    route_reads: list[bytes],
    request_kwargs: dict[str, Any],
    status: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def accept(message: InboundMessage) -> bool:
        return True

    monkeypatch.setattr(handler, "accept", accept)
    async with make_client(make_app(handler, handler.outbox, fast=True)) as client:
        response = await client.post("/inbound", **request_kwargs)
    assert response.status_code == status, response.text
    sent = request_kwargs.get("content")
    if sent is not None and len(sent) <= api.MAX_BODY_BYTES:
        assert route_reads == [sent]  # replayed byte for byte
    elif sent is None:
        assert len(route_reads) == 1
    assert handler.received == []


async def test_other_paths_and_methods_are_untouched(
    handler: EchoHandler, route_reads: list[bytes]
) -> None:
    async with make_client(make_app(handler, handler.outbox, fast=True)) as client:
        assert (await client.get("/inbound")).status_code == 405
        assert (await client.post("/inbound/", json={})).status_code in (307, 404)
        assert (await client.get("/messages", params={"contact_id": "a"})).status_code == 200
    assert route_reads == []


class FailingHandler(EchoHandler):
    def __init__(self, error: Exception) -> None:
        super().__init__(InMemoryOutbox())
        self.error = error

    async def handle(self, message: InboundMessage) -> TurnResult:
        raise self.error


async def test_a_turn_error_gets_the_apps_exception_handler() -> None:
    handler = FailingHandler(StoreUnavailable("state.db is locked"))
    async with make_client(make_app(handler, handler.outbox, fast=True)) as client:
        response = await client.post("/inbound", json={"contact_id": "a", "text": "hi"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "state.db" not in response.text


async def test_an_unexpected_turn_error_propagates_as_from_the_route() -> None:
    handler = FailingHandler(RuntimeError("boom"))
    app = make_app(handler, handler.outbox, fast=True)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post("/inbound", json={"contact_id": "a", "text": "hi"})
    assert response.status_code == 500


async def test_a_client_gone_mid_body_never_starts_a_turn(
    handler: EchoHandler, route_reads: list[bytes]
) -> None:
    app = make_app(handler, handler.outbox, fast=True)
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"contact_id": "a",', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/inbound",
        "raw_path": b"/inbound",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"test"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("test", 80),
    }
    with pytest.raises(ClientDisconnect):  # the route met the disconnect, as it would alone
        await app(scope, receive, send)
    assert handler.received == []
    assert messages == []


async def test_the_data_plane_serves_web_chat_turns_through_the_fast_path(
    route_reads: list[bytes],
) -> None:
    """`create_app` installs the channel's fast path from `registry.FAST_PATHS`."""
    from botfleet.testing.runtime import running_app

    async with running_app() as chat:
        replies = await chat.say("c1", "hi")
    assert replies  # the turn was answered ...
    assert route_reads == []  # ... without the route
