"""Health and metrics routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from botfleet.data_plane.api.errors import StoreTrouble
from botfleet.data_plane.llm_fallback import KnowledgeLLMFallback
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.release import release
from botfleet.web import Operation

if TYPE_CHECKING:  # the watcher's module imports httpx, which a local tenant file never needs
    from botfleet.data_plane.config_source.watch import BootWatcher


def runtime_of(request: Request) -> ConversationRuntime:
    runtime: ConversationRuntime = request.app.state.runtime
    return runtime


async def health(request: Request) -> Response:
    """The tenant, its live flow and knowledge versions, busy contacts, connector breakers and
    the published settings waiting for a restart."""
    runtime = runtime_of(request)
    trouble = getattr(request.app.state, "store_trouble", None)
    store = trouble.recent() if isinstance(trouble, StoreTrouble) else None
    kept = runtime.redelivery
    # Only bindings with `redeliver_for` keep calls: other tenants' answers stay as they were.
    more = {} if kept is None else {"kept_calls": kept.waiting_by_binding()}
    # Still 200: it runs, and a restart would not free the disk (probes read the status code).
    return JSONResponse(
        {
            "status": "ok" if store is None else "degraded",
            "store": "ok" if store is None else f"unavailable: {store}",
            "tenant_id": runtime.ctx.tenant.id,
            "release": release(),
            # Its channel's kind, then its more_channels' (docs/channels.md).
            "channels": [runtime.ctx.channel, *(kind for _, kind in runtime.ctx.more_channels)],
            "flow_id": runtime.live.flow.id,
            "flow_version": runtime.live.flow_version,
            "knowledge_version": runtime.live.knowledge_version,
            "busy_contacts": runtime.sequencer.busy_keys,
            "connectors": _breakers(runtime),
            # Not a degraded status: the bot runs, on the settings it started with.
            "config": _config_state(request),
            **more,
        }
    )


async def metrics(request: Request) -> Response:
    """Prometheus metrics of the tenant's runtime."""
    runtime = runtime_of(request)
    runtime.metrics.conversations.set(await runtime.states.count())
    if runtime.scheduler is not None:
        # A count, not a listing: with thousands of reminders pending each scrape read them all.
        runtime.metrics.scheduled_jobs.set(await runtime.scheduler.count())
    # A breaker's state moves on (open -> half open) when it is read, and its gauge with it:
    # read here, or a quiet tenant's gauge said "open" long after `reset_after_s`, and the alert
    # on it fired or not depending on whether anything polled /health.
    _breakers(runtime)
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def health_operations() -> list[Operation]:
    return [
        Operation("GET", "/health", health, summary="Health", tags=("ops",)),
        Operation("GET", "/metrics", metrics, summary="Metrics", tags=("ops",)),
    ]


def _config_state(request: Request) -> dict[str, Any]:
    """The settings the control plane changed that apply at the next start (names, never
    values: /health answers without a token), and since when."""
    watcher: BootWatcher | None = getattr(request.app.state, "config_watcher", None)
    if watcher is None:  # a local tenant file: read at start only, nothing is compared
        return {"restart_required": [], "since": None, "control_plane": None}
    since = watcher.restart_since
    return {
        "restart_required": list(watcher.restart_keys),
        "since": since.isoformat() if since is not None else None,
        "control_plane": _control_plane_state(watcher),
    }


def _control_plane_state(watcher: BootWatcher) -> dict[str, Any]:
    """Whether the configuration polls reach the control plane: a data plane refused (a
    rotated boot token, a disabled tenant) or cut off runs on what it has, and says so here.
    The kind and the HTTP status only: the reasons, in the log, may name hosts."""
    problem = watcher.poll_problem
    if problem is None:
        return {"polls": "ok", "http_status": None, "since": None}
    kind, status, since = problem
    return {"polls": kind, "http_status": status, "since": since.isoformat()}


def _breakers(runtime: ConversationRuntime) -> dict[str, str]:
    """category -> circuit breaker state, so an operator sees a failing back end at a glance;
    the LLM fallback's as `llm` (its calls go through a breaker of their own)."""
    states = getattr(runtime.connectors, "breaker_states", None)
    found = dict(states()) if states is not None else {}
    llm = runtime.llm
    if isinstance(llm, KnowledgeLLMFallback) and llm.connector is not None:
        found.setdefault("llm", llm.connector.breaker.state)
    return {category: str(getattr(state, "value", state)) for category, state in found.items()}
