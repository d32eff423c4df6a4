"""What an operator's walk through the local orchestrator found: a data plane the pid file no
longer names, a port another program holds, and forgetting a deleted tenant.

The data planes here are stand-ins (a sleeping process with the data plane's command line, in
the tenant's folder), as in test_local_orchestrator_lock.py: the orchestrator only looks at the
process table, the folders and the ports.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from botfleet.adapters.orchestration import LocalOrchestrator, OrchestrationError
from botfleet.adapters.orchestration._processes import free_port
from botfleet.ports.orchestration import DataPlaneSpec

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[LocalOrchestrator]:
    stand_in = tmp_path / "python"
    stand_in.write_text(
        f"#!/bin/sh\nexec {sys.executable} -c 'import time; time.sleep(60)' \"$@\"\n",
        encoding="utf-8",
    )
    stand_in.chmod(0o755)
    orchestrator = LocalOrchestrator(tmp_path / "fleet", python=str(stand_in), stop_timeout_s=5)
    try:
        yield orchestrator
    finally:
        for tenant in ("acme", "other"):
            if orchestrator.tenant_dir(tenant).exists():
                await orchestrator.stop(tenant)


@pytest.fixture
def squatter() -> Iterator[int]:
    """A port another program listens on (not a data plane)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def spec(tmp_path: Path, port: int, tenant: str = "acme", **env: str) -> DataPlaneSpec:
    config = tmp_path / f"{tenant}.yaml"
    config.touch()
    return DataPlaneSpec(tenant, tenant_config_path=str(config), port=port, env=env)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_bytes()
    return stat.rsplit(b")", 1)[-1].split()[:1] != [b"Z"]


async def test_a_data_plane_the_pid_file_does_not_name_is_found_not_doubled(
    fleet: LocalOrchestrator, tmp_path: Path
) -> None:
    # The pid file went (deleted by hand, or the orchestrator died between spawning and
    # writing it): a start used to spawn a second data plane on the same state.db, which ran
    # its recovery and scheduler before failing to bind the port, and left the first running
    # unknown to `status` and `stop`.
    first = spec(tmp_path, free_port("127.0.0.1"))
    started = await fleet.start(first)
    assert started.pid is not None
    fleet.pid_file("acme").unlink()

    status = await fleet.status("acme")
    assert (status.state, status.pid) == ("running", started.pid)
    assert "pid file" in status.detail

    again = await fleet.start(first)  # unchanged spec: left alone, and adopted
    assert (again.state, again.pid) == ("running", started.pid)
    assert fleet.pid_file("acme").read_text().strip() == str(started.pid)

    fleet.pid_file("acme").unlink()
    stopped = await fleet.stop("acme")
    assert stopped.state == "stopped"
    assert not alive(started.pid)


async def test_a_stale_pid_file_does_not_hide_the_running_data_plane(
    fleet: LocalOrchestrator, tmp_path: Path
) -> None:
    first = spec(tmp_path, free_port("127.0.0.1"))
    started = await fleet.start(first)
    assert started.pid is not None
    fleet.pid_file("acme").write_text("999999\n", encoding="utf-8")  # no such process
    status = await fleet.status("acme")
    assert (status.state, status.pid) == ("running", started.pid)
    changed = dataclasses.replace(first, env={"DP_LOG_LEVEL": "debug"})
    restarted = await fleet.start(changed)  # stops the one that runs, then spawns
    assert restarted.pid != started.pid
    assert not alive(started.pid)


async def test_a_port_another_program_holds_leaves_the_running_data_plane_alone(
    fleet: LocalOrchestrator, tmp_path: Path, squatter: int
) -> None:
    # Moving a tenant to a port that is taken used to stop its data plane first, then spawn
    # one that could not bind: the tenant was down until someone noticed.
    first = spec(tmp_path, free_port("127.0.0.1"))
    started = await fleet.start(first)
    with pytest.raises(OrchestrationError, match=rf"'acme'.*port {squatter}.*in use"):
        await fleet.start(dataclasses.replace(first, port=squatter))
    status = await fleet.status("acme")
    assert (status.state, status.pid) == ("running", started.pid)
    assert status.url is not None and status.url.endswith(f":{first.port}")  # launch kept


async def test_a_port_another_program_holds_is_refused_before_spawning(
    fleet: LocalOrchestrator, tmp_path: Path, squatter: int
) -> None:
    with pytest.raises(OrchestrationError, match=rf"'other'.*port {squatter}.*in use"):
        await fleet.start(spec(tmp_path, squatter, tenant="other"))
    assert (await fleet.status("other")).state == "unknown"  # nothing spawned, nothing saved

    # A restart of a stopped tenant whose port was taken meanwhile: refused the same way.
    port = free_port("127.0.0.1")
    await fleet.start(spec(tmp_path, port))
    await fleet.stop("acme")
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        with pytest.raises(OrchestrationError, match=rf"port {port}.*in use"):
            await fleet.restart("acme")
    assert (await fleet.status("acme")).state == "stopped"


