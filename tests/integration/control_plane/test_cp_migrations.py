"""Migrations go up and down on SQLite and PostgreSQL, and match the ORM tables exactly."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cp_harness import Database
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from botfleet.control_plane.db.engine import make_engine
from botfleet.control_plane.db.migrate import downgrade_migrations, run_migrations
from botfleet.control_plane.db.tables import Base

VERSION_TABLE = "alembic_version_cp"
TABLES = {
    "tenants", "api_keys", "boot_tokens", "flow_versions", "knowledge_versions", "credentials",
    "audit_log",
}  # fmt: skip


def _schema_state(connection: Connection) -> dict[str, Any]:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return {
        "tables": set(inspect(connection).get_table_names()),
        "revision": context.get_current_revision(),
        "diff": compare_metadata(context, Base.metadata),
    }


async def _state(db: Database) -> dict[str, Any]:
    engine = make_engine(db.url, schema=db.schema)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_schema_state)
    finally:
        await engine.dispose()


async def test_migrations_upgrade_downgrade_and_match_the_models(database: Database) -> None:
    await run_migrations(database.url, schema=database.schema)
    state = await _state(database)
    assert state["tables"] == TABLES | {VERSION_TABLE}
    assert state["revision"] == "0001"
    assert state["diff"] == [], "the ORM tables and the migrations disagree"

    await downgrade_migrations(database.url, schema=database.schema)
    state = await _state(database)
    assert state["tables"] == {VERSION_TABLE}
    assert state["revision"] is None

    await run_migrations(database.url, schema=database.schema)
    await run_migrations(database.url, schema=database.schema)  # idempotent
    assert (await _state(database))["revision"] == "0001"
