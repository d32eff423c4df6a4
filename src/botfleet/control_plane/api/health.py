"""Unauthenticated probes: ``GET /health`` (in OpenAPI) and Prometheus ``/metrics``."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from botfleet import __version__
from botfleet.control_plane.api.deps import ContainerDep
from botfleet.control_plane.db.engine import is_connection_error
from botfleet.control_plane.db.migrate import schema_state
from botfleet.control_plane.errors import DatabaseNotMigrated, DatabaseUnavailable
from botfleet.control_plane.metrics import CONTENT_TYPE_LATEST
from botfleet.control_plane.models import HealthView
from botfleet.release import release

router = APIRouter(tags=["health"])

#: Paths that answer without credentials (the auth test checks every other one).
PUBLIC_PATHS = frozenset({"/health", "/metrics", "/docs", "/openapi.json"})
_DB_CHECK_TIMEOUT_S = 3.0
_DETAILS = {
    "unavailable": str(DatabaseUnavailable()),
    "not migrated": str(DatabaseNotMigrated()),
    "unknown revision": "the database was migrated by a newer control plane; run that version",
}


@router.get(
    "/health",
    response_model=HealthView,
    responses={503: {"model": HealthView, "description": "the database is not ok"}},
)
async def health(container: ContainerDep) -> JSONResponse:
    """Liveness, database reachability and schema: 200 when the database answers and holds
    this version's tables, 503 otherwise (``database``: ``unavailable``, ``not migrated`` or
    ``unknown revision``, with a ``detail`` saying what to do)."""
    database: str
    try:
        async with asyncio.timeout(_DB_CHECK_TIMEOUT_S), container.engine.connect() as conn:
            database = await schema_state(conn)
    except Exception as exc:
        if not is_connection_error(exc):
            raise
        database = "unavailable"
    view = HealthView(
        status="ok" if database == "ok" else "degraded",
        database=database,
        version=__version__,
        release=release(),
        detail=_DETAILS.get(database),
    )
    status = 200 if database == "ok" else 503
    return JSONResponse(view.model_dump(exclude_none=True), status_code=status)


@router.get("/metrics", include_in_schema=False)
async def metrics(container: ContainerDep) -> Response:
    return Response(container.metrics.render(), media_type=CONTENT_TYPE_LATEST)
