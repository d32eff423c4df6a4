"""API keys: optional expiry (`expires_at`) and when each was last used (`last_used_at`).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# Both nullable, without a default: existing keys keep working as before (no expiry, never
# used as far as the control plane knows).
COLUMNS = ("expires_at", "last_used_at")


def upgrade() -> None:
    # Batch mode: plain ALTER TABLE ADD COLUMN on both backends (SQLite supports adding a
    # nullable column in place); the same form is needed for the downgrade below.
    with op.batch_alter_table("api_keys") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # On SQLite, batch mode copies the table without the columns (the rows are kept).
    with op.batch_alter_table("api_keys") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
