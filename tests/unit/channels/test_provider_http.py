"""The data plane's provider client (aiohttp), against a real local HTTP server.

The behaviour the senders rely on is checked on both clients that fit their `ProviderHttp`
protocol: the data plane's `ProviderClient` and an `httpx.AsyncClient` behind `HttpxProvider`
(what tests and tools hand the senders); what only the data plane's client promises (no
cookies, its bounds) on it alone.

What the senders rely on: JSON round trips, at most `max_in_flight` requests on the wire, a
request that never left raising the error they retry (`ProviderUnreachable`), and a request that
may have reached the provider raising any other `ProviderCallFailed`, so a reply is never sent
twice. Neither client's errors carry the URL (a Telegram URL holds the bot token).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web

from botfleet.adapters.provider_api import (
    ProviderCallFailed,
    ProviderTimedOut,
    ProviderUnreachable,
)
from botfleet.adapters.provider_http import (
    CONNECT_TIMEOUT_S,
    DEFAULT_TIMEOUT_S,
    provider_error,
    provider_http_client,
)
from botfleet.adapters.provider_httpx import HttpxProvider


@dataclass
class Provider:
    """A local provider API that counts the requests it holds at once."""

    url: str
    active: int = 0
    most: int = 0
    bodies: list[object] = field(default_factory=list)
    cookies_sent: list[str | None] = field(default_factory=list)
    pause_s: float = 0.0
    released: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    state = Provider(url="")

    async def messages(request: web.Request) -> web.StreamResponse:
        state.active += 1
        state.most = max(state.most, state.active)
        try:
            state.bodies.append(await request.json())
            await asyncio.sleep(state.pause_s)
            return web.json_response(
                {"messages": [{"id": f"wamid.{len(state.bodies)}"}]},
                headers={"X-Seen": str(len(state.bodies))},
            )
        finally:
            state.active -= 1

    async def drop(request: web.Request) -> web.StreamResponse:
        await request.read()  # the whole request arrived ...
        assert request.transport is not None
        request.transport.close()  # ... and the connection goes without an answer
        await asyncio.sleep(0.05)
        return web.Response()

    async def cut_body(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b'{"partial": ')
        assert request.transport is not None
        request.transport.close()
        return response

    async def hang(request: web.Request) -> web.StreamResponse:
        await state.released.wait()  # until the test is over
        return web.Response()

    async def cookie(request: web.Request) -> web.StreamResponse:
        state.cookies_sent.append(request.headers.get("Cookie"))
        response = web.json_response({"ok": True})
        response.set_cookie("session", "abc123")
        return response

    async def status(request: web.Request) -> web.StreamResponse:
        code = int(request.match_info["code"])
        return web.Response(status=code, text="slow down", headers={"Retry-After": "7"})

    app = web.Application()
    app.router.add_post("/status/{code}", status)
    app.router.add_post("/v19.0/1/messages", messages)
    app.router.add_post("/cookie", cookie)
    app.router.add_post("/drop", drop)
    app.router.add_get("/cut", cut_body)
    app.router.add_post("/hang", hang)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        state.released.set()
        await runner.cleanup()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port  # nothing listens on it once the socket is closed


MakeClient = Callable[..., Any]


def _httpx_client(max_in_flight: int = 64) -> HttpxProvider:
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
    return HttpxProvider(httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(10.0, connect=5.0)))


@pytest.fixture(params=["provider-client", "httpx-client"])
def make_client(request: pytest.FixtureRequest) -> MakeClient:
    """Either client that fits `ProviderHttp`, given its bound on requests in flight."""
    return provider_http_client if request.param == "provider-client" else _httpx_client


async def test_a_json_post_round_trips(provider: Provider, make_client: MakeClient) -> None:
    async with make_client() as client:
        response = await client.post(
            f"{provider.url}/v19.0/1/messages",
            json={"to": "16505551234", "text": {"body": "héllo 👋"}},
            headers={"Authorization": "Bearer token"},
        )
    assert response.status_code == 200
    assert response.json() == {"messages": [{"id": "wamid.1"}]}
    assert response.headers["x-seen"] == "1"
    assert provider.bodies == [{"to": "16505551234", "text": {"body": "héllo 👋"}}]


async def test_at_most_max_in_flight_requests_reach_the_provider(
    provider: Provider, make_client: MakeClient
) -> None:
    provider.pause_s = 0.01
    async with make_client(max_in_flight=8) as client:
        responses = await asyncio.gather(
            *(client.post(f"{provider.url}/v19.0/1/messages", json={"i": i}) for i in range(100))
        )
    assert [r.status_code for r in responses] == [200] * 100
    assert sorted(b["i"] for b in provider.bodies) == list(range(100))  # type: ignore[index]
    assert provider.most == 8


async def test_a_refused_connection_is_an_error_the_senders_retry(make_client: MakeClient) -> None:
    async with make_client() as client:
        with pytest.raises(ProviderUnreachable) as raised:
            await client.post(f"http://127.0.0.1:{_closed_port()}/v19.0/1/messages", json={})
    assert "127.0.0.1" not in str(raised.value)
    assert raised.value.__cause__ is None  # the library's error, which names the URL, is not kept


async def test_a_connection_dropped_after_the_request_is_not_retried(
    provider: Provider, make_client: MakeClient
) -> None:
    """The request may have been read: a retry would send the reply twice (the `httpx-aiohttp`
    adapter the senders used before mapped this to `ConnectTimeout`, which they retry)."""
    async with make_client() as client:
        with pytest.raises(ProviderCallFailed) as raised:
            await client.post(f"{provider.url}/drop", json={"text": "once"})
    assert not isinstance(raised.value, ProviderUnreachable)


async def test_a_body_cut_short_is_not_retried(provider: Provider, make_client: MakeClient) -> None:
    async with make_client() as client:
        with pytest.raises(ProviderCallFailed) as raised:
            await client.request("GET", f"{provider.url}/cut")
    assert not isinstance(raised.value, ProviderUnreachable)


async def test_a_provider_that_hangs_times_out_as_a_read(
    provider: Provider, make_client: MakeClient
) -> None:
    async with make_client() as client:
        with pytest.raises(ProviderTimedOut):
            await client.post(f"{provider.url}/hang", json={}, timeout=0.2)


async def test_waiting_too_long_for_a_connection_is_not_sent(
    provider: Provider, make_client: MakeClient
) -> None:
    provider.pause_s = 1.0
    async with make_client(max_in_flight=1) as client:
        first = asyncio.create_task(client.post(f"{provider.url}/v19.0/1/messages", json={"n": 1}))
        await asyncio.sleep(0.1)
        with pytest.raises(ProviderUnreachable):
            await client.post(
                f"{provider.url}/v19.0/1/messages",
                json={"n": 2},
                timeout=0.2,
            )
        assert (await first).status_code == 200
    assert provider.bodies == [{"n": 1}]


async def test_errors_name_no_url() -> None:
    """aiohttp's messages can hold the URL (a Telegram URL holds the bot token)."""
    secret = "https://api.telegram.org/bot123:SECRET/sendMessage"
    causes: list[BaseException] = [
        aiohttp.ServerDisconnectedError(secret),
        aiohttp.ClientPayloadError(secret),
        aiohttp.ConnectionTimeoutError(secret),
        aiohttp.SocketTimeoutError(secret),
        aiohttp.ClientOSError(104, secret),
    ]
    for cause in causes:
        error = provider_error(cause)
        assert "SECRET" not in str(error)
        assert error.cause == type(cause).__name__


