"""Unit of work: one session, its repositories, and an explicit commit."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from botfleet.control_plane.db.repositories import (
    ApiKeyRepository,
    AuditRepository,
    BootTokenRepository,
    CredentialRepository,
    DocumentRepository,
    TenantRepository,
)
from botfleet.control_plane.db.tables import FlowVersion, KnowledgeVersion


class SqlAlchemyUnitOfWork:
    """``async with uow: ...; await uow.commit()``; leaving without commit rolls back."""

    session: AsyncSession
    tenants: TenantRepository
    api_keys: ApiKeyRepository
    boot_tokens: BootTokenRepository
    flows: DocumentRepository[FlowVersion]
    knowledge: DocumentRepository[KnowledgeVersion]
    credentials: CredentialRepository
    audit: AuditRepository

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def __aenter__(self) -> Self:
        session = self.session = self._sessions()
        self.tenants = TenantRepository(session)
        self.api_keys = ApiKeyRepository(session)
        self.boot_tokens = BootTokenRepository(session)
        self.flows = DocumentRepository(session, FlowVersion)
        self.knowledge = DocumentRepository(session, KnowledgeVersion)
        self.credentials = CredentialRepository(session)
        self.audit = AuditRepository(session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed and returns the connection.
        await self.session.close()

    async def commit(self) -> None:
        await self.session.commit()

    async def release(self) -> None:
        """End the transaction and return the connection (the session stays usable)."""
        await self.session.close()
