"""Real processes, `botfleet serve data-plane|control-plane` most often, for the tests that need
one (an exit status, the lines an operator reads): run to their exit, or started and waited for.

Shared by test folders (`tests/` is on `sys.path`: its conftest.py is the root one). Each
process sees only the variables a test gives it plus `isolated_env`'s system ones, so that the
runner's own DP_* or CP_* settings never reach it, and leads a process group of its own, killed
whole when the test is done with it: nothing a test starts outlives it, timed out or failed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, Literal

import httpx
import yaml

from botfleet.testing.faults import isolated_env

Plane = Literal["data-plane", "control-plane"]


def serve_command(plane: Plane, *args: str) -> list[str]:
    """`botfleet serve <plane> <args>` as each tenant's container runs it (`python -m`)."""
    return [sys.executable, "-m", "botfleet.cli.main", "serve", plane, *args]


def tenant_files(folder: Path, tenant: str | Mapping[str, Any], flow: str) -> Path:
    """`folder/flow.yaml` and `folder/tenant.yaml` (its text, or a mapping written in its own
    order); the tenant file's path."""
    (folder / "flow.yaml").write_text(flow, encoding="utf-8")
    path = folder / "tenant.yaml"
    text = tenant if isinstance(tenant, str) else yaml.safe_dump(dict(tenant), sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


#: The smallest web chat tenant a served data plane starts with (`hello_tenant`).
HELLO_FLOW = """\
id: hello_v1
initial_state: MENU
states:
  MENU:
    on_enter:
      - action: send_text
        text: hi
    fallback: MENU
"""
HELLO_TENANT = "tenant_id: acme\nflow_path: flow.yaml\nchannel:\n  type: webchat\n"


def hello_tenant(folder: Path) -> Path:
    """`tenant_files` of tenant `acme` on the web chat, whose flow says "hi"."""
    return tenant_files(folder, HELLO_TENANT, HELLO_FLOW)


def _spawn(
    command: Sequence[str], env: Mapping[str, str] | None, cwd: Path
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        list(command),
        env=isolated_env(**(env or {})),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _kill_group(process: subprocess.Popen[str]) -> None:
    # The group outlives its leader while anything the leader started still runs.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def run_to_exit(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run `command` in `cwd` with `env` until it exits: its status, stdout and stderr.

    Raises:
        AssertionError: still running after `timeout_s` (killed; with what it printed).
    """
    process = _spawn(command, env, cwd)
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        stdout, stderr = process.communicate()
        raise AssertionError(
            f"still running after {timeout_s}s: {command}\n{stdout}{stderr}"
        ) from None
    finally:
        _kill_group(process)
    return subprocess.CompletedProcess(list(command), process.returncode, stdout, stderr)


class RunningProcess:
    """A process `started` gave: its output read as it comes, by one thread a stream."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._out: list[str] = []
        self._err: list[str] = []
        self._readers = [
            threading.Thread(target=_read, args=(stream, lines), daemon=True)
            for stream, lines in ((process.stdout, self._out), (process.stderr, self._err))
        ]
        for reader in self._readers:
            reader.start()

    def output(self) -> str:
        """Everything it printed so far, stdout then stderr."""
        return "".join(self._out) + "".join(self._err)

    def wait_for_line(self, needle: str, timeout_s: float = 30.0) -> str:
        """The first line, on stdout or stderr, holding `needle`.

        Raises:
            AssertionError: the process exited or `timeout_s` passed first (with its output).
        """
        deadline = time.monotonic() + timeout_s
        while True:
            exited = self.process.poll() is not None
            if exited:
                self._join_readers()
            for line in [*self._out, *self._err]:
                if needle in line:
                    return line.rstrip("\n")
            if exited:
                raise AssertionError(f"exited before printing {needle!r}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not printed in {timeout_s}s:\n{self.output()}")
            time.sleep(0.05)

    def wait_until_answering(self, url: str, timeout_s: float = 30.0) -> None:
        """Until `GET url` answers 200.

        Raises:
            AssertionError: the process exited or `timeout_s` passed first (with its output).
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._join_readers()
                raise AssertionError(f"exited with {self.process.returncode}:\n{self.output()}")
            with suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{url} did not answer in {timeout_s}s:\n{self.output()}")

    def stop(self, timeout_s: float = 30.0) -> subprocess.CompletedProcess[str]:
        """SIGTERM, as an orchestrator stops it; once it exited, its status and output."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout_s)
        _kill_group(self.process)  # what it left running would hold its output open
        self._join_readers()
        return subprocess.CompletedProcess(
            self.process.args, self.process.returncode, "".join(self._out), "".join(self._err)
        )

    def kill(self) -> None:
        """SIGKILL to its whole group (a no-op once all of it exited)."""
        _kill_group(self.process)
        self.process.wait(timeout=10)
        self._join_readers()

    def _join_readers(self) -> None:
        for reader in self._readers:
            reader.join(timeout=10)


def _read(stream: IO[str] | None, lines: list[str]) -> None:
    assert stream is not None
    with stream:
        for line in stream:
            lines.append(line)


@contextmanager
def started(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None
) -> Iterator[RunningProcess]:
    """`command` running in `cwd` with `env` while the block runs; its group killed after."""
    running = RunningProcess(_spawn(command, env, cwd))
    try:
        yield running
    finally:
        running.kill()


def process_gone(pid: int, timeout_s: float = 10.0) -> bool:
    """Whether `pid` ended (exited, or a zombie left for init to reap) within `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False