async def test_delete_stops_and_forgets_the_tenant_keeping_its_data_unless_asked(
    fleet: LocalOrchestrator, tmp_path: Path
) -> None:
    started = await fleet.start(spec(tmp_path, free_port("127.0.0.1")))
    assert started.pid is not None
    state = fleet.data_dir("acme") / "acme" / "state.db"
    state.parent.mkdir(parents=True)
    state.write_bytes(b"conversations")

    deleted = await fleet.delete("acme")
    assert deleted.state == "unknown"
    assert not alive(started.pid)
    assert not (fleet.tenant_dir("acme") / "launch.json").exists()  # it held the boot token
    assert not fleet.pid_file("acme").exists()
    assert state.read_bytes() == b"conversations"  # kept, as a stopped k8s tenant's claim
    assert (await fleet.status("acme")).state == "unknown"
    with pytest.raises(OrchestrationError, match="nothing to restart"):
        await fleet.restart("acme")

    await fleet.start(spec(tmp_path, free_port("127.0.0.1")))  # back, on the same data
    assert state.exists()
    await fleet.delete("acme", keep_data=False)
    assert not fleet.tenant_dir("acme").exists()
    assert not fleet.log_file("acme").exists()
    assert (await fleet.delete("acme")).detail.startswith("never started here")


async def test_a_tenant_deleted_with_its_data_kept_gets_its_port_back_if_it_is_free(
    fleet: LocalOrchestrator, tmp_path: Path
) -> None:
    # Its launch record went with the delete, and the next start without a port got a random
    # one: whoever had its URL (the control plane's data_plane_url) lost it.
    no_port = dataclasses.replace(spec(tmp_path, 0), port=None)
    first = await fleet.start(no_port)
    assert first.url is not None
    port = int(first.url.rsplit(":", 1)[1])
    await fleet.delete("acme")
    assert not (fleet.tenant_dir("acme") / "launch.json").exists()

    again = await fleet.start(no_port)
    assert again.url == first.url
    assert again.detail == ""
    await fleet.delete("acme")

    # Taken meanwhile: a free one, and the answer says so.
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()
        moved = await fleet.start(no_port)
    assert moved.url is not None and not moved.url.endswith(f":{port}")
    said = f"its port before it was deleted, {port}, is in use by another program"
    assert said in moved.detail
    assert moved.url.rsplit(":", 1)[1] in moved.detail
    # From then on its port is the new one (a restart keeps it).
    assert (await fleet.restart("acme")).url == moved.url

    # Purged, nothing is kept: a start gets whatever port is free.
    await fleet.delete("acme", keep_data=False)
    assert not fleet.tenant_dir("acme").exists()


async def test_the_kept_port_held_by_another_tenant_is_not_taken_back(
    fleet: LocalOrchestrator, tmp_path: Path
) -> None:
    no_port = dataclasses.replace(spec(tmp_path, 0), port=None)
    first = await fleet.start(no_port)
    assert first.url is not None
    port = int(first.url.rsplit(":", 1)[1])
    await fleet.delete("acme")
    await fleet.start(spec(tmp_path, port, tenant="other"))  # the stand-in does not bind it
    moved = await fleet.start(no_port)
    assert moved.url is not None and not moved.url.endswith(f":{port}")
    assert f"{port}, is in use by the data plane of tenant 'other'" in moved.detail


async def test_tenants_on_one_port_of_different_hosts_are_no_conflict(
    fleet: LocalOrchestrator, tmp_path: Path
) -> None:
    # The check compared port numbers only: 127.0.0.2:P was refused for a tenant on 127.0.0.1:P.
    port = free_port("127.0.0.1")
    await fleet.start(spec(tmp_path, port))
    elsewhere = LocalOrchestrator(fleet.root, host="127.0.0.2", python=fleet.python)
    other = await elsewhere.start(spec(tmp_path, port, tenant="other"))
    assert other.url == f"http://127.0.0.2:{port}"

    # Every interface takes the port on both: refused, naming the one it collides with.
    everywhere = LocalOrchestrator(fleet.root, host="0.0.0.0", python=fleet.python)
    with pytest.raises(OrchestrationError) as refused:
        await everywhere.start(spec(tmp_path, port, tenant="third"))
    assert str(refused.value) == (
        f"tenant 'third': port {port} on 127.0.0.1 is in use by the data plane of tenant "
        "'acme': give this tenant another port, or stop that one first"
    )
    assert (await fleet.status("third")).state == "unknown"
    # ... and a tenant on every interface collides with one on any single host.
    await fleet.stop("acme")
    await fleet.stop("other")
    await everywhere.start(spec(tmp_path, port, tenant="third"))
    try:
        with pytest.raises(OrchestrationError, match=rf"port {port} on 0\.0\.0\.0 .*'third'"):
            await elsewhere.start(spec(tmp_path, port, tenant="other"))
    finally:
        await everywhere.stop("third")
