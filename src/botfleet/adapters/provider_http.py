"""The HTTP client a data plane calls provider APIs with (Graph API, Bot API): a JSON POST over a
bounded pool of kept-alive HTTP/1.1 connections, on asyncio and httptools.

The senders need one thing, a JSON POST read in full (`adapters/provider_api.ProviderHttp`).
Written by hand around httptools' parser (llhttp, which uvicorn already loads for the server
side) because no library fits both of a tenant's budgets: httpx's own pool (httpcore) costs
~1,000 us of CPU per call with 64 in flight, and aiohttp, which the senders used until the
fifth session of 2026-12-04, ~7 MB of each WhatsApp or Telegram tenant's idle RSS (its modules,
attrs, yarl, multidict, frozenlist and two TLS contexts it builds at import) against a 60 MB
target (docs/decisions.md, "Provider API calls on asyncio and httptools"). What is hand-written
is the part a provider call needs: connecting (TLS on certifi's CAs), writing one request,
a pool with a bound and first-come-first-served waiting, timeouts, keep-alive reuse. Parsing
(status line, headers, chunked bodies) is httptools'. Tests hand senders an `httpx.AsyncClient`
(mock transports, respx) behind the same protocol (`adapters/provider_httpx.py`).

Failures are raised as the protocol's exceptions (`adapters/provider_api.py`), by what is known
to have happened: only a failed connect (DNS, refused, TLS handshake) or a wait for a free
connection means nothing was written, and the senders retry exactly those; anything later
(a dropped connection, a body cut short, a read timeout) may have been delivered. Errors name
what happened, never the URL: a Telegram URL holds the bot token.

At most `max_in_flight` requests at once; further requests wait in arrival order. No cookies
are kept, no redirects followed: provider APIs authenticate every call with a token. Behind an
egress proxy, `provider_http_client()` gives httpx's client instead (this one has no proxies).
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import os
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import certifi
import httptools

from botfleet.adapters.provider_api import (
    MAX_ANSWER_BYTES,
    ProviderCallFailed,
    ProviderTimedOut,
    ProviderUnreachable,
)

if TYPE_CHECKING:
    from botfleet.adapters.provider_api import ProviderHttp
    from botfleet.adapters.provider_httpx import HttpxProvider

#: Requests on the wire at once; more wait for a connection, first come first served.
MAX_IN_FLIGHT = 64
#: Seconds for connecting a socket (DNS, TCP, TLS).
CONNECT_TIMEOUT_S = 5.0
#: Seconds per request when the caller gives none: the wait for a free connection, and each
#: read (a provider that hangs frees its slot after this).
DEFAULT_TIMEOUT_S = 10.0
#: Idle seconds a kept-alive connection is reused for (httpx's default, which the senders had);
#: older ones are closed rather than risk a server that has just dropped them.
KEEPALIVE_S = 5.0
_DEFAULT_PORTS = {"http": 80, "https": 443}
_JSON_HEADERS = {"Content-Type": "application/json"}


class Headers(Mapping[str, str]):
    """A response's headers; lookups ignore case, repeated headers are joined with ", "."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values  # keys in lower case

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


