"""ASGI middleware: one log line and Prometheus samples per request (route template, no query)."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botfleet.control_plane.logs import get_logger
from botfleet.control_plane.metrics import ControlPlaneMetrics

_log = get_logger("http")

#: Methods counted and logged by name. A client may send any token as the method, and each new
#: one was a new label: requests with made-up methods (`FOO1`, `FOO2`...) grew the metrics, and
#: every `/metrics` answer, without bound, before any authentication. The rest count as "other".
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"


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
            route = getattr(scope.get("route"), "path", None) or "<unmatched>"
            method = str(scope.get("method", ""))
            if method not in KNOWN_METHODS:
                method = OTHER_METHOD
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            _log.info(
                "request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
            )
