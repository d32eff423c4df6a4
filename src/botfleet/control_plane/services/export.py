"""Tenant export: everything the control plane holds about a tenant, except secrets."""

from __future__ import annotations

from datetime import datetime

from botfleet.control_plane.db.tables import AuditEntry
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.models import (
    EXPORT_FORMAT,
    ApiKeyView,
    AuditView,
    CredentialView,
    FlowVersionDetail,
    KnowledgeVersionDetail,
    TenantExport,
    TenantView,
)
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.services import audit
from botfleet.control_plane.services.tenants import get_tenant

_AUDIT_PAGE = 500


async def export_tenant(
    uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str, *, now: datetime
) -> TenantExport:
    """The export: tenant, every flow and knowledge version, API key metadata, credential
    scopes with key names (no values, no hashes) and the tenant's audit log."""
    tenant = await get_tenant(uow, principal, tenant_id)
    flows = [
        FlowVersionDetail.of(row, tenant.published_flow_version)
        for row in await uow.flows.list(tenant_id)
    ]
    knowledge = [
        KnowledgeVersionDetail.of(row, tenant.published_knowledge_version)
        for row in await uow.knowledge.list(tenant_id)
    ]
    entries: list[AuditEntry] = []
    before: int | None = None
    while page := await audit.list_entries(
        uow, principal, tenant_id=tenant_id, before_id=before, limit=_AUDIT_PAGE
    ):
        entries.extend(page)
        before = page[-1].id
    return TenantExport(
        format=EXPORT_FORMAT,
        exported_at=now.isoformat(),
        tenant=TenantView.model_validate(tenant),
        flows=flows,
        knowledge=knowledge,
        api_keys=[ApiKeyView.model_validate(k) for k in await uow.api_keys.list(tenant_id)],
        credentials=[
            CredentialView.model_validate(c) for c in await uow.credentials.list(tenant_id)
        ],
        audit=[AuditView.model_validate(e) for e in reversed(entries)],
    )
