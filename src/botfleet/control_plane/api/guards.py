"""ASGI guards of the control plane: request bodies checked before any route reads them, and
unhandled errors kept out of the server's traceback (which would print request values)."""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botfleet.control_plane.api.bodies import (
    LONE_SURROGATE,
    check_json_charset,
    lone_surrogate_place,
    not_utf8,
    reads_as_json,
)
from botfleet.control_plane.api.observe import method_label, route_label
from botfleet.control_plane.errors import ControlPlaneError, InvalidInput
from botfleet.control_plane.logs import get_logger
from botfleet.domain.tenant_ids import is_registered_tenant_id
from botfleet.http_guards import header, replay_body

_log = get_logger("errors")
_http_log = get_logger("http")

# A JSON escape of a surrogate, or one encoded as bytes (Python's JSON parser decodes bytes
# with "surrogatepass"). Only a body that has one is parsed here; most bodies never are.
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\xed[\xa0-\xbf]")


class JsonBodyGuard:
    """Refuse a JSON body every route would read wrongly, before FastAPI parses it; each
    answer names the place and never a value:

    - declared in a ``charset`` other than UTF-8 (415, `UnsupportedCharset`): Python's parser
      reads the bytes as UTF-8 whatever the header says;
    - a string that is not Unicode text (422 naming the place): ``"\\ud800"`` is valid JSON,
      but the string it gives cannot be encoded, and every route would fail on it somewhere
      (hashing a flow, writing a row, or FastAPI echoing it in a 422), as a 500 whose
      traceback prints the request;
    - not UTF-8 (422 ``body: not UTF-8 text (byte N)``): FastAPI answered its body models
      400 "There was an error parsing the body", naming nothing.

    Checking every route's body here leaves no route without it. The charset and UTF-8 checks
    apply to the content types some route reads as JSON (`bodies.reads_as_json`); a document
    sent as text is checked by its route (`bodies.read_document`), the surrogates in any body
    that parses as JSON. Mount it inside `BodyGuard`, which bounds the body.
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
        refusal = _refusal(header(scope, b"content-type") or "", body)
        if refusal is not None:
            route_params(scope)  # the request is counted under its route's template
            response = JSONResponse({"detail": str(refusal)}, status_code=refusal.status_code)
            await response(scope, receive, send)
            return
        await self.app(scope, replay_body(body, receive), send)


def _refusal(content_type: str, body: bytes) -> ControlPlaneError | None:
    """Why `body` is refused (415 or 422), or None. `content_type`: the header, as sent."""
    as_json = bool(body) and reads_as_json(content_type.split(";")[0].strip().lower())
    if as_json:
        try:
            check_json_charset(content_type)
        except ControlPlaneError as exc:
            return exc
    place = _lone_surrogate_place(body) if _MAYBE_SURROGATE.search(body) else None
    if place is not None:
        return InvalidInput(place, LONE_SURROGATE)
    return not_utf8(body) if as_json else None


def route_params(scope: Scope) -> Mapping[str, Any]:
    """For a request answered before routing (by a body guard): set the scope's `route` to
    the route serving its path, as routing would have, so the request is counted and logged
    under that route's template (`observe.route_label`), not as `<unmatched>`; returns the
    route's path parameters (none when no route serves the path)."""
    if scope.get("route") is not None:
        return dict(scope.get("path_params") or {})
    router = getattr(scope.get("app"), "router", None)
    found: tuple[Any, Mapping[str, Any]] | None = None
    for route in _routes(getattr(router, "routes", ())):
        match, child = route.matches(scope)
        if match is Match.FULL:
            found = (route, child)
            break
        if match is Match.PARTIAL and found is None:  # the path's route, another method
            found = (route, child)
    if found is None:
        return {}
    route, child = found
    scope["route"] = route
    return dict(child.get("path_params") or {})


def _routes(routes: Iterable[Any]) -> Iterator[Any]:
    """The app's routes, those of its included routers too: FastAPI keeps an included router
    as one entry (`original_router`) rather than copying its routes into the app's."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(getattr(included, "routes", ()))
        else:
            yield route


def log_body_refusal(scope: Scope, status: int, reason: str, numbers: Mapping[str, int]) -> None:
    """`BodyGuard`'s line of a refused body, as the control plane's other lines: JSON, with
    the route's template and the tenant its path names (a well-formed id only), never the
    path itself, whose later segments can be a contact's id or phone number."""
    params = route_params(scope)
    tenant_id = params.get("tenant_id")
    where = {"tenant_id": tenant_id} if is_registered_tenant_id(tenant_id) else {}
    _http_log.warning(
        "request_body_refused",
        status=status,
        reason=reason,
        method=method_label(scope),
        route=route_label(scope),
        **where,
        **numbers,
    )


def _lone_surrogate_place(body: bytes) -> str | None:
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON: the route refuses it, or reads it as text (strict UTF-8)
    try:
        return lone_surrogate_place(value)
    except RecursionError:
        # Deeper than the walk goes: a body sent as text (a YAML flow) is not held to the JSON
        # depth limit (`BodyGuard`). Refused at the body, rather than a 500 for anyone's
        # request: no route takes such a text holding a lone surrogate.
        return "body"


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
