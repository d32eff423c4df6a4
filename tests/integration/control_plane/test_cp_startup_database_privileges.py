"""A control plane whose PostgreSQL role may log in but not create its tables (on PostgreSQL 15
and later: a database owned by `postgres`) stops at once with one line naming the role, the
database and the statement that fixes it, never the password; following that advice works.

Each test makes its own role and database (unique names) on the test server, dropped after.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from cp_harness import POSTGRES_URL, Database, make_settings, postgres_unreachable_reason
from sqlalchemy.engine import make_url

from botfleet.control_plane.bootstrap import DatabaseStartupFailed, migrate_with_retries
from botfleet.control_plane.db.migrate import run_migrations
from botfleet.testing.faults import free_port
from serve_process import run_to_exit, serve_command

pytestmark = pytest.mark.external_service

PASSWORD = "hunter2-not-to-be-printed"


@dataclass(frozen=True)
class LockedOut:
    """A login role and a database it does not own; `admin` runs statements in that database
    as the test server's superuser."""

    role: str
    database: str
    url: str
    admin: asyncpg.Connection

    def settings_database(self, schema: str | None = None) -> Database:
        return Database("postgres", self.url, schema)


def _admin_dsn(database: str | None = None) -> str:
    url = make_url(POSTGRES_URL)
    if database is not None:
        url = url.set(database=database)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def locked_out() -> AsyncIterator[LockedOut]:
    reason = await postgres_unreachable_reason()
    if reason is not None:
        pytest.skip(reason)
    name = f"bf_cp_priv_{uuid.uuid4().hex[:12]}"
    server = await asyncpg.connect(_admin_dsn())
    try:
        await server.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'")
        await server.execute(f"CREATE DATABASE {name} OWNER postgres")
        admin = await asyncpg.connect(_admin_dsn(name))
        try:
            url = make_url(POSTGRES_URL).set(username=name, password=PASSWORD, database=name)
            yield LockedOut(name, name, url.render_as_string(hide_password=False), admin)
        finally:
            await admin.close()
    finally:
        await server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await server.execute(f"DROP ROLE IF EXISTS {name}")
        await server.close()


async def _refusal(db: Database) -> str:
    """The start-up failure's message, after checking that it came without waiting."""
    settings = make_settings(db, startup_db_attempts=5)
    started = asyncio.get_running_loop().time()
    with pytest.raises(DatabaseStartupFailed) as caught:
        await migrate_with_retries(settings)
    # Waiting does not give a role privileges: no retries (they would take 7.5 s).
    assert asyncio.get_running_loop().time() - started < 5
    message = str(caught.value)
    assert message.startswith("could not run migrations at start-up: ")
    assert "\n" not in message
    assert PASSWORD not in message
    return message


def _statement(message: str, pattern: str) -> str:
    """The SQL statement of the advice in `message` that starts like `pattern`."""
    found = re.search(pattern + r"[^,;)]*", message)
    assert found is not None, message
    return found.group(0).strip()


