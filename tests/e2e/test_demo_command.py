"""`botfleet demo` as `make run` starts it: control plane + demo tenant, real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from botfleet.adapters.orchestration import LocalOrchestrator
from botfleet.control_plane.client import ControlPlaneClient

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Output:
    """The process's output, read on a thread so a wait can time out."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stdout is not None
        self._thread = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in self.lines):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {timeout_s}s:\n" + self.text)
            time.sleep(0.1)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def start_demo(command: list[str]) -> tuple[subprocess.Popen[str], Output]:
    """`command` (a `demo`) started in the repository, its output read as it comes."""
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        # Ctrl+C must work even when the test runner runs with SIGINT ignored (a background job).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    return process, Output(process)


def test_make_run_starts_the_control_plane_and_the_demo_tenant(tmp_path: Path) -> None:
    cp_port, dp_port = free_port(), free_port()
    var = tmp_path / "var"
    command = [sys.executable, "-m", "botfleet.cli.main", "demo"]
    command += ["--cp-port", str(cp_port), "--port", str(dp_port), "--var-dir", str(var)]
    command += ["--poll-s", "0.3"]
    process, output = start_demo(command)
    try:
        output.wait_for("Press Ctrl+C", timeout_s=120)
        assert f"http://localhost:{dp_port}/" in output.text
        assert f"http://localhost:{cp_port}/docs" in output.text
        admin_key = json.loads((var / "demo-secrets.json").read_text())["admin_api_key"]
        assert admin_key in output.text
        assert oct((var / "demo-secrets.json").stat().st_mode & 0o777) == oct(0o600)

        with httpx.Client(timeout=10) as http:
            assert http.get(f"http://127.0.0.1:{cp_port}/docs").status_code == 200
            reply = http.post(
                f"http://127.0.0.1:{dp_port}/inbound", json={"contact_id": "web-1", "text": "hi"}
            ).json()
            [menu] = reply["replies"]
            assert "Welcome to Bella Hair Studio" in menu["text"]
            assert [b["title"] for b in menu["buttons"]] == [
                "Book appointment", "My appointments", "Cancel appointment",
            ]  # fmt: skip
            health = http.get(f"http://127.0.0.1:{dp_port}/health").json()
            assert (health["flow_version"], health["knowledge_version"]) == ("v1", "v1")

            # The data plane follows the control plane: publish, and it swaps within a poll.
            with ControlPlaneClient(f"http://127.0.0.1:{cp_port}", admin_key) as cp:
                cp.upload_knowledge("demo", "# New opening hours\nEvery day.", publish=True)
                assert cp.fleet().tenants[0].status == "ok"
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                health = http.get(f"http://127.0.0.1:{dp_port}/health").json()
                if health["knowledge_version"] == "v2":
                    break
                time.sleep(0.2)
            assert health["knowledge_version"] == "v2"
        pid = int((var / "fleet" / "run" / "demo.pid").read_text())
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, output.text
    assert "stopped." in output.text
    assert not (var / "fleet" / "run" / "demo.pid").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


#: `botfleet` whose stops find the data plane still there after SIGKILL (stuck in the kernel).
STUCK_STOPS = """\
import sys
from botfleet.adapters.orchestration import local

async def survives(pid, alive, *, timeout_s, kill_wait_s):
    return "survived"

local.terminate = survives
from botfleet.cli.main import main
main()
"""


def test_a_data_plane_that_will_not_stop_is_one_line_and_exit_1_not_a_traceback(
    tmp_path: Path,
) -> None:
    cp_port, dp_port = free_port(), free_port()
    var = tmp_path / "var"
    command = [sys.executable, "-c", STUCK_STOPS, "demo", "--cp-port", str(cp_port)]
    command += ["--port", str(dp_port), "--var-dir", str(var)]
    process, output = start_demo(command)
    try:
        output.wait_for("Press Ctrl+C", timeout_s=120)
        pid = int((var / "fleet" / "run" / "demo.pid").read_text())
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
        output.wait_for("could not stop", timeout_s=5)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        # The data plane the demo could not stop (it never signalled it): this one can.
        asyncio.run(LocalOrchestrator(var / "fleet").stop("demo"))
    assert process.returncode == 1, output.text
    [line] = [line for line in output.lines if "could not stop" in line]
    assert line.startswith(
        f"could not stop the data plane of tenant 'demo': process {pid} still runs"
    )
    assert f"holds port {dp_port}" in line
    assert "Traceback" not in output.text
    assert "stopped." not in output.lines
    with socket.socket() as probe:  # the control plane stopped all the same
        assert probe.connect_ex(("127.0.0.1", cp_port)) != 0
