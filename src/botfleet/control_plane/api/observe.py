"""ASGI middleware: one log line and Prometheus samples per request (route template, no query)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botfleet.control_plane.logs import get_logger
from botfleet.control_plane.metrics import ControlPlaneMetrics
from botfleet.web.app import DOCS_URL, OPENAPI_URL

_log = get_logger("http")

#: Methods counted and logged by name. A client may send any token as the method, and each new
#: one was a new label: requests with made-up methods (`FOO1`, `FOO2`...) grew the metrics, and
#: every `/metrics` answer, without bound, before any authentication. The rest count as "other".
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"

#: The route of a request no route serves (an unknown path: a 404).
UNMATCHED = "<unmatched>"
#: The pages the app serves beside its API: plain Starlette routes, which leave no template in
#: the scope. Each is counted under its path, so reading the schema is not taken for a 404;
#: any other path no API route serves is UNMATCHED, so made-up paths add no labels.
OWN_PAGES = frozenset({OPENAPI_URL, DOCS_URL})


def route_label(scope: Scope) -> str:
    """The request's route for metrics and logs: the API route's template, the path of one of
    `OWN_PAGES` when a route served it (`/docs` only with ``CP_API_DOCS``), else UNMATCHED."""
    template = getattr(scope.get("route"), "path", None)
    if template:
        return str(template)
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root) :]  # behind a proxy's prefix, as the routes match it
    # `endpoint` is set by the route that took the request (none for a 404).
    if path in OWN_PAGES and "endpoint" in scope:
        return path
    return UNMATCHED


def method_label(scope: Scope) -> str:
    """The request's method for metrics and logs: one of `KNOWN_METHODS`, else OTHER_METHOD."""
    method = str(scope.get("method", ""))
    return method if method in KNOWN_METHODS else OTHER_METHOD


class RequestObserver:
    def __init__(self, app: ASGIApp, metrics: ControlPlaneMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            elapsed = time.perf_counter() - started
            route, method = route_label(scope), method_label(scope)
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            _log.info(
                "request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
