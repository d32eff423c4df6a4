"""Knowledge documents: versioned markdown per tenant, published and rolled back like flows."""

from __future__ import annotations

from botfleet.control_plane.db.tables import KnowledgeVersion, Tenant
from botfleet.control_plane.db.uow import SqlAlchemyUnitOfWork
from botfleet.control_plane.errors import InvalidInput
from botfleet.control_plane.principals import Principal
from botfleet.control_plane.services import audit, versions
from botfleet.control_plane.services.tenants import get_tenant_for_change


def _set_published(tenant: Tenant, version: int | None) -> None:
    tenant.published_knowledge_version = version


KNOWLEDGE: versions.DocumentKind[KnowledgeVersion] = versions.DocumentKind(
    name="knowledge",
    repository=lambda uow: uow.knowledge,
    get_published=lambda tenant: tenant.published_knowledge_version,
    set_published=_set_published,
)


async def upload_knowledge(
    uow: SqlAlchemyUnitOfWork,
    principal: Principal,
    tenant_id: str,
    text: str,
    *,
    max_bytes: int,
    publish: bool = False,
) -> versions.Upload[KnowledgeVersion]:
    """Store a new immutable markdown version; optionally publish it.

    With `publish`, storing and publishing are one transaction, as for flows: either both
    happen or neither (a publish that fails leaves no unpublished version behind). The tenant
    is locked before the number is taken, so concurrent uploads of one tenant get consecutive
    numbers one after the other instead of conflicting. The very text of the latest version
    stores nothing: that version is returned with ``unchanged`` (published with `publish`).
    """
    principal.require_tenant(tenant_id)
    versions.check_size("knowledge document", text, max_bytes)
    if not text.strip():
        raise InvalidInput("text", "the knowledge document is empty")
    if "\x00" in text:
        raise InvalidInput("text", "the knowledge document contains NUL characters")
    tenant = await get_tenant_for_change(uow, principal, tenant_id)
    same = await versions.unchanged_upload(uow, principal, KNOWLEDGE, tenant, text, publish=publish)
    if same is not None:
        return same
    number = await versions.next_version(uow, KNOWLEDGE, tenant_id)
    document = KnowledgeVersion(
        tenant_id=tenant_id,
        version=number,
        content=text,
        sha256=versions.sha256_text(text),
        created_by=principal.actor,
    )
    uow.knowledge.add(document)
    audit.record(
        uow, principal, "knowledge.upload", tenant_id=tenant_id, target=str(number),
        details={"sha256": document.sha256, "bytes": len(text.encode())},
    )  # fmt: skip
    if publish:
        await versions.publish_new(uow, principal, KNOWLEDGE, tenant, document)
    await uow.commit()
    return versions.Upload(document, KNOWLEDGE.get_published(tenant))
