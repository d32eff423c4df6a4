"""Tenant routes: create, list, get, update, disable/enable, export, delete."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response, status

from botfleet.control_plane.api.deps import ContainerDep, PrincipalDep, TenantIdPath, UoWDep
from botfleet.control_plane.api.paging import LINK_HEADER_DOC, CursorQuery, LimitQuery, link_next
from botfleet.control_plane.api.responses import (
    AUTH_ERRORS,
    BODY_TOO_LARGE,
    CONCURRENT_CHANGE,
    STALE_CREDENTIALS,
    Responses,
    conflicts,
)
from botfleet.control_plane.models import (
    ErrorBody,
    TenantCreate,
    TenantCreated,
    TenantExport,
    TenantUpdate,
    TenantUpdated,
    TenantView,
)
from botfleet.control_plane.pagination import DEFAULT_PAGE_SIZE
from botfleet.control_plane.services import export, tenants

router = APIRouter(prefix="/v1/tenants", tags=["tenants"], responses=AUTH_ERRORS)

TENANT_EXISTS: Responses = {
    409: {"model": ErrorBody, "description": "a tenant with this id exists"},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={**BODY_TOO_LARGE, **conflicts(TENANT_EXISTS, CONCURRENT_CHANGE)},
)
async def create_tenant(body: TenantCreate, principal: PrincipalDep, uow: UoWDep) -> TenantCreated:
    """Register a tenant (admin). The answer holds its boot token, shown this once."""
    async with uow:
        tenant, token = await tenants.create_tenant(uow, principal, body)
        return TenantCreated(tenant=TenantView.model_validate(tenant), boot_token=token)


@router.get("", responses={200: {"headers": LINK_HEADER_DOC}})
async def list_tenants(
    request: Request,
    response: Response,
    principal: PrincipalDep,
    uow: UoWDep,
    limit: LimitQuery = DEFAULT_PAGE_SIZE,
    cursor: CursorQuery = None,
) -> list[TenantView]:
    """Every tenant for the admin, a tenant key only its own; by id, `limit` at a time. When
    there are more, the ``Link`` header (``rel="next"``) gives the next page's URL."""
    async with uow:
        page = await tenants.list_tenants(uow, principal, limit=limit, cursor=cursor)
        link_next(request, response, page.next_cursor, limit)
        return [TenantView.model_validate(t) for t in page.items]


@router.get("/{tenant_id}")
async def get_tenant(tenant_id: TenantIdPath, principal: PrincipalDep, uow: UoWDep) -> TenantView:
    async with uow:
        return TenantView.model_validate(await tenants.get_tenant(uow, principal, tenant_id))


@router.patch("/{tenant_id}", responses={**BODY_TOO_LARGE, **STALE_CREDENTIALS})
async def update_tenant(
    tenant_id: TenantIdPath,
    body: TenantUpdate,
    principal: PrincipalDep,
    container: ContainerDep,
    uow: UoWDep,
    drop_stale_credentials: bool = False,
) -> TenantUpdated:
    """Change name, time zone, language, bindings or LLM settings (validated like on create).
    A binding whose stored credentials it does not take (a channel changed from ``whatsapp``
    to ``telegram``) answers 409 naming them; ``?drop_stale_credentials=true`` removes those
    names (a scope left without any is deleted; its other secrets stay).
    With a tenant key and ``CP_TENANT_URL_POLICY=public`` (the default), a new URL in a
    binding must point at a public host: loopback, private, link-local and internal names
    answer 422 naming the field; and a stored URL the change removes or alters must be one
    the key could set again (422 naming the field: send it unchanged, or the admin changes
    it). The answer is the tenant as changed, with ``before``: the changed fields' values
    before this change."""
    async with uow:
        tenant, before = await tenants.update_tenant(
            uow,
            principal,
            tenant_id,
            body,
            drop_stale_credentials=drop_stale_credentials,
            url_guard=container.url_guard,
            box=container.box,
        )
        view = TenantView.model_validate(tenant)
        return TenantUpdated(**dict(view), before=before)


@router.post("/{tenant_id}/disable")
async def disable_tenant(
    tenant_id: TenantIdPath, principal: PrincipalDep, uow: UoWDep
) -> TenantView:
    """Disable a tenant (admin): its data plane's boot pulls get 403 until it is enabled."""
    async with uow:
        tenant = await tenants.set_status(uow, principal, tenant_id, tenants.DISABLED)
        return TenantView.model_validate(tenant)


@router.post("/{tenant_id}/enable")
async def enable_tenant(
    tenant_id: TenantIdPath, principal: PrincipalDep, uow: UoWDep
) -> TenantView:
    async with uow:
        tenant = await tenants.set_status(uow, principal, tenant_id, tenants.ACTIVE)
        return TenantView.model_validate(tenant)


@router.get("/{tenant_id}/export")
async def export_tenant(
    tenant_id: TenantIdPath, principal: PrincipalDep, uow: UoWDep
) -> TenantExport:
    """Everything held about the tenant except secrets (take it before deleting)."""
    async with uow:
        return await export.export_tenant(uow, principal, tenant_id, now=datetime.now(UTC))


@router.delete("/{tenant_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_tenant(tenant_id: TenantIdPath, principal: PrincipalDep, uow: UoWDep) -> Response:
    """Delete the tenant and all its rows (admin). Export it first if you need its history."""
    async with uow:
        await tenants.delete_tenant(uow, principal, tenant_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
