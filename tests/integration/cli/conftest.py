"""A real control plane on a free port (uvicorn on a thread, SQLite) for the CLI tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from botfleet.cli.demo_stack import BackgroundServer
from botfleet.control_plane.app import create_app
from botfleet.control_plane.settings import ControlPlaneSettings

ADMIN_KEY = "cli-test-admin-key-0123456789abcdef"
FERNET_KEY = "oGdyiHTb0dTrMvp7ltlP6nrvKoBtJ3pjxVGW4Cl8C3s="


@dataclass(frozen=True)
class RunningControlPlane:
    url: str
    admin_key: str = ADMIN_KEY


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningControlPlane]:
    database = tmp_path_factory.mktemp("cp") / "cp.db"
    settings = ControlPlaneSettings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{database}",
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
        yield RunningControlPlane(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
