"""What the provider senders (WhatsApp, Telegram) need from an HTTP client: POST a JSON body.

The data plane's client is `adapters/provider_http.ProviderClient` (asyncio and httptools);
`adapters/provider_httpx.HttpxProvider` puts an `httpx.AsyncClient` behind the same protocol,
which is how tests hand senders a client over `httpx.MockTransport` or respx. Transport failures
are this module's exceptions whatever the client, so a sender imports no HTTP library (httpx
alone is ~2 MB of a tenant's RSS): `ProviderUnreachable` means the request was never sent (safe
to retry); any other `ProviderCallFailed` means it may have been delivered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

#: Largest answer read, by every client (provider answers are a few hundred bytes): a larger
#: one is a failure, not memory taken without bound.
MAX_ANSWER_BYTES = 1024 * 1024


class ProviderCallFailed(Exception):
    """No full answer came back, and the request may have reached the provider.

    `cause` names what happened (the HTTP library's error class, e.g. `ReadTimeout`), never
    the URL or the library's message: a Telegram URL holds the bot token."""

    def __init__(self, cause: str) -> None:
        super().__init__(f"provider request failed: {cause}")
        self.cause = cause


class ProviderUnreachable(ProviderCallFailed):
    """Nothing was sent (DNS, refused, TLS handshake, no free connection in time): the senders
    retry exactly these."""


class ProviderTimedOut(ProviderCallFailed):
    """Sent, and no answer within the timeout: it may have been delivered."""


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
        each read. Transport failures raise `ProviderCallFailed` (`ProviderUnreachable` when
        nothing was sent)."""
        ...
