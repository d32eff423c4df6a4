"""Tenant export: everything the control plane holds about a tenant, except secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botfleet.control_plane.db.tables import AuditEntry
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.models import (
    ApiKeyView,
    AuditView,
    CredentialView,
    FlowVersionDetail,
    KnowledgeVersionDetail,
    TenantView,
)
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.services import audit
from botfleet.control_plane.services.tenants import get_tenant

EXPORT_FORMAT = 1
_AUDIT_PAGE = 500


async def export_tenant(
    uow: SqlAlchemyUnitOfWork, principal: Principal, tenant_id: str, *, now: datetime
) -> dict[str, Any]:
    """JSON-ready export: tenant, every flow and knowledge version, API key metadata, credential
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
    return {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "tenant": TenantView.model_validate(tenant).model_dump(mode="json"),
        "flows": [f.model_dump(mode="json") for f in flows],
        "knowledge": [k.model_dump(mode="json") for k in knowledge],
        "api_keys": [
            ApiKeyView.model_validate(k).model_dump(mode="json")
            for k in await uow.api_keys.list(tenant_id)
        ],
        "credentials": [
            CredentialView.model_validate(c).model_dump(mode="json")
            for c in await uow.credentials.list(tenant_id)
        ],
        "audit": [AuditView.model_validate(e).model_dump(mode="json") for e in reversed(entries)],
    }
