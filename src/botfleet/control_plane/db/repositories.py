"""Repositories: the queries the services need, one small class per aggregate."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from botfleet.control_plane.db.tables import (
    ApiKey,
    AuditEntry,
    BootToken,
    Credential,
    FlowVersion,
    KnowledgeVersion,
    Tenant,
    VersionedDocument,
)

DocT = TypeVar("DocT", bound=VersionedDocument)


class TenantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, tenant_id: str) -> Tenant | None:
        return await self._session.get(Tenant, tenant_id)

    async def get_for_update(self, tenant_id: str) -> Tenant | None:
        """The tenant row, locked until the transaction ends and read as last committed.

        Every change of a tenant's rows takes this first (`services.tenants.
        get_tenant_for_change`; the tenant's deletion too), so two of them on the same tenant
        run one after the other instead of each checking what the other is about to change
        (publishing a flow against the connector bindings, new bindings against the published
        flow) or a deletion purging around rows another change is adding. PostgreSQL:
        ``SELECT ... FOR NO KEY UPDATE`` (it does not wait on the key-share locks that
        inserting a tenant's child rows takes). SQLite has no row locks: a no-op ``UPDATE`` of
        the row starts the write transaction, which takes the database's write lock, so a
        second writer waits (busy timeout) until this one ends.
        """
        if self._session.get_bind().dialect.name == "sqlite":
            await self._session.execute(
                update(Tenant)
                .where(Tenant.id == tenant_id)
                .values(status=Tenant.status)
                .execution_options(synchronize_session=False)
            )
            return await self._session.get(Tenant, tenant_id, populate_existing=True)
        return await self._session.get(
            Tenant, tenant_id, with_for_update={"key_share": True}, populate_existing=True
        )

    async def list(self, only: str | None = None) -> Sequence[Tenant]:
        query = select(Tenant).order_by(Tenant.id)
        if only is not None:
            query = query.where(Tenant.id == only)
        return (await self._session.scalars(query)).all()

    async def page(
        self, *, after: str | None, limit: int, only: str | None = None
    ) -> Sequence[Tenant]:
        """At most `limit` tenants by id, those after `after` (keyset: the id is unique, so
        the order is total and a page never repeats or skips a tenant)."""
        query = select(Tenant).order_by(Tenant.id).limit(limit)
        if only is not None:
            query = query.where(Tenant.id == only)
        if after is not None:
            query = query.where(Tenant.id > after)
        return (await self._session.scalars(query)).all()

    def add(self, tenant: Tenant) -> None:
        self._session.add(tenant)

    async def purge(self, tenant_id: str) -> None:
        """Delete the tenant and every row that belongs to it (children first, for the FKs)."""
        for table in (ApiKey, BootToken, FlowVersion, KnowledgeVersion, Credential):
            await self._session.execute(delete(table).where(table.tenant_id == tenant_id))
        await self._session.execute(delete(AuditEntry).where(AuditEntry.tenant_id == tenant_id))
        await self._session.execute(delete(Tenant).where(Tenant.id == tenant_id))


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, key_id: str) -> ApiKey | None:
        return await self._session.get(ApiKey, key_id)

    async def list(self, tenant_id: str) -> Sequence[ApiKey]:
        query = select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.created_at)
        return (await self._session.scalars(query)).all()

    def add(self, key: ApiKey) -> None:
        self._session.add(key)

    async def record_use(self, key_id: str, at: datetime, *, not_since: datetime) -> None:
        """Set the key's `last_used_at` to `at` unless it was already set after `not_since`
        (checked in the UPDATE itself, so concurrent requests write it once)."""
        await self._session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= not_since),
            )
            .values(last_used_at=at)
            .execution_options(synchronize_session=False)
        )


class BootTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, tenant_id: str) -> BootToken | None:
        return await self._session.get(BootToken, tenant_id)

    async def replace(self, tenant_id: str, token_hash: str) -> None:
        row = await self.get(tenant_id)
        if row is None:
            self._session.add(BootToken(tenant_id=tenant_id, token_hash=token_hash))
        else:
            row.token_hash = token_hash


class DocumentRepository(Generic[DocT]):
    """Immutable numbered versions of one kind of document (flows or knowledge)."""

    def __init__(self, session: AsyncSession, model: type[DocT]) -> None:
        self._session = session
        self._model = model

    async def latest_version(self, tenant_id: str) -> int:
        query = select(func.max(self._model.version)).where(self._model.tenant_id == tenant_id)
        return (await self._session.scalar(query)) or 0

    async def get(self, tenant_id: str, version: int) -> DocT | None:
        query = select(self._model).where(
            self._model.tenant_id == tenant_id, self._model.version == version
        )
        return (await self._session.scalars(query)).one_or_none()

    async def list(self, tenant_id: str) -> Sequence[DocT]:
        query = (
            select(self._model)
            .where(self._model.tenant_id == tenant_id)
            .order_by(self._model.version)
        )
        return (await self._session.scalars(query)).all()

    async def page(self, tenant_id: str, *, after: int | None, limit: int) -> Sequence[DocT]:
        """At most `limit` versions, oldest first, those after version `after`."""
        query = (
            select(self._model)
            .where(self._model.tenant_id == tenant_id)
            .order_by(self._model.version)
            .limit(limit)
        )
        if after is not None:
            query = query.where(self._model.version > after)
        return (await self._session.scalars(query)).all()

    async def previous_version(self, tenant_id: str, before: int) -> int | None:
        query = select(func.max(self._model.version)).where(
            self._model.tenant_id == tenant_id, self._model.version < before
        )
        return await self._session.scalar(query)

    def add(self, document: DocT) -> None:
        self._session.add(document)


class CredentialRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, tenant_id: str, scope: str) -> Credential | None:
        return await self._session.get(Credential, (tenant_id, scope))

    async def list(self, tenant_id: str | None = None) -> Sequence[Credential]:
        query = select(Credential).order_by(Credential.tenant_id, Credential.scope)
        if tenant_id is not None:
            query = query.where(Credential.tenant_id == tenant_id)
        return (await self._session.scalars(query)).all()

    def add(self, credential: Credential) -> None:
        self._session.add(credential)

    async def delete(self, credential: Credential) -> None:
        await self._session.delete(credential)


#: The audit action of a tenant's deletion (`services.tenants.delete_tenant`).
TENANT_DELETE = "tenant.delete"


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, entry: AuditEntry) -> None:
        self._session.add(entry)

    async def list(
        self,
        *,
        tenant_id: str | None = None,
        action: str | None = None,
        actor: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
        with_deletions: bool = False,
    ) -> Sequence[AuditEntry]:
        """Newest first. With `with_deletions`, `tenant_id` also matches the entries of the
        tenant's deletions: those carry no tenant (its other entries go with it, and a tenant
        registered later under the id is not shown them), only the id as their `target`."""
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if tenant_id is not None and with_deletions:
            deletion = and_(
                AuditEntry.tenant_id.is_(None),
                AuditEntry.action == TENANT_DELETE,
                AuditEntry.target == tenant_id,
            )
            query = query.where(or_(AuditEntry.tenant_id == tenant_id, deletion))
        elif tenant_id is not None:
            query = query.where(AuditEntry.tenant_id == tenant_id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        if actor is not None:
            query = query.where(AuditEntry.actor == actor)
        if before_id is not None:
            query = query.where(AuditEntry.id < before_id)
        return (await self._session.scalars(query)).all()
