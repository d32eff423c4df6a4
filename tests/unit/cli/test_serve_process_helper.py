"""`tests/serve_process.py`, which the serve tests stand on: a line waited for is found on
either stream, a process that overstays its timeout fails the test with what it printed, and
what a started process started in turn is killed with it (no server outlives its test)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from serve_process import process_gone as gone
from serve_process import run_to_exit, started

#: Starts a grandchild that would sleep for a minute, says its pid, then sleeps itself.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(f"pid of the sleeper: {child.pid}", flush=True)
print("ready on stderr", file=sys.stderr, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_started_process_and_what_it_started_are_killed_with_the_block(tmp_path: Path) -> None:
    with started([sys.executable, "-c", PARENT], cwd=tmp_path) as process:
        assert process.wait_for_line("ready") == "ready on stderr"
        child = int(process.wait_for_line("pid of the sleeper: ").split()[-1])
        assert not gone(child, timeout_s=0.2)
    assert process.process.returncode is not None
    assert gone(child)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_process_past_its_timeout_is_killed_and_fails_with_its_output(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match=r"still running after 2\.0s") as failed:
        run_to_exit([sys.executable, "-c", PARENT], cwd=tmp_path, timeout_s=2.0)
    assert "ready on stderr" in str(failed.value)
    [child] = re.findall(r"pid of the sleeper: (\d+)\n", str(failed.value))
    assert gone(int(child))


def test_waiting_for_a_line_a_process_never_prints_fails_once_it_exited(tmp_path: Path) -> None:
    with started([sys.executable, "-c", "print('bye')"], cwd=tmp_path) as process:
        with pytest.raises(AssertionError, match="exited before printing 'hello'") as failed:
            process.wait_for_line("hello")
    assert "bye" in str(failed.value)


def test_run_to_exit_gives_the_status_both_streams_and_only_the_given_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DP_OF_THE_RUNNER", "not for the process")
    script = (
        "import os, sys; print(sorted(k for k in os.environ if k.startswith('DP_'))); "
        "print(os.getcwd(), file=sys.stderr); sys.exit(3)"
    )
    result = run_to_exit([sys.executable, "-c", script], cwd=tmp_path, env={"DP_X": "given"})
    assert (result.returncode, result.stdout, result.stderr) == (3, "['DP_X']\n", f"{tmp_path}\n")
