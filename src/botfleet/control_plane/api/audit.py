"""Audit route: who changed what (the admin sees everything, a tenant key its own tenant)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from botfleet.control_plane.api.deps import PrincipalDep, UoWDep
from botfleet.control_plane.api.responses import AUTH_ERRORS
from botfleet.control_plane.models import TENANT_ID_PATTERN, AuditView
from botfleet.control_plane.principals import ACTOR_PATTERN
from botfleet.control_plane.services import audit

#: audit_log.id is a 32-bit INTEGER on PostgreSQL: a larger `before_id` could never match.
MAX_AUDIT_ID = 2_147_483_647

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=AUTH_ERRORS)


@router.get("")
async def list_audit(
    principal: PrincipalDep,
    uow: UoWDep,
    tenant_id: Annotated[str | None, Query(pattern=TENANT_ID_PATTERN, max_length=63)] = None,
    action: Annotated[str | None, Query(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=64)] = None,
    actor: Annotated[
        str | None,
        Query(
            pattern=ACTOR_PATTERN,
            max_length=64,
            description="only this caller's entries: `admin`, or a tenant key as "
            "`apikey:<key id>` (what one key did, e.g. a leaked one)",
        ),
    ] = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_AUDIT_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_AUDIT_PAGE)] = 100,
) -> list[AuditView]:
    """Newest first; page with ``before_id`` (the last id you got)."""
    async with uow:
        entries = await audit.list_entries(
            uow,
            principal,
            tenant_id=tenant_id,
            action=action,
            actor=actor,
            before_id=before_id,
            limit=limit,
        )
        return [AuditView.model_validate(e) for e in entries]
