"""Tenant density: how many demo data planes one machine serves with every p99 <= 200 ms.

    uv run python -m bench.density [--steps 10,25,50,100,125,150] [--max 150] [--quick]

Each tenant is a plain `botfleet serve data-plane` subprocess (what the local orchestrator runs)
with its own copy of the demo tenant YAML (own tenant id, port and SQLite file) in a temp dir.
N ramps through the steps; at each step every running tenant gets a light web chat load
(`--rate` requests/s per tenant, each tenant's requests spread over the second, one keep-alive
connection per tenant) for `--duration` seconds, and the step records every tenant's p99 and
the fleet's total RSS and USS. The ramp stops at the first step that fails, when the machine's
available memory drops under `--min-free-mb`, at `--max`, or when `--time-cap` runs out.
Every subprocess is stopped at the end, also on Ctrl-C or an error. Target (issue 9): >= 100
tenants, each at p99 <= 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from bench._fleet import density_tenant, percentile, write_tenant
from bench._http import Connection
from bench._proc import Server, machine_check, rss_mb, start_tenant_data_plane
from bench._report import Check, emit, format_rows

TARGET_TENANTS, MAX_P99_MS = 100, 200.0
TEXTS = ("hi", "menu")


@dataclass(frozen=True)
class Step:
    tenants: int
    requests: int
    errors: int
    worst_p99_ms: float
    median_p99_ms: float
    rss_mb: float
    uss_mb: float
    boot_s: float

    @property
    def ok(self) -> bool:
        return self.errors == 0 and self.worst_p99_ms <= MAX_P99_MS


def parse_steps(text: str, maximum: int) -> list[int]:
    """Increasing tenant counts from "10,25,50", capped at `maximum` (which is always tried)."""
    steps = sorted({int(x) for x in text.split(",") if x.strip()})
    if any(n <= 0 for n in steps):
        raise ValueError("tenant counts must be positive")
    capped = [n for n in steps if n < maximum]
    return [*capped, maximum] if maximum > 0 else capped


def uss_mb(pid: int) -> float:
    """Unique set size in MiB: the memory that freeing this process would give back."""
    total = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1])
    return total / 1024


def available_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_tenant(index: int, workdir: Path) -> Server:
    tenant_dir = workdir / f"t{index:03d}"
    config = write_tenant(density_tenant(index), tenant_dir / "tenant.yaml")
    return start_tenant_data_plane(f"dp{index:03d}", config, tenant_dir)


def stop_all(servers: list[Server]) -> None:
    """SIGINT to every server first, then wait: stopping 100 one by one would take minutes."""
    for s in servers:
        if s.process.poll() is None:
            s.process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 15
    for s in servers:
        try:
            s.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            s.process.kill()
            s.process.wait()


async def tenant_load(
    server: Server, rate: float, duration_s: float, seed: int
) -> tuple[list[float], int]:
    """`rate` requests/s to one tenant at a random phase, over 20 contacts: (latencies, errors)."""
    rng = random.Random(seed)
    latencies: list[float] = []
    errors = 0
    conn = await Connection.open("127.0.0.1", server.port)
    period = 1.0 / rate
    start_at = time.perf_counter() + rng.random() * period
    try:
        for i in range(max(1, int(duration_s * rate))):
            await asyncio.sleep(max(0.0, start_at + i * period - time.perf_counter()))
            body = {
                "contact_id": f"c{seed}-{i % 20}",
                "text": TEXTS[(i // 20) % 2],
                "message_id": f"m{seed}-{i}",
            }
            t0 = time.perf_counter()
            try:
                status, _ = await conn.post_json("/inbound", body)
            except (ConnectionError, asyncio.IncompleteReadError):
                errors += 1
                conn = await Connection.open("127.0.0.1", server.port)
                continue
            if status == 200:
                latencies.append((time.perf_counter() - t0) * 1000)
            else:
                errors += 1
    finally:
        await conn.close()
    return latencies, errors


async def fleet_load(
    servers: list[Server], rate: float, duration_s: float
) -> list[tuple[list[float], int]]:
    return await asyncio.gather(
        *(tenant_load(s, rate, duration_s, i) for i, s in enumerate(servers))
    )


def measure_step(servers: list[Server], rate: float, duration_s: float, boot_s: float) -> Step:
    results = asyncio.run(fleet_load(servers, rate, duration_s))
    p99s = [percentile(lat, 99) if lat else float("inf") for lat, _ in results]
    pids = [s.pid for s in servers]
    return Step(
        tenants=len(servers),
        requests=sum(len(lat) for lat, _ in results),
        errors=sum(e for _, e in results),
        worst_p99_ms=max(p99s),
        median_p99_ms=percentile(p99s, 50),
        rss_mb=sum(rss_mb(p) for p in pids),
        uss_mb=sum(uss_mb(p) for p in pids),
        boot_s=boot_s,
    )


def boot(servers: list[Server], count: int, workdir: Path, batch: int) -> float:
    """Start tenants until `count` run, `batch` booting at a time; wall seconds it took."""
    t0 = time.perf_counter()
    while len(servers) < count:
        new = [
            start_tenant(len(servers) + i, workdir) for i in range(min(batch, count - len(servers)))
        ]
        servers.extend(new)
        for s in new:
            try:
                s.wait_ready("/health", timeout_s=120.0)
            except RuntimeError:
                if not s.lost_its_port():
                    raise
                # Rare: another process took the port between `free_port` and the bind.
                index = servers.index(s)
                print(f"  {s.name}: its port was taken before it bound; starting it again")
                servers[index] = start_tenant(index, workdir)
                servers[index].wait_ready("/health", timeout_s=120.0)
    return time.perf_counter() - t0


def ramp(args: argparse.Namespace, workdir: Path) -> list[Step]:
    steps: list[Step] = []
    servers: list[Server] = []
    cap_at = time.monotonic() + args.time_cap
    try:
        for n in parse_steps(args.steps, args.max):
            if time.monotonic() > cap_at:
                print(f"time cap of {args.time_cap:g}s reached before {n} tenants")
                break
            boot_s = boot(servers, n, workdir, args.batch)
            time.sleep(1.0)  # let the last boots settle
            step = measure_step(servers, args.rate, args.duration, boot_s)
            steps.append(step)
            free = available_mb()
            print(
                f"{n:>4} tenants: {step.requests} requests, {step.errors} errors, worst p99"
                f" {step.worst_p99_ms:.1f} ms, median p99 {step.median_p99_ms:.1f} ms, RSS"
                f" {step.rss_mb:.0f} MB, USS {step.uss_mb:.0f} MB, booted in {boot_s:.1f}s,"
                f" {free:.0f} MB available"
            )
            if not step.ok:
                print(f"stopping: {n} tenants missed p99 <= {MAX_P99_MS:g} ms or had errors")
                break
            if free < args.min_free_mb:
                print(f"stopping: {free:.0f} MB available < {args.min_free_mb} MB")
                break
    finally:
        stop_all(servers)
    return steps


def report(steps: list[Step], ceiling: int = TARGET_TENANTS) -> list[Check]:
    """The table and checks; below the target, a ramp capped at `ceiling` (`--quick`) is
    reported without a verdict: it never tried enough tenants to pass or fail."""
    rows = [
        [
            str(s.tenants),
            str(s.requests),
            str(s.errors),
            f"{s.median_p99_ms:.1f}",
            f"{s.worst_p99_ms:.1f}",
            f"{s.rss_mb:.0f}",
            f"{s.uss_mb:.0f}",
            f"{s.uss_mb / s.tenants:.1f}",
            f"{s.boot_s:.1f}",
            "PASS" if s.ok else "FAIL",
        ]
        for s in steps
    ]
    header = ["tenants", "requests", "errors", "median p99 ms", "worst p99 ms", "RSS MB"]
    header += ["USS MB", "USS/tenant MB", "boot s", "step"]
    print()
    print(format_rows(header, rows))
    best = max((s.tenants for s in steps if s.ok), default=0)
    capped = ceiling < TARGET_TENANTS and all(s.ok for s in steps)
    checks = [
        Check(
            "tenants with every p99 <= 200 ms",
            f"{best} (tried up to {ceiling})" if capped else str(best),
            f">= {TARGET_TENANTS}",
            None if capped else best >= TARGET_TENANTS,
        )
    ]
    if steps:
        last = steps[-1]
        checks += [
            Check(f"worst tenant p99 at {last.tenants}", f"{last.worst_p99_ms:.1f} ms"),
            Check(f"total USS at {last.tenants}", f"{last.uss_mb:.0f} MB"),
            Check(f"total RSS at {last.tenants}", f"{last.rss_mb:.0f} MB"),
        ]
    return checks


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # the `finally` in ramp() stops every tenant


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", default="10,25,50,100,125,150")
    parser.add_argument("--max", type=int, default=150, help="largest tenant count to try")
    parser.add_argument("--rate", type=float, default=1.0, help="requests/s per tenant")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds per step")
    parser.add_argument("--batch", type=int, default=8, help="tenants booting at once")
    parser.add_argument("--time-cap", type=float, default=540.0, help="no new step after this")
    parser.add_argument("--min-free-mb", type=int, default=2048)
    parser.add_argument("--quick", action="store_true", help="5 and 10 tenants, 5 s each")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, SQLite)")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.max, args.duration = "5", 10, 5.0
    signal.signal(signal.SIGTERM, _interrupt)
    machine = machine_check()
    workdir = Path(tempfile.mkdtemp(prefix="botfleet-bench-density-"))
    try:
        steps = ramp(args, workdir)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(workdir, ignore_errors=True)
    return emit("density", [*report(steps, args.max), machine])


if __name__ == "__main__":
    sys.exit(main())
