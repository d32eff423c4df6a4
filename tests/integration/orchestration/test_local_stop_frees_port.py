"""`stop` (and so `restart`, `delete` and a `start` with changed settings) returns only once the
data plane has exited and its port is free: a start of another tenant on that port right after
used to find it taken while the exiting process, or one it had started, still held it.

The data planes are stand-ins: a Python script with the data plane's command line, in the
tenant's folder, that listens on its port (as test_local_fleet_walk.py, which sleeps).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from botfleet.adapters.orchestration import (
    LocalOrchestrator,
    OrchestrationError,
    wait_until_healthy,
)
from botfleet.adapters.orchestration._processes import free_port
from botfleet.ports.orchestration import DataPlaneSpec

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")

#: Listens on --host/--port, then runs a helper that holds the socket: HELPER=group (in its
#: process group, leaving 1 s after SIGTERM), session (in a session of its own, leaving 1 s
#: after the stand-in exits), forever (its own session, until killed) or none.
STAND_IN = """\
import os, signal, socket, sys, time
args = sys.argv
sock = socket.socket()
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind((args[args.index("--host") + 1], int(args[args.index("--port") + 1])))
sock.listen()
sock.set_inheritable(True)
helper = os.environ.get("HELPER", "none")
leader = os.getpid()
if helper != "none" and os.fork() == 0:
    # Another program (no data plane's command line), which inherited the listening socket.
    # It says when it is ready (its handler set): a SIGTERM before would end it at once.
    ready = "open('helper.ready', 'w').close()\\n"
    code = {
        "group": "import signal, time\\n"
        "signal.signal(signal.SIGTERM, lambda *a: (time.sleep(1), exit(0)))\\n"
        + ready + "time.sleep(60)",
        "session": "import os, time\\n"
        + ready + f"while os.getppid() == {leader}: time.sleep(0.02)\\n"
        "time.sleep(1)",
        "forever": "import time\\n" + ready + "time.sleep(60)",
    }[helper]
    if helper != "group":
        os.setsid()
    os.execv(sys.executable, [sys.executable, "-c", code])
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
while True:
    time.sleep(1)
"""


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[LocalOrchestrator]:
    stand_in = tmp_path / "python"
    stand_in.write_text(f"#!{sys.executable}\n{STAND_IN}", encoding="utf-8")
    stand_in.chmod(0o755)
    orchestrator = LocalOrchestrator(tmp_path / "fleet", python=str(stand_in), stop_timeout_s=5)
    try:
        yield orchestrator
    finally:
        for tenant in ("acme", "beta"):
            if orchestrator.tenant_dir(tenant).exists():
                await orchestrator.stop(tenant)


def spec(tmp_path: Path, port: int, tenant: str = "acme", helper: str = "none") -> DataPlaneSpec:
    config = tmp_path / f"{tenant}.yaml"
    config.touch()
    env = {"HELPER": helper}
    return DataPlaneSpec(tenant, tenant_config_path=str(config), port=port, env=env)


def listening(port: int, timeout_s: float = 10) -> None:
    """Wait until something listens on `port` (the stand-in, once it has bound)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert time.monotonic() < deadline, f"nothing listens on {port}"
        time.sleep(0.02)


