"""A control plane older than its database (a newer version migrated it: its revision is not
among this version's migrations) does not start, saying so in one line with what to do, and
leaves the database as it found it; the migrations refuse it too, in either direction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa
from cp_harness import Database, make_settings

from botfleet.control_plane.app import create_app
from botfleet.control_plane.bootstrap import DatabaseStartupFailed
from botfleet.control_plane.db.engine import describe_database, make_engine
from botfleet.control_plane.db.migrate import (
    VERSION_TABLE,
    DatabaseNewerThanCode,
    downgrade_migrations,
    run_migrations,
)
from botfleet.startup_problems import startup_problem

NEWER = "9999"


async def _execute(db: Database, statement: str) -> list[str]:
    engine = make_engine(db.url, schema=db.schema)
    try:
        async with engine.begin() as connection:
            result = await connection.execute(sa.text(statement))
            return [str(value) for value in result.scalars()] if result.returns_rows else []
    finally:
        await engine.dispose()


async def _migrated_by_a_newer_version(db: Database) -> None:
    await run_migrations(db.url, schema=db.schema)
    await _execute(db, f"UPDATE {VERSION_TABLE} SET version_num = '{NEWER}'")


async def test_the_start_fails_in_one_line_saying_the_database_is_newer(
    database: Database,
) -> None:
    await _migrated_by_a_newer_version(database)
    app = create_app(make_settings(database, startup_db_attempts=3))

    with pytest.raises(DatabaseStartupFailed) as caught:
        async with app.router.lifespan_context(app):
            pass  # pragma: no cover

    message = str(caught.value)
    assert startup_problem(app) == message
    assert "\n" not in message
    assert message.startswith(
        f"could not run migrations at start-up: {describe_database(database.url)} is at "
        f"revision '{NEWER}', which this botfleet (0.1.0, revisions up to 0005) does not know: "
        "this botfleet is older than the database"
    )
    assert "Run the newer version" in message
    assert "downgrade the database to 0005 with the newer version" in message
    assert "restore the backup taken before the upgrade" in message
    assert await _execute(database, f"SELECT version_num FROM {VERSION_TABLE}") == [NEWER]


@pytest.mark.parametrize("migrate", [run_migrations, downgrade_migrations])
async def test_neither_direction_of_migrations_touches_a_newer_database(
    database: Database, migrate: Callable[..., Awaitable[None]]
) -> None:
    await _migrated_by_a_newer_version(database)

    with pytest.raises(DatabaseNewerThanCode) as caught:
        await migrate(database.url, schema=database.schema)

    assert (caught.value.current, caught.value.heads) == ({NEWER}, {"0005"})
    assert await _execute(database, f"SELECT version_num FROM {VERSION_TABLE}") == [NEWER]
    assert await _execute(database, "SELECT count(*) FROM tenants") == ["0"]  # not dropped
