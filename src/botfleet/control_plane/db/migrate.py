"""Run the control plane's Alembic migrations from code (start-up, tests, CLI)."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
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

from botfleet.control_plane.db.engine import is_missing_schema, is_sqlite, make_engine
from botfleet.control_plane.settings import normalise_database_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
#: Not Alembic's default name, so the control plane can share a database with other tools.
VERSION_TABLE = "alembic_version_cp"

SchemaState = Literal["ok", "not migrated", "unknown revision"]

#: What downgrading below each revision drops for good (upgrading again does not bring it
#: back): shown before `botfleet db downgrade` asks. Every revision needs its entry.
DOWNGRADE_LOSSES = {
    "0005": "every tenant's more_channels (its data plane then serves its channel alone); "
    "their channel:<kind> credentials stay, unused",
    "0004": "the API keys' roles: viewer and editor keys are revoked (below 0004 every key "
    "may do everything), owner keys keep working",
    "0003": 'who stored each credential (every row reads "stored_by": "unknown" afterwards)',
    "0002": "the API keys' expires_at and last_used_at (every key then never expires)",
    "0001": "every control-plane table and all its rows (tenants, versions, keys, "
    "credentials, audit log)",
}


@dataclass(frozen=True)
class Revision:
    """One of the packaged migrations."""

    id: str
    down: str | None
    #: Its docstring's first paragraph, on one line.
    summary: str
    head: bool


class UnknownDowngradeTarget(ValueError):
    """The revision to downgrade to is not one these migrations can go down to."""


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


def known_revisions() -> list[Revision]:
    """The packaged migrations, newest first."""
    scripts = ScriptDirectory.from_config(alembic_config())
    return [
        Revision(
            id=script.revision,
            down=_joined(script.down_revision),
            summary=" ".join((script.doc or "").split()),
            head=script.is_head,
        )
        for script in scripts.walk_revisions()
    ]


def _joined(down: str | Sequence[str] | None) -> str | None:
    # A merge revision has several below it; the control plane's history has none so far.
    if down is None or isinstance(down, str):
        return down
    return ", ".join(down)


def head_revisions() -> frozenset[str]:
    """The newest revision(s) of the packaged migrations."""
    return _revisions()[0]


async def current_revisions(url: str, *, schema: str | None = None) -> frozenset[str]:
    """The revision(s) the database at `url` records: empty when it was never migrated. It may
    hold one these migrations do not know (a newer botfleet migrated it)."""

    engine = make_engine(url, schema=schema)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_recorded_revisions)
    finally:
        await engine.dispose()


async def has_schema_to_create_in(url: str, *, schema: str | None = None) -> bool:
    """Whether the migrations would find a schema to create their tables in. False only on
    PostgreSQL when no schema of the search_path (`schema`, else the default one) exists that
    the role may use: `current_schema()` is then NULL, and a migration fails with "no schema
    has been selected to create in". A database without the version table is "never
    migrated" only when this is True."""
    if is_sqlite(normalise_database_url(url)):
        return True
    engine = make_engine(url, schema=schema)
    try:
        async with engine.connect() as connection:
            found = (await connection.execute(text("SELECT current_schema()"))).scalar()
    finally:
        await engine.dispose()
    return found is not None


def downgrade_steps(current: frozenset[str], target: str) -> list[Revision]:
    """The revisions a downgrade from `current` to `target` undoes, newest first: `target` is
    ``base``, a revision id, or ``-N`` (N revisions below the current one). Empty when the
    database is at `target` or was never migrated.

    Raises:
        UnknownDowngradeTarget: `target` is none of those, or not below `current`.
    """
    by_id = {revision.id: revision for revision in known_revisions()}
    relative = re.fullmatch(r"-([1-9][0-9]*)", target)
    if target != "base" and target not in by_id and not relative:
        raise UnknownDowngradeTarget(
            f"{target!r} is not a revision of this botfleet: give base, -N or one of "
            f"{', '.join(sorted(by_id))}"
        )
    if not current:
        return []
    if len(current) > 1 or not current <= by_id.keys():
        raise UnknownDowngradeTarget(
            f"the database is at revision {_listed(current)}, which these migrations cannot "
            "take down"
        )
    steps = int(relative[1]) if relative else None
    undone: list[Revision] = []
    at: Revision | None = by_id[next(iter(current))]
    # The control plane's history is linear: each revision has one below it.
    while at is not None and at.id != target and len(undone) != steps:
        undone.append(at)
        at = by_id.get(at.down) if at.down else None
    if steps is not None and len(undone) < steps:
        raise UnknownDowngradeTarget(
            f"the database's revision {_listed(current)} is only {len(undone)} above base"
        )
    if target in by_id and at is None:
        raise UnknownDowngradeTarget(
            f"{target!r} is not below the database's revision {_listed(current)}: "
            "botfleet db upgrade goes up"
        )
    return undone


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


def _recorded_revisions(connection: Connection) -> frozenset[str]:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return frozenset(context.get_current_heads())


def _refuse_newer_database(connection: Connection) -> None:
    """Raise `DatabaseNewerThanCode` before Alembic meets a revision it cannot locate."""
    current = _recorded_revisions(connection)
    heads, known = _revisions()
    if current - known:
        raise DatabaseNewerThanCode(current, heads)


def _migrate(connection: Connection, revision: str, *, upgrade: bool) -> None:
    _refuse_newer_database(connection)
    config = alembic_config()
    # env.py runs the migrations on this connection, inside the transaction it is in.
    config.attributes["connection"] = connection
    if upgrade:
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


def upgrade_in_transaction(connection: Connection, revision: str = "head") -> None:
    """Upgrade the database `connection` is open on to `revision`, inside the transaction the
    connection is in: rolled back with it (PostgreSQL's DDL is transactional, and SQLite's when
    the connection emits its own BEGIN, as `botfleet db copy`'s does). For
    ``AsyncConnection.run_sync``.

    Raises:
        DatabaseNewerThanCode: a newer version migrated the database (nothing is changed).
    """
    _migrate(connection, revision, upgrade=True)


async def _run(url: str, schema: str | None, revision: str, *, upgrade: bool) -> None:
    engine = make_engine(url, schema=schema)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate, revision, upgrade=upgrade)
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
