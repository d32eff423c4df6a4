"""`botfleet serve control-plane` that cannot start with its settings or its database: exit
status 2, as `serve data-plane`, and one line saying why (a JSON line, as every other line of
the process, for the database), never a traceback nor the database password."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from botfleet.testing.faults import free_port
from serve_process import run_to_exit, serve_command

ADMIN_KEY = "admin-key-of-the-startup-errors-test-0123"
PASSWORD = "hunter2-not-to-be-printed"


def _serve(
    tmp_path: Path, host: str | None = "127.0.0.1", **settings: str
) -> subprocess.CompletedProcess[str]:
    env = {
        "CP_ENVIRONMENT": "development",
        "CP_ADMIN_API_KEY": ADMIN_KEY,
        "CP_STARTUP_DB_ATTEMPTS": "1",
        **settings,
    }
    host_option = ["--host", host] if host else []
    command = serve_command("control-plane", *host_option, "--port", str(free_port()))
    return run_to_exit(command, cwd=tmp_path, env=env)


def _the_one_line(
    result: subprocess.CompletedProcess[str], why: str = "could not run migrations"
) -> dict[str, Any]:
    """The line saying `why` the start failed; every line of the output is JSON."""
    assert result.stderr == ""
    lines = [json.loads(line) for line in result.stdout.splitlines() if line]
    [line] = [line for line in lines if why in line["event"]]
    assert line["level"] == "error"
    assert "\n" not in line["event"]
    assert "Traceback" not in result.stdout
    assert PASSWORD not in result.stdout
    assert ADMIN_KEY not in result.stdout
    return line


def test_an_unreachable_database_exits_2_with_one_line(tmp_path: Path) -> None:
    url = f"postgresql://botfleet:{PASSWORD}@127.0.0.1:1/botfleet"
    result = _serve(tmp_path, CP_DATABASE_URL=url)
    assert result.returncode == 2, result.stdout + result.stderr
    event = _the_one_line(result)["event"]
    assert "cannot reach the PostgreSQL database 'botfleet' at 127.0.0.1:1" in event
    assert "check CP_DATABASE_URL" in event


def test_a_sqlite_folder_that_cannot_be_made_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    database = tmp_path / "a-file" / "cp.db"
    result = _serve(tmp_path, CP_DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"the SQLite database {database}" in _the_one_line(result)["event"]


def test_invalid_settings_exit_2_naming_them(tmp_path: Path) -> None:
    result = _serve(tmp_path, CP_ENVIRONMENT="production", CP_FERNET_KEYS="not-a-fernet-key")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line == (
        "control plane settings are invalid: CP_FERNET_KEYS: key #1 is not a valid Fernet key "
        "(32 url-safe base64-encoded bytes)"
    )
    assert "not-a-fernet-key" not in result.stderr + result.stdout


def test_production_without_cp_database_url_exits_2_before_making_a_database(
    tmp_path: Path,
) -> None:
    """It created and migrated ./var/control_plane.db, and /health said ok."""
    fernet = Fernet.generate_key().decode()
    result = _serve(tmp_path, CP_ENVIRONMENT="production", CP_FERNET_KEYS=fernet)
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("control plane settings are invalid: CP_DATABASE_URL is not set ")
    assert "to keep a SQLite file on purpose, to its path" in line
    assert not (tmp_path / "var").exists()
    assert "control plane started" not in result.stdout


def test_every_invalid_setting_is_named_in_one_line_without_pydantics_link(
    tmp_path: Path,
) -> None:
    result = _serve(tmp_path, CP_PORT="eighty", CP_TENANT_URL_POLICY="nowhere")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "control plane settings are invalid: "
        "CP_PORT: Input should be a valid integer, unable to parse string as an integer; "
        "CP_TENANT_URL_POLICY: Input should be 'public' or 'any'"
    ]


def test_uvicorns_factory_says_invalid_settings_in_the_same_one_line(tmp_path: Path) -> None:
    """`uvicorn --factory botfleet.control_plane.app:create_app_from_env` (docs/control-plane.md)
    printed pydantic's text in a traceback, status 3, the refused value included."""
    env = {"CP_ENVIRONMENT": "development", "CP_ADMIN_API_KEY": ADMIN_KEY}
    factory = "botfleet.control_plane.app:create_app_from_env"
    result = run_to_exit(
        [sys.executable, "-m", "uvicorn", "--factory", factory, "--port", str(free_port())],
        cwd=tmp_path,
        env={**env, "CP_PORT": "eighty", "CP_TENANT_URL_POLICY": PASSWORD},
    )
    assert result.returncode == 2, result.stdout + result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("control plane settings are invalid: CP_PORT: ")
    assert "CP_TENANT_URL_POLICY: Input should be 'public' or 'any'" in line
    assert PASSWORD not in result.stdout + result.stderr
    assert "errors.pydantic.dev" not in line


@pytest.mark.parametrize(
    ("option", "variables", "named"),
    [
        (None, {"CP_HOST": "no-such-host.invalid"}, "CP_HOST"),
        ("no-such-host.invalid", {"CP_HOST": "127.0.0.1"}, "--host"),
    ],
)
def test_a_host_that_does_not_resolve_exits_2_before_migrating(
    tmp_path: Path, option: str | None, variables: dict[str, str], named: str
) -> None:
    database = tmp_path / "cp.db"
    result = _serve(tmp_path, host=option, CP_DATABASE_URL=f"sqlite:///{database}", **variables)
    assert result.returncode == 2, result.stdout + result.stderr
    line = _the_one_line(result, "control plane cannot start")
    assert line["event"].startswith(
        f"control plane cannot start: cannot listen on 'no-such-host.invalid' ({named}): "
        "the name does not resolve ("
    )
    assert not database.exists()  # the migrations did not run


def test_a_bare_host_variable_is_not_read(tmp_path: Path) -> None:
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: were HOST read, the start would
    # stop there. It goes on to the database (whose folder cannot be made, to end the test).
    (tmp_path / "a-file").write_text("not a folder")
    database = tmp_path / "a-file" / "cp.db"
    result = _serve(tmp_path, host=None, HOST="192.0.2.1", CP_DATABASE_URL=f"sqlite:///{database}")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "192.0.2.1" not in result.stdout
    assert f"the SQLite database {database}" in _the_one_line(result)["event"]


def test_a_database_migrated_by_a_newer_version_exits_2_with_one_line(tmp_path: Path) -> None:
    database = tmp_path / "cp.db"
    with sqlite3.connect(database) as connection:  # what a newer version's migration leaves
        connection.execute("CREATE TABLE alembic_version_cp (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version_cp VALUES ('9999')")
    connection.close()

    result = _serve(tmp_path, CP_DATABASE_URL=f"sqlite:///{database}")

    assert result.returncode == 2, result.stdout + result.stderr
    event = _the_one_line(result)["event"]
    assert f"the SQLite database {database} is at revision '9999'" in event
    assert "this botfleet is older than the database" in event
    assert "Run the newer version" in event
    assert "botfleet db downgrade" in event
    assert "restore the backup" in event
