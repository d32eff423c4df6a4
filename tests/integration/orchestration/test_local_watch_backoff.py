"""`botfleet fleet watch` and a data plane that refuses to start (exit status 2): it is
restarted after growing pauses, not at every check, and its refusal is printed once per reason.
It used to be restarted every 15 s forever, with one line each time. A stand-in for the data
plane's interpreter writes the refusal that a file holds and exits with 2; the clock is fake."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from botfleet.adapters.orchestration import LocalOrchestrator
from botfleet.adapters.orchestration._processes import free_port
from botfleet.adapters.orchestration.restart_backoff import RestartBackoff
from botfleet.cli.commands.fleet import _restart_failed
from botfleet.ports.orchestration import DataPlaneSpec

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def refusing_fleet(tmp_path: Path, reason: Path) -> LocalOrchestrator:
    stand_in = tmp_path / "python"
    stand_in.write_text(
        f'#!/bin/sh\necho "data plane cannot start: $(cat {reason})" >&2\nexit 2\n',
        encoding="utf-8",
    )
    stand_in.chmod(0o755)
    return LocalOrchestrator(tmp_path / "fleet", python=str(stand_in), stop_timeout_s=5)


async def until_failed(fleet: LocalOrchestrator) -> None:
    for _ in range(250):  # the stand-in exits at once
        if (await fleet.status("acme")).state == "failed":
            return
        await asyncio.sleep(0.02)
    raise AssertionError(await fleet.status("acme"))


def refusing_acme(tmp_path: Path, reason: Path) -> tuple[LocalOrchestrator, DataPlaneSpec]:
    """The fleet and tenant acme's spec, whose data plane refuses to start (a full disk)."""
    reason.write_text("state.db: database or disk is full; the disk is full", encoding="utf-8")
    config = tmp_path / "acme.yaml"
    config.touch()
    spec = DataPlaneSpec("acme", tenant_config_path=str(config), port=free_port())
    return refusing_fleet(tmp_path, reason), spec


async def test_a_refusing_data_plane_is_restarted_after_growing_pauses_and_told_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = tmp_path / "reason"
    fleet, acme = refusing_acme(tmp_path, reason)
    await fleet.start(acme)
    clock = Clock()
    backoff = RestartBackoff(None, first_s=15, clock=clock)
    restarted_at: list[float] = []
    printed: list[dict[str, object]] = []

    async def check_at(elapsed: float) -> None:
        clock.now = 1_000_000.0 + elapsed
        await until_failed(fleet)
        pid_before = fleet._read_pid("acme")
        assert await _restart_failed(fleet, backoff) == 0
        if fleet._read_pid("acme") != pid_before:
            restarted_at.append(elapsed)
        printed.extend(json.loads(line) for line in capsys.readouterr().out.splitlines())

    for elapsed in range(0, 500, 15):  # a check every 15 s for 8 minutes
        await check_at(elapsed)

    # Restarted at once, then after 15, 30, 60, 120, 240 s: not 34 times.
    assert restarted_at == [0, 15, 45, 105, 225, 465]
    [line] = printed  # the same refusal every time: told once
    assert line["event"] == "data_plane_restarted"
    assert "(data plane cannot start: state.db: database or disk is full" in str(line["reason"])
    assert line["backoff_s"] == 15

    reason.write_text("acme.yaml: flow_path: no such file", encoding="utf-8")
    await check_at(465 + 300)  # this restart ends the exit that still said "full"
    assert printed[1:] == []
    await check_at(465 + 600)  # the exit it restarts now said something new
    [line] = printed[1:]
    assert "(data plane cannot start: acme.yaml: flow_path: no such file)" in str(line["reason"])
    assert line["backoff_s"] == 300
    await fleet.stop("acme")


async def test_a_once_run_says_a_data_plane_waits_out_its_pause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """From cron, a data plane down and left to its pause said nothing in the run's log."""
    reason = tmp_path / "reason"
    fleet, acme = refusing_acme(tmp_path, reason)
    await fleet.start(acme)
    clock = Clock()
    backoff = RestartBackoff(None, first_s=15, clock=clock)
    clock.now = 1_000_000.0
    await until_failed(fleet)
    assert await _restart_failed(fleet, backoff, wait_s=5) == 1  # restarted, refused again
    [restarted] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (restarted["event"], restarted["healthy"]) == ("data_plane_restarted", False)

    clock.now += 5
    await until_failed(fleet)
    assert await _restart_failed(fleet, backoff, wait_s=5) == 0
    [paused] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert paused == {"event": "data_plane_restart_paused", "tenant": "acme", "retry_in_s": 10}
    await fleet.stop("acme")
