"""API keys: roles (`role`: ``viewer``, ``editor`` or ``owner``; existing keys are owners).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-19
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

# Written out rather than imported: a migration keeps describing the schema of its revision
# when the models move on.
LENGTH = 16
OWNER = "owner"


def upgrade() -> None:
    # Not null with a server default: the keys already stored become owners in the same
    # statement, on both backends (before roles, every tenant key could do everything, so
    # nothing a key did yesterday is refused after the upgrade).
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("role", sa.String(length=LENGTH), nullable=False, server_default=OWNER)
        )


def downgrade() -> None:
    # The revisions below know no roles: every key left there may do everything. So the keys
    # made to do less (viewer, editor) are revoked first instead of becoming owners.
    keys = sa.table(
        "api_keys",
        sa.column("role", sa.String),
        sa.column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        keys.update()
        .where(keys.c.role != OWNER, keys.c.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    # On SQLite, batch mode copies the table without the column (the rows are kept).
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("role")
