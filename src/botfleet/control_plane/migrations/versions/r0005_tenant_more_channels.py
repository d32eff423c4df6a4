"""Tenants: more channels (`more_channels`: further channel bindings; existing tenants have none).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

# Written out rather than imported: a migration keeps describing the schema of its revision
# when the models move on.
NONE = "[]"


def upgrade() -> None:
    # Not null with a server default: the tenants already stored get an empty list in the same
    # statement, on both backends (each keeps serving its one channel).
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("more_channels", sa.JSON(), nullable=False, server_default=NONE))


def downgrade() -> None:
    # The revisions below serve one channel per tenant. The `channel:<kind>` credentials stay
    # (the code below reads no such scope): adding the channel again after an upgrade uses them.
    # On SQLite, batch mode copies the table without the column (the rows are kept) and drops
    # the old one, which the other tables' rows refer to: their foreign keys are not checked
    # meanwhile (`foreign_keys` when no transaction is open, as the driver runs DDL;
    # `defer_foreign_keys` until the commit inside one), and the copy holds every tenant again.
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("PRAGMA foreign_keys = OFF")
        op.execute("PRAGMA defer_foreign_keys = ON")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("more_channels")
    if sqlite:
        op.execute("PRAGMA foreign_keys = ON")  # as `db.engine` opens every connection
