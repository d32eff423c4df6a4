"""Run the control plane's Alembic migrations from code (start-up, tests, CLI)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from botfleet.control_plane.db.engine import is_missing_schema, make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
#: Not Alembic's default name, so the control plane can share a database with other tools.
VERSION_TABLE = "alembic_version_cp"

SchemaState = Literal["ok", "not migrated", "unknown revision"]


class DatabaseNewerThanCode(Exception):
    """The database records a revision these migrations do not have: a newer botfleet migrated
    it. Alembic would fail with "Can't locate revision"; this says which revisions are whose."""

    def __init__(self, current: frozenset[str], heads: frozenset[str]) -> None:
        self.current, self.heads = current, heads
        super().__init__(
            f"the database is at revision {_listed(current)}, unknown to this version "
            f"(its newest: {_listed(heads)})"
        )


def _listed(revisions: frozenset[str]) -> str:
    return ", ".join(repr(revision) for revision in sorted(revisions))


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@functools.cache
def _revisions() -> tuple[frozenset[str], frozenset[str]]:
    """(head revisions, every known revision) of the packaged migrations."""
    scripts = ScriptDirectory.from_config(alembic_config())
    known = frozenset(script.revision for script in scripts.walk_revisions())
    return frozenset(scripts.get_heads()), known


async def schema_state(connection: AsyncConnection) -> SchemaState:
    """Whether the database holds this version's schema: "ok" at the head revision, "not
    migrated" without the tables or at an older revision, "unknown revision" when a newer
    control plane migrated it."""
    try:
        result = await connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))
    except DBAPIError as exc:
        if is_missing_schema(exc):
            return "not migrated"
        raise
    current = frozenset(str(revision) for revision in result.scalars())
    heads, known = _revisions()
    if current == heads:
        return "ok"
    return "unknown revision" if current - known else "not migrated"


def _refuse_newer_database(connection: Connection) -> None:
    """Raise `DatabaseNewerThanCode` before Alembic meets a revision it cannot locate."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    current = frozenset(context.get_current_heads())
    heads, known = _revisions()
    if current - known:
        raise DatabaseNewerThanCode(current, heads)


async def _run(url: str, schema: str | None, revision: str, *, upgrade: bool) -> None:
    config = alembic_config()

    def run(connection: Connection) -> None:
        _refuse_newer_database(connection)
        config.attributes["connection"] = connection
        if upgrade:
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)

    engine = make_engine(url, schema=schema)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()


async def run_migrations(url: str, *, schema: str | None = None, revision: str = "head") -> None:
    """Upgrade the database at `url` (driver normalised) to `revision`.

    Raises:
        DatabaseNewerThanCode: a newer version migrated the database (nothing is changed).
    """
    await _run(url, schema, revision, upgrade=True)


async def downgrade_migrations(
    url: str, *, schema: str | None = None, revision: str = "base"
) -> None:
    """Downgrade the database at `url` to `revision` (``base`` drops every table).

    Raises:
        DatabaseNewerThanCode: a newer version migrated the database; only that version's
            migrations can take it down (nothing is changed).
    """
    await _run(url, schema, revision, upgrade=False)