@dataclass(frozen=True, slots=True)
class ProviderResponse:
    """A provider's answer, read in full (`ProviderReply`)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        """The body as JSON; `ValueError` when it is not."""
        return jsonlib.loads(self.content)


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: one request at a time, its answer parsed by httptools."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[ProviderResponse] | None = None
        self._deadline = 0.0
        self._timeout_s = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []
        self._body_bytes = 0
        self._headers_done = False
        self.closed = False
        self.reusable = False
        self.idle_since = 0.0

    # ---------------------------------------------------------------- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; they have the same methods.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.close()  # nothing was asked: the connection is out of step
            return
        self._deadline = self._loop.time() + self._timeout_s
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ProviderCallFailed(type(exc).__name__))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if self._waiter is None or self._waiter.done():
            return
        if self._headers_done and self._read_until_close():
            self._finish()  # the end of the connection was the end of the body
        else:
            self._fail(ProviderCallFailed(type(exc).__name__ if exc else "ServerDisconnected"))

    # ---------------------------------------------------------------- httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        seen = self._headers.get(key)
        self._headers[key] = text if seen is None else f"{seen}, {text}"

    def on_headers_complete(self) -> None:
        self._headers_done = True

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > MAX_ANSWER_BYTES:
            self._fail(ProviderCallFailed("AnswerTooLarge"))
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self.closed:  # failed mid-answer (too large): the rest of the bytes are moot
            return
        if 100 <= self._parser.get_status_code() < 200:
            # An interim answer (103 Early Hints, a stray 100 Continue): the real one follows.
            self._expect_answer()
            return
        self.reusable = self._parser.should_keep_alive()
        self._finish()

    # ---------------------------------------------------------------- requests

    async def exchange(self, request: bytes, timeout_s: float) -> ProviderResponse:
        """Write `request` and read its answer; no more than `timeout_s` between reads."""
        assert self._transport is not None
        waiter: asyncio.Future[ProviderResponse] = self._loop.create_future()
        self._waiter = waiter
        self._expect_answer()
        self.reusable = False
        self._timeout_s = timeout_s
        self._deadline = self._loop.time() + timeout_s
        self._timer = self._loop.call_at(self._deadline, self._check_deadline)
        self._transport.write(request)
        try:
            return await waiter
        except asyncio.CancelledError:
            self.close()  # the answer may still come: the connection cannot be reused
            raise
        finally:
            self._timer.cancel()
            self._waiter = None

    def _expect_answer(self) -> None:
        self._headers, self._body, self._body_bytes, self._headers_done = {}, [], 0, False

    def _check_deadline(self) -> None:
        if self._waiter is None or self._waiter.done():
            return
        if self._loop.time() < self._deadline:  # data came since: wait for the rest
            self._timer = self._loop.call_at(self._deadline, self._check_deadline)
            return
        self._fail(ProviderTimedOut("ReadTimeout"))

    def _read_until_close(self) -> bool:
        return "content-length" not in self._headers and "chunked" not in self._headers.get(
            "transfer-encoding", ""
        )

    def _finish(self) -> None:
        assert self._waiter is not None
        if not self._waiter.done():
            status = self._parser.get_status_code()
            content = b"".join(self._body)
            self._waiter.set_result(ProviderResponse(status, Headers(self._headers), content))

    def _fail(self, error: ProviderCallFailed) -> None:
        assert self._waiter is not None
        if not self._waiter.done():
            self._waiter.set_exception(error)
        self.close()

    def close(self) -> None:
        self.closed = True
        self.reusable = False
        if self._transport is not None:
            self._transport.close()


@dataclass(frozen=True, slots=True)
class _Origin:
    scheme: str
    host: str
    port: int

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if _DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"


class ProviderClient:
    """A JSON-over-HTTP client for provider APIs; use it as an async context manager."""

    def __init__(
        self,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.max_in_flight = max_in_flight
        self.timeout_s = timeout_s
        self._ssl = ssl_context
        self._slots = asyncio.Semaphore(max_in_flight)  # FIFO: waiters wake in arrival order
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._busy: set[_Connection] = set()

    async def post(
        self,
        url: str,
        *,
        json: Any,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> ProviderResponse:
        """POST `json` (compact UTF-8); `timeout` in seconds, the client's when None."""
        body = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        sent = {**headers, **_JSON_HEADERS} if headers else _JSON_HEADERS
        return await self.request("POST", url, data=body.encode(), headers=sent, timeout=timeout)

    async def request(
        self,
        method: str,
        url: str,
        *,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> ProviderResponse:
        timeout_s = self.timeout_s if timeout is None else timeout
        origin, request = _request_bytes(method, url, data, headers)
        await self._acquire_slot(timeout_s)
        try:
            connection = self._reuse(origin) or await self._connect(origin, timeout_s)
            self._busy.add(connection)
            try:
                response = await connection.exchange(request, timeout_s)
            finally:
                self._busy.discard(connection)
            self._release(origin, connection)
            return response
        finally:
            self._slots.release()

    async def _acquire_slot(self, timeout_s: float) -> None:
        if not self._slots.locked():
            await self._slots.acquire()  # free: no wait, no timer
            return
        try:
            async with asyncio.timeout(timeout_s):
                await self._slots.acquire()
        except TimeoutError:
            raise ProviderUnreachable("PoolTimeout") from None

    def _reuse(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = asyncio.get_running_loop().time()
        while idle:
            connection = idle.pop()  # the most recently used: the least likely to be dropped
            if not connection.closed and now - connection.idle_since < KEEPALIVE_S:
                return connection
            connection.close()
        return None

    def _release(self, origin: _Origin, connection: _Connection) -> None:
        if not connection.reusable or connection.closed:
            connection.close()
            return
        connection.idle_since = asyncio.get_running_loop().time()
        idle = self._idle.setdefault(origin, [])
        idle.append(connection)
        # At most `max_in_flight` per origin (no more are ever in flight); expired ones go.
        while connection.idle_since - idle[0].idle_since >= KEEPALIVE_S:
            idle.pop(0).close()

    async def _connect(self, origin: _Origin, timeout_s: float) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = self._ssl_context() if origin.scheme == "https" else None
        try:
            async with asyncio.timeout(min(timeout_s, CONNECT_TIMEOUT_S)):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop),
                    origin.host,
                    origin.port,
                    ssl=tls,
                    server_hostname=origin.host if tls else None,
                )
        except TimeoutError:
            raise ProviderUnreachable("ConnectTimeout") from None
        except OSError as exc:  # DNS, refused, unreachable; ssl.SSLError is an OSError
            raise ProviderUnreachable(type(exc).__name__) from None
        return connection

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:  # built on the first HTTPS call (~1 MB with the CAs loaded)
            self._ssl = ssl.create_default_context(cafile=certifi.where())
        return self._ssl

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        for connection in list(self._busy):
            connection.close()

    async def __aenter__(self) -> ProviderClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _request_bytes(
    method: str, url: str, data: bytes | None, headers: Mapping[str, str] | None
) -> tuple[_Origin, bytes]:
    """The origin to connect to and the request as written on the wire."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an http(s) URL with a host: scheme {parts.scheme!r}")
    origin = _Origin(scheme, parts.hostname, parts.port or _DEFAULT_PORTS[scheme])
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {origin.host_header}"]
    if data is not None:
        lines.append(f"Content-Length: {len(data)}")
    lines.append("Accept-Encoding: identity")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if any("\r" in line or "\n" in line for line in lines):  # no header may smuggle another
        raise ValueError("a header name or value, or the URL, holds a line break")
    head = "\r\n".join(lines) + "\r\n\r\n"
    return origin, head.encode("latin-1") + (data or b"")


def provider_http_client(
    max_in_flight: int = MAX_IN_FLIGHT, *, environ: Mapping[str, str] | None = None
) -> ProviderClient | HttpxProvider:
    """The data plane's provider client: at most `max_in_flight` requests in flight.

    Behind an egress proxy (`HTTPS_PROXY`, `HTTP_PROXY` or `ALL_PROXY` in the environment),
    httpx's client instead, which honours those and `NO_PROXY` (this client has no proxy
    support): ~1,000 us more CPU per call and ~2 MB more memory, only where a proxy is set."""
    if _proxy_configured(os.environ if environ is None else environ):
        from botfleet.adapters.provider_httpx import proxied_client

        return proxied_client(
            max_in_flight, timeout_s=DEFAULT_TIMEOUT_S, connect_timeout_s=CONNECT_TIMEOUT_S
        )
    return ProviderClient(max_in_flight=max_in_flight)


def _proxy_configured(environ: Mapping[str, str]) -> bool:
    return any(
        environ.get(name) or environ.get(name.upper())
        for name in ("https_proxy", "http_proxy", "all_proxy")
    )


if TYPE_CHECKING:  # `make lint` (mypy) checks that both clients fit the senders' protocol

    def _fits(ours: ProviderClient, tests: HttpxProvider) -> tuple[ProviderHttp, ProviderHttp]:
        return ours, tests
