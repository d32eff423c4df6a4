"""Identity routes: a tenant's API keys and its boot token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from botfleet.control_plane.api.deps import PrincipalDep, TenantIdPath, UoWDep
from botfleet.control_plane.api.responses import AUTH_ERRORS
from botfleet.control_plane.db.tables import utcnow
from botfleet.control_plane.models import ApiKeyCreate, ApiKeyCreated, ApiKeyView, BootTokenIssued
from botfleet.control_plane.services import identity

router = APIRouter(prefix="/v1/tenants/{tenant_id}", tags=["identity"], responses=AUTH_ERRORS)

KeyIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="the key's id")]


@router.post("/api-keys", status_code=status.HTTP_201_CREATED)
async def create_api_key(
    tenant_id: TenantIdPath, body: ApiKeyCreate, principal: PrincipalDep, uow: UoWDep
) -> ApiKeyCreated:
    """A new tenant-scoped key. The key itself is in this answer only; store it now.

    With `expires_at` or `expires_in_days` it stops working then (401 naming the key and the
    date); without, it works until revoked."""
    async with uow:
        row, key = await identity.create_api_key(
            uow, principal, tenant_id, body.name, expires_at=body.expiry(utcnow())
        )
        return ApiKeyCreated.model_validate(
            {**ApiKeyView.model_validate(row).model_dump(), "key": key}
        )


@router.get("/api-keys")
async def list_api_keys(
    tenant_id: TenantIdPath, principal: PrincipalDep, uow: UoWDep
) -> list[ApiKeyView]:
    """Key metadata (never the keys or their hashes): expiry and when each was last used."""
    async with uow:
        rows = await identity.list_api_keys(uow, principal, tenant_id)
        return [ApiKeyView.model_validate(row) for row in rows]


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(
    tenant_id: TenantIdPath, key_id: KeyIdPath, principal: PrincipalDep, uow: UoWDep
) -> Response:
    """Revoke a key; it stops working at once."""
    async with uow:
        await identity.revoke_api_key(uow, principal, tenant_id, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/boot-token/rotate")
async def rotate_boot_token(
    tenant_id: TenantIdPath, principal: PrincipalDep, uow: UoWDep
) -> BootTokenIssued:
    """Issue a new boot token (shown once); the previous one stops working."""
    async with uow:
        token = await identity.rotate_boot_token(uow, principal, tenant_id)
    return BootTokenIssued(tenant_id=tenant_id, boot_token=token)
