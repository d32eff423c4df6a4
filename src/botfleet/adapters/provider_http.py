"""The HTTP client a data plane calls provider APIs with (Graph API, Bot API), bounded.

The senders speak httpx (its requests, responses, timeouts and errors; tests hand them httpx
clients over mock transports), but the sockets underneath are aiohttp's, through
`httpx_aiohttp.AiohttpTransport`. httpx's own pool (httpcore over anyio) cost 490 us of CPU per
Graph call one at a time and 1,050 us with 64 calls in flight, where it rescans every connection
for every queued request; through aiohttp the same client costs 353 and 223 us
(`bench/provider_http.py`, 2026-12-04; docs/decisions.md). A WhatsApp turn makes two calls, so
this was most of a turn's CPU while a backlog drains.

aiohttp's connector holds at most `max_in_flight` connections and queues further requests in
arrival order (a deque, O(1) per wake-up); a request keeps its connection until its response
body is closed.

`ProviderTransport` also replaces the library's error mapping, which turns any aiohttp
connection error (a server that drops the connection after reading the request included) into
`httpx.ConnectTimeout`. The senders retry exactly the errors that prove the request was never
sent (`ConnectError`, `ConnectTimeout`, `PoolTimeout`), so that mapping would send a reply twice.

Neither layer keeps cookies: provider APIs authenticate every call with a token, and both
httpx and aiohttp would otherwise parse every response for cookies to send back later (httpx's
`http.cookiejar` adapter alone was ~25 us of a ~175 us call).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

#: Requests on the wire at once; more wait for a connection, first come first served.
MAX_IN_FLIGHT = 64
#: Seconds per request: connecting, and each read or write (a provider that hangs frees its
#: slot after this).
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def httpx_error(cause: BaseException, request: httpx.Request) -> httpx.TransportError:
    """The httpx error for an aiohttp failure: "never sent" only when nothing was written.

    Only the class name goes into the message: aiohttp's messages may carry the URL, and a
    Telegram URL holds the bot token.
    """
    name = type(cause).__name__
    error: type[httpx.TransportError]
    if isinstance(cause, aiohttp.ConnectionTimeoutError):
        error = httpx.ConnectTimeout  # waiting for a free connection or connecting
    elif isinstance(cause, aiohttp.ClientConnectorError):
        error = httpx.ConnectError  # DNS, refused, TLS handshake: the request never left
    elif isinstance(cause, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        error = httpx.ReadTimeout
    elif isinstance(cause, aiohttp.ClientPayloadError | aiohttp.ClientResponseError):
        error = httpx.RemoteProtocolError
    else:  # a dropped connection or an OS error after the request was (maybe) written
        error = httpx.ReadError
    return error(f"provider request failed: {name}", request=request)


class _MappedStream(httpx.AsyncByteStream):
    """A response body whose read errors are mapped like the request's (the library maps a
    connection dropped mid-body to `ConnectTimeout` too)."""

    def __init__(self, inner: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._inner = inner
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.TransportError as exc:
            raise _remapped(exc, self._request) from exc.__cause__

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except httpx.TransportError as exc:
            raise _remapped(exc, self._request) from exc.__cause__


def _remapped(exc: httpx.TransportError, request: httpx.Request) -> httpx.TransportError:
    return exc if exc.__cause__ is None else httpx_error(exc.__cause__, request)


class ProviderTransport(AiohttpTransport):
    """`AiohttpTransport` with at most `max_in_flight` connections and exact error mapping."""

    def __init__(self, max_in_flight: int = MAX_IN_FLIGHT) -> None:
        n = max_in_flight
        super().__init__(limits=httpx.Limits(max_connections=n, max_keepalive_connections=n))
        self.max_in_flight = max_in_flight

    def get_client(self) -> aiohttp.ClientSession:
        """The library's session, with a cookie jar that keeps nothing."""
        session = super().get_client()
        # The library builds its connector (limits, keep-alive, TLS) in `get_client`; a new
        # session over that connector is how a cookie jar is chosen (it cannot be swapped).
        connector = session.connector
        session.detach()  # the connector now belongs to the new session
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as exc:
            raise _remapped(exc, request) from exc.__cause__
        except (TimeoutError, aiohttp.ClientError) as exc:  # left unmapped upstream
            raise httpx_error(exc, request) from exc
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_MappedStream(response.stream, request),
            request=request,
            extensions=response.extensions,
        )


class _NoCookies(httpx.Cookies):
    """A jar that keeps nothing a response sets."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class ProviderClient(httpx.AsyncClient):
    """`httpx.AsyncClient` that neither keeps nor sends cookies."""

    def __init__(self, *, transport: httpx.AsyncBaseTransport, timeout: httpx.Timeout) -> None:
        super().__init__(transport=transport, timeout=timeout)
        self._no_cookies = _NoCookies()

    @property  # type: ignore[override]
    def cookies(self) -> httpx.Cookies:
        # httpx reads `self.cookies` to merge a request's cookies and to store a response's.
        return self._no_cookies

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        raise TypeError("a provider client keeps no cookies")


def provider_http_client(max_in_flight: int = MAX_IN_FLIGHT) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` over aiohttp with at most `max_in_flight` requests in flight."""
    return ProviderClient(transport=ProviderTransport(max_in_flight), timeout=TIMEOUT)
