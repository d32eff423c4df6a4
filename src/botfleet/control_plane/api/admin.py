"""Admin routes: re-encrypt credentials with the primary key; review stored URLs against the
tenant URL policy; binding JSON Schemas."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from botfleet.control_plane.api.deps import ContainerDep, PrincipalDep, UoWDep
from botfleet.control_plane.api.responses import AUTH_ERRORS
from botfleet.control_plane.binding_schemas import binding_json_schemas
from botfleet.control_plane.models import RotationResult, TenantUrlReport
from botfleet.control_plane.services import credentials, url_review

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


@router.get("/admin/tenant-urls")
async def tenant_urls(
    principal: PrincipalDep, container: ContainerDep, uow: UoWDep
) -> TenantUrlReport:
    """Stored URLs (bindings and credentials, every tenant) a tenant key could not set under
    ``CP_TENANT_URL_POLICY=public``, whatever the policy is now (admin): changing the policy
    does not re-check what is stored. Each names the tenant, the place and why, never the
    URL. Host names are looked up as a tenant key's change would (each distinct one once), so
    this may take a few seconds."""
    async with uow:
        return await url_review.review_stored_urls(
            uow, principal, container.box, container.url_guard
        )


@router.get("/binding-schemas")
async def binding_schemas(principal: PrincipalDep) -> dict[str, dict[str, Any]]:
    """JSON Schemas of the known channel, connector and LLM settings (secrets excluded)."""
    return binding_json_schemas()
