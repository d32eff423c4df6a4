"""Overlapping starts, stops and restarts of one tenant never spawn two of its processes."""

from __future__ import annotations

import asyncio
import dataclasses
import fcntl
import os
import sys
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from botfleet.adapters.orchestration import LocalOrchestrator, OrchestrationError
from botfleet.adapters.orchestration._processes import free_port
from botfleet.ports.orchestration import DataPlaneSpec, DataPlaneStatus


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[LocalOrchestrator]:
    # A stand-in for the interpreter: a process that sleeps with the data plane's arguments.
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
        await orchestrator.stop("acme")


def spec(tmp_path: Path, port: int, **env: str) -> DataPlaneSpec:
    config = tmp_path / "acme.yaml"
    config.touch()
    return DataPlaneSpec("acme", tenant_config_path=str(config), port=port, env=env)


def count_spawns(fleet: LocalOrchestrator) -> list[int]:
    spawned: list[int] = []
    original = fleet._spawn

    def spawn(tenant_id: str, launch: dict[str, Any]) -> DataPlaneStatus:
        status = original(tenant_id, launch)
        assert status.pid is not None
        spawned.append(status.pid)
        return status

    fleet._spawn = spawn  # type: ignore[method-assign]
    return spawned


async def test_two_starts_with_a_changed_spec_at_once_spawn_one_process(
    fleet: LocalOrchestrator, tmp_path: Path
) -> None:
    first = spec(tmp_path, free_port("127.0.0.1"))
    assert (await fleet.start(first)).state == "starting"
    spawned = count_spawns(fleet)
    changed = dataclasses.replace(first, env={"DP_LOG_LEVEL": "debug"})
    # Each stops the old process (a wait) before it spawns: without the lock, both would.
    await asyncio.gather(fleet.start(changed), fleet.start(changed), fleet.restart("acme"))
    assert len(spawned) == 2  # the changed spec's start, then the restart
    status = await fleet.status("acme")
    assert (status.state, status.pid) == ("running", spawned[-1])
    for pid in spawned[:-1]:  # none left running beside it
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_a_start_waits_for_another_process_holding_the_tenant(
    fleet: LocalOrchestrator, tmp_path: Path
) -> None:
    lock_file = fleet.root / "run" / "acme.lock"
    lock_file.parent.mkdir(parents=True)
    with lock_file.open("w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)  # another `botfleet` process in a start
        fleet.lock_timeout_s = 0.3
        with pytest.raises(OrchestrationError, match=r"has not finished .*acme\.lock"):
            await fleet.start(spec(tmp_path, free_port("127.0.0.1")))
        assert (await fleet.status("acme")).state == "unknown"  # nothing was started

        fleet.lock_timeout_s = 10
        release = partial(fcntl.flock, holder, fcntl.LOCK_UN)
        asyncio.get_running_loop().call_later(0.3, release)  # it finishes
        assert (await fleet.start(spec(tmp_path, free_port("127.0.0.1")))).state == "starting"
