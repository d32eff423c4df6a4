"""The local orchestrator runs real data-plane processes, one per tenant, kept apart."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml

from botfleet.adapters.orchestration import (
    LocalOrchestrator,
    OrchestrationError,
    wait_until_healthy,
)
from botfleet.ports.orchestration import DataPlaneSpec

pytestmark = pytest.mark.slow
TENANTS = ("alpha", "beta")


def tenant_file(folder: Path, tenant_id: str) -> Path:
    path = folder / f"{tenant_id}.yaml"
    flow = {
        "id": f"{tenant_id}_echo",
        "initial_state": "ECHO",
        "states": {
            "ECHO": {
                "on_enter": [
                    {"action": "send_text", "text": f"{tenant_id} heard: {{{{ message.text }}}}"}
                ],
                "fallback": "ECHO",
            }
        },
    }
    config = {"tenant_id": tenant_id, "channel": {"type": "http_dev"}, "flow": flow}
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[LocalOrchestrator]:
    orchestrator = LocalOrchestrator(tmp_path / "fleet", stop_timeout_s=10)
    yield orchestrator
    for tenant in (*TENANTS, "broken"):  # never leave a process behind
        await orchestrator.stop(tenant)


def process_env(pid: int) -> dict[str, str] | None:
    try:
        raw = Path(f"/proc/{pid}/environ").read_text()
    except OSError:
        return None
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def all_text_in(database: Path) -> str:
    with sqlite3.connect(database) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = [str(row) for t in tables for row in conn.execute(f'SELECT * FROM "{t}"')]
    return "\n".join(rows)


async def test_two_tenants_run_apart_and_cannot_see_each_others_data(
    fleet: LocalOrchestrator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Secrets of whoever runs the orchestrator must not reach the tenants' processes.
    monkeypatch.setenv("CP_ADMIN_API_KEY", "admin-key-that-must-not-leak-123")
    specs = {t: DataPlaneSpec(t, tenant_config_path=str(tenant_file(tmp_path, t))) for t in TENANTS}
    started = await asyncio.gather(*(fleet.start(spec) for spec in specs.values()))
    assert [s.state for s in started] == ["starting", "starting"]
    assert started[0].url != started[1].url
    await asyncio.gather(*(wait_until_healthy(fleet, t, timeout_s=60) for t in TENANTS))

    async with httpx.AsyncClient(timeout=10) as http:
        for tenant, status in zip(TENANTS, started, strict=True):
            reply = await http.post(
                f"{status.url}/inbound", json={"contact_id": f"{tenant}-contact", "text": "hi"}
            )
            assert reply.json()["replies"][0]["text"] == f"{tenant} heard: hi"
        for tenant, status in zip(TENANTS, started, strict=True):
            seen = (await http.get(f"{status.url}/messages")).json()["messages"]
            assert {m["contact_id"] for m in seen} == {f"{tenant}-contact"}
            health = (await http.get(f"{status.url}/health")).json()
            assert health["tenant_id"] == tenant

    for tenant, other in (TENANTS, TENANTS[::-1]):
        folder = fleet.data_dir(tenant)
        assert {p.name for p in folder.iterdir()} == {tenant}
        state = folder / tenant / "state.db"
        assert f"{tenant}-contact" in all_text_in(state)
        assert f"{other}-contact" not in all_text_in(state)
        assert oct(fleet.tenant_dir(tenant).stat().st_mode & 0o777) == oct(0o700)
        status = await fleet.status(tenant)
        assert status.state == "running" and status.pid is not None
        variables = process_env(status.pid)
        if variables is not None:  # Linux
            assert variables["DP_DATA_DIR"] == str(folder)
            assert variables["DP_TENANT_ID"] == tenant
            assert not any(other in value for value in variables.values())
            assert "CP_ADMIN_API_KEY" not in variables

    # Starting again with the same spec keeps the running process.
    again = await fleet.start(specs["alpha"])
    assert again.pid == (await fleet.status("alpha")).pid

    pids = [(await fleet.status(t)).pid for t in TENANTS]
    for tenant in TENANTS:
        stopped = await fleet.stop(tenant)
        assert stopped.state == "stopped"
        assert (await fleet.status(tenant)).state == "stopped"
        assert not fleet.pid_file(tenant).exists()
    for pid in pids:
        assert pid is not None
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert "alpha" in fleet.log_file("alpha").read_text()


async def test_restart_and_a_data_plane_that_fails_to_start(
    fleet: LocalOrchestrator, tmp_path: Path
) -> None:
    spec = DataPlaneSpec("alpha", tenant_config_path=str(tenant_file(tmp_path, "alpha")))
    first = await fleet.start(spec)
    await wait_until_healthy(fleet, "alpha", timeout_s=60)
    restarted = await fleet.restart("alpha")
    assert restarted.pid != first.pid
    assert restarted.url == first.url  # the same port again
    await wait_until_healthy(fleet, "alpha", timeout_s=60)

    broken = DataPlaneSpec("broken", tenant_config_path=str(tmp_path / "missing.yaml"))
    await fleet.start(broken)
    with pytest.raises(OrchestrationError) as caught:
        await wait_until_healthy(fleet, "broken", timeout_s=60)
    assert "failed" in str(caught.value)
    assert "missing.yaml" in str(caught.value)  # the end of its log says why
    assert (await fleet.status("broken")).state == "failed"
    with pytest.raises(OrchestrationError, match="nothing to restart"):
        await fleet.restart("nobody")


async def test_a_stale_pid_file_never_stops_another_tenants_data_plane(tmp_path: Path) -> None:
    # After a reboot, "alpha"'s pid file may name a pid now used by the data plane of "beta"
    # (the same command line, another folder): alpha's stop must leave it running.
    fleet = LocalOrchestrator(tmp_path / "fleet")
    beta_folder = fleet.tenant_dir("beta")
    beta_folder.mkdir(parents=True)
    stand_in = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(60)", "-m", "botfleet.cli.main", "serve",
        "data-plane", cwd=beta_folder, start_new_session=True,
    )  # fmt: skip
    try:
        fleet.pid_file("alpha").parent.mkdir(parents=True, exist_ok=True)
        fleet.pid_file("alpha").write_text(f"{stand_in.pid}\n", encoding="utf-8")
        assert (await fleet.status("alpha")).state != "running"
        assert (await fleet.stop("alpha")).detail == "was not running"
        assert stand_in.returncode is None
        os.kill(stand_in.pid, 0)  # still there
        # Its own folder's pid file does name it.
        fleet.pid_file("beta").write_text(f"{stand_in.pid}\n", encoding="utf-8")
        assert (await fleet.status("beta")).state == "running"
    finally:
        stand_in.kill()
        await stand_in.wait()


async def test_a_port_another_tenant_runs_on_is_refused_naming_both(
    fleet: LocalOrchestrator, tmp_path: Path
) -> None:
    alpha = await fleet.start(
        DataPlaneSpec("alpha", tenant_config_path=str(tenant_file(tmp_path, "alpha")))
    )
    await wait_until_healthy(fleet, "alpha", timeout_s=60)
    assert alpha.url is not None
    port = int(alpha.url.rsplit(":", 1)[1])
    beta = DataPlaneSpec("beta", tenant_config_path=str(tenant_file(tmp_path, "beta")), port=port)
    with pytest.raises(OrchestrationError, match=rf"'beta'.*port {port}.*'alpha'"):
        await fleet.start(beta)
    assert (await fleet.status("beta")).state == "unknown"  # nothing was spawned
    assert (await fleet.status("alpha")).pid == alpha.pid
