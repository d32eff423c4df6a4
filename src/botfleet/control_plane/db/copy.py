"""Copy a control plane's database to another one (SQLite to PostgreSQL, or back).

Every row moves as it is: tenants, every flow and knowledge version with its number and
publication, the audit log, API keys and boot tokens (stored as hashes, so the keys and tokens
in use keep working) and credentials (still sealed: the target needs the same
``CP_FERNET_KEYS``). Run it with both control planes stopped::

    botfleet db copy SOURCE_URL [TARGET_URL]    (cli/commands/db.py)

Without TARGET_URL the target is the control plane's own database (CP_DATABASE_URL and
CP_DATABASE_SCHEMA, .env included), so its password stays off the command line; with
``--source-env VAR`` SOURCE_URL is read from the variable VAR. The target is checked before
anything is written to it: it must hold no control-plane rows, nor (without
``--allow-other-tables``) another application's tables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Table, event, func, insert, inspect, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from botfleet.control_plane.db.engine import (
    describe_database,
    failure_reason,
    is_privilege_refused,
    is_sqlite,
    make_engine,
)
from botfleet.control_plane.db.migrate import VERSION_TABLE, schema_state, upgrade_in_transaction
from botfleet.control_plane.db.tables import Base
from botfleet.control_plane.settings import normalise_database_url

#: Rows per INSERT: keeps a large audit log from becoming one huge statement.
_BATCH = 500
#: Another application's tables named in a refusal: enough to recognise it.
_NAMED = 5


class CopyRefused(Exception):
    """The copy cannot start (nothing was written to the target); the message says why."""


class CopyUsageError(ValueError):
    """The command line names too many databases, or too few."""


async def _require_head(connection: AsyncConnection, where: str) -> None:
    state = await schema_state(connection)
    if state == "not migrated":
        raise CopyRefused(
            f"{where} is not at this botfleet's newest revision: start the old control plane "
            "once with this version, or run `botfleet db upgrade --url SOURCE_URL` "
            '(docs/operations.md, "Upgrading"), then copy'
        )
    if state == "unknown revision":
        raise CopyRefused(f"{where} was migrated by a newer botfleet: copy it with that version")


async def _require_empty(
    connection: AsyncConnection, where: str, present: frozenset[str] | None = None
) -> None:
    """Refuse a target whose control-plane tables (those `present`, by default all) hold rows."""
    holding = []
    for table in Base.metadata.sorted_tables:
        if present is not None and table.name not in present:
            continue
        count = (await connection.execute(select(func.count()).select_from(table))).scalar_one()
        if count:
            holding.append(f"{table.name} ({count})")
    if holding:
        raise CopyRefused(
            f"{where} already holds rows: {', '.join(holding)}; copy into an empty database "
            "(a new one, or one the control plane has only migrated)"
        )


def _table_names(connection: Connection) -> list[str]:
    """The tables where the control plane would create its own: on PostgreSQL only the
    current schema's (CP_DATABASE_SCHEMA's), not every schema of the database."""
    schema = None
    if connection.dialect.name == "postgresql":
        schema = connection.execute(text("SELECT current_schema()")).scalar()
    return inspect(connection).get_table_names(schema=schema)


async def _check_target(
    connection: AsyncConnection, where: str, *, allow_other_tables: bool
) -> None:
    """Refuse a target the copy should not write to, before anything (a migration included)
    touches it: a migration cannot be taken back, and an older control plane would then no
    longer start on a database that was refused anyway."""
    names = frozenset(await connection.run_sync(_table_names))
    ours = frozenset(table.name for table in Base.metadata.sorted_tables)
    others = sorted(names - ours - {VERSION_TABLE})
    if others and not allow_other_tables:
        shown = ", ".join(others[:_NAMED])
        if len(others) > _NAMED:
            shown += f" and {len(others) - _NAMED} more"
        raise CopyRefused(
            f"{where} holds tables that are not the control plane's ({shown}): is it the right "
            "database? Copy into an empty one (or a schema of its own), or give "
            "--allow-other-tables to copy beside them"
        )
    await _require_empty(connection, where, names & ours)
    if names & ours and VERSION_TABLE not in names:
        raise CopyRefused(
            f"{where} holds control-plane tables without their revision ({VERSION_TABLE}): "
            "copy into an empty database"
        )
    if VERSION_TABLE in names and await schema_state(connection) == "unknown revision":
        raise CopyRefused(
            f"{where} was migrated by a newer botfleet: copy with that version, or into an "
            "empty database"
        )


async def _advance_sequences(connection: AsyncConnection) -> None:
    """PostgreSQL's serial columns do not follow explicit ids: set each past the copied rows,
    or the next audit entry or version would collide with a copied one."""
    for table in Base.metadata.sorted_tables:
        for column in table.primary_key.columns:
            if column.autoincrement is not True:
                continue
            await connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE(MAX({column.name}), 1), MAX({column.name}) IS NOT NULL) "
                    f"FROM {table.name}"
                )
            )


def missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite `url` whose file is not there: opening it would create an empty
    database, which the copy would then blame for its revision."""
    if not is_sqlite(url):
        return None
    path = make_url(normalise_database_url(url)).database or ""
    return None if Path(path).expanduser().is_file() else path


def copy_urls(
    given: Sequence[str], source_env: str | None, environ: Mapping[str, str] = os.environ
) -> tuple[str, str | None]:
    """(source URL, target URL or None for the configured database) from the command line's
    URLs and ``--source-env``, whose variable takes the source's place: then the one URL
    given is the target.

    Raises:
        CopyUsageError: too many URLs or too few.
        CopyRefused: the variable is not set.
    """
    if source_env is None:
        if not 1 <= len(given) <= 2:
            raise CopyUsageError("give SOURCE_URL (or --source-env VAR), then TARGET_URL if any")
        return given[0], (given[1] if len(given) == 2 else None)
    if len(given) > 1:
        raise CopyUsageError("with --source-env, give only TARGET_URL, if any")
    source = environ.get(source_env, "")
    if not source:
        raise CopyRefused(f"--source-env: the variable {source_env} is not set")
    return source, (given[0] if given else None)


