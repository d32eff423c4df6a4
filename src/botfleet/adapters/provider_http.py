"""The HTTP client a data plane calls provider APIs with (Graph API, Bot API), bounded.

httpx's connection pool (httpcore) rescans its connections for every queued request whenever a
connection frees up, so its cost grows with the square of the queue: with a few hundred sends
waiting behind `max_connections` (a burst of WhatsApp turns after a webhook backlog), the
process spent nearly all its CPU in that bookkeeping and turns slowed to a crawl
(docs/benchmarks.md, "WhatsApp webhook"). `BoundedTransport` lets at most `max_in_flight`
requests into the pool and queues the rest on a semaphore (FIFO, O(1) per wake-up), so the pool
never has a queue of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx

#: Requests in the pool at once; the pool is sized to hold them all (no queue inside it).
MAX_IN_FLIGHT = 64
#: Seconds per request: connecting, and each read or write (a provider that hangs frees its
#: slot after this).
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that gives its request's slot back once closed (read or abandoned)."""

    def __init__(self, inner: httpx.AsyncByteStream, release: asyncio.Semaphore) -> None:
        self._inner = inner
        self._release: asyncio.Semaphore | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._release is not None:
                self._release.release()
                self._release = None


class BoundedTransport(httpx.AsyncBaseTransport):
    """Delegates to `inner`, with at most `max_in_flight` requests in it at once (a request
    holds its slot until its response body is closed: its connection is busy until then)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, max_in_flight: int) -> None:
        self._inner = inner
        self._slots = asyncio.Semaphore(max_in_flight)
        self.max_in_flight = max_in_flight

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._slots.acquire()
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            self._slots.release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_ReleasingStream(response.stream, self._slots),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


def provider_http_client(max_in_flight: int = MAX_IN_FLIGHT) -> httpx.AsyncClient:
    """An `httpx.AsyncClient` whose pool holds `max_in_flight` connections and never queues."""
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
    inner = httpx.AsyncHTTPTransport(limits=limits)
    return httpx.AsyncClient(transport=BoundedTransport(inner, max_in_flight), timeout=TIMEOUT)
