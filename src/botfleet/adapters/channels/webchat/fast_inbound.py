"""`POST /inbound` answered straight from ASGI when nothing about the request is unusual.

A web-chat turn is the data plane's hottest request, and the app's layers around it (exception
middleware, the router, the endpoint's request and response objects) cost ~48 us of its ~540 us
of CPU under the web chat benchmark on Starlette (~90 of ~625 us on FastAPI before;
docs/benchmarks.md). This middleware
serves the common case itself: a POST to the route's path with no query string, a body within
the limit that parses as an `InboundBody`. It runs the same code as the route (`to_message`,
`encode_reply`), so the answer is the same bytes. Anything else (a query string such as
`?wait=false`, a bad or oversized body, a client that went away, a web page's POST not typed
as JSON, which the route refuses unless its site is listed: `cross_site.py`) goes to the app
unchanged, the body replayed, so the route answers it with its own errors; Starlette has no
public hook for this. Exceptions of the turn get the app's registered exception handlers (a
busy store is still a 503 with `Retry-After`); others propagate to the server-error middleware,
as from the route.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from botfleet.adapters.channels.asgi_fast_path import AfterResponse, ExceptionHandler, PostFastPath
from botfleet.adapters.channels.webchat.api import MAX_BODY_BYTES, to_message
from botfleet.adapters.channels.webchat.capabilities import WEBCHAT_CAPABILITIES
from botfleet.adapters.channels.webchat.cross_site import unasked_page_post
from botfleet.adapters.channels.webchat.replies import encode_reply
from botfleet.adapters.channels.webchat.schemas import InboundBody
from botfleet.http_guards import ASGIApp, Scope
from botfleet.ports.channels import Capabilities, InboundHandler
from botfleet.ports.clock import Clock


class InboundFastPath(PostFastPath):
    """ASGI middleware serving ordinary `POST /inbound` turns without the framework's layers.

    Args:
        app: The app, which serves everything else (and this route's unusual requests).
        handler: The runtime, as given to the route.
        clock: As given to the route.
        exception_handlers: The app's handlers by exception class (`app.exception_handlers`;
            read when an exception happens, so handlers added later count).
        capabilities: As given to the route.
        path: The route's path (a prefix included).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        handler: InboundHandler,
        clock: Clock,
        exception_handlers: Mapping[Any, ExceptionHandler],
        capabilities: Capabilities | None = None,
        path: str = "/inbound",
    ) -> None:
        super().__init__(
            app, path=path, max_body_bytes=MAX_BODY_BYTES, exception_handlers=exception_handlers
        )
        self.handler = handler
        self.clock = clock
        self.capabilities = capabilities or WEBCHAT_CAPABILITIES

    async def answer(self, scope: Scope, body: bytes, after: AfterResponse) -> bytes | None:
        if unasked_page_post(scope["headers"]) is not None:  # the route judges its origin
            return None
        try:
            parsed = InboundBody.model_validate_json(body)
        except ValidationError:  # the route words the 422
            return None
        result = await self.handler.handle(to_message(parsed, self.clock.now()))
        return encode_reply(result, self.capabilities)
