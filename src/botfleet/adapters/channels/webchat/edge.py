"""In front of a web chat tenant's data plane: `nosniff` on every answer, and, once the channel
lists its sites (`embed_origins`), browser requests to the API from pages of other sites
refused with 403.

`X-Content-Type-Options: nosniff` keeps a browser from reading an answer as another type than
it says (a JSON error that echoes a request's text, run as a script by an old browser's
guess). The answers come from many places (the routes, the fast path, the error handlers, the
body guard, the rate limit, CORS); one layer outside them all gives it to each.

The widget's chat is a page of the data plane's own origin in a frame, and calls the API from
there: the visitor's browser marks those requests `Sec-Fetch-Site: same-origin`. A page of
another site calling `POST /inbound` or `GET /messages` itself is `cross-site` (or
`same-site`, another subdomain) with its `Origin`. The browser's CORS check keeps such a page
from reading the answers unless the site is in `allowed_origins`, but a `GET` (and a `POST`
of a form's type, which `cross_site.py` refuses with 415) is sent all the same, and runs. With
`embed_origins` set the business has said which sites are its own, so such a request from a
site in neither list is refused before it reaches anything, in words that name the site and
the setting, and logged. So is such a request without `Origin`: an `<img>` or `<script>` tag,
a `no-cors` fetch or a link of another site's page that points at `GET /messages` carries
`Sec-Fetch-Site` but no `Origin`, and nothing of the chat sends one of those. Browsers that
send no `Sec-Fetch-Site` (Safari before 16.4, and every browser over plain `http`, outside
`localhost`) and clients that are not browsers are left to CORS as before: `Origin` alone
cannot tell the chat page's own requests from another site's behind a proxy that rewrites
`Host`. The chat page and the widget's script (other paths than the API's) are never refused
here: other sites' pages load them (`Sec-Fetch-Site: cross-site`), and what they may do is
decided by the page's CSP (`frame-ancestors`) and the widget's own check.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Collection, Iterable

import structlog

from botfleet.http_guards import ASGIApp, Receive, Scope, Send
from botfleet.web.nosniff import NOSNIFF, send_with_nosniff

log = structlog.get_logger("botfleet.channels.webchat")

#: The web chat API's paths, as `build_routes` names them at the data plane's root.
API_PATHS = frozenset({"/inbound", "/messages"})
#: `Sec-Fetch-Site` values of a page of another site than the data plane's.
_OTHER_SITE = frozenset({b"cross-site", b"same-site"})
#: At most one `webchat_origin_refused` line per this many seconds (a site's visitors polling
#: every few seconds are one event).
LOG_EVERY_S = 60.0
#: An `Origin` is a browser's `scheme://host[:port]`; anything longer is cut in answers and logs.
MAX_ORIGIN_SHOWN = 200


#: What a refusal names when the request had no `Origin` (a tag or a link of another site).
NO_ORIGIN = "another site"


def other_site(headers: Iterable[tuple[bytes, bytes]], allowed: Collection[str]) -> str | None:
    """The `Origin` of a browser request sent by a page of another site than the data plane's
    that `allowed` does not list (`NO_ORIGIN` when it sent none), or None. ASGI headers:
    lower-case names, as bytes."""
    origin: bytes | None = None
    fetched_from: bytes | None = None
    for name, value in headers:
        if name == b"origin":
            origin = value
        elif name == b"sec-fetch-site":
            fetched_from = value
    if fetched_from not in _OTHER_SITE:
        return None
    if origin is None:
        return NO_ORIGIN
    text = origin.decode("latin-1")
    return None if text in allowed else text


class WebChatEdge:
    """ASGI middleware, the outermost of a web chat tenant's app.

    Args:
        app: The app.
        allowed_origins: The channel's `allowed_origins` (validated: as browsers send them).
        embed_origins: The channel's `embed_origins`; empty, no request is refused here.
        api_paths: The API's paths (`/inbound`, `/messages`).
        clock: Monotonic seconds, for the log's pace.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_origins: Collection[str] = (),
        embed_origins: Collection[str] = (),
        api_paths: Collection[str] = API_PATHS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.allowed = frozenset(allowed_origins)
        self.embed = frozenset(embed_origins)
        self.api_paths = frozenset(api_paths)
        self.clock = clock
        self._refused_since_log = 0
        self._logged_at = -math.inf

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # A preflight (OPTIONS) runs nothing: CORS answers it, refusing an unlisted site.
        if self.embed and scope["path"] in self.api_paths and scope["method"] != "OPTIONS":
            origin = other_site(scope["headers"], self.allowed)
            if origin is not None:
                await self._refuse(send, origin[:MAX_ORIGIN_SHOWN], scope)
                return

        # The same layer as `Nosniff`: one wrapper of `send` per answer, not two.
        await self.app(scope, receive, send_with_nosniff(send))

    async def _refuse(self, send: Send, origin: str, scope: Scope) -> None:
        self._refused_since_log += 1
        now = self.clock()
        if now - self._logged_at >= LOG_EVERY_S:
            # A site, not a visitor: no address, no contact id.
            log.warning(
                "webchat_origin_refused",
                origin=origin,
                path=scope["path"],
                refused=self._refused_since_log,
            )
            self._logged_at, self._refused_since_log = now, 0
        if origin in self.embed:
            # The business's own site, listed to show the chat: its pages calling the API
            # directly is the one thing missing, and the owner reads this first.
            detail = (
                f"{origin} is in the channel's embed_origins, which let its pages show the chat "
                "(the widget's frame), not call this API from their own scripts: list it in "
                "allowed_origins too for that"
            )
        else:
            detail = (
                f"pages of {origin} may not use this chat: the channel's embed_origins name the "
                "sites that show it, and a site whose own pages call this API must be listed in "
                "its allowed_origins"
            )
        body = json.dumps({"detail": detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            NOSNIFF,
            (b"connection", b"close"),  # a POST's body was not read: not worth reading
        ]
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
