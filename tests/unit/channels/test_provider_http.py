"""The data plane's provider client (asyncio and httptools), against a real local HTTP server.

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
import gzip
import json
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvloop
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from botfleet.adapters.provider_api import (
    MAX_ANSWER_BYTES,
    ProviderCallFailed,
    ProviderTimedOut,
    ProviderUnreachable,
)
from botfleet.adapters.provider_http import (
    ProviderClient,
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
    peers: list[object] = field(default_factory=list)  # each request's client address
    pause_s: float = 0.0
    released: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    async for state in _provider_server():
        yield state


async def _provider_server() -> AsyncIterator[Provider]:
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

    async def close(request: web.Request) -> web.StreamResponse:
        return web.json_response({"ok": True}, headers={"Connection": "close"})

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        body = json.dumps({"parts": list(range(50))}).encode()
        for i in range(0, len(body), 16):
            await response.write(body[i : i + 16])
        await response.write_eof()
        return response

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "5"})
        await response.prepare(request)
        for i in range(5):
            await response.write(str(i).encode())
            await asyncio.sleep(0.1)
        await response.write_eof()
        return response

    async def huge(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"x" * (MAX_ANSWER_BYTES + 1))

    async def packed(request: web.Request) -> web.StreamResponse:
        # Small on the wire, over the limit once unpacked: a client must count what it unpacks.
        body = gzip.compress(b"x" * (MAX_ANSWER_BYTES + int(request.query.get("extra", "1"))))
        return web.Response(body=body, headers={"Content-Encoding": "gzip"})

    async def status(request: web.Request) -> web.StreamResponse:
        code = int(request.match_info["code"])
        return web.Response(status=code, text="slow down", headers={"Retry-After": "7"})

    @web.middleware
    async def peers(request: web.Request, handler: Any) -> web.StreamResponse:
        assert request.transport is not None
        state.peers.append(request.transport.get_extra_info("peername"))
        response: web.StreamResponse = await handler(request)
        return response

    app = web.Application(middlewares=[peers])
    app.router.add_post("/close", close)
    app.router.add_get("/chunked", chunked)
    app.router.add_get("/drip", drip)
    app.router.add_get("/huge", huge)
    app.router.add_get("/packed", packed)
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


@pytest.mark.parametrize(
    ("method", "path", "timeout"),
    [("POST", "/drop", 5.0), ("GET", "/cut", 5.0), ("POST", "/hang", 0.2)],
)
async def test_errors_name_no_url(
    provider: Provider, method: str, path: str, timeout: float
) -> None:
    """A Telegram URL holds the bot token: no error may carry it, not even as its cause."""
    secret = "bot123:SECRET"
    async with provider_http_client() as client:
        with pytest.raises(ProviderCallFailed) as raised:
            await client.request(method, f"{provider.url}{path}?token={secret}", timeout=timeout)
    assert "SECRET" not in str(raised.value)
    error = raised.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


async def test_connections_are_kept_alive_and_reused(provider: Provider) -> None:
    async with provider_http_client() as client:
        for i in range(5):
            response = await client.post(f"{provider.url}/v19.0/1/messages", json={"i": i})
            assert response.status_code == 200
    assert len(set(provider.peers)) == 1


async def test_a_connection_the_provider_closes_is_not_reused(provider: Provider) -> None:
    async with provider_http_client() as client:
        for _ in range(3):
            response = await client.post(f"{provider.url}/close", json={})
            assert response.json() == {"ok": True}
            await asyncio.sleep(0.01)
    assert len(set(provider.peers)) == 3


async def test_a_chunked_answer_is_read_in_full(provider: Provider) -> None:
    async with provider_http_client() as client:
        response = await client.request("GET", f"{provider.url}/chunked")
    assert response.status_code == 200
    assert response.json() == {"parts": list(range(50))}


async def test_the_timeout_bounds_each_read_not_the_whole_answer(provider: Provider) -> None:
    """Five chunks 0.1 s apart: 0.4 s in all, never 0.3 s without a byte."""
    async with provider_http_client() as client:
        response = await client.request("GET", f"{provider.url}/drip", timeout=0.3)
    assert response.content == b"01234"


async def test_a_line_break_in_a_header_is_refused_before_sending(provider: Provider) -> None:
    async with provider_http_client() as client:
        with pytest.raises(ValueError, match="line break"):
            await client.post(
                f"{provider.url}/v19.0/1/messages",
                json={},
                headers={"Authorization": "Bearer x\r\nX-Injected: 1"},
            )
    assert provider.bodies == []


async def test_requests_wait_for_a_free_connection_in_arrival_order(provider: Provider) -> None:
    provider.pause_s = 0.02
    async with provider_http_client(max_in_flight=1) as client:
        await asyncio.gather(
            *(client.post(f"{provider.url}/v19.0/1/messages", json={"n": n}) for n in range(10))
        )
    assert provider.bodies == [{"n": n} for n in range(10)]


async def test_https_with_the_providers_certificate(tmp_path: Path) -> None:
    """TLS end to end against a local server whose certificate a test CA signed."""
    server_ctx, client_ctx = _tls_contexts(tmp_path)

    async def hello(request: web.Request) -> web.StreamResponse:
        return web.json_response({"tls": request.secure})

    app = web.Application()
    app.router.add_post("/hello", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with ProviderClient(ssl_context=client_ctx) as client:
            response = await client.post(f"https://localhost:{port}/hello", json={})
            assert response.json() == {"tls": True}
        async with provider_http_client() as client:  # certifi's CAs: the test CA is unknown
            with pytest.raises(ProviderUnreachable) as raised:
                await client.post(f"https://localhost:{port}/hello", json={})
            assert "Certificate" in raised.value.cause or "SSL" in raised.value.cause
    finally:
        await runner.cleanup()


def _tls_contexts(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a certificate for localhost, and a client context trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    return server, ssl.create_default_context(cafile=str(cert_path))


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
    assert provider.cookies_sent == [None, None]


def test_the_client_runs_on_uvloop_as_the_data_plane_does() -> None:
    """uvicorn serves the data plane on uvloop, whose transports are not asyncio's classes."""

    async def scenario() -> None:
        async for provider in _provider_server():
            async with provider_http_client() as client:
                for i in range(3):  # kept alive and reused
                    response = await client.post(f"{provider.url}/v19.0/1/messages", json={"i": i})
                    assert response.json() == {"messages": [{"id": f"wamid.{i + 1}"}]}
                with pytest.raises(ProviderTimedOut):
                    await client.post(f"{provider.url}/hang", json={}, timeout=0.2)
                with pytest.raises(ProviderUnreachable):
                    await client.post(f"http://127.0.0.1:{_closed_port()}/x", json={})
            assert len(set(provider.peers[:3])) == 1

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())


