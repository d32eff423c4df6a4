"""`X-Content-Type-Options: nosniff` on every answer of an app.

It keeps a browser from reading an answer as another type than it says: a JSON error that
echoes a request's text, run as a script by an old browser's guess. The answers come from many
places (the routes, fast paths, error handlers, body guards, rate limits, CORS); one layer
outside them all gives it to each. Hand-written because Starlette has no such middleware and
this is a few lines of ASGI.
"""

from __future__ import annotations

from botfleet.http_guards import ASGIApp, Message, Receive, Scope, Send

NOSNIFF = (b"x-content-type-options", b"nosniff")


def send_with_nosniff(send: Send) -> Send:
    """`send`, adding the header to a response's start unless it is there already."""

    async def send_nosniff(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers", ())
            # Names are lower case in ASGI. A plain loop: this runs for every answer.
            for name, _ in headers:
                if name == b"x-content-type-options":
                    break
            else:
                message["headers"] = [*headers, NOSNIFF]  # as Starlette's CORS does
        await send(message)

    return send_nosniff


class Nosniff:
    """ASGI middleware: the header on every HTTP answer of `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, send_with_nosniff(send))
