"""Unauthenticated probes: ``GET /health`` (in OpenAPI) and Prometheus ``/metrics``."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from botfleet import __version__
from botfleet.control_plane.api.deps import ContainerDep
from botfleet.control_plane.db.engine import is_connection_error
from botfleet.control_plane.metrics import CONTENT_TYPE_LATEST
from botfleet.control_plane.models import HealthView

router = APIRouter(tags=["health"])

#: Paths that answer without credentials (the auth test checks every other one).
PUBLIC_PATHS = frozenset(
    {"/health", "/metrics", "/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"}
)
_DB_CHECK_TIMEOUT_S = 3.0


@router.get("/health", responses={503: {"model": HealthView}})
async def health(container: ContainerDep) -> JSONResponse:
    """Liveness and database reachability: 200 when both are fine, 503 otherwise."""
    database = "ok"
    try:
        async with asyncio.timeout(_DB_CHECK_TIMEOUT_S), container.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        if not is_connection_error(exc):
            raise
        database = "unavailable"
    view = HealthView(
        status="ok" if database == "ok" else "degraded", database=database, version=__version__
    )
    return JSONResponse(view.model_dump(), status_code=200 if database == "ok" else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(container: ContainerDep) -> Response:
    return Response(container.metrics.render(), media_type=CONTENT_TYPE_LATEST)
