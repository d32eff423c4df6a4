"""A real control plane on a free port (uvicorn on a thread, SQLite), for the CLI tests: with its
data plane calls answered by `transport` when given (a fake data plane)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from botfleet.cli.demo_stack import BackgroundServer
from botfleet.control_plane.app import create_app
from botfleet.control_plane.settings import ControlPlaneSettings

FERNET_KEY = "oGdyiHTb0dTrMvp7ltlP6nrvKoBtJ3pjxVGW4Cl8C3s="


@contextmanager
def control_plane_on_a_port(
    folder: Path, admin_key: str, transport: httpx.MockTransport | None = None
) -> Iterator[str]:
    """The running control plane's URL; its SQLite database in `folder`."""
    settings = ControlPlaneSettings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{folder / 'cp.db'}",
        admin_api_key=admin_key,
        fernet_keys=FERNET_KEY,
        log_level="WARNING",
        log_json=False,
        startup_db_attempts=1,
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    app = (
        create_app(settings)
        if transport is None
        else create_app(settings, data_plane_transport=transport)
    )
    server = BackgroundServer(app, host="127.0.0.1", port=port)
    server.start(timeout_s=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
