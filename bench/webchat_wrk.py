"""Web chat throughput: `POST /inbound` of the demo tenant vs a bare FastAPI endpoint, with wrk.

    uv run python -m bench.webchat_wrk [--rounds 3] [--duration 15] [--connections 32]

Both servers run one uvicorn worker (uvloop + httptools when installed) in a subprocess, one after
the other, each driven by `bench/wrk/conversations.lua` (real conversations over 500 contacts:
menu, book, service, day, slot, confirm, view, cancel; payloads and numbered answers) after a
warm-up. The data plane uses a fresh SQLite file in a temp dir and logs JSON at warning level to
a file. The pair runs `--rounds` times and the figures are the medians: two runs of the same
code differ by 10-15% on a shared machine, more than the p99 target's margin. Targets
(issue 2): throughput >= 40% of bare, p99 <= 25 ms, zero errors, idle RSS <= 60 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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
from bench._report import EXIT_CANNOT_RUN, Check, emit, p99_check, ratio_check

LUA_SCRIPT = Path(__file__).resolve().parent / "wrk" / "conversations.lua"
WRK_PREFIX = "WRK_JSON "
MAX_IDLE_RSS_MB = 60.0
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


def whole_seconds(text: str) -> float:
    """An argparse type: wrk's `-d` takes whole seconds (`-d0.5s` makes it exit with an error)."""
    value = float(text)
    if value < 0 or not value.is_integer():
        raise argparse.ArgumentTypeError(f"wrk runs for whole seconds, got {text!r}")
    return value


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


@dataclass(frozen=True)
class Round:
    """One bare run and the data plane run right after it, on the same machine state."""

    bare: Run
    data_plane: Run
    boot_s: float
    idle_rss_mb: float
    after_rss_mb: float

    @property
    def ratio(self) -> float:
        return float(self.data_plane.wrk["rps"]) / float(self.bare.wrk["rps"])


def summarise(rounds: list[Round]) -> list[Check]:
    """The figures of `rounds` and their verdicts.

    Two runs of the same code differ by 10-15% on a shared machine (docs/benchmarks.md), so
    with several rounds each figure is the median of the rounds (a ratio is taken within its
    round first: the bare run next to it saw the same machine). Memory is the worst round, and
    errors add up: one error in any round fails the target.
    """
    if not rounds:
        raise ValueError("no rounds to summarise")
    med = statistics.median
    dp = [r.data_plane for r in rounds]
    bare = [r.bare for r in rounds]
    ratio = med([r.ratio for r in rounds])
    p99 = med([float(d.wrk["p99_ms"]) for d in dp])
    errors = sum(d.errors for d in dp)
    error_texts = sum(int(d.wrk["error_texts"]) for d in dp)
    idle_rss = max(r.idle_rss_mb for r in rounds)
    bare_cpu = med([b.cpu_us_per_request for b in bare])
    dp_cpu = med([d.cpu_us_per_request for d in dp])
    return [
        Check("bare FastAPI req/s", f"{med([float(b.wrk['rps']) for b in bare]):.0f}"),
        Check("server CPU per request, bare", f"{bare_cpu:.0f} us"),
        Check("server CPU per request, data plane", f"{dp_cpu:.0f} us"),
        Check("capacity vs bare by CPU time", f"{bare_cpu / dp_cpu:.1%}"),
        Check("data plane req/s", f"{med([float(d.wrk['rps']) for d in dp]):.0f}"),
        ratio_check(ratio, len(rounds)),
        Check("p50 latency", f"{med([float(d.wrk['p50_ms']) for d in dp]):.1f} ms"),
        p99_check(p99, len(rounds)),
        Check("errors + non-2xx", str(errors), "0", errors == 0),
        Check("bot error replies", str(error_texts), "0", error_texts == 0),
        Check(
            "idle RSS",
            f"{idle_rss:.1f} MB",
            f"<= {MAX_IDLE_RSS_MB:g} MB",
            idle_rss <= MAX_IDLE_RSS_MB,
        ),
        Check("RSS after run", f"{max(r.after_rss_mb for r in rounds):.1f} MB"),
        Check("server CPU during run", f"{med([d.cpu_share for d in dp]):.0%} of a core"),
    ]


def measure_round(wrk: str, load: Load, workdir: Path, *, with_profile: bool = False) -> Round:
    """A bare run, then the data plane on a fresh SQLite file in `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
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
    found = Round(bare_run, dp_run, boot_s, idle_rss, after_rss)
    w = dp_run.wrk
    print(
        f"ratio {found.ratio:.1%}; turns with a booking {w['booked']}, cancellations"
        f" {w['cancelled']}, error replies {w['error_texts']}, unrecognised replies"
        f" {w['unmatched']}; boot {boot_s:.2f}s; RSS idle {idle_rss:.1f} MB, after"
        f" {after_rss:.1f} MB"
    )
    return found


def measure(
    wrk: str, load: Load, workdir: Path, *, rounds: int = 1, with_profile: bool = False
) -> list[Check]:
    print(f"uvicorn, one worker ({event_loop_stack()}); wrk -t{load.threads} -c{load.connections}")
    print(f"warm-up {load.warmup_s:g}s, measured {load.duration_s:g}s, {load.contacts} contacts")
    found = []
    for index in range(rounds):
        if rounds > 1:
            print(f"round {index + 1} of {rounds}")
        # The profile's extra run only once: py-spy slows the process it samples.
        profile_now = with_profile and index == rounds - 1
        found.append(
            measure_round(wrk, load, workdir / f"round-{index + 1}", with_profile=profile_now)
        )
    return summarise(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=whole_seconds, default=15.0, help="measured seconds per server"
    )
    parser.add_argument(
        "--warmup", type=whole_seconds, default=3.0, help="warm-up seconds per server"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (2 cores: keep 1)")
    parser.add_argument("--contacts", type=int, default=500)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="bare and data plane runs in turn, this many times; figures are the medians",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SQLite)")
    parser.add_argument(
        "--profile", action="store_true", help="an extra run under py-spy, grouped by component"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    if args.duration < 1:
        parser.error(f"--duration must be at least 1 second, got {args.duration:g}")
    wrk = find_wrk()
    if wrk is None:
        print(INSTALL_HINT, file=sys.stderr)
        return EXIT_CANNOT_RUN
    machine = machine_check()
    load = Load(args.connections, args.threads, args.duration, args.warmup, args.contacts)
    workdir = Path(tempfile.mkdtemp(prefix="botfleet-bench-"))
    try:
        checks = measure(wrk, load, workdir, rounds=args.rounds, with_profile=args.profile)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return emit("webchat_wrk", [*checks, machine])


if __name__ == "__main__":
    sys.exit(main())
