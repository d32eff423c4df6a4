"""Web chat throughput: `POST /inbound` of the demo tenant vs a bare FastAPI endpoint, with wrk.

    uv run python -m bench.webchat_wrk [--duration 15] [--connections 32] [--contacts 500]

Both servers run one uvicorn worker (uvloop + httptools when installed) in a subprocess, one after
the other, each driven by `bench/wrk/conversations.lua` (real conversations over 500 contacts:
menu, book, service, day, slot, confirm, view, cancel; payloads and numbered answers) after a
warm-up. The data plane uses a fresh SQLite file in a temp dir and logs JSON at warning level to
a file. Targets (issue 2): throughput >= 40% of bare, p99 <= 25 ms, zero errors, idle RSS <= 60 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import _profile
from bench._proc import (
    Server,
    cpu_seconds,
    event_loop_stack,
    machine_check,
    rss_mb,
    start_bare,
    start_data_plane,
)
from bench._report import EXIT_CANNOT_RUN, Check, emit

LUA_SCRIPT = Path(__file__).resolve().parent / "wrk" / "conversations.lua"
WRK_PREFIX = "WRK_JSON "
MIN_RATIO, MAX_P99_MS, MAX_IDLE_RSS_MB = 0.40, 25.0, 60.0
INSTALL_HINT = (
    "wrk is not installed: run `sudo apt-get install -y wrk` (Debian/Ubuntu package 'wrk')"
)


@dataclass(frozen=True)
class Load:
    connections: int
    threads: int
    duration_s: float
    warmup_s: float
    contacts: int


@dataclass(frozen=True)
class Run:
    """One measured wrk run against one server."""

    wrk: dict[str, Any]
    cpu_share: float  # the server's CPU seconds per wall second during the run (1.0 = one core)

    @property
    def cpu_us_per_request(self) -> float:
        """Server CPU per request: unlike req/s, barely moved by other load on the machine."""
        return self.cpu_share / float(self.wrk["rps"]) * 1e6

    @property
    def errors(self) -> int:
        w = self.wrk
        keys = ("errors_connect", "errors_read", "errors_write", "errors_timeout", "errors_status")
        return sum(int(w[k]) for k in keys) + int(w["non2xx"]) + int(w["unrouted"])


def find_wrk() -> str | None:
    """wrk's path; as root with apt-get, try installing the Debian package first."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    print("wrk not found; installing the Debian package (running as root)...")
    for argv in (["apt-get", "install", "-y", "wrk"], ["apt-get", "update"]):
        subprocess.run(argv, check=False, stdout=subprocess.DEVNULL)
        if argv[1] == "update":
            subprocess.run(["apt-get", "install", "-y", "wrk"], check=False)
        if shutil.which("wrk"):
            break
    return shutil.which("wrk")


