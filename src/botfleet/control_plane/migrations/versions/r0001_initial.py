"""Initial control-plane schema: tenants, identity, versions, credentials, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Written by hand (not importing the ORM) so later model changes never rewrite history.
TENANT_ID = sa.String(length=63)


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants"
    )


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", TENANT_ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.JSON(), nullable=False),
        sa.Column("connectors", sa.JSON(), nullable=False),
        sa.Column("llm", sa.JSON(), nullable=False),
        sa.Column("data_plane_url", sa.String(length=500), nullable=True),
        sa.Column("published_flow_version", sa.Integer(), nullable=True),
        sa.Column("published_knowledge_version", sa.Integer(), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_tenants"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("tenant_id", TENANT_ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        _when("created_at"),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        _when("revoked_at", nullable=True),
        _tenant_fk("api_keys"),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
    )
    op.create_index("ix_api_keys_tenant_id", "api_keys", ["tenant_id"])
    op.create_table(
        "boot_tokens",
        sa.Column("tenant_id", TENANT_ID, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        _when("created_at"),
        _tenant_fk("boot_tokens"),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_boot_tokens"),
    )
    extras: tuple[tuple[str, list[sa.Column[object]]], ...] = (
        ("flow_versions", [sa.Column("flow_id", sa.String(length=200), nullable=False),
                           sa.Column("warnings", sa.JSON(), nullable=False)]),
        ("knowledge_versions", []),
    )  # fmt: skip
    for table, extra in extras:
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("tenant_id", TENANT_ID, nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("content", sa.Text(), nullable=False),
            sa.Column("sha256", sa.String(length=64), nullable=False),
            _when("created_at"),
            sa.Column("created_by", sa.String(length=100), nullable=False),
            *extra,
            _tenant_fk(table),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
            sa.UniqueConstraint("tenant_id", "version", name=f"uq_{table}_tenant_version"),
        )
        op.create_index(f"ix_{table}_tenant_id", table, ["tenant_id"])
    op.create_table(
        "credentials",
        sa.Column("tenant_id", TENANT_ID, nullable=False),
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("key_names", sa.JSON(), nullable=False),
        _when("created_at"),
        _when("updated_at"),
        _tenant_fk("credentials"),
        sa.PrimaryKeyConstraint("tenant_id", "scope", name="pk_credentials"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _when("at"),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", TENANT_ID, nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_tenant_id", "audit_log", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_tenant_id", table_name="audit_log")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("credentials")
    for table in ("knowledge_versions", "flow_versions"):
        op.drop_index(f"ix_{table}_tenant_id", table_name=table)
        op.drop_table(table)
    op.drop_table("boot_tokens")
    op.drop_index("ix_api_keys_tenant_id", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("tenants")
