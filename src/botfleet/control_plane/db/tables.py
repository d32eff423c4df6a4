"""SQLAlchemy 2 typed mappings of the control-plane tables (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from botfleet.control_plane.principals import DEFAULT_ROLE
from botfleet.control_plane.provenance import StoredBy

# Explicit constraint names, so migrations can drop them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TENANT_ID_LENGTH = 63
#: `credentials.stored_by`: long enough for ``operator``, ``tenant`` and ``unknown``.
STORED_BY_LENGTH = 16
#: `api_keys.role`: long enough for ``viewer``, ``editor`` and ``owner``.
ROLE_LENGTH = 16


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


def _tenant_fk() -> Mapped[str]:
    return mapped_column(String(TENANT_ID_LENGTH), ForeignKey("tenants.id"), index=True)


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(TENANT_ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="active")
    channel: Mapped[dict[str, Any]]
    #: Further channel bindings of the same bot (revision 0005; the tenants stored before it
    #: have none).
    more_channels: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    connectors: Mapped[dict[str, Any]]
    llm: Mapped[dict[str, Any]]
    data_plane_url: Mapped[str | None] = mapped_column(String(500))
    published_flow_version: Mapped[int | None]
    published_knowledge_version: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A tenant-scoped API key; `key_hash` is SHA-256 of the whole key."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    tenant_id: Mapped[str] = _tenant_fk()
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64))
    #: What the key may do (`principals.Role`). The server default makes every key stored
    #: before roles existed (revision 0004) an owner, as they could do everything then.
    role: Mapped[str] = mapped_column(String(ROLE_LENGTH), server_default=DEFAULT_ROLE.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: ``admin`` or ``apikey:<id>`` of the key that created it (a tenant key may not revoke
    #: a key the admin made).
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None]
    #: After this instant the key is refused (401 naming the key and the date); None: never.
    expires_at: Mapped[datetime | None]
    #: When the key last authenticated a request, recorded at most once per
    #: `services.identity.LAST_USED_RESOLUTION` (so a request seldom writes); None: never used.
    last_used_at: Mapped[datetime | None]


class BootToken(Base):
    """The tenant's one valid boot token (rotating replaces the hash)."""

    __tablename__ = "boot_tokens"

    tenant_id: Mapped[str] = mapped_column(
        String(TENANT_ID_LENGTH), ForeignKey("tenants.id"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class VersionedDocument(Base):
    """Columns shared by flow and knowledge versions: immutable, numbered 1..n per tenant."""

    __abstract__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = _tenant_fk()
    version: Mapped[int]
    content: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))


class FlowVersion(VersionedDocument):
    __tablename__ = "flow_versions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "version", name="uq_flow_versions_tenant_version"),
    )

    flow_id: Mapped[str] = mapped_column(String(200))
    warnings: Mapped[list[str]]


class KnowledgeVersion(VersionedDocument):
    __tablename__ = "knowledge_versions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "version", name="uq_knowledge_versions_tenant_version"),
    )


class Credential(Base):
    """Secrets of one scope (``channel``, ``llm``, ``connector:<name>``), Fernet-sealed."""

    __tablename__ = "credentials"

    tenant_id: Mapped[str] = mapped_column(
        String(TENANT_ID_LENGTH), ForeignKey("tenants.id"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    key_names: Mapped[list[str]]
    #: Who put the current secrets: ``operator``, ``tenant`` or ``unknown`` (stored before
    #: this was recorded; the server default, so a row written without it is never a tenant's).
    stored_by: Mapped[str] = mapped_column(
        String(STORED_BY_LENGTH), server_default=StoredBy.UNKNOWN.value
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who changed what. `tenant_id` is not a foreign key: deletions are audited too."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    tenant_id: Mapped[str | None] = mapped_column(String(TENANT_ID_LENGTH), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    details: Mapped[dict[str, Any]]
