"""`POST /inbound` answered straight from ASGI when nothing about the request is unusual.

A web-chat turn is the data plane's hottest request, and FastAPI's layers around it (exception
and exit-stack middleware, three routers, the endpoint's request and response machinery) cost
~90 us of its ~625 us of CPU under the web chat benchmark (docs/benchmarks.md). This middleware
serves the common case itself: a POST to the route's path with no query string, a body within
the limit that parses as an `InboundBody`. It runs the same code as the route (`to_message`,
`encode_reply`), so the answer is the same bytes. Anything else (a query string such as
`?wait=false`, a bad or oversized body, a client that went away) goes to the app unchanged, the
body replayed, so the route answers it with its own errors; FastAPI has no public hook for
this. Exceptions of the turn get the app's registered exception handlers (a busy store is still
a 503 with `Retry-After`); others propagate to the server-error middleware, as from the route.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from botfleet.adapters.channels.webchat.api import MAX_BODY_BYTES, encode_reply, to_message
from botfleet.adapters.channels.webchat.capabilities import WEBCHAT_CAPABILITIES
from botfleet.adapters.channels.webchat.schemas import InboundBody
from botfleet.http_guards import ASGIApp, Message, Receive, Scope, Send, declared_length
from botfleet.ports.channels import Capabilities, InboundHandler
from botfleet.ports.clock import Clock

#: As Starlette keeps them: async, or plain functions (run in its thread pool there).
ExceptionHandler = Callable[[Request, Any], Any]

_HEADERS = [(b"content-type", b"application/json")]


class InboundFastPath:
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
        self.app = app
        self.handler = handler
        self.clock = clock
        self.exception_handlers = exception_handlers
        self.capabilities = capabilities or WEBCHAT_CAPABILITIES
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and not scope.get("query_string")
            and _route_path(scope) == self.path
            and _declared_length_fits(scope)
        ):
            await self.app(scope, receive, send)
            return
        body, complete, last = await _read(receive)
        if not complete or len(body) > MAX_BODY_BYTES:
            await self.app(scope, _replay(body, complete, last, receive), send)
            return
        try:
            parsed = InboundBody.model_validate_json(body)
        except ValidationError:  # the route words the 422
            await self.app(scope, _replay(body, complete, last, receive), send)
            return
        try:
            result = await self.handler.handle(to_message(parsed, self.clock.now()))
        except Exception as exc:
            handle_error = self._handler_for(exc)
            if handle_error is None:
                raise
            request = Request(scope)
            if inspect.iscoroutinefunction(handle_error):
                response = await handle_error(request, exc)
            else:  # as Starlette runs a plain handler: off the event loop
                response = await run_in_threadpool(handle_error, request, exc)
            await response(scope, receive, send)
            return
        content = encode_reply(result, self.capabilities)
        headers = [*_HEADERS, (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def _handler_for(self, exc: Exception) -> ExceptionHandler | None:
        for cls in type(exc).__mro__:
            if cls is not Exception and cls in self.exception_handlers:
                return self.exception_handlers[cls]
        return None


def _route_path(scope: Scope) -> str:
    """The path the routers match (without the app's mount point), as Starlette computes it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _declared_length_fits(scope: Scope) -> bool:
    valid, length = declared_length(scope)
    return valid and (length is None or length <= MAX_BODY_BYTES)  # None: counted while reading


async def _read(receive: Receive) -> tuple[bytes, bool, Message | None]:
    """(the body read, whether that is all of it, the message that ended reading early)."""
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return body, False, message
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body, True, None
        if len(body) > MAX_BODY_BYTES:  # the route refuses it; it reads the rest itself
            return body, False, None


def _replay(body: bytes, complete: bool, last: Message | None, receive: Receive) -> Receive:
    """`receive` for the app: what was read, then whatever follows."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": not complete}]
    if last is not None:
        pending.append(last)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
