"""Request guards shared by both planes: body size and nesting depth, checked before any route.

`BodyGuard` is plain ASGI middleware. A body over the size limit is refused with 413 as soon as
that is known (from `Content-Length`, else while reading), so nobody can make a process buffer
gigabytes; a body whose brackets nest deeper than the limit is refused with 422 before any JSON
or YAML parser recurses into it (Python's parsers raise `RecursionError` on a few thousand
levels, which would otherwise surface as a 500). The body is read once and replayed to the app
unchanged, so webhook signatures over the raw bytes still verify.

`loopback_client`, `forwarded` and `asks_for_this_machine` judge, for what the data plane grants
a client on its own machine without a token, whether a request really is one: not forwarded by
a proxy, and naming the server by address rather than as a DNS-rebinding web page does.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

import structlog

log = structlog.get_logger("botfleet.http")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: Called once per refused body: (scope, status, reason, numbers: `limit`, `size`).
RefusalLogger = Callable[[Scope, int, str, Mapping[str, int]], None]

#: Default largest request body, bytes (provider webhooks are a few kilobytes).
MAX_BODY_BYTES = 1024 * 1024
#: Default deepest nesting of `[`/`{` in a body (real payloads nest under 15 levels).
MAX_DEPTH = 64

# A JSON string, escapes included; its brackets are text, not structure. `end` is the closing
# quote, or the end of the body for a string never closed (the match then always succeeds, so
# no start is scanned to the end more than once).
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*(?P<end>"|\\?\Z)', re.DOTALL)
_OPENERS = frozenset(b"[{")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _outside_strings(body: bytes) -> bytes:
    """`body` without its JSON strings, in one pass (linear in the body's size).

    Written out because `re.sub` alone is quadratic on quotes that never close: it rescans the
    rest of the body from each of them (a 1 MiB body held the event loop for minutes).
    """
    kept: list[bytes] = []
    position = 0
    while (string := _STRING.search(body, position)) is not None:
        if string["end"] != b'"':
            # Never closed: every later quote is escaped within it, so none starts a string
            # either; the rest is kept as text outside strings, its brackets counted.
            break
        kept.append(body[position : string.start()])
        position = string.end()
    kept.append(body[position:])
    return b"".join(kept)


def nesting_exceeds(body: bytes, limit: int) -> bool:
    """Whether `[`/`{` nest more than `limit` levels deep outside JSON strings.

    A cheap over-approximation for any text (JSON, YAML flow style): a body that fits within
    `limit` brackets in all is accepted without scanning.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for byte in _outside_strings(body).translate(None, _NOT_BRACKETS):
        if byte in _OPENERS:
            depth += 1
            if depth > limit:
                return True
        elif depth:
            depth -= 1
    return False


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header `name` (lower case), as Starlette's `headers.get` reads it."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def declared_length(scope: Scope) -> tuple[bool, int | None]:
    """(valid, length) from the Content-Length header."""
    declared = header(scope, b"content-length")
    if declared is None:
        return True, None
    text = declared.strip()
    if not (text.isascii() and text.isdigit()):
        return False, None
    return True, int(text)


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),  # the rest of an unread body is not worth reading
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class BodyGuard:
    """ASGI middleware: refuse oversized (413) and too deeply nested (422) request bodies.

    Args:
        app: the application to protect.
        max_bytes: largest body accepted.
        max_depth: deepest `[`/`{` nesting accepted.
        path_limits: request path -> a lower limit for that path's bodies. A route's own
            limit belongs here, not only in the route: the guard reads a body before the
            route does, so a body over both limits would otherwise be refused naming the
            app's limit (1 MiB) to a client whose route takes 64 KB.
        on_refusal: writes the line of a refused body (default: `log_refusal`, a structlog
            line naming the path's first segment). The control plane passes its own, which
            writes its JSON lines and names the route's template.
        nests: which bodies' nesting is checked, by content type (lower case, without its
            parameters; "" when none). Default: every body. The control plane checks only the
            types it parses as JSON: a flow's YAML or a knowledge document may hold any number
            of brackets in a comment or a text, and the YAML reader bounds its own depth.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int = MAX_BODY_BYTES,
        max_depth: int = MAX_DEPTH,
        path_limits: Mapping[str, int] | None = None,
        on_refusal: RefusalLogger | None = None,
        nests: Callable[[str], bool] | None = None,
    ) -> None:
        self.app = app
        self.nests = nests
        self.on_refusal = log_refusal if on_refusal is None else on_refusal
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.path_limits = {
            path: min(limit, max_bytes) for path, limit in (path_limits or {}).items()
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        valid, declared = declared_length(scope)
        if not valid:
            self.on_refusal(scope, 400, "bad_content_length", {})
            await _refuse(send, 400, "Content-Length header is not a number")
            return
        limit = self.path_limits.get(scope["path"], self.max_bytes)
        too_large = f"request body is over the limit of {limit} bytes"
        if declared is not None and declared > limit:
            self.on_refusal(scope, 413, "too_large", {"limit": limit, "size": declared})
            await _refuse(send, 413, too_large)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                self.on_refusal(scope, 413, "too_large", {"limit": limit, "size": size})
                await _refuse(send, 413, too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if self._depth_checked(scope) and nesting_exceeds(body, self.max_depth):
            self.on_refusal(scope, 422, "too_deep", {"limit": self.max_depth})
            await _refuse(send, 422, f"request body nests deeper than {self.max_depth} levels")
            return
        await self.app(scope, replay_body(body, receive), send)

    def _depth_checked(self, scope: Scope) -> bool:
        if self.nests is None:
            return True
        content_type = header(scope, b"content-type") or ""
        return self.nests(content_type.split(";")[0].strip().lower())


def log_refusal(scope: Scope, status: int, reason: str, numbers: Mapping[str, int]) -> None:
    """One line per refused body: the routes never see it, so nothing else would say why a
    provider's deliveries fail (a proxy that re-chunks bodies, a limit set too low). The path's
    first segment only (`/webhook`, `/tenants`): later ones can be a contact's id."""
    first = "/" + str(scope.get("path", "")).lstrip("/").split("/", 1)[0][:40]
    log.warning(
        "request_body_refused",
        status=status,
        reason=reason,
        method=str(scope.get("method", ""))[:10],
        path=first,
        **numbers,
    )


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives `body` (already read) whole, then whatever `receive` reports."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # later: wait for the disconnect, as the server would report it

    return replayed


