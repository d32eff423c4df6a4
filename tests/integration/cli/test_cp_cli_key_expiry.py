"""`botfleet cp keys create --expires-in-days/--expires-at` and `keys list` showing expiry,
against a control plane on SQLite and on PostgreSQL (when reachable)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from botfleet.cli.demo_stack import BackgroundServer
from botfleet.cli.main import app
from botfleet.control_plane.app import create_app
from botfleet.control_plane.services import identity
from botfleet.control_plane.settings import ControlPlaneSettings

ADMIN_KEY = "cli-expiry-admin-key-0123456789abcdef"
FERNET_KEY = "oGdyiHTb0dTrMvp7ltlP6nrvKoBtJ3pjxVGW4Cl8C3s="
POSTGRES_URL = os.environ.get(
    "CP_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
_DSN = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")


async def _postgres(sql: str | None) -> None:
    import asyncpg

    conn = await asyncio.wait_for(asyncpg.connect(_DSN), timeout=3)
    try:
        if sql:
            await conn.execute(sql)
    finally:
        await conn.close()


def _database(kind: str, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(url, schema): a SQLite file, or a PostgreSQL schema of its own dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'cp.db'}", None
        return
    try:
        asyncio.run(_postgres(None))
    except Exception as exc:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} ({type(exc).__name__})")
    schema = f"cp_cli_{uuid.uuid4().hex[:12]}"
    asyncio.run(_postgres(f'CREATE SCHEMA "{schema}"'))
    try:
        yield POSTGRES_URL, schema
    finally:
        asyncio.run(_postgres(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.external_service)])
def cp_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    for url, schema in _database(request.param, tmp_path):
        settings = ControlPlaneSettings(
            environment="test",
            database_url=url,
            database_schema=schema,
            admin_api_key=ADMIN_KEY,
            fernet_keys=FERNET_KEY,
            log_level="WARNING",
            log_json=False,
            startup_db_attempts=1,
        )
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        server = BackgroundServer(create_app(settings), host="127.0.0.1", port=port)
        server.start(timeout_s=30)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.stop()


@pytest.fixture
def cli(cp_url: str) -> Any:
    runner = CliRunner()

    def invoke(*args: str, key: str = ADMIN_KEY, code: int = 0) -> Result:
        env = {"BOTFLEET_CP_URL": cp_url, "BOTFLEET_API_KEY": key}
        result = runner.invoke(app, ["cp", *args], env=env)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return result

    return invoke


def _out(result: Result) -> Any:
    return json.loads(result.stdout)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_keys_create_with_an_expiry_and_list_shows_it(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("tenants", "create", "acme")
    before = datetime.now(UTC).replace(microsecond=0)
    dated = _out(cli("keys", "create", "acme", "--name", "ci", "--expires-in-days", "30"))
    assert dated["key"].startswith("bfk_")
    expires = _at(dated["expires_at"])
    assert before + timedelta(days=30) <= expires <= datetime.now(UTC) + timedelta(days=30)

    at = (datetime.now(UTC) + timedelta(days=90)).replace(microsecond=0)
    given = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    fixed = _out(cli("keys", "create", "acme", "--name", "deploy", "--expires-at", given))
    assert _at(fixed["expires_at"]) == at
    forever = _out(cli("keys", "create", "acme", "--name", "forever"))
    assert forever["expires_at"] is None

    assert _out(cli("tenants", "show", "acme", key=dated["key"]))["id"] == "acme"
    listed = {row["name"]: row for row in _out(cli("keys", "list", "acme"))}
    assert {name: row["expires_at"] is not None for name, row in listed.items()} == {
        "ci": True, "deploy": True, "forever": False,
    }  # fmt: skip
    assert _at(listed["ci"]["expires_at"]) == expires
    assert listed["ci"]["last_used_at"] is not None and listed["deploy"]["last_used_at"] is None
    assert all("key" not in row for row in listed.values())

    # Past its expiry (the control plane runs in this process: move its clock), the CLI says
    # so on stderr with exit status 1, without showing the key.
    with monkeypatch.context() as patched:
        patched.setattr(identity, "utcnow", lambda: expires + timedelta(seconds=1))
        refused = cli("tenants", "show", "acme", key=dated["key"], code=1)
        assert _out(cli("tenants", "show", "acme", key=forever["key"]))["id"] == "acme"
    assert refused.stderr.startswith(
        f"error: HTTP 401: API key 'ci' expired at {dated['expires_at']}"
    )
    assert dated["key"] not in refused.stderr and refused.stdout == ""


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--expires-at", "2020-01-01T00:00:00Z"], "expires_at: must be in the future"),
        (["--expires-at", "2030-01-01T00:00:00"], "expires_at: Input should have timezone info"),
        (["--expires-at", "soon"], "expires_at: Input should be a valid datetime"),
        (["--expires-in-days", "0"], "expires_in_days: Input should be greater than or equal to 1"),
        (
            ["--expires-in-days", "731"],
            "expires_in_days: Input should be less than or equal to 730",
        ),
        (["--expires-in-days", "3", "--expires-at", "IN_A_MONTH"], "not both"),
    ],
)
def test_keys_create_refuses_a_bad_expiry_before_any_request(
    cli: Any, options: list[str], says: str
) -> None:
    in_a_month = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    options = [in_a_month if option == "IN_A_MONTH" else option for option in options]
    cli("tenants", "create", "acme")
    refused = cli("keys", "create", "acme", "--name", "ci", *options, code=2)
    assert says in " ".join(refused.stderr.split()), refused.stderr
    assert _out(cli("keys", "list", "acme")) == []


def test_keys_list_leaves_expired_keys_out_unless_include_expired(
    cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("tenants", "create", "acme")
    dated = _out(cli("keys", "create", "acme", "--name", "ci", "--expires-in-days", "1"))
    cli("keys", "create", "acme", "--name", "forever")
    with monkeypatch.context() as patched:
        patched.setattr(identity, "utcnow", lambda: _at(dated["expires_at"]))
        shown = [row["name"] for row in _out(cli("keys", "list", "acme"))]
        every = [row["name"] for row in _out(cli("keys", "list", "acme", "--include-expired"))]
    assert (shown, every) == (["forever"], ["ci", "forever"])
