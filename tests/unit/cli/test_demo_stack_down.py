"""`DemoStack.down` stops everything it can: a data plane that survives SIGKILL used to end the
demo in a traceback with its control plane still serving."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import DEMO_TENANT

from botfleet.adapters.orchestration import LocalOrchestrator
from botfleet.adapters.orchestration._processes import free_port, is_alive, port_is_free
from botfleet.cli.demo_stack import BackgroundServer, DemoOptions, DemoStack
from botfleet.ports.orchestration import DataPlaneSpec

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")


async def answer(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The smallest ASGI app with a lifespan, as the control plane has."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def listened(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_a_data_plane_that_survives_sigkill_does_not_keep_the_control_plane_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in = tmp_path / "python"
    stand_in.write_text(
        f"#!/bin/sh\nexec {sys.executable} -c 'import time; time.sleep(60)' \"$@\"\n",
        encoding="utf-8",
    )
    stand_in.chmod(0o755)
    cp_port, dp_port = free_port(), free_port()
    stack = DemoStack(DemoOptions(DEMO_TENANT, var_dir=tmp_path / "var", cp_port=cp_port))
    fleet = LocalOrchestrator(
        stack.orchestrator.root, python=str(stand_in), stop_timeout_s=0.2, release_timeout_s=0.2
    )
    stack.orchestrator = fleet
    stack.tenant_id = "demo"
    started = stack._run(
        fleet.start(DataPlaneSpec("demo", tenant_config_path=str(DEMO_TENANT), port=dp_port))
    )
    assert started.pid is not None
    stack.control_plane = BackgroundServer(answer, host="127.0.0.1", port=cp_port)
    stack.control_plane.start()
    assert listened(cp_port)
    # As a process stuck in the kernel (uninterruptible I/O) looks: there after SIGKILL.
    monkeypatch.setattr(fleet, "_alive", lambda pid, tenant_id: True)
    try:
        failures = stack.down()
    finally:
        monkeypatch.undo()
        stack._run(fleet.stop("demo"))
    assert len(failures) == 1
    assert failures[0].startswith(
        f"data plane of tenant 'demo': process {started.pid} still runs 0.2 s after SIGTERM"
    )
    assert f"holds port {dp_port}" in failures[0]
    assert "\n" not in failures[0]
    assert not listened(cp_port) and port_is_free("127.0.0.1", cp_port)  # stopped all the same
    assert not is_alive(started.pid)


def test_down_with_everything_stopped_reports_nothing(tmp_path: Path) -> None:
    stack = DemoStack(DemoOptions(DEMO_TENANT, var_dir=tmp_path / "var", cp_port=free_port()))
    stack.tenant_id = "demo"  # up() failed before its data plane started
    stack.control_plane = BackgroundServer(answer, host="127.0.0.1", port=stack.options.cp_port)
    stack.control_plane.start()
    assert stack.down() == []
    assert stack.control_plane is None
    assert not listened(stack.options.cp_port)
