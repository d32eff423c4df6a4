"""A real Radicale CalDAV server on 127.0.0.1 (free port, temp folder, no auth) for the session.

Tests that need it are skipped, with the reason, only when Radicale cannot start.
"""

from __future__ import annotations

import itertools
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

STARTUP_S = 20.0
USER = "salon"
_names = itertools.count(1)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-800:].strip()
    except OSError:
        return ""


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> str | None:
    """None when the server answers; else why it did not."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"Radicale exited with {process.returncode}: {_tail(log)}"
        try:
            httpx.get(url, timeout=1.0)
            return None
        except httpx.HTTPError:
            time.sleep(0.1)
    return f"Radicale did not answer on {url} within {STARTUP_S:g}s: {_tail(log)}"


@pytest.fixture(scope="session")
def radicale_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a running Radicale (any username and password are accepted)."""
    folder = tmp_path_factory.mktemp("radicale")
    config = folder / "config"
    config.write_text("", encoding="utf-8")  # never read the machine's own config
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    log = folder / "radicale.log"
    command = [
        sys.executable,
        "-m",
        "radicale",
        f"--config={config}",
        f"--server-hosts=127.0.0.1:{port}",
        f"--storage-filesystem-folder={folder / 'collections'}",
        "--auth-type=none",
        "--rights-type=owner_only",
        "--logging-level=warning",
    ]
    with log.open("wb") as out:
        try:
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        except OSError as exc:
            pytest.skip(f"Radicale cannot start: {exc}")
        try:
            problem = _wait_until_up(url, process, log)
            if problem is not None:
                pytest.skip(problem)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def calendar_name(radicale_url: str) -> str:
    """A new, empty calendar of user `salon` for this test; returns its display name."""
    from caldav.davclient import DAVClient

    name = f"Salon {next(_names)}"
    with DAVClient(url=radicale_url, username=USER, password="x", auth_type="basic") as client:
        client.principal().make_calendar(name=name)
    return name