async def _copy_table(reader: AsyncConnection, writer: AsyncConnection, table: Table) -> int:
    """Copy `table`'s rows from `reader` to `writer`; returns how many."""
    rows = [dict(row) for row in (await reader.execute(select(table))).mappings()]
    for start in range(0, len(rows), _BATCH):
        await writer.execute(insert(table), rows[start : start + _BATCH])
    return len(rows)


def _sqlite_transactions(engine: AsyncEngine, begin: str) -> None:
    """Make `engine`'s SQLite transactions real: the sqlite3 driver (legacy mode, before Python
    3.12's ``autocommit``) emits BEGIN only before an INSERT, UPDATE or DELETE, so each SELECT
    reads on its own (no snapshot) and each CREATE or ALTER TABLE commits at once (no rollback).
    Here the driver emits none and every transaction starts with `begin` (SQLAlchemy's recipe,
    "Enabling Non-Legacy SQLite Transactional Modes")."""

    def connected(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    def began(connection: Connection) -> None:
        connection.exec_driver_sql(begin)

    event.listen(engine.sync_engine, "connect", connected)
    event.listen(engine.sync_engine, "begin", began)


def _source_engine(url: str, schema: str | None) -> AsyncEngine:
    """An engine whose connections read the source in one snapshot, even if something writes to
    it meanwhile: the tables are read one after the other, and a tenant created between two reads
    must not arrive without its boot token or audit entry."""
    engine = make_engine(url, schema=schema)
    if is_sqlite(url):
        # A deferred BEGIN: the first SELECT takes the snapshot (in WAL mode writers go on; in
        # the default rollback-journal mode they wait for the copy's read to end).
        _sqlite_transactions(engine, "BEGIN")
        return engine
    # PostgreSQL's REPEATABLE READ: every statement sees the snapshot of the first (pg_dump's).
    return engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)


def _target_engine(url: str, schema: str | None) -> AsyncEngine:
    """An engine whose one transaction holds the target's checks, its migration and the copy:
    a failure anywhere rolls all of it back (PostgreSQL's DDL is transactional, and SQLite's
    once the driver no longer commits each statement)."""
    engine = make_engine(url, schema=schema)
    if is_sqlite(url):
        # IMMEDIATE: the write lock from the start, before the checks read what it then changes.
        _sqlite_transactions(engine, "BEGIN IMMEDIATE")
    return engine


async def copy_database(
    source_url: str,
    target_url: str,
    *,
    source_schema: str | None = None,
    target_schema: str | None = None,
    allow_other_tables: bool = False,
) -> dict[str, int]:
    """Copy every control-plane row from `source_url` into the empty `target_url`, migrating
    the target first; returns the rows copied per table.

    The source is read in one snapshot (a read transaction; REPEATABLE READ on PostgreSQL).
    The target's checks, its migration and the copy are one transaction: a failure (a refusal,
    a row the target rejects, a lost connection) leaves the target as it was, its revision and
    its tables too, on PostgreSQL and on SQLite.

    Raises:
        CopyRefused: the source is not at this version's head revision; the target holds
            control-plane rows, a newer revision, or (unless `allow_other_tables`) tables of
            another application.
    """
    source_where = f"the source, {describe_database(source_url)}"
    target_where = f"the target, {describe_database(target_url)}"
    if normalise_database_url(source_url) == normalise_database_url(target_url) and (
        source_schema == target_schema
    ):
        raise CopyRefused("the source and the target are the same database")
    missing = missing_sqlite_file(source_url)
    if missing:
        raise CopyRefused(f"{source_where} does not exist")
    source = _source_engine(source_url, source_schema)
    try:
        async with source.connect() as reader:
            await _require_head(reader, source_where)
            target = _target_engine(target_url, target_schema)
            try:
                async with target.begin() as writer:
                    await _check_target(writer, target_where, allow_other_tables=allow_other_tables)
                    await writer.run_sync(upgrade_in_transaction)
                    # Again, after the migration: nothing may have arrived since the check.
                    await _require_empty(writer, target_where)
                    copied: dict[str, int] = {}
                    for table in Base.metadata.sorted_tables:
                        copied[table.name] = await _copy_table(reader, writer, table)
                    if not is_sqlite(target_url):
                        await _advance_sequences(writer)
            finally:
                await target.dispose()
    finally:
        await source.dispose()
    return copied


def copy_failure(
    exc: Exception, source_url: str, target_url: str, target_schema: str | None = None
) -> str:
    """Why a copy failed, in one line that shows neither URL's password; with what to grant
    when PostgreSQL refused a privilege (the target's: the source is only read)."""
    if isinstance(exc, CopyRefused | ValueError):
        # Ours, and normalise_database_url's (which never quotes the URL).
        reason = str(exc)
    else:
        reason = failure_reason(exc, source_url)
        try:
            target_password = make_url(normalise_database_url(target_url)).password
        except ValueError:
            target_password = None
        if target_password:
            reason = reason.replace(str(target_password), "***")
        if is_privilege_refused(exc) and not is_sqlite(target_url):
            # Here, not at the top: bootstrap builds the whole control plane's container.
            from botfleet.control_plane.bootstrap import privilege_hint

            reason += f" ({privilege_hint(exc, target_url, target_schema)})"
    return f"cannot copy: {reason}; nothing was copied"
