"""Server processes for benchmarks: free ports, start, wait until ready, RSS, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

from bench._report import Check

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_TENANT = REPO_ROOT / "examples" / "tenants" / "demo.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB (VmRSS from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    """A server subprocess on 127.0.0.1:port; `with` stops it (SIGINT, then SIGKILL)."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    started_at: float

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, path: str, timeout_s: float = 30.0) -> float:
        """Poll `path` until it answers 200; seconds since the process was started."""
        deadline = self.started_at + timeout_s
        with httpx.Client(timeout=1.0) as client:
            while time.perf_counter() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited early; log: {self.log_path}")
                try:
                    if client.get(self.url + path).status_code == 200:
                        return time.perf_counter() - self.started_at
                except httpx.TransportError:
                    pass
                time.sleep(0.005)
        raise RuntimeError(f"{self.name} not ready after {timeout_s}s; log: {self.log_path}")

    def lost_its_port(self) -> bool:
        """Whether the process exited because its port was taken (`free_port` closes the
        socket it picked the port with, so another process may bind or connect from it first)."""
        return (
            self.process.poll() is not None
            and "address already in use" in self.log_path.read_text(errors="replace")
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


_compiled = False


def ensure_bytecode() -> None:
    """Compile every module the servers import to .pyc, once per benchmark process.

    Servers are measured as they run in production: the Docker image compiles bytecode at build
    (UV_COMPILE_BYTECODE=1). A shell with PYTHONDONTWRITEBYTECODE=1 would otherwise make every
    start compile from source: seen here as 3x the boot CPU and +2 to +4 MB of idle RSS, for the
    bare baseline too. compileall skips files whose .pyc is current, so later calls cost ~3 s.
    """
    global _compiled
    if _compiled:
        return
    paths = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    paths |= {str(REPO_ROOT / "src"), str(REPO_ROOT / "bench")}
    argv = [sys.executable, "-m", "compileall", "-q", "-j", "0", *sorted(paths)]
    # Some third-party test fixtures are deliberately invalid Python; their errors do not matter.
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    _compiled = True


def start(
    name: str, argv: Sequence[str], *, port: int, workdir: Path, env: Mapping[str, str] = {}
) -> Server:
    """Start `python <argv...>` with its output in `workdir/<name>.log`."""
    ensure_bytecode()
    log_path = workdir / f"{name}.log"
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    full_env.pop("PYTHONDONTWRITEBYTECODE", None)
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, *argv],
            cwd=workdir,  # no stray .env or var/ from the checkout
            env=full_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return Server(name, process, port, log_path, started)


def start_data_plane(
    workdir: Path,
    *,
    port: int | None = None,
    log_level: str = "warning",
    pull_env: Mapping[str, str] | None = None,
) -> Server:
    """The demo tenant's data plane exactly as `botfleet serve data-plane` runs it.

    A fresh SQLite file in `workdir`, JSON logs at `log_level` to `workdir/data-plane.log`.
    With `pull_env` (the `DP_*` variables of bench/_control_plane.py) it pulls its
    configuration from a control plane instead of reading examples/tenants/demo.yaml.
    """
    port = port or free_port()
    argv = ["-m", "botfleet.cli.main", "serve", "data-plane", "--port", str(port)]
    env = {"DP_LOG_LEVEL": log_level, "DP_LOG_JSON": "true"}
    if pull_env is None:
        argv += ["--tenant-config", str(DEMO_TENANT)]
        env["DP_STATE_DB_PATH"] = str(workdir / "state.db")
    else:
        env |= {"DP_DATA_DIR": str(workdir / "data"), **pull_env}
    return start("data-plane", argv, port=port, workdir=workdir, env=env)


def start_tenant_data_plane(name: str, tenant: Path, workdir: Path) -> Server:
    """The data plane of the tenant YAML `tenant` as `botfleet serve data-plane` runs it: a
    fresh SQLite file in `workdir`, JSON logs at warning level to `workdir/<name>.log`."""
    port = free_port()
    argv = ["-m", "botfleet.cli.main", "serve", "data-plane", "--port", str(port)]
    argv += ["--tenant-config", str(tenant)]
    env = {
        "DP_LOG_LEVEL": "warning",
        "DP_LOG_JSON": "true",
        "DP_STATE_DB_PATH": str(workdir / "state.db"),
    }
    return start(name, argv, port=port, workdir=workdir, env=env)


def start_bare(workdir: Path, *, port: int | None = None) -> Server:
    """The bare FastAPI endpoint (bench/bare_app.py) under the same uvicorn call."""
    port = port or free_port()
    argv = ["-m", "bench.bare_app", "--port", str(port)]
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    }
    return start("bare", argv, port=port, workdir=workdir, env=env)


def event_loop_stack() -> str:
    """Which asyncio loop and HTTP parser uvicorn's `auto` picks in this environment."""
    parts = []
    for module, label in (("uvloop", "uvloop"), ("httptools", "httptools")):
        try:
            __import__(module)
            parts.append(label)
        except ImportError:
            parts.append(f"no {label}")
    return ", ".join(parts)


def machine_load() -> tuple[int, float]:
    """(CPU cores, 1-minute load average): figures taken on a busy machine are not comparable."""
    return os.cpu_count() or 1, os.getloadavg()[0]


def machine_check() -> Check:
    """An informational row with the machine's load; prints a warning when it is busy."""
    cores, load = machine_load()
    if load > cores / 2:
        print(
            f"WARNING: load average {load:.2f} on {cores} cores: other processes compete for the"
            " CPU, these figures are not comparable with quiet runs"
        )
    return Check("load average at start", f"{load:.2f} on {cores} cores")
