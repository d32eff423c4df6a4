"""An `httpx.AsyncClient` behind the senders' `ProviderHttp` protocol.

Tests drive the senders through httpx (respx, `httpx.MockTransport`), and a deployment may want
httpx's features (proxies from the environment, HTTP/2). httpx's transport errors are mapped to
the protocol's own: a connect error or a wait for a free connection means nothing was written
(`ProviderUnreachable`, retried); anything later may have been delivered.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from botfleet.adapters.provider_api import (
    MAX_ANSWER_BYTES,
    ProviderCallFailed,
    ProviderTimedOut,
    ProviderUnreachable,
)

_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def provider_error(exc: httpx.HTTPError) -> ProviderCallFailed:
    """The protocol's error for an httpx failure (by class name: messages may hold the URL)."""
    cause = type(exc).__name__
    if isinstance(exc, _NEVER_SENT):
        return ProviderUnreachable(cause)
    if isinstance(exc, httpx.TimeoutException):
        return ProviderTimedOut(cause)
    return ProviderCallFailed(cause)


async def _read_capped(streamed: httpx.Response) -> httpx.Response:
    """The answer read in full, as the data plane's own client reads it: at most
    `MAX_ANSWER_BYTES` once decoded (a compressed answer counts as it unpacks), else
    `ProviderCallFailed("AnswerTooLarge")`. httpx alone would read any size into memory."""
    body = bytearray()
    async for chunk in streamed.aiter_bytes():
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise ProviderCallFailed("AnswerTooLarge")
    # Decoded already: the encoding headers no longer describe these bytes.
    headers = [
        (name, value)
        for name, value in streamed.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        streamed.status_code, headers=headers, content=bytes(body), request=streamed.request
    )


class HttpxProvider:
    """`client` as a `ProviderHttp`; closing this closes the client."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(
        self,
        url: str,
        *,
        json: Any,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        return await self.request("POST", url, json=json, headers=headers, timeout=timeout)

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """`timeout` in seconds, the client's own when None (httpx reads None as "no limit").
        `data`: a body already encoded, sent as it is (a signed webhook), instead of `json`."""
        try:
            async with self.client.stream(
                method,
                url,
                json=json,
                content=data,
                headers=headers,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            ) as streamed:
                return await _read_capped(streamed)
        except httpx.HTTPError as exc:
            raise provider_error(exc) from None  # the cause's message may hold the URL

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __aenter__(self) -> HttpxProvider:
        await self.client.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.client.__aexit__(exc_type, exc, traceback)


def proxied_client(
    max_in_flight: int, *, timeout_s: float, connect_timeout_s: float
) -> HttpxProvider:
    """httpx's own client with the environment's proxy settings (`HTTPS_PROXY`, `NO_PROXY`...),
    the same bounds as the data plane's client, no redirects followed."""
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
    client = httpx.AsyncClient(
        trust_env=True,
        limits=limits,
        timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s),
        follow_redirects=False,
    )
    return HttpxProvider(client)
