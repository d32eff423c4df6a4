"""Run the control plane's Alembic migrations from code (start-up, tests, CLI)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from botfleet.control_plane.db.engine import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


async def _run(url: str, schema: str | None, revision: str, *, upgrade: bool) -> None:
    config = alembic_config()

    def run(connection: Connection) -> None:
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
    """Upgrade the database at `url` (driver normalised) to `revision`."""
    await _run(url, schema, revision, upgrade=True)


async def downgrade_migrations(
    url: str, *, schema: str | None = None, revision: str = "base"
) -> None:
    """Downgrade the database at `url` to `revision` (``base`` drops every table)."""
    await _run(url, schema, revision, upgrade=False)
