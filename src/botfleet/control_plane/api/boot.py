"""Boot route: a data plane pulls its tenant's whole configuration with its boot token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from botfleet.control_plane.api.deps import BootTokenDep, ContainerDep, TenantIdPath
from botfleet.control_plane.api.responses import INVALID_REQUEST
from botfleet.control_plane.errors import AuthenticationFailed, ControlPlaneError
from botfleet.control_plane.logs import get_logger
from botfleet.control_plane.models import ErrorBody
from botfleet.control_plane.services.boot import build_boot_payload
from botfleet.domain.tenants import BootPayload

router = APIRouter(prefix="/v1/boot", tags=["boot"])
_log = get_logger("boot")


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison against an ``If-None-Match`` list (or ``*``)."""
    if not if_none_match:
        return False
    candidates = [c.strip() for c in if_none_match.split(",")]
    return any(c == "*" or c.removeprefix("W/") == etag for c in candidates)


@router.get(
    "/{tenant_id}",
    response_model=BootPayload,
    responses={
        304: {"description": "not modified: the `If-None-Match` ETag is current"},
        401: {"model": ErrorBody, "description": "missing or wrong boot token"},
        403: {"model": ErrorBody, "description": "the tenant is disabled"},
        409: {"model": ErrorBody, "description": "no flow published yet"},
        **INVALID_REQUEST,
        503: {"model": ErrorBody, "description": "the database is unavailable"},
    },
)
async def boot(
    tenant_id: TenantIdPath,
    token: BootTokenDep,
    container: ContainerDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The tenant's boot payload (flow, bindings with decrypted credentials, knowledge, LLM
    settings) with an `ETag`; send it back in `If-None-Match` to get 304 when nothing changed."""
    try:
        if token is None:
            raise AuthenticationFailed("missing boot token: send 'Authorization: Bearer <token>'")
        async with container.uow() as uow:
            payload = await build_boot_payload(uow, container.box, tenant_id, token)
    except ControlPlaneError as exc:
        container.metrics.boot_pulls.labels("refused").inc()
        _log.info("boot refused", tenant_id=tenant_id, status=exc.status_code)
        raise
    etag = f'"{payload.etag()}"'
    # Secrets inside: no shared cache may keep it; the data plane revalidates with the ETag.
    headers = {"ETag": etag, "Cache-Control": "no-store"}
    if etag_matches(if_none_match, etag):
        container.metrics.boot_pulls.labels("not_modified").inc()
        return Response(status_code=304, headers=headers)
    container.metrics.boot_pulls.labels("served").inc()
    _log.info(
        "boot served",
        tenant_id=tenant_id,
        flow_version=payload.flow.version,
        knowledge_version=payload.knowledge.version if payload.knowledge else None,
        etag=etag,
    )
    return Response(payload.canonical_json(), media_type="application/json", headers=headers)
