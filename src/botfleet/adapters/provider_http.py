"""The HTTP client a data plane calls provider APIs with (Graph API, Bot API): aiohttp, bounded.

The senders need one thing, a JSON POST read in full (`adapters/provider_api.ProviderHttp`), so
`ProviderClient` is aiohttp's session behind that one call. Until 2026-12-04 the senders went
through `httpx.AsyncClient` over aiohttp's sockets (`httpx-aiohttp`); httpx's request and
response models around aiohttp's own cost ~130 us of a ~200 us Graph call with 64 in flight
(`bench/provider_http.py`; docs/decisions.md, "Provider API calls on aiohttp alone"). Tests
hand senders an `httpx.AsyncClient` (mock transports, respx) behind the same protocol
(`adapters/provider_httpx.py`); httpx itself is not imported here (~2 MB of a tenant's RSS).

Failures are raised as the protocol's exceptions (`adapters/provider_api.py`), mapped by what is
known to have happened: only a connector error (DNS, refused, TLS handshake) or a wait for a
free connection means nothing was written, and the senders retry exactly those; anything later
(a dropped connection, a body cut short, a read timeout) may have been delivered. Messages name
the aiohttp error class only: aiohttp's messages may carry the URL, and a Telegram URL holds
the bot token.

At most `max_in_flight` connections; further requests wait in arrival order for one (aiohttp's
connector queues them in a deque). No cookies are kept: provider APIs authenticate every call
with a token, and parsing responses for cookies cost ~20-35 us per call.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiohttp
import certifi

from botfleet.adapters.provider_api import (
    ProviderCallFailed,
    ProviderTimedOut,
    ProviderUnreachable,
)

if TYPE_CHECKING:
    from botfleet.adapters.provider_api import ProviderHttp

#: Requests on the wire at once; more wait for a connection, first come first served.
MAX_IN_FLIGHT = 64
#: Seconds for connecting a socket (DNS, TCP, TLS).
CONNECT_TIMEOUT_S = 5.0
#: Seconds per request when the caller gives none: the wait for a free connection, and each
#: read (a provider that hangs frees its slot after this).
DEFAULT_TIMEOUT_S = 10.0
#: Idle seconds a kept-alive connection is kept open (httpx's default, which the senders had).
KEEPALIVE_S = 5.0
_JSON_HEADERS = {"Content-Type": "application/json"}


@dataclass(frozen=True, slots=True)
class ProviderResponse:
    """A provider's answer, read in full (`ProviderReply`)."""

    status_code: int
    headers: Mapping[str, str]  # aiohttp's CIMultiDictProxy: lookups ignore case
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        """The body as JSON; `ValueError` when it is not."""
        return jsonlib.loads(self.content)


def provider_error(cause: BaseException) -> ProviderCallFailed:
    """The protocol's error for an aiohttp failure: "never sent" only when nothing was written.
    By class name only: aiohttp's messages may hold the URL."""
    name = type(cause).__name__
    if isinstance(cause, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError):
        # Waiting for a free connection or connecting; DNS, refused, TLS handshake.
        return ProviderUnreachable(name)
    if isinstance(cause, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return ProviderTimedOut(name)
    # A dropped connection, a body cut short or an OS error after the request was (maybe)
    # written.
    return ProviderCallFailed(name)


class ProviderClient:
    """A JSON-over-HTTP client for provider APIs; use it as an async context manager."""

    def __init__(
        self, *, max_in_flight: int = MAX_IN_FLIGHT, timeout_s: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.max_in_flight = max_in_flight
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._default_timeout = _client_timeout(timeout_s, connect_s=CONNECT_TIMEOUT_S)

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
        session = self._session or self._open()
        try:
            async with session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=self._default_timeout if timeout is None else self._timeout(timeout),
                allow_redirects=False,
            ) as response:
                content = await response.read()
                return ProviderResponse(response.status, response.headers, content)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise provider_error(exc) from None  # the cause's message may hold the URL

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        """The same bound on each phase, as httpx applies a caller's number."""
        timeout = self._timeouts.get(seconds)
        if timeout is None:  # a few distinct values per process: the tenants' settings
            timeout = _client_timeout(seconds, connect_s=seconds)
            self._timeouts[seconds] = timeout
        return timeout

    def _open(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop, as aiohttp requires.
        connector = aiohttp.TCPConnector(
            limit=self.max_in_flight,
            limit_per_host=0,
            keepalive_timeout=KEEPALIVE_S,
            ssl=ssl.create_default_context(cafile=certifi.where()),  # as httpx's client had
        )
        self._session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar()
        )
        return self._session

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def __aenter__(self) -> ProviderClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


def _client_timeout(seconds: float, *, connect_s: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=None,
        connect=seconds,  # the wait for a free connection plus connecting
        sock_connect=min(seconds, connect_s),
        sock_read=seconds,
    )


def provider_http_client(max_in_flight: int = MAX_IN_FLIGHT) -> ProviderClient:
    """The data plane's provider client: at most `max_in_flight` requests in flight."""
    return ProviderClient(max_in_flight=max_in_flight)


if TYPE_CHECKING:  # `make lint` (mypy) checks that both clients fit the senders' protocol
    from botfleet.adapters.provider_httpx import HttpxProvider

    def _fits(ours: ProviderClient, tests: HttpxProvider) -> tuple[ProviderHttp, ProviderHttp]:
        return ours, tests
