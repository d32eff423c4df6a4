"""respx under the official SDKs: they send through `httpx2` (an httpx fork), which respx does
not patch. `HTTPX2Mocker` teaches respx to: `respx.mock(using="httpx2")` routes every
`httpx2.AsyncClient` request through the respx router, converting requests and responses."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import httpx2
import respx
from respx.mocks import Mocker


def _to_httpx(request: httpx2.Request) -> httpx.Request:
    return httpx.Request(
        request.method,
        str(request.url),
        headers=list(request.headers.raw),
        content=request.content,
    )


def _to_httpx2(response: httpx.Response, request: httpx2.Request) -> httpx2.Response:
    headers = [(k, v) for k, v in response.headers.raw if k.lower() != b"content-encoding"]
    return httpx2.Response(
        response.status_code, headers=headers, content=response.content, request=request
    )


class HTTPX2Mocker(Mocker):
    """Patches `httpx2` clients' transport lookup, as respx's own "httpx" mocker does."""

    name = "httpx2"
    targets: ClassVar[list[str]] = ["httpx2._client.AsyncClient"]
    target_methods: ClassVar[list[str]] = ["_transport_for_url"]

    @classmethod
    def mock(cls, spec: Any) -> Any:
        def _transport_for_url(self: Any, *args: Any, **kwargs: Any) -> httpx2.MockTransport:
            async def handle(request: httpx2.Request) -> httpx2.Response:
                await request.aread()
                try:
                    response = await cls.async_handler(_to_httpx(request))
                except httpx.TimeoutException as exc:
                    raise httpx2.ReadTimeout(str(exc), request=request) from None
                except httpx.TransportError as exc:
                    raise httpx2.ConnectError(str(exc), request=request) from None
                await response.aread()
                return _to_httpx2(response, request)

            return httpx2.MockTransport(handle)

        return _transport_for_url


def mock_sdk(base_url: str) -> respx.MockRouter:
    """A respx router for SDK traffic to `base_url`; unmatched requests fail the test."""
    return respx.mock(using="httpx2", base_url=base_url, assert_all_called=False)