def bind(port: int) -> None:
    """Listen on `port` as a server would (SO_REUSEADDR); raises OSError when it is taken."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()


@pytest.mark.parametrize("helper", ["group", "session"])
async def test_the_port_is_free_when_stop_returns(
    fleet: LocalOrchestrator, tmp_path: Path, helper: str
) -> None:
    # group: a process the data plane started, which SIGTERM reaches but which takes a moment;
    # session: whatever else still holds the socket a moment after the process exited.
    port = free_port()
    started = await fleet.start(spec(tmp_path, port, helper=helper))
    listening(port)
    assert others_holding(port, started.pid, fleet.tenant_dir("acme"))  # the helper is there
    stopped = await fleet.stop("acme")
    assert (stopped.state, stopped.detail) == ("stopped", "stopped")
    bind(port)  # at once: it used to be refused (EADDRINUSE)
    # Another tenant's data plane on that port, right away.
    other = await fleet.start(spec(tmp_path, port, tenant="beta"))
    assert other.state == "starting"
    listening(port)
    assert (await fleet.status("beta")).state == "running"


async def test_restart_and_delete_wait_as_stop_does(
    fleet: LocalOrchestrator, tmp_path: Path
) -> None:
    port = free_port()
    started = await fleet.start(spec(tmp_path, port, helper="group"))
    listening(port)
    assert others_holding(port, started.pid, fleet.tenant_dir("acme"))
    restarted = await fleet.restart("acme")  # its new process binds the same port
    assert restarted.pid is not None
    listening(port)
    assert others_holding(port, restarted.pid, fleet.tenant_dir("acme"))
    assert (await fleet.status("acme")).pid == restarted.pid
    await fleet.delete("acme")
    bind(port)
    assert holding(port) == []


async def test_a_port_still_held_by_another_program_is_said(tmp_path: Path) -> None:
    stand_in = tmp_path / "python"
    stand_in.write_text(f"#!{sys.executable}\n{STAND_IN}", encoding="utf-8")
    stand_in.chmod(0o755)
    fleet = LocalOrchestrator(tmp_path / "fleet", python=str(stand_in), release_timeout_s=0.3)
    port = free_port()
    started = await fleet.start(spec(tmp_path, port, helper="forever"))
    listening(port)
    helpers = others_holding(port, started.pid, fleet.tenant_dir("acme"))
    assert helpers
    try:
        stopped = await fleet.stop("acme")
        assert stopped.state == "stopped"
        assert stopped.detail == (
            f"stopped; port {port} on 127.0.0.1 is still in use, by another program since the "
            "data plane exited"
        )
    finally:
        for pid in helpers:
            os.kill(pid, signal.SIGKILL)


def others_holding(port: int, pid: object, folder: Path, timeout_s: float = 10) -> list[int]:
    """The processes but `pid` holding a socket that listens on `port`, once the helper says
    it is ready (in the tenant's `folder`)."""
    marker = folder / "helper.ready"
    deadline = time.monotonic() + timeout_s
    while not marker.exists():
        assert time.monotonic() < deadline, f"no helper in {folder}"
        time.sleep(0.02)
    marker.unlink()
    return [p for p in holding(port) if p != pid]


def holding(port: int) -> list[int]:
    """The processes with a socket listening on `port` (from /proc/net/tcp and their fds)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":  # LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    holders = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            links = {
                os.readlink(f"/proc/{entry}/fd/{fd}") for fd in os.listdir(f"/proc/{entry}/fd")
            }
        except OSError:
            continue
        if links & inodes:
            holders.append(int(entry))
    return holders


async def test_a_process_that_survives_sigkill_is_an_error_naming_it_and_its_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_in = tmp_path / "python"
    stand_in.write_text(f"#!{sys.executable}\n{STAND_IN}", encoding="utf-8")
    stand_in.chmod(0o755)
    fleet = LocalOrchestrator(
        tmp_path / "fleet", python=str(stand_in), stop_timeout_s=0.2, release_timeout_s=0.2
    )
    port = free_port()
    started = await fleet.start(spec(tmp_path, port))
    listening(port)
    real_alive = fleet._alive
    # As a process stuck in the kernel (uninterruptible I/O) looks: there after SIGKILL.
    monkeypatch.setattr(fleet, "_alive", lambda pid, tenant_id: True)
    with pytest.raises(OrchestrationError) as refused:
        await fleet.stop("acme")
    message = str(refused.value)
    assert f"process {started.pid} still runs" in message
    assert f"port {port}" in message
    assert "after SIGKILL" in message
    assert fleet.pid_file("acme").read_text().strip() == str(started.pid)  # still known
    monkeypatch.setattr(fleet, "_alive", real_alive)
    assert (await fleet.stop("acme")).state == "stopped"


def run_by_hand(fleet: LocalOrchestrator, port: int) -> subprocess.Popen[bytes]:
    """A stand-in in the tenant's folder, in this test's process group (no session of its
    own), as `botfleet serve data-plane` run there from a shell is."""
    command = [fleet.python, "-m", "botfleet.cli.main", "serve", "data-plane"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "HELPER": "none"}
    return subprocess.Popen(command, cwd=fleet.tenant_dir("acme"), env=env)


async def test_a_data_plane_started_by_hand_in_the_tenants_folder_is_stopped(
    fleet: LocalOrchestrator, tmp_path: Path
) -> None:
    # It leads no process group: SIGTERM sent to the group its pid would name reached nobody,
    # and stop answered `killed after the grace period` while it went on running.
    port = free_port()
    await fleet.start(spec(tmp_path, port))
    listening(port)
    await fleet.stop("acme")
    by_hand = run_by_hand(fleet, port)
    try:
        listening(port)
        began = time.monotonic()
        stopped = await fleet.stop("acme")
        assert (stopped.state, stopped.detail) == ("stopped", "stopped")
        assert time.monotonic() - began < 4  # SIGTERM reached it: no grace period waited out
        assert by_hand.wait(timeout=5) == 0
        bind(port)
    finally:
        by_hand.kill()
        by_hand.wait()


@pytest.mark.slow
async def test_real_data_planes_take_turns_on_one_port(tmp_path: Path) -> None:
    # Stop one tenant's data plane and start another's on its port at once, both ways.
    fleet = LocalOrchestrator(tmp_path / "fleet", stop_timeout_s=10)
    port = free_port()
    specs = {}
    for tenant in ("alpha", "beta"):
        config = tmp_path / f"{tenant}.yaml"
        flow = (
            f"flow:\n  id: {tenant}_flow\n  initial_state: S\n  states:\n    S:\n"
            "      on_enter: [{action: send_text, text: hi}]\n      fallback: S\n"
        )
        config.write_text(f"tenant_id: {tenant}\nchannel: {{type: http_dev}}\n{flow}")
        specs[tenant] = DataPlaneSpec(tenant, tenant_config_path=str(config), port=port)
    try:
        for tenant, other in (("alpha", "beta"), ("beta", "alpha"), ("alpha", "beta")):
            await fleet.start(specs[tenant])
            health = await wait_until_healthy(fleet, tenant, timeout_s=60)
            assert health.body is not None and health.body["tenant_id"] == tenant
            assert (await fleet.stop(tenant)).detail == "stopped"
            assert (await fleet.status(other)).state in ("stopped", "unknown")
    finally:
        for tenant in specs:
            await fleet.stop(tenant)