def run_wrk(wrk: str, url: str, load: Load, *, seconds: float, tag: str) -> dict[str, Any]:
    argv = [wrk, f"-t{load.threads}", f"-c{load.connections}", f"-d{seconds:g}s", "--timeout", "5s"]
    argv += ["-s", str(LUA_SCRIPT), url, "--", tag, str(load.contacts), "1", str(load.threads)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith(WRK_PREFIX):
            result: dict[str, Any] = json.loads(line[len(WRK_PREFIX) :])
            return result
    raise RuntimeError(f"wrk printed no {WRK_PREFIX.strip()} line:\n{out}")


def drive(wrk: str, server: Server, load: Load, tag: str) -> Run:
    if load.warmup_s > 0:
        run_wrk(wrk, server.url, load, seconds=load.warmup_s, tag=f"{tag}w")
    cpu0, t0 = cpu_seconds(server.pid), time.perf_counter()
    result = run_wrk(wrk, server.url, load, seconds=load.duration_s, tag=tag)
    share = (cpu_seconds(server.pid) - cpu0) / (time.perf_counter() - t0)
    return Run(result, share)


def describe(name: str, run: Run) -> None:
    w = run.wrk
    print(
        f"{name:<11} {w['rps']:>8.0f} req/s  p50 {w['p50_ms']:6.2f} ms  p90 {w['p90_ms']:6.2f} ms"
        f"  p99 {w['p99_ms']:6.2f} ms  max {w['latency_max_ms']:7.2f} ms  errors {run.errors}"
        f"  server CPU {run.cpu_share:.0%} of a core, {run.cpu_us_per_request:.0f} us/request"
    )


def profile(wrk: str, server: Server, load: Load, workdir: Path) -> list[str]:
    """An extra, unmeasured run with py-spy attached: where the data plane's CPU goes."""
    if _profile.py_spy() is None:
        return [
            "--profile needs py-spy: uv run --with py-spy python -m bench.webchat_wrk --profile"
        ]
    raw = workdir / "data-plane.pyspy.txt"
    spy = _profile.record(server.pid, load.duration_s, raw)
    time.sleep(0.5)  # py-spy attaches
    run_wrk(wrk, server.url, load, seconds=load.duration_s, tag="prof")
    spy.wait()
    if not raw.exists():
        return ["py-spy wrote no samples (ptrace not permitted? run as root or ptrace_scope 0)"]
    shares = _profile.shares(_profile.by_component(raw.read_text()))
    lines = [f"where the data plane's CPU goes (py-spy samples, an extra run; {raw.name}):"]
    return lines + [f"  {share:6.1%}  {name}" for name, share in shares]


def measure(wrk: str, load: Load, workdir: Path, *, with_profile: bool = False) -> list[Check]:
    print(f"uvicorn, one worker ({event_loop_stack()}); wrk -t{load.threads} -c{load.connections}")
    print(f"warm-up {load.warmup_s:g}s, measured {load.duration_s:g}s, {load.contacts} contacts")
    with start_bare(workdir) as bare:
        bare.wait_ready("/health")
        bare_run = drive(wrk, bare, load, "bare")
    describe("bare", bare_run)
    with start_data_plane(workdir) as dp:
        boot_s = dp.wait_ready("/health")
        time.sleep(1.0)  # let the boot settle before reading the idle footprint
        idle_rss = rss_mb(dp.pid)
        dp_run = drive(wrk, dp, load, "dp")
        after_rss = rss_mb(dp.pid)
        profile_lines = profile(wrk, dp, load, workdir) if with_profile else []
    describe("data plane", dp_run)
    for line in profile_lines:
        print(line)
    w, ratio = dp_run.wrk, dp_run.wrk["rps"] / bare_run.wrk["rps"]
    cpu_ratio = bare_run.cpu_us_per_request / dp_run.cpu_us_per_request
    print(
        f"ratio {ratio:.1%}; turns with a booking {w['booked']}, cancellations {w['cancelled']},"
        f" error replies {w['error_texts']}, unrecognised replies {w['unmatched']};"
        f" boot {boot_s:.2f}s; RSS idle {idle_rss:.1f} MB, after {after_rss:.1f} MB"
    )
    return [
        Check("bare FastAPI req/s", f"{bare_run.wrk['rps']:.0f}"),
        Check("server CPU per request, bare", f"{bare_run.cpu_us_per_request:.0f} us"),
        Check("server CPU per request, data plane", f"{dp_run.cpu_us_per_request:.0f} us"),
        Check("capacity vs bare by CPU time", f"{cpu_ratio:.1%}"),
        Check("data plane req/s", f"{w['rps']:.0f}"),
        Check("throughput vs bare", f"{ratio:.1%}", f">= {MIN_RATIO:.0%}", ratio >= MIN_RATIO),
        Check("p50 latency", f"{w['p50_ms']:.1f} ms"),
        Check(
            "p99 latency",
            f"{w['p99_ms']:.1f} ms",
            f"<= {MAX_P99_MS:g} ms",
            w["p99_ms"] <= MAX_P99_MS,
        ),
        Check("errors + non-2xx", str(dp_run.errors), "0", dp_run.errors == 0),
        Check("bot error replies", str(w["error_texts"]), "0", w["error_texts"] == 0),
        Check(
            "idle RSS",
            f"{idle_rss:.1f} MB",
            f"<= {MAX_IDLE_RSS_MB:g} MB",
            idle_rss <= MAX_IDLE_RSS_MB,
        ),
        Check("RSS after run", f"{after_rss:.1f} MB"),
        Check("server CPU during run", f"{dp_run.cpu_share:.0%} of a core"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds per server")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per server")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (2 cores: keep 1)")
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SQLite)")
    parser.add_argument(
        "--profile", action="store_true", help="an extra run under py-spy, grouped by component"
    )
    args = parser.parse_args(argv)
    wrk = find_wrk()
    if wrk is None:
        print(INSTALL_HINT, file=sys.stderr)
        return EXIT_CANNOT_RUN
    machine = machine_check()
    load = Load(args.connections, args.threads, args.duration, args.warmup, args.contacts)
    workdir = Path(tempfile.mkdtemp(prefix="botfleet-bench-"))
    try:
        checks = measure(wrk, load, workdir, with_profile=args.profile)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return emit("webchat_wrk", [*checks, machine])


if __name__ == "__main__":
    sys.exit(main())
