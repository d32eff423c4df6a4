"""ASGI middleware: one log line and Prometheus samples per request (route template, no query;
the caller's audit name and the tenant its path names)."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from botfleet.control_plane.logs import get_logger
from botfleet.control_plane.metrics import REFUSED_STATUSES, ControlPlaneMetrics
from botfleet.domain.tenant_ids import is_registered_tenant_id
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
#: The key in the request's `state` where `deps.get_principal` leaves the caller's audit name.
ACTOR_STATE = "actor"
#: The boot route's refusals are `botfleet_cp_boot_pulls_total{result="refused"}`'s.
_BOOT_ROUTES = "/v1/boot/"


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


def note_actor(scope: Scope, actor: str) -> None:
    """Name the caller of this request in its log line: the audit's name of the key that
    authenticated (``admin``, ``apikey:<key id>``), never the key. Called once the key is
    known, so a request refused after that (403, another tenant's 404) names it too."""
    scope.setdefault("state", {})[ACTOR_STATE] = actor


def actor_of(scope: Scope) -> str | None:
    """The caller `note_actor` named (None: no key was presented, or none authenticated)."""
    state = scope.get("state")
    actor = state.get(ACTOR_STATE) if isinstance(state, dict) else None
    return actor if isinstance(actor, str) else None


def tenant_in_path(scope: Scope) -> str | None:
    """The tenant the request's path names, when its route has a ``{tenant_id}`` and the value
    is a well-formed tenant id (None otherwise): never another part of the path, which can be
    a contact's phone number. A request answered before routing (a refused body) is matched
    against the route a body guard set."""
    params: Any = scope.get("path_params")
    route = scope.get("route")
    if params is None and route is not None:
        try:
            params = route.matches(scope)[1].get("path_params")
        except Exception:  # a line without its tenant rather than a failed request
            params = None
    tenant_id = params.get("tenant_id") if isinstance(params, dict) else None
    return tenant_id if is_registered_tenant_id(tenant_id) else None


def is_refusal_on_a_tenant(route: str, status: int) -> bool:
    """Whether `botfleet_cp_requests_refused_total` counts this answer: 401, 403 or 404 on an
    API route of one tenant (``{tenant_id}`` in its template; the boot route's are counted as
    boot pulls)."""
    return (
        status in REFUSED_STATUSES and "{tenant_id}" in route and not route.startswith(_BOOT_ROUTES)
    )


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
        # The state dict the routes' `request.state` writes to, the caller's name included,
        # whatever layer in between copies the scope.
        scope.setdefault("state", {})

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
            if is_refusal_on_a_tenant(route, status):
                self.metrics.refused.labels(str(status)).inc()
            _log.info(
                "request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(elapsed * 1000, 2),
                actor=actor_of(scope),
                tenant_id=tenant_in_path(scope),
            )