async def test_the_client_pool_and_timeouts_fit_their_bounds(provider: Provider) -> None:
    async with provider_http_client(max_in_flight=16) as client:
        await client.post(f"{provider.url}/v19.0/1/messages", json={})
        assert client._session is not None
        assert client._session.connector is not None
        assert client._session.connector.limit == 16
        default = client._default_timeout
        assert (default.connect, default.sock_read) == (DEFAULT_TIMEOUT_S, DEFAULT_TIMEOUT_S)
        assert default.sock_connect == CONNECT_TIMEOUT_S
        given = client._timeout(2.5)  # a sender's number bounds every phase, as in httpx
        assert (given.connect, given.sock_connect, given.sock_read) == (2.5, 2.5, 2.5)
        assert given.total is None
    assert client._session is None  # closed with the context


async def test_error_answers_are_returned_with_their_headers(
    provider: Provider, make_client: MakeClient
) -> None:
    async with make_client() as client:
        response = await client.post(f"{provider.url}/status/429", json={})
    assert response.status_code == 429
    assert not response.is_success
    assert response.headers.get("retry-after") == "7"  # any case
    assert response.headers.get("Retry-After") == "7"
    with pytest.raises(ValueError):
        response.json()  # not JSON: the senders treat it as an empty body


async def test_a_cookie_set_by_the_provider_is_neither_kept_nor_sent_back(
    provider: Provider,
) -> None:
    # By name: aiohttp's own jar would refuse a cookie from a bare IP address anyway.
    url = provider.url.replace("127.0.0.1", "localhost") + "/cookie"
    async with provider_http_client() as client:
        for _ in range(2):
            response = await client.post(url, json={})
            assert response.status_code == 200
            assert "session=abc123" in response.headers["set-cookie"]  # the caller still sees it
        assert client._session is not None
        assert len(client._session.cookie_jar) == 0
    assert provider.cookies_sent == [None, None]
