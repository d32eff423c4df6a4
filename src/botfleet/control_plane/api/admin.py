"""Admin routes: re-encrypt credentials with the primary key; binding JSON Schemas."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from botfleet.control_plane.api.deps import ContainerDep, PrincipalDep, UoWDep
from botfleet.control_plane.api.responses import AUTH_ERRORS
from botfleet.control_plane.binding_schemas import binding_json_schemas
from botfleet.control_plane.models import RotationResult
from botfleet.control_plane.services import credentials

router = APIRouter(prefix="/v1", tags=["admin"], responses=AUTH_ERRORS)


@router.post("/admin/rotate-keys")
async def rotate_keys(
    principal: PrincipalDep, container: ContainerDep, uow: UoWDep
) -> RotationResult:
    """Re-encrypt every stored secret with the first key of ``CP_FERNET_KEYS`` (admin).

    Key rotation: put the new key first, restart, call this, then drop the old key. Rows no
    configured key can decrypt are left as they are and listed in ``skipped``."""
    async with uow:
        return await credentials.rotate_encryption(uow, principal, container.box)


@router.get("/binding-schemas")
async def binding_schemas(principal: PrincipalDep) -> dict[str, dict[str, Any]]:
    """JSON Schemas of the known channel, connector and LLM settings (secrets excluded)."""
    return binding_json_schemas()
