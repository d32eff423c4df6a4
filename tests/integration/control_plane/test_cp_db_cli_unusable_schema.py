"""`botfleet db ...` on a PostgreSQL `CP_DATABASE_SCHEMA` that does not exist, or that the role
may not use: every command names the schema and says what to run, as `serve control-plane`
does, rather than PostgreSQL's bare `no schema has been selected to create in` (upgrade, copy)
or `never migrated; run botfleet db upgrade` (current), which sent the operator to a command
that failed. Following that advice works; no line shows the URL's password.

Each test makes its own schema (and role) on the test server, with unique names, dropped after.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from click.testing import Result
from cp_harness import POSTGRES_URL, postgres_unreachable_reason
from sqlalchemy.engine import URL, make_url
from typer.testing import CliRunner

from botfleet.cli.main import app
from botfleet.control_plane.db.migrate import run_migrations

pytestmark = pytest.mark.external_service

PASSWORD = "hunter2-never-shown"


def _with_password(url: URL) -> URL:
    # The test server trusts local logins: a password in the URL is only there to be hidden.
    return url if url.password else url.set(password=PASSWORD)


def _dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _db(*args: str, env: dict[str, str | None] | None = None) -> Result:
    # The commands run their own event loop: not on this test's.
    return await asyncio.to_thread(CliRunner().invoke, app, ["db", *args], env=env)


def _advice(result: Result, schema: str, role: str, secret: str) -> str:
    """The one `error:` line of `result`, after checking it gives serve's advice."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert secret not in result.output
    assert "never migrated" not in result.output
    [line] = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert f"has no schema {schema} (CP_DATABASE_SCHEMA) that the role {role} may use" in line
    assert f"(CREATE SCHEMA {schema} AUTHORIZATION {role})" in line
    assert f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}" in line
    return line


def _statement(message: str, pattern: str) -> str:
    found = re.search(pattern + r"[^,;)]*", message)
    assert found is not None, message
    return found.group(0).strip()


@pytest.fixture(autouse=True)
def _no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The settings read .env from the current folder: the checkout's must not count.
    monkeypatch.chdir(tmp_path)


@pytest.fixture
async def admin() -> AsyncIterator[asyncpg.Connection]:
    """The test server's superuser, in the test database."""
    reason = await postgres_unreachable_reason()
    if reason is not None:
        pytest.skip(reason)
    connection = await asyncpg.connect(_dsn(make_url(POSTGRES_URL)))
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def schema_name(admin: asyncpg.Connection) -> AsyncIterator[str]:
    """A schema name nobody has created (the test may, following the advice)."""
    name = f"cp_cli_unusable_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


async def test_every_db_command_says_how_to_create_a_missing_schema(
    admin: asyncpg.Connection, schema_name: str, tmp_path: Path
) -> None:
    url = _with_password(make_url(POSTGRES_URL))
    role, secret = url.username or "postgres", str(url.password)
    env: dict[str, str | None] = {
        "CP_DATABASE_URL": _dsn(url),
        "CP_DATABASE_SCHEMA": schema_name,
    }
    source = tmp_path / "cp.db"
    await run_migrations(f"sqlite+aiosqlite:///{source}")

    current = _advice(await _db("current", env=env), schema_name, role, secret)
    upgrade = _advice(await _db("upgrade", env=env), schema_name, role, secret)
    assert "(no schema has been selected to create in)" in upgrade
    _advice(await _db("downgrade", "base", "--yes", env=env), schema_name, role, secret)
    copy = _advice(await _db("copy", f"sqlite:///{source}", env=env), schema_name, role, secret)
    assert copy.endswith("; nothing was copied")

    await admin.execute(_statement(current, "CREATE SCHEMA "))
    # Now an empty schema: that one was never migrated, and the copy fills it.
    never = await _db("current", env=env)
    assert never.exit_code == 1, never.output
    assert "never migrated; run botfleet db upgrade" in never.stdout
    copied = await _db("copy", f"sqlite:///{source}", env=env)
    assert copied.exit_code == 0, copied.output
    assert (await _db("current", env=env)).exit_code == 0


@pytest.fixture
async def outsider(admin: asyncpg.Connection) -> AsyncIterator[str]:
    """A login role that owns nothing (its name)."""
    name = f"bf_cli_outsider_{uuid.uuid4().hex[:12]}"
    await admin.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'")
    try:
        yield name
    finally:
        await admin.execute(f"DROP OWNED BY {name}")
        await admin.execute(f"DROP ROLE IF EXISTS {name}")


async def test_a_schema_the_role_may_not_use_is_told_apart_from_an_empty_one(
    admin: asyncpg.Connection, schema_name: str, outsider: str
) -> None:
    await admin.execute(f"CREATE SCHEMA {schema_name}")  # the superuser's: no USAGE for others
    url = make_url(POSTGRES_URL).set(username=outsider, password=PASSWORD)
    options = ["--url", _dsn(url), "--schema", schema_name]

    current = _advice(await _db("current", *options), schema_name, outsider, PASSWORD)
    _advice(await _db("upgrade", *options), schema_name, outsider, PASSWORD)

    await admin.execute(_statement(current, "GRANT USAGE, CREATE ON SCHEMA "))
    never = await _db("current", *options)
    assert never.exit_code == 1, never.output
    assert "never migrated" in never.stdout
    upgraded = await _db("upgrade", *options)
    assert upgraded.exit_code == 0, upgraded.output
