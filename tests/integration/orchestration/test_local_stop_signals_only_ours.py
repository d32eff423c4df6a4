"""`stop` signals the tenant's data plane and nothing else of this machine:

- a process in the tenant's folder whose command line only names the data plane's module (an
  operator's `python -m botfleet.cli.main fleet stop acme` run from there, or the `uv run`
  above it, a `grep`, an editor) is no data plane: it was signalled, and listed as a stray;
- a data plane that leads no process group (started by hand) is signalled alone, and its pid,
  free again once it exits, is not taken for a group later: reused by another program's group
  leader within the grace period, that whole group was SIGKILLed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from botfleet.adapters.orchestration import LocalOrchestrator, _processes
from botfleet.adapters.orchestration._processes import runs_data_plane, terminate

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")

SLEEP = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"


@pytest.fixture
def sleepers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def sleep(sleepers: list[subprocess.Popen[bytes]], *args: str, **options: Any) -> int:
    """A process that ignores SIGTERM and sleeps, `args` after its code; its pid."""
    sleepers.append(subprocess.Popen([sys.executable, "-c", SLEEP, *args], **options))
    return sleepers[-1].pid


@pytest.mark.parametrize(
    ("cmdline", "served"),
    [
        (b"/usr/bin/python3\0-m\0botfleet.cli.main\0serve\0data-plane\0--port\00\0", True),
        (b"uv\0run\0python\0-m\0botfleet.cli.main\0serve\0data-plane\0", True),
        (b"python\0-m\0botfleet.cli.main\0fleet\0stop\0acme\0", False),
        (b"python\0-m\0botfleet.cli.main\0serve\0control-plane\0", False),
        (b"grep\0botfleet.cli.main serve data-plane\0run.log\0", False),
        (b"vim\0botfleet.cli.main\0serve\0data-plane\0", False),
        (b"python\0-m\0botfleet.cli.main\0", False),
    ],
)
def test_only_a_data_planes_command_line_is_one(cmdline: bytes, served: bool) -> None:
    assert runs_data_plane(cmdline) is served


async def test_an_operators_command_in_the_tenants_folder_is_not_stopped(
    tmp_path: Path, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    fleet = LocalOrchestrator(tmp_path / "fleet", stop_timeout_s=0.5, release_timeout_s=0.5)
    folder = fleet.tenant_dir("acme")
    folder.mkdir(parents=True)
    # As `python -m botfleet.cli.main fleet stop acme` run from there shows in /proc.
    sleep(sleepers, "-m", "botfleet.cli.main", "fleet", "stop", "acme", cwd=folder)
    operator = sleepers[0]

    status = await fleet.status("acme")
    assert status.state == "unknown"  # not a stray data plane of the tenant's
    stopped = await fleet.stop("acme")
    assert stopped.state == "unknown"
    assert operator.poll() is None  # neither SIGTERMed nor SIGKILLed


async def test_a_pid_reused_by_another_group_leader_is_not_killed(
    monkeypatch: pytest.MonkeyPatch, sleepers: list[subprocess.Popen[bytes]]
) -> None:
    # Another program's group leader (a session of its own), on the pid a data plane started
    # by hand had: that one led no group, took SIGTERM, and exited.
    sleep(sleepers, start_new_session=True)
    other = sleepers[0]
    real_getpgid = os.getpgid
    asked: list[int] = []

    def getpgid(pid: int) -> int:
        asked.append(pid)
        # While the data plane ran, its pid led no group: it was in the operator shell's.
        return os.getpgrp() if len(asked) == 1 else real_getpgid(pid)

    monkeypatch.setattr(_processes.os, "getpgid", getpgid)
    outcome = await terminate(other.pid, lambda: False, timeout_s=0.3, kill_wait_s=0.3)
    assert outcome == "stopped"
    assert other.poll() is None
