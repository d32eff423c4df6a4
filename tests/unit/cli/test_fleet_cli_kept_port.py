"""`botfleet fleet start` of a tenant deleted with its data kept: its old port back if it is
free, else a free one, which the answer says, also after waiting for its /health.

The data plane is a stand-in (an HTTP server answering /health as the tenant, with the data
plane's command line), run as `sys.executable`: the command starts data planes with it.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from cli_helpers import Invoke

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")


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
    invoke: Invoke, fleet_root: Path
) -> None:
    first = start(invoke, fleet_root)
    port = first["port"]
    assert isinstance(port, int)
    assert invoke("fleet", "delete", "acme", "--root", fleet_root).exit_code == 0

    again = start(invoke, fleet_root)
    assert (again["port"], again["detail"]) == (port, "")
    assert invoke("fleet", "delete", "acme", "--root", fleet_root).exit_code == 0

    with socket.socket() as sock:  # another program took it meanwhile
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        moved = start(invoke, fleet_root)
    assert moved["port"] != port
    # The note of the start outlives the wait for its /health.
    assert moved["detail"] == (
        f"its port before it was deleted, {port}, is in use by another program: it listens on "
        f"port {moved['port']} now (tell whoever used the old URL)"
    )
