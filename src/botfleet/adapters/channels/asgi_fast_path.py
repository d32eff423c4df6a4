"""A channel's hottest POST answered straight from ASGI when nothing about it is unusual.

The app's layers around one request (exception middleware, the router, the endpoint's request
and response objects) cost ~48 us of CPU on Starlette, a tenth of a web-chat turn (~90 us, a
sixth, when the data plane was on FastAPI; docs/benchmarks.md). `PostFastPath` is ASGI
middleware that reads the body of a POST to one path (no query string, declared length within
the limit) and asks its `answer()`; a channel's subclass answers with the same code its route
runs, or returns None, and then the request goes to the app unchanged, the body replayed, so
the route answers it with its own errors and logs (Starlette has no public hook for this).
Exceptions of `answer()` get the app's registered exception handlers (a busy store is still a
503 with `Retry-After`); others propagate to the server-error middleware, as from the route.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from botfleet.http_guards import ASGIApp, Message, Receive, Scope, Send, declared_length
from botfleet.ports.clock import Clock

#: As Starlette keeps them: async, or plain functions (run in its thread pool there).
ExceptionHandler = Callable[[Request, Any], Any]
#: Jobs to run once the answer is sent, in order (a route's `BackgroundTasks`).
AfterResponse = list[Callable[[], Awaitable[object]]]

_JSON_HEADERS = [(b"content-type", b"application/json")]


class PostFastPath:
    """ASGI middleware serving ordinary POSTs to `path` without the framework's layers.

    Args:
        app: The app, which serves everything else (and this route's unusual requests).
        path: The route's path (a prefix included).
        max_body_bytes: The route's body limit; a longer body goes to the route.
        exception_handlers: The app's handlers by exception class (`app.exception_handlers`;
            read when an exception happens, so handlers added later count).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        path: str,
        max_body_bytes: int,
        exception_handlers: Mapping[Any, ExceptionHandler],
    ) -> None:
        self.app = app
        self.path = path
        self.max_body_bytes = max_body_bytes
        self.exception_handlers = exception_handlers

    async def answer(self, scope: Scope, body: bytes, after: AfterResponse) -> bytes | None:
        """The JSON body of a 200 answer, or None to leave the request to the route; jobs
        added to `after` run once the answer is sent, as a route's background tasks do."""
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and not scope.get("query_string")
            and route_path(scope) == self.path
            and self._declared_length_fits(scope)
        ):
            await self.app(scope, receive, send)
            return
        body, complete, last = await self._read(receive)
        if not complete or len(body) > self.max_body_bytes:
            await self.app(scope, _replay(body, complete, last, receive), send)
            return
        after: AfterResponse = []
        try:
            content = await self.answer(scope, body, after)
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
        if content is None:
            await self.app(scope, _replay(body, True, None, receive), send)
            return
        headers = [*_JSON_HEADERS, (b"content-length", str(len(content)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": content})
        for job in after:
            await job()

    def _handler_for(self, exc: Exception) -> ExceptionHandler | None:
        for cls in type(exc).__mro__:
            if cls is not Exception and cls in self.exception_handlers:
                return self.exception_handlers[cls]
        return None

    def _declared_length_fits(self, scope: Scope) -> bool:
        valid, length = declared_length(scope)
        # None: no Content-Length, counted while reading
        return valid and (length is None or length <= self.max_body_bytes)

    async def _read(self, receive: Receive) -> tuple[bytes, bool, Message | None]:
        """(the body read, whether that is all of it, the message that ended reading early)."""
        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return body, False, message
            body += message.get("body", b"")
            if not message.get("more_body", False):
                return body, True, None
            if len(body) > self.max_body_bytes:  # the route refuses it; it reads the rest itself
                return body, False, None


Settings = TypeVar("Settings")
Runtime = TypeVar("Runtime")


class ProviderWebhookFastPath(PostFastPath, Generic[Settings, Runtime]):
    """A provider webhook's fast path, given what its route is given.

    Args:
        app: The app, which serves everything else (and unusual deliveries).
        settings: The channel's settings, as given to the route.
        runtime: As given to the route.
        clock: As given to the route.
        exception_handlers: The app's handlers by exception class (`app.exception_handlers`).
        path: The route's path.
    """

    #: The route's body limit.
    max_body: ClassVar[int]

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        runtime: Runtime,
        clock: Clock,
        exception_handlers: Mapping[Any, ExceptionHandler],
        path: str = "/webhook",
    ) -> None:
        super().__init__(
            app, path=path, max_body_bytes=self.max_body, exception_handlers=exception_handlers
        )
        self.settings = settings
        self.runtime = runtime
        self.clock = clock


def route_path(scope: Scope) -> str:
    """The path the routers match (without the app's mount point), as Starlette computes it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _replay(body: bytes, complete: bool, last: Message | None, receive: Receive) -> Receive:
    """`receive` for the app: what was read, then whatever follows."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": not complete}]
    if last is not None:
        pending.append(last)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
