"""`botfleet fleet start` of a tenant deleted with its data kept: its old port back if it is
free, else a free one, which the answer says, also after waiting for its /health.

The data plane is a stand-in (an HTTP server answering /health as the tenant, with the data
plane's command line), run as `sys.executable`: the command starts data planes with it.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import Invoke
from cryptography.fernet import Fernet

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")

STAND_IN = """\
import json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"status": "ok", "tenant_id": os.environ["DP_TENANT_ID"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

args = sys.argv
address = (args[args.index("--host") + 1], int(args[args.index("--port") + 1]))
HTTPServer(address, Health).serve_forever()
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, invoke: Invoke) -> Iterator[Path]:
    stand_in = tmp_path / "python"
    stand_in.write_text(f"#!{sys.executable}\n{STAND_IN}", encoding="utf-8")
    stand_in.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(stand_in))
    monkeypatch.setenv("BOTFLEET_BOOT_TOKEN", "bfb_boot-token")
    monkeypatch.setenv("BOTFLEET_CACHE_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("BOTFLEET_INTERNAL_TOKEN", "internal-token")
    monkeypatch.delenv("BOTFLEET_FLEET_ROOT", raising=False)
    monkeypatch.delenv("BOTFLEET_FLEET_HOST", raising=False)
    fleet = tmp_path / "fleet"
    try:
        yield fleet
    finally:
        if (fleet / "acme").exists():
            assert invoke("fleet", "stop", "acme", "--root", fleet).exit_code == 0


def start(invoke: Invoke, root: Path) -> dict[str, object]:
    result = invoke(
        "fleet", "start", "acme", "--control-plane", "http://127.0.0.1:8001", "--root", root,
        "--timeout", "20",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    view: dict[str, object] = json.loads(result.stdout)
    assert view["healthy"] is True
    return view


def test_a_tenant_deleted_with_its_data_kept_starts_on_its_old_port_or_says_why_not(
    invoke: Invoke, root: Path
) -> None:
    first = start(invoke, root)
    port = first["port"]
    assert isinstance(port, int)
    assert invoke("fleet", "delete", "acme", "--root", root).exit_code == 0

    again = start(invoke, root)
    assert (again["port"], again["detail"]) == (port, "")
    assert invoke("fleet", "delete", "acme", "--root", root).exit_code == 0

    with socket.socket() as sock:  # another program took it meanwhile
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        moved = start(invoke, root)
    assert moved["port"] != port
    # The note of the start outlives the wait for its /health.
    assert moved["detail"] == (
        f"its port before it was deleted, {port}, is in use by another program: it listens on "
        f"port {moved['port']} now (tell whoever used the old URL)"
    )
