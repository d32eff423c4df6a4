"""`start_process`'s servers end whole: what a server started (a `uv run`'s child, a worker) is
killed with it, whether the test crashes it, stops it, or it never got ready; otherwise such a
process could keep a port or a SQLite file of a later test."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from botfleet.testing.faults import ServerProcess, free_port, start_process
from serve_process import process_gone as gone

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")

#: Starts a grandchild that would sleep for a minute, says its pid, then sleeps itself (or exits
#: at once with "exit" as its argument, leaving the grandchild behind).
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(f"pid of the sleeper: {child.pid}", flush=True)
if sys.argv[1:] != ["exit"]:
    time.sleep(60)
"""


def parent(tmp_path: Path, *args: str) -> tuple[ServerProcess, int]:
    """The parent started (not waited for as a server) and its sleeping child's pid."""
    server = start_process(
        [sys.executable, "-c", PARENT, *args],
        url=f"http://127.0.0.1:{free_port()}",
        log=tmp_path / "parent.log",
        ready_path=None,
    )
    server.wait_for_line("pid of the sleeper: ")
    [child] = re.findall(r"pid of the sleeper: (\d+)", server.output())
    assert not gone(int(child), timeout_s=0.2)
    return server, int(child)


def test_a_killed_server_takes_what_it_started_with_it(tmp_path: Path) -> None:
    server, child = parent(tmp_path)

    server.kill()

    assert server.process.returncode == -9  # still a crash: SIGKILL, no shutdown code ran
    assert gone(child)


def test_a_stopped_server_takes_what_it_started_with_it(tmp_path: Path) -> None:
    server, child = parent(tmp_path)

    server.stop()

    assert server.process.returncode == -15  # the process itself got SIGTERM first
    assert gone(child)


def test_what_an_exited_server_left_running_is_killed_with_its_group(tmp_path: Path) -> None:
    server, child = parent(tmp_path, "exit")
    server.process.wait(timeout=10)
    assert not gone(child, timeout_s=0.2)

    server.kill()

    assert gone(child)


def test_a_server_never_ready_is_killed_whole_and_fails_the_start(tmp_path: Path) -> None:
    log = tmp_path / "never.log"
    with pytest.raises(AssertionError, match=r"server not ready in 3\.0s"):
        # Nothing listens on the port: the readiness probe never gets its 200.
        start_process(
            [sys.executable, "-c", PARENT],
            url=f"http://127.0.0.1:{free_port()}",
            log=log,
            timeout_s=3.0,
        )
    [child] = re.findall(r"pid of the sleeper: (\d+)", log.read_text())
    assert gone(int(child))
