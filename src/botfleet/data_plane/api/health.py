"""Health and metrics routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from botfleet.data_plane.runtime.handle import ConversationRuntime


def runtime_of(request: Request) -> ConversationRuntime:
    runtime: ConversationRuntime = request.app.state.runtime
    return runtime


def build_health_router() -> APIRouter:
    router = APIRouter()

    @router.get("/health", tags=["ops"])
    async def health(request: Request) -> dict[str, Any]:
        runtime = runtime_of(request)
        return {
            "status": "ok",
            "tenant_id": runtime.ctx.tenant.id,
            "flow_id": runtime.live.flow.id,
            "flow_version": runtime.live.flow_version,
            "knowledge_version": runtime.live.knowledge_version,
            "busy_contacts": runtime.sequencer.busy_keys,
            "connectors": _breakers(runtime),
        }

    @router.get("/metrics", tags=["ops"])
    async def metrics(request: Request) -> Response:
        runtime = runtime_of(request)
        runtime.metrics.conversations.set(await runtime.states.count())
        if runtime.scheduler is not None:
            runtime.metrics.scheduled_jobs.set(len(await runtime.scheduler.jobs()))
        return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router


def _breakers(runtime: ConversationRuntime) -> dict[str, str]:
    """category -> circuit breaker state, so an operator sees a failing back end at a glance."""
    states = getattr(runtime.connectors, "breaker_states", None)
    if states is None:
        return {}
    return {category: str(getattr(state, "value", state)) for category, state in states().items()}
