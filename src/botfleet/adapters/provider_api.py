"""What the provider senders (WhatsApp, Telegram) need from an HTTP client: POST a JSON body.

The data plane's client is `adapters/provider_http.ProviderClient` (aiohttp's sockets); an
`httpx.AsyncClient` fits these protocols as it is, which is how tests hand senders a client over
`httpx.MockTransport` or respx. Transport failures are httpx's exception classes either way:
`httpx.ConnectError`, `httpx.ConnectTimeout` and `httpx.PoolTimeout` mean the request was never
sent (safe to retry); any other `httpx.HTTPError` means it may have been delivered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import httpx

#: Failures that prove the request never left this process: the senders retry exactly these.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class ProviderReply(Protocol):
    """A provider's answer, read in full."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Case-insensitive lookups (`headers.get("retry-after")`)."""
        ...

    @property
    def is_success(self) -> bool: ...

    def json(self) -> Any:
        """The body as JSON; raises `ValueError` when it is not."""
        ...


class ProviderHttp(Protocol):
    async def post(
        self,
        url: str,
        *,
        json: Any,
        headers: Mapping[str, str] | None = None,
        timeout: float,
    ) -> ProviderReply:
        """POST `json`; `timeout` (seconds) bounds the wait for a connection, connecting and
        each read."""
        ...