#: Headers a reverse proxy adds: a request carrying one came from someone else, not this host.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def forwarded(headers: Mapping[str, str]) -> bool:
    """Whether a proxy forwarded the request (a proxy on the same host connects from loopback
    on behalf of anyone). `headers`: the request's, looked up by lower-case name."""
    return any(name in headers for name in FORWARDING_HEADERS)


def loopback_client(client_host: str | None) -> bool:
    """Whether the connection's peer is this machine (a loopback address)."""
    try:
        return client_host is not None and ipaddress.ip_address(client_host).is_loopback
    except ValueError:
        return client_host == "localhost"


def asks_for_this_machine(host_header: str | None) -> bool:
    """Whether a request's `Host` names the server by an IP address or as `localhost` (or a
    name under `.localhost`, which browsers resolve to loopback themselves), not by a DNS name.

    A browser on this machine sends a loopback request for any page: after DNS rebinding (a
    site's name answered with 127.0.0.1 once its page has loaded) the page's own origin is the
    data plane, and it reads the answers. Such a request carries the site's name in `Host`,
    which the page cannot change; an IP address or localhost there cannot be a rebound name.
    No `Host` at all (HTTP/1.0) is no browser's."""
    if host_header is None:
        return True
    host = host_header.strip().lower()
    if host.startswith("["):  # an IPv6 address, with or without a port
        end = host.find("]")
        return end > 0 and _is_ip_address(host[1:end])
    name, colon, port = host.rpartition(":")
    if not colon or not port.isdigit():
        name = host
    name = name.removesuffix(".")
    return name == "localhost" or name.endswith(".localhost") or _is_ip_address(name)


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
