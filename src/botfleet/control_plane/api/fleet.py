"""Observability routes: one tenant's data-plane status, and the whole fleet (admin)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter

from botfleet.control_plane.api.deps import ContainerDep, PrincipalDep, TenantIdPath, UoWDep
from botfleet.control_plane.api.responses import AUTH_ERRORS
from botfleet.control_plane.models import FleetView, TenantStatus
from botfleet.control_plane.services import fleet

router = APIRouter(tags=["observability"], responses=AUTH_ERRORS)


@router.get("/v1/tenants/{tenant_id}/status")
async def tenant_status(
    tenant_id: TenantIdPath, principal: PrincipalDep, container: ContainerDep, uow: UoWDep
) -> TenantStatus:
    """Health, usage and scheduled tasks read from the tenant's data plane (``unreachable``
    when it does not answer within the timeout)."""
    async with uow:
        return await fleet.tenant_status(
            uow, principal, container.probe, container.box, tenant_id, now=datetime.now(UTC)
        )


@router.get("/v1/fleet")
async def fleet_status(principal: PrincipalDep, container: ContainerDep, uow: UoWDep) -> FleetView:
    """Every tenant's status in one answer (admin)."""
    async with uow:
        return await fleet.fleet_status(
            uow, principal, container.probe, container.box, now=datetime.now(UTC)
        )