async def test_an_interim_answer_is_skipped_for_the_final_one() -> None:
    """A 1xx answer (here 103 Early Hints) precedes the real one on the same connection."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(2)  # the body, "{}"
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
        body = b'{"ok":true}'
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nX-Final: yes\r\n\r\n"
        writer.write(head.encode() + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with provider_http_client() as client:
            response = await client.post(f"http://127.0.0.1:{port}/x", json={})
    finally:
        server.close()
        await server.wait_closed()
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert response.headers["x-final"] == "yes" and "link" not in response.headers


async def test_an_answer_over_the_size_limit_is_a_failure(
    provider: Provider, make_client: MakeClient
) -> None:
    async with make_client() as client:
        with pytest.raises(ProviderCallFailed) as raised:
            await client.request("GET", f"{provider.url}/huge")
        assert raised.value.cause == "AnswerTooLarge"
        response = await client.post(f"{provider.url}/v19.0/1/messages", json={})  # still usable
        assert response.status_code == 200


@pytest.mark.parametrize(
    ("environ", "proxied"),
    [
        ({}, False),
        ({"HTTPS_PROXY": ""}, False),
        ({"NO_PROXY": "*"}, False),
        ({"HTTPS_PROXY": "http://proxy.internal:3128"}, True),
        ({"http_proxy": "http://proxy.internal:3128"}, True),
        ({"ALL_PROXY": "socks5://proxy.internal:1080"}, True),
    ],
)
async def test_a_proxy_in_the_environment_selects_httpx(
    environ: dict[str, str], proxied: bool
) -> None:
    async with provider_http_client(environ=environ) as client:
        assert isinstance(client, HttpxProvider) is proxied
        assert isinstance(client, ProviderClient) is not proxied


async def test_provider_calls_go_through_the_environments_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The provider's host is not resolvable here: only the proxy can have answered."""
    seen: list[tuple[str, str]] = []

    async def forward(request: web.Request) -> web.StreamResponse:
        seen.append((request.method, str(request.url)))
        return web.json_response({"messages": [{"id": "wamid.via-proxy"}]})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    try:
        async with provider_http_client() as client:
            response = await client.post("http://graph.provider.invalid/v19.0/1/messages", json={})
    finally:
        await runner.cleanup()
    assert response.json() == {"messages": [{"id": "wamid.via-proxy"}]}
    assert seen == [("POST", "http://graph.provider.invalid/v19.0/1/messages")]


async def test_httpx_counts_a_compressed_answer_as_it_unpacks(provider: Provider) -> None:
    """Behind an egress proxy the senders use httpx, which alone would unpack any size."""
    async with _httpx_client() as client:
        with pytest.raises(ProviderCallFailed) as raised:
            await client.request("GET", f"{provider.url}/packed")
        assert raised.value.cause == "AnswerTooLarge"
        response = await client.request("GET", f"{provider.url}/packed?extra=-10")
    assert response.status_code == 200
    assert response.content == b"x" * (MAX_ANSWER_BYTES - 10)
    assert "content-encoding" not in response.headers