def _serve(url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`botfleet serve control-plane` on the database at `url`, until it exits."""
    return run_to_exit(
        serve_command("control-plane", "--host", "127.0.0.1", "--port", str(free_port())),
        cwd=cwd,
        env={
            "CP_ENVIRONMENT": "development",
            "CP_ADMIN_API_KEY": "admin-key-of-the-privileges-test-0123",
            "CP_STARTUP_DB_ATTEMPTS": "1",
            "CP_DATABASE_URL": url.replace("postgresql+asyncpg://", "postgresql://"),
        },
    )


async def test_serve_exits_2_with_one_line_naming_role_database_and_fix(
    locked_out: LockedOut, tmp_path: Path
) -> None:
    result = await asyncio.to_thread(_serve, locked_out.url, tmp_path)

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == ""
    assert "Traceback" not in result.stdout
    assert "InsufficientPrivilegeError" not in result.stdout
    assert PASSWORD not in result.stdout
    events = [json.loads(line)["event"] for line in result.stdout.splitlines() if line]
    [event] = [event for event in events if "could not run migrations" in event]
    role, database = locked_out.role, locked_out.database
    assert f"the PostgreSQL database '{database}'" in event
    assert "(permission denied for schema public)" in event
    assert f"the role {role} may not create tables in schema public" in event
    assert f"createdb -O {role} {database}" in event
    assert f"ALTER DATABASE {database} OWNER TO {role}" in event
    assert f"GRANT CREATE ON SCHEMA public TO {role}" in event


@pytest.mark.parametrize("advice", ["ALTER DATABASE ", "GRANT CREATE ON SCHEMA public "])
async def test_each_statement_advised_for_schema_public_lets_the_migrations_run(
    locked_out: LockedOut, advice: str
) -> None:
    message = await _refusal(locked_out.settings_database())

    await locked_out.admin.execute(_statement(message, advice))

    await run_migrations(locked_out.url)


async def test_a_schema_of_cp_database_schema_without_create_names_that_schema(
    locked_out: LockedOut,
) -> None:
    await locked_out.admin.execute("CREATE SCHEMA cp_owned_by_postgres")
    await locked_out.admin.execute(
        f"GRANT USAGE ON SCHEMA cp_owned_by_postgres TO {locked_out.role}"
    )
    db = locked_out.settings_database("cp_owned_by_postgres")

    message = await _refusal(db)

    assert "(permission denied for schema cp_owned_by_postgres)" in message
    assert "schema cp_owned_by_postgres (CP_DATABASE_SCHEMA)" in message
    await locked_out.admin.execute(_statement(message, "GRANT USAGE, CREATE ON SCHEMA "))
    await run_migrations(locked_out.url, schema="cp_owned_by_postgres")


async def test_a_missing_cp_database_schema_says_how_to_create_it(locked_out: LockedOut) -> None:
    db = locked_out.settings_database("cp_not_made_yet")

    message = await _refusal(db)

    assert "has no schema cp_not_made_yet (CP_DATABASE_SCHEMA) that the role" in message
    await locked_out.admin.execute(_statement(message, "CREATE SCHEMA "))
    await run_migrations(locked_out.url, schema="cp_not_made_yet")


async def test_a_role_that_may_not_connect_is_told_what_to_grant(locked_out: LockedOut) -> None:
    await locked_out.admin.execute(f"REVOKE CONNECT ON DATABASE {locked_out.database} FROM PUBLIC")

    message = await _refusal(locked_out.settings_database())

    assert f'permission denied for database "{locked_out.database}"' in message
    assert f"GRANT CONNECT ON DATABASE {locked_out.database} TO {locked_out.role}" in message


async def test_tables_migrated_by_another_role_say_whose_they_are(locked_out: LockedOut) -> None:
    superuser_url = make_url(POSTGRES_URL).set(database=locked_out.database)
    await run_migrations(superuser_url.render_as_string(hide_password=False))
    await locked_out.admin.execute(f"GRANT CREATE ON SCHEMA public TO {locked_out.role}")

    message = await _refusal(locked_out.settings_database())

    assert "(permission denied for table alembic_version_cp)" in message
    assert f"the control plane's tables belong to another role than {locked_out.role}" in message


async def test_a_url_without_role_or_database_names_those_libpq_variables_give(
    locked_out: LockedOut, monkeypatch: pytest.MonkeyPatch
) -> None:
    # asyncpg logs in as PGUSER (else the system user) to PGDATABASE (else the role's name).
    monkeypatch.setenv("PGUSER", locked_out.role)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    monkeypatch.setenv("PGDATABASE", locked_out.database)
    server = make_url(locked_out.url)
    bare = f"postgresql://{server.host}:{server.port or 5432}"

    message = await _refusal(Database("postgres", bare))

    assert "the PostgreSQL database (PGDATABASE's, or the user's name) at " in message
    assert f"ALTER DATABASE {locked_out.database} OWNER TO {locked_out.role}" in message
    assert f"GRANT CREATE ON SCHEMA public TO {locked_out.role}" in message


async def test_db_upgrade_and_copy_advise_the_same_fix(
    locked_out: LockedOut, tmp_path: Path
) -> None:
    """The move to PostgreSQL's first commands said only `permission denied for schema
    public`; the start-up path says what to run."""
    from typer.testing import CliRunner

    from botfleet.cli.main import app

    source = tmp_path / "cp.db"
    await run_migrations(f"sqlite+aiosqlite:///{source}")
    runner = CliRunner()
    upgraded = await asyncio.to_thread(
        runner.invoke, app, ["db", "upgrade", "--url", locked_out.url]
    )
    copied = await asyncio.to_thread(
        runner.invoke, app, ["db", "copy", f"sqlite:///{source}", locked_out.url]
    )
    role, database = locked_out.role, locked_out.database
    for result in (upgraded, copied):
        assert result.exit_code == 2, result.output
        assert "permission denied for schema public" in result.stderr
        assert f"ALTER DATABASE {database} OWNER TO {role}" in result.stderr
        assert PASSWORD not in result.output
