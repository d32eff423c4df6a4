"""`botfleet serve control-plane` on a port another process holds: refused before the app's
lifespan (migrations, bootstrap) runs, in one JSON line naming the port and where it was set,
status 2, as `serve data-plane`. uvicorn binds only after the lifespan: the database was
migrated and `control plane started` logged before the process died with status 3."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from serve_process import run_to_exit, serve_command


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another socket listens on for the test's length."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def _serve(tmp_path: Path, args: list[str], **settings: str) -> subprocess.CompletedProcess[str]:
    env = {
        "CP_ENVIRONMENT": "development",
        "CP_ADMIN_API_KEY": "admin-key-of-the-port-in-use-test-0123",
        "CP_DATABASE_URL": f"sqlite:///{tmp_path / 'cp.db'}",
        **settings,
    }
    command = serve_command("control-plane", "--host", "127.0.0.1", *args)
    return run_to_exit(command, cwd=tmp_path, env=env)


def _lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize("given_by", ["--port", "CP_PORT"])
def test_a_taken_port_is_refused_before_the_migrations(
    tmp_path: Path, taken_port: int, given_by: str
) -> None:
    if given_by == "--port":
        result = _serve(tmp_path, ["--port", str(taken_port)], CP_PORT="1")
    else:
        result = _serve(tmp_path, [], CP_PORT=str(taken_port))

    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr == ""
    lines = _lines(result.stdout)
    [line] = [line for line in lines if line["level"] == "error"]
    assert line["event"] == (
        f"control plane cannot start: port {taken_port} on 127.0.0.1 ({given_by}) is in use by "
        "another process (another control plane?): stop it, or give this one another port; "
        "nothing was started"
    )
    assert line["component"] == "serve"
    events = [line["event"] for line in lines]
    assert "control plane started" not in events
    assert "Application startup complete." not in events
    assert not any(line.get("logger") == "alembic.runtime.migration" for line in lines)
    assert not (tmp_path / "cp.db").exists()  # no migration ran
