"""`botfleet fleet status` and `watch` as monitoring reads them: `status` fails (1) while a
data plane is not serving; a data plane killed by a signal is said to be (SIGKILL with the OOM
killer's hint) wherever its exit was seen; one `watch` per root (a lock file naming its pid);
`watch` reads a failed data plane's log once per check.

The data plane is a stand-in run as `sys.executable` (the command starts data planes with it),
with the data plane's command line: it answers /health as its tenant, unless the tenant's id
starts with `doomed`, when it kills itself with SIGKILL at once, as the OOM killer would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import Invoke

from botfleet.adapters.orchestration import local

pytestmark = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs /proc")

#: The interpreter running these tests (`fleet_root` puts the stand-in in `sys.executable`).
PYTHON = sys.executable
KILLED = "was killed by SIGKILL (signal 9), perhaps by the kernel's OOM killer"


@pytest.fixture
def root(fleet_root: Path) -> Path:
    """`fleet_root`, made: `watch` and `status` refuse a root that does not exist."""
    fleet_root.mkdir()
    return fleet_root


def start(invoke: Invoke, root: Path, tenant: str, *extra: str) -> dict[str, object]:
    result = invoke(
        "fleet", "start", tenant, "--control-plane", "http://127.0.0.1:8001", "--root", root,
        "--timeout", "20", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    view: dict[str, object] = json.loads(result.stdout)
    return view


def state_of(invoke: Invoke, root: Path, tenant: str) -> dict[str, object]:
    (view,) = json.loads(invoke("fleet", "status", tenant, "--json", "--root", root).stdout)
    found: dict[str, object] = view
    return found


def until_failed(invoke: Invoke, root: Path, tenant: str) -> dict[str, object]:
    deadline = time.monotonic() + 10
    while (view := state_of(invoke, root, tenant))["state"] != "failed":
        assert time.monotonic() < deadline, view
        time.sleep(0.05)
    return view


def test_status_exits_1_while_a_data_plane_is_not_serving_naming_each(
    invoke: Invoke, root: Path
) -> None:
    acme = start(invoke, root, "acme")
    start(invoke, root, "beta")
    serving = invoke("fleet", "status", "--root", root)
    assert (serving.exit_code, serving.stderr) == (0, "")

    assert invoke("fleet", "stop", "beta", "--root", root).exit_code == 0
    stopped = invoke("fleet", "status", "--root", root)
    assert stopped.exit_code == 1
    assert stopped.stderr == "error: 1 of 2 data planes not serving: beta (stopped)\n"
    assert [row.split()[:2] for row in stopped.stdout.splitlines()[1:]] == [
        ["acme", "running"],
        ["beta", "stopped"],
    ]  # the table is printed all the same
    assert invoke("fleet", "status", "acme", "--root", root).exit_code == 0  # only those named

    os.kill(int(str(acme["pid"])), signal.SIGKILL)
    until_failed(invoke, root, "acme")
    failed = invoke("fleet", "status", "--json", "--root", root)
    assert failed.exit_code == 1
    assert failed.stderr == (
        "error: 2 of 2 data planes not serving: acme (failed), beta (stopped)\n"
    )
    assert [view["state"] for view in json.loads(failed.stdout)] == ["failed", "stopped"]


def test_a_data_plane_killed_by_sigkill_is_said_to_be_by_start_and_then_by_status(
    invoke: Invoke, root: Path
) -> None:
    started = invoke(
        "fleet", "start", "doomed", "--control-plane", "http://127.0.0.1:8001", "--root", root,
        "--timeout", "20",
    )  # fmt: skip
    assert started.exit_code == 1
    first = started.stderr.splitlines()[0]
    assert first.startswith("error: tenant 'doomed': data plane failed: process ")
    assert KILLED in first  # `start` waited for its own child: it saw the signal

    # Another process (this `status`): told by the exit record `start` left.
    table = invoke("fleet", "status", "--root", root)
    assert table.exit_code == 1
    (row,) = table.stdout.splitlines()[1:]
    assert KILLED in row
    assert "look for 'Out of memory' in journalctl -k or dmesg" in row
    view = state_of(invoke, root, "doomed")
    assert str(view["detail"]).splitlines()[0].startswith(f"process {started_pid(root)} {KILLED}")


def started_pid(root: Path) -> int:
    return int((root / "run" / "doomed.pid").read_text())


def test_watch_says_its_own_child_was_killed_by_sigkill(
    invoke: Invoke, root: Path, data_plane_stand_in: Path, tmp_path: Path
) -> None:
    started = start(invoke, root, "doomed", "--no-wait")
    until_failed(invoke, root, "doomed")  # whose parent, this command, is gone: not known how
    # A watch that starts data planes with the stand-in, as this test's commands do.
    code = (
        f"import sys; sys.executable = {str(data_plane_stand_in)!r}; "
        "import botfleet.cli.main as m; m.main()"
    )
    out = tmp_path / "watch.out"
    with out.open("wb") as sink:
        watcher = subprocess.Popen(
            [PYTHON, "-c", code, "fleet", "watch",
             "--every", "0.1", "--root", str(root)],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while len(out.read_text().splitlines()) < 2:
            assert watcher.poll() is None, out.read_text()
            assert time.monotonic() < deadline, out.read_text()
            time.sleep(0.05)
        watcher.send_signal(signal.SIGTERM)
        assert watcher.wait(timeout=20) == 0
    finally:
        if watcher.poll() is None:
            watcher.kill()
    first, second, *_ = [json.loads(line) for line in out.read_text().splitlines()]
    assert first["reason"].startswith(f"process {started['pid']} exited; end of ")
    # The one it restarted was its own child: it saw how that one ended.
    assert second["reason"].startswith(f"process {first['pid']} {KILLED}")
    assert second["event"] == "data_plane_restarted"


def test_a_second_watch_of_a_root_refuses_and_a_once_run_skips(invoke: Invoke, root: Path) -> None:
    lock = root / "run" / "watch.lock"
    watcher = subprocess.Popen(
        [PYTHON, "-m", "botfleet.cli.main",
         "fleet", "watch", "--every", "30", "--root", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not (lock.exists() and lock.read_text().strip() == str(watcher.pid)):
            assert watcher.poll() is None
            assert time.monotonic() < deadline, "the watch never took its lock"
            time.sleep(0.05)

        second = invoke("fleet", "watch", "--root", root)
        assert (second.exit_code, second.stdout) == (1, "")
        assert second.stderr == (
            f"error: another watch (pid {watcher.pid}) of {root} is running (it holds {lock}): "
            "two would restart the same data planes and overwrite each other's restart "
            "pauses; stop it first, or leave the watching to it\n"
        )
        once = invoke("fleet", "watch", "--once", "--root", root)
        assert (once.exit_code, once.stdout) == (0, "")
        assert once.stderr == (
            f"skipped: another watch (pid {watcher.pid}) of {root} is running (it holds "
            f"{lock}); this run checked nothing\n"
        )
    finally:
        watcher.kill()  # SIGKILL: an OS lock goes with its process, whatever the file says
        watcher.wait(timeout=20)
    after = invoke("fleet", "watch", "--once", "--root", root)
    assert (after.exit_code, after.stdout, after.stderr) == (0, "", "")


def test_watch_reads_a_failed_data_planes_log_once_per_check(
    invoke: Invoke, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start(invoke, root, "doomed", "--no-wait")
    until_failed(invoke, root, "doomed")
    reads: list[Path] = []
    real_tail = local.tail

    def counting_tail(path: Path, lines: int = 20) -> str:
        reads.append(path)
        return real_tail(path, lines)

    monkeypatch.setattr(local, "tail", counting_tail)
    watched = invoke("fleet", "watch", "--once", "--root", root)
    # Restarted, it fails again while --once waits for it: not healthy, exit 1.
    assert watched.exit_code == 1, watched.stderr
    (line,) = [json.loads(text) for text in watched.stdout.splitlines()]
    assert line["event"] == "data_plane_restarted" and line["healthy"] is False
    # The check read the log once, for the detail and the refusal alike; the wait after the
    # restart reads the restarted process's end.
    log = root.resolve() / "logs" / "doomed.log"
    assert reads[0] == log and reads.count(log) == len(reads) <= 2
