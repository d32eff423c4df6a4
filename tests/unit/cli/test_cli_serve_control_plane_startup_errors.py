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

from botfleet.testing.faults import free_port, isolated_env

SERVE = (sys.executable, "-m", "botfleet.cli.main", "serve", "control-plane")
ADMIN_KEY = "admin-key-of-the-startup-errors-test-0123"
PASSWORD = "hunter2-not-to-be-printed"


def _serve(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {
        "CP_ENVIRONMENT": "development",
        "CP_ADMIN_API_KEY": ADMIN_KEY,
        "CP_STARTUP_DB_ATTEMPTS": "1",
        **settings,
    }
    return subprocess.run(
        [*SERVE, "--host", "127.0.0.1", "--port", str(free_port())],
        env=isolated_env(**env),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _the_one_line(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The line saying why the start failed; every line of the output is JSON."""
    assert result.stderr == ""
    lines = [json.loads(line) for line in result.stdout.splitlines() if line]
    [line] = [line for line in lines if "could not run migrations" in line["event"]]
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
    assert result.stderr.startswith("control plane settings are invalid:")
    assert "CP_FERNET_KEYS" in result.stderr
    assert "not-a-fernet-key" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


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
    assert "alembic -n control_plane downgrade" in event
    assert "restore the backup" in event
