"""Alembic environment of the control plane: online migrations over an async engine.

`botfleet.control_plane.db.migrate.run_migrations` passes an open connection in
``config.attributes["connection"]`` (so does ``botfleet db``, without alembic.ini); the Alembic
CLI (``alembic -n control_plane upgrade head``) builds its own engine from ``sqlalchemy.url``
or ``CP_DATABASE_URL``/``DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from botfleet.control_plane.db.engine import make_engine
from botfleet.control_plane.db.migrate import VERSION_TABLE
from botfleet.control_plane.db.tables import Base
from botfleet.control_plane.settings import database_url_from_env, normalise_database_url

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine() -> None:
    configured = config.get_main_option("sqlalchemy.url")
    url = normalise_database_url(configured) if configured else database_url_from_env()
    engine = make_engine(url, schema=os.environ.get("CP_DATABASE_SCHEMA") or None)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_configure_and_run)
    finally:
        await engine.dispose()


def _main() -> None:
    if context.is_offline_mode():
        raise SystemExit("offline (--sql) migrations are not supported for the control plane")
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    asyncio.run(_run_with_own_engine())


_main()
