"""`botfleet fleet watch` does not start again a data plane that an operator's `stop` was
stopping when the watcher saw it gone: it used to take the exited process for `failed`, wait for
the stop's lock, then restart it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from botfleet.adapters.orchestration import LocalOrchestrator
from botfleet.adapters.orchestration._processes import free_port
from botfleet.cli.commands.fleet import _restart_failed
from botfleet.ports.orchestration import DataPlaneSpec

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")


def stand_in_fleet(tmp_path: Path) -> LocalOrchestrator:
    stand_in = tmp_path / "python"
    stand_in.write_text(
        f"#!/bin/sh\nexec {sys.executable} -c 'import time; time.sleep(60)' \"$@\"\n",
        encoding="utf-8",
    )
    stand_in.chmod(0o755)
    return LocalOrchestrator(tmp_path / "fleet", python=str(stand_in), stop_timeout_s=5)


async def until_failed(fleet: LocalOrchestrator) -> None:
    for _ in range(250):  # the SIGKILLed process is gone within moments
        if (await fleet.status("acme")).state == "failed":
            return
        await asyncio.sleep(0.02)
    raise AssertionError(await fleet.status("acme"))


async def test_a_watch_racing_a_stop_leaves_the_data_plane_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = stand_in_fleet(tmp_path)
    config = tmp_path / "acme.yaml"
    config.touch()
    started = await fleet.start(
        DataPlaneSpec("acme", tenant_config_path=str(config), port=free_port())
    )
    assert started.pid is not None
    try:
        async with fleet._exclusive("acme"):  # a stop under way, its process already gone
            os.kill(started.pid, signal.SIGKILL)
            await until_failed(fleet)
            watching = asyncio.create_task(_restart_failed(fleet))
            await asyncio.sleep(0.3)  # the watcher saw `failed` and waits for the lock
            assert not watching.done()
            await fleet._stop("acme")
        assert await watching == 0
        assert capsys.readouterr().out == ""  # no restart
        assert (await fleet.status("acme")).state == "stopped"
    finally:
        await fleet.stop("acme")


async def test_a_data_plane_that_died_is_still_restarted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = stand_in_fleet(tmp_path)
    config = tmp_path / "acme.yaml"
    config.touch()
    started = await fleet.start(
        DataPlaneSpec("acme", tenant_config_path=str(config), port=free_port())
    )
    assert started.pid is not None
    try:
        os.kill(started.pid, signal.SIGKILL)
        await until_failed(fleet)
        assert await _restart_failed(fleet) == 0
        assert '"event": "data_plane_restarted"' in capsys.readouterr().out
        assert (await fleet.status("acme")).state == "running"
    finally:
        await fleet.stop("acme")
