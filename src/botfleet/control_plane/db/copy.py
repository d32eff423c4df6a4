"""Copy a control plane's database to another one (SQLite to PostgreSQL, or back).

Every row moves as it is: tenants, every flow and knowledge version with its number and
publication, the audit log, API keys and boot tokens (stored as hashes, so the keys and tokens
in use keep working) and credentials (still sealed: the target needs the same
``CP_FERNET_KEYS``). Run it with both control planes stopped::

    botfleet db copy SOURCE_URL TARGET_URL
    python -m botfleet.control_plane.db.copy SOURCE_URL TARGET_URL    # the same
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from botfleet.control_plane.db.engine import (
    describe_database,
    failure_reason,
    is_sqlite,
    make_engine,
)
from botfleet.control_plane.db.migrate import run_migrations, schema_state
from botfleet.control_plane.db.tables import Base
from botfleet.control_plane.settings import normalise_database_url

#: Rows per INSERT: keeps a large audit log from becoming one huge statement.
_BATCH = 500


class CopyRefused(Exception):
    """The copy cannot start (nothing was written to the target); the message says why."""


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


async def _require_empty(connection: AsyncConnection, where: str) -> None:
    holding = []
    for table in Base.metadata.sorted_tables:
        count = (await connection.execute(select(func.count()).select_from(table))).scalar_one()
        if count:
            holding.append(f"{table.name} ({count})")
    if holding:
        raise CopyRefused(
            f"{where} already holds rows: {', '.join(holding)}; copy into an empty database "
            "(a new one, or one the control plane has only migrated)"
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


async def copy_database(
    source_url: str,
    target_url: str,
    *,
    source_schema: str | None = None,
    target_schema: str | None = None,
) -> dict[str, int]:
    """Copy every control-plane row from `source_url` into the empty `target_url`, migrating
    the target first; returns the rows copied per table. One transaction on the target: a
    failure leaves it empty.

    Raises:
        CopyRefused: the source is not at this version's head revision, or the target holds rows.
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
    source = make_engine(source_url, schema=source_schema)
    try:
        async with source.connect() as reader:
            await _require_head(reader, source_where)
            await run_migrations(target_url, schema=target_schema)
            target = make_engine(target_url, schema=target_schema)
            try:
                async with target.begin() as writer:
                    await _require_empty(writer, target_where)
                    copied: dict[str, int] = {}
                    for table in Base.metadata.sorted_tables:
                        rows = [
                            dict(row) for row in (await reader.execute(select(table))).mappings()
                        ]
                        for start in range(0, len(rows), _BATCH):
                            await writer.execute(insert(table), rows[start : start + _BATCH])
                        copied[table.name] = len(rows)
                    if not is_sqlite(target_url):
                        await _advance_sequences(writer)
            finally:
                await target.dispose()
    finally:
        await source.dispose()
    return copied


def copy_failure(exc: Exception, source_url: str, target_url: str) -> str:
    """Why a copy failed, in one line that shows neither URL's password."""
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
    return f"cannot copy: {reason}; nothing was copied"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m botfleet.control_plane.db.copy",
        description="Copy a stopped control plane's database into an empty one.",
    )
    parser.add_argument("source_url", help="the old CP_DATABASE_URL")
    parser.add_argument("target_url", help="the new CP_DATABASE_URL (the database must exist)")
    parser.add_argument("--source-schema", help="the old CP_DATABASE_SCHEMA, if any")
    parser.add_argument("--target-schema", help="the new CP_DATABASE_SCHEMA, if any")
    args = parser.parse_args(argv)
    try:
        copied = asyncio.run(
            copy_database(
                args.source_url,
                args.target_url,
                source_schema=args.source_schema,
                target_schema=args.target_schema,
            )
        )
    except (CopyRefused, ValueError, SQLAlchemyError, OSError) as exc:
        sys.stderr.write(f"{copy_failure(exc, args.source_url, args.target_url)}\n")
        return 2
    sys.stdout.write(json.dumps({"copied": copied}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
