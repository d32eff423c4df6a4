"""Tenant use cases: register, read, update, disable/enable, export and delete."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botfleet.control_plane.binding_schemas import (
    check_llm_provider,
    validate_channel,
    validate_connectors,
    validate_llm,
)
from botfleet.control_plane.db.tables import Tenant, utcnow
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import Conflict, NotFound, PermissionDenied
from botfleet.control_plane.models import TenantCreate, TenantUpdate, data_plane_url_text
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.services import audit
from botfleet.control_plane.tokens import hash_secret, new_boot_token

ACTIVE, DISABLED = "active", "disabled"


async def get_tenant(
    uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str, *, lock: bool = False
) -> Tenant:
    """The tenant, if the caller may see it; otherwise `NotFound` (never a hint it exists).

    With `lock` the row is locked until the transaction ends (see
    `TenantRepository.get_for_update`): concurrent changes of the tenant then serialize, and
    each checks the tenant as the previous one left it.
    """
    principal.require_tenant(tenant_id)
    if lock:
        tenant = await uow.tenants.get_for_update(tenant_id)
    else:
        tenant = await uow.tenants.get(tenant_id)
    if tenant is None:
        raise NotFound("tenant", tenant_id)
    return tenant


async def create_tenant(
    uow: SqlAlchemyUnitOfWork, principal: Principal, spec: TenantCreate
) -> tuple[Tenant, str]:
    """Register a tenant; returns it with its first boot token (shown once)."""
    principal.require_admin("creating a tenant")
    if await uow.tenants.get(spec.id) is not None:
        raise Conflict(f"tenant {spec.id!r} already exists")
    connectors, llm = validate_connectors(spec.connectors), validate_llm(spec.llm)
    check_llm_provider(llm, connectors)
    tenant = Tenant(
        id=spec.id,
        name=spec.name,
        timezone=spec.timezone,
        language=spec.language,
        status=ACTIVE,
        channel=validate_channel(spec.channel),
        connectors=connectors,
        llm=llm,
        data_plane_url=data_plane_url_text(spec.data_plane_url),
    )
    uow.tenants.add(tenant)
    await uow.session.flush()  # the boot token's foreign key needs the tenant row first
    token = new_boot_token()
    await uow.boot_tokens.replace(spec.id, hash_secret(token))
    audit.record(uow, principal, "tenant.create", tenant_id=spec.id, target=spec.id)
    await uow.commit()
    return tenant, token


async def list_tenants(uow: SqlAlchemyUnitOfWork, principal: Principal) -> Sequence[Tenant]:
    """Every tenant for the admin; a tenant key sees only its own."""
    return await uow.tenants.list(only=None if principal.is_admin else principal.tenant_id)


def _changes(tenant: Tenant, spec: TenantUpdate) -> dict[str, Any]:
    validators = {
        "channel": validate_channel,
        "connectors": validate_connectors,
        "llm": validate_llm,
    }
    changes: dict[str, Any] = {}
    for field in spec.model_fields_set:
        value = getattr(spec, field)
        if field == "data_plane_url":
            value = data_plane_url_text(value)
        elif value is None:
            continue  # null means "leave as is" for the required fields
        elif field in validators:
            value = validators[field](value)
        if getattr(tenant, field) != value:
            changes[field] = value
    return changes


async def update_tenant(
    uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str, spec: TenantUpdate
) -> Tenant:
    # Locked: a publish checking the bindings this changes waits for it (and vice versa).
    tenant = await get_tenant(uow, principal, tenant_id, lock=True)
    changes = _changes(tenant, spec)
    check_llm_provider(changes.get("llm", tenant.llm), changes.get("connectors", tenant.connectors))
    # The CP calls this URL and returns what it answers: only the admin may point it somewhere.
    if "data_plane_url" in changes and not principal.is_admin:
        raise PermissionDenied("changing data_plane_url needs the admin API key")
    if "connectors" in changes:
        # Imported here: the flows service imports this module.
        from botfleet.control_plane.services.flows import check_connectors_kept

        await check_connectors_kept(uow, tenant, changes["connectors"] or {})
    if changes:
        for field, value in changes.items():
            setattr(tenant, field, value)
        tenant.updated_at = utcnow()
        audit.record(
            uow, principal, "tenant.update", tenant_id=tenant_id, target=tenant_id,
            details={"fields": sorted(changes)},
        )  # fmt: skip
        await uow.commit()
    return tenant


async def set_status(
    uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str, status: str
) -> Tenant:
    """Disable (boot refused with 403) or re-enable a tenant."""
    tenant = await get_tenant(uow, principal, tenant_id, lock=True)
    principal.require_admin(f"setting a tenant {status}")
    if tenant.status != status:
        tenant.status = status
        tenant.updated_at = utcnow()
        action = "tenant.disable" if status == DISABLED else "tenant.enable"
        audit.record(uow, principal, action, tenant_id=tenant_id, target=tenant_id)
        await uow.commit()
    return tenant


async def delete_tenant(uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str) -> None:
    """Remove the tenant and all its rows (its audit entries too); the deletion is audited."""
    await get_tenant(uow, principal, tenant_id)
    principal.require_admin("deleting a tenant")
    await uow.tenants.purge(tenant_id)
    audit.record(uow, principal, "tenant.delete", tenant_id=None, target=tenant_id)
    await uow.commit()
