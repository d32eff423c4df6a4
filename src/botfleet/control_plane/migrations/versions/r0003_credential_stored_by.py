"""Credentials: who stored them (`stored_by`: ``operator``, ``tenant`` or ``unknown``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

# Written out rather than imported: a migration keeps describing the schema of its revision
# when the models move on.
LENGTH = 16
UNKNOWN = "unknown"


def upgrade() -> None:
    # Not null with a server default: the rows already stored get ``unknown`` in the same
    # statement, on both backends (who put them was never recorded, so none of them may count
    # as the tenant's; the host-move rule treats them as the operator's).
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(
            sa.Column("stored_by", sa.String(length=LENGTH), nullable=False, server_default=UNKNOWN)
        )


def downgrade() -> None:
    # On SQLite, batch mode copies the table without the column (the rows are kept).
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("stored_by")
