"""ASGI guards of the control plane: request bodies checked before any route reads them, and
unhandled errors kept out of the server's traceback (which would print request values)."""

from __future__ import annotations

import json
import re
import traceback
from pathlib import Path

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botfleet.control_plane.api.bodies import LONE_SURROGATE, lone_surrogate_place
from botfleet.control_plane.api.observe import route_label
from botfleet.control_plane.logs import get_logger
from botfleet.http_guards import replay_body

_log = get_logger("errors")

# A JSON escape of a surrogate, or one encoded as bytes (Python's JSON parser decodes bytes
# with "surrogatepass"). Only a body that has one is parsed here; most bodies never are.
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\xed[\xa0-\xbf]")


class LoneSurrogateGuard:
    """Refuse (422, naming the place) a JSON body with a string that is not Unicode text.

    ``"\\ud800"`` is valid JSON, but the string it gives cannot be encoded: every route would
    fail on it somewhere (hashing a flow, writing a row, or FastAPI echoing it in a 422), as a
    500 whose traceback prints the request. Checking every route's body here, before FastAPI
    parses it, leaves no such path. Mount it inside `BodyGuard`, which bounds the body.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        place = _lone_surrogate_place(body) if _MAYBE_SURROGATE.search(body) else None
        if place is not None:
            response = JSONResponse({"detail": f"{place}: {LONE_SURROGATE}"}, status_code=422)
            await response(scope, receive, send)
            return
        await self.app(scope, replay_body(body, receive), send)


def _lone_surrogate_place(body: bytes) -> str | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON: the route refuses it, or reads it as text (strict UTF-8)
    return lone_surrogate_place(value)


def _chain(exc: BaseException, limit: int = 5) -> list[dict[str, object]]:
    """Each exception of the chain (newest first) as its type and code locations only."""
    chain: list[dict[str, object]] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < limit:
        frames = traceback.extract_tb(current.__traceback__)[-8:]
        chain.append(
            {
                "type": f"{type(current).__module__}.{type(current).__qualname__}",
                "at": [f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in frames],
            }
        )
        cause = current.__cause__
        current = (
            cause if cause is not None or current.__suppress_context__ else current.__context__
        )
    return chain


class ContainUnhandledErrors:
    """Outermost middleware: an unhandled exception becomes a JSON 500 and one log line with
    the exception types and code locations, not their messages.

    Starlette re-raises such an exception to the server, which prints the traceback with every
    message in the chain, and messages repeat request values: a `RequestValidationError` holds
    the whole refused body, so a failed 422 put a credential into the server log.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            _log.error(
                "unhandled error",
                method=str(scope.get("method", "")),
                route=route_label(scope),
                response_started=started,
                chain=_chain(exc),
            )
            if not started:
                response = JSONResponse({"detail": "internal error"}, status_code=500)
                await response(scope, receive, send)
