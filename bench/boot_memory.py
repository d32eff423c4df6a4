"""Data plane boot-to-ready time and memory: idle and after 10,000 conversations.

    uv run python -m bench.boot_memory [--boots 5] [--conversations 10000]

Boot: wall time from starting `botfleet serve data-plane` (demo tenant, fresh SQLite file) until
`GET /health` answers 200, over several boots; the baseline is the same measurement of the bare
FastAPI app (bench/bare_app.py), so the ratio shows what the data plane adds to a FastAPI process.
Memory: VmRSS of the data plane process once ready and idle, then after 10,000 conversations over
HTTP (32 at a time; each: "menu", "Book appointment", a service, the first day by its number, so
every contact leaves a stored state holding day and slot lists and 2 calendar calls were made).
Boot with a control-plane pull: a control plane (subprocess, SQLite) holds the demo tenant and
its published flow; the data plane starts with CONTROL_PLANE_URL, TENANT_ID and BOOT_TOKEN
instead of the YAML (one warm-up boot first, so the control plane has served a pull).
A WhatsApp tenant and a Telegram tenant (the same flow on those channels; their provider client
and channel modules are what differs) are booted the same way for their boot time and idle RSS.
Targets (issue 9): boot <= 1.5 s (median, every way), idle RSS <= 60 MB per tenant.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._control_plane import running_control_plane
from bench._fleet import telegram_tenant, whatsapp_tenant, write_tenant
from bench._http import Connection
from bench._proc import (
    Server,
    cpu_seconds,
    machine_check,
    rss_mb,
    start_bare,
    start_data_plane,
    start_tenant_data_plane,
)
from bench._report import Check, emit

MAX_BOOT_S, MAX_IDLE_RSS_MB = 1.5, 60.0
SETTLE_S = 1.0
SERVICES = ("service_haircut", "service_colour", "service_beard")


@dataclass
class Boots:
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)  # the server's CPU time until ready
    idle_rss: list[float] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)


def measure_boots(starter: Callable[[Path], Server], count: int, workdir: Path) -> Boots:
    boots = Boots()
    for i in range(count):
        run_dir = workdir / f"boot-{i}"
        run_dir.mkdir(parents=True)
        with starter(run_dir) as server:
            boots.seconds.append(server.wait_ready("/health"))
            boots.cpu_seconds.append(cpu_seconds(server.pid))
            time.sleep(SETTLE_S)
            boots.idle_rss.append(rss_mb(server.pid))
    return boots


@dataclass
class Traffic:
    conversations: int = 0
    requests: int = 0
    failures: list[str] = field(default_factory=list)


async def conversation(conn: Connection, traffic: Traffic, n: int) -> None:
    """One contact: "menu" (a global transition, so an LLM fallback cannot answer it instead),
    book, a service (days from the calendar), day 1 by its number (its slots)."""
    contact = f"mem-{n}"
    steps = [
        ({"contact_id": contact, "text": "menu"}, b'"menu_book"'),
        ({"contact_id": contact, "type": "button_reply", "payload": "menu_book"}, b'"service_'),
        ({"contact_id": contact, "type": "list_reply", "payload": SERVICES[n % 3]}, b'"day_'),
        ({"contact_id": contact, "text": "1"}, b'"hour_'),
    ]
    for body, expect in steps:
        traffic.requests += 1
        status, reply = await conn.post_json("/inbound", body)
        if status != 200 or expect not in reply:
            traffic.failures.append(f"{body} -> {status} {reply[:200]!r}")
    traffic.conversations += 1


async def drive(
    port: int, total: int, concurrency: int, on_progress: Callable[[int], None]
) -> Traffic:
    """`total` conversations, `concurrency` at a time, each worker on its own connection."""
    traffic = Traffic()
    numbers = iter(range(total))

    async def worker() -> None:
        conn = await Connection.open("127.0.0.1", port)
        try:
            for n in numbers:
                await conversation(conn, traffic, n)
                if (n + 1) % 2000 == 0:
                    on_progress(n + 1)
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return traffic


def measure_pull_boots(count: int, workdir: Path) -> Boots:
    """Boots that pull the demo tenant from a control plane (running, warmed up, same machine)."""
    with running_control_plane(workdir / "cp") as pull_env:
        measure_boots(lambda d: start_data_plane(d, pull_env=pull_env), 1, workdir / "warm-up")
        return measure_boots(lambda d: start_data_plane(d, pull_env=pull_env), count, workdir)


#: The provider-channel tenants booted besides the web chat demo: name -> its configuration
#: (the provider's base URL points nowhere: an idle tenant makes no call).
PROVIDER_TENANTS: dict[str, Callable[[str], dict[str, Any]]] = {
    "WhatsApp": whatsapp_tenant,
    "Telegram": telegram_tenant,
}


def start_provider_data_plane(name: str) -> Callable[[Path], Server]:
    """A start for `name`'s tenant, its data plane as `botfleet serve data-plane` runs it."""

    def start_it(workdir: Path) -> Server:
        config = PROVIDER_TENANTS[name]("http://127.0.0.1:9")
        tenant = write_tenant(config, workdir / f"{name.lower()}.yaml")
        return start_tenant_data_plane("data-plane", tenant, workdir)

    return start_it


def provider_checks(name: str, boots: Boots) -> list[Check]:
    print(f"{name} tenant: boot (s) {_fmt(boots.seconds)}")
    print(f"  idle RSS (MB) {_fmt(boots.idle_rss)}")
    boot, idle = boots.median_s, statistics.median(boots.idle_rss)
    return [
        Check(
            f"boot to ready, {name} tenant (median)",
            f"{boot:.2f} s",
            f"<= {MAX_BOOT_S:g} s",
            boot <= MAX_BOOT_S,
        ),
        Check(
            f"idle RSS, {name} tenant (median)",
            f"{idle:.1f} MB",
            f"<= {MAX_IDLE_RSS_MB:g} MB",
            idle <= MAX_IDLE_RSS_MB,
        ),
    ]


def boot_checks(dp: Boots, pulled: Boots | None, bare: Boots) -> list[Check]:
    print(f"boot to ready over {len(dp.seconds)} boots (s):")
    print(f"  data plane (local YAML) {_fmt(dp.seconds)}; bare {_fmt(bare.seconds)}")
    if pulled:
        print(f"  data plane (control-plane pull) {_fmt(pulled.seconds)}")
    print("CPU time until ready (s):")
    print(f"  data plane {_fmt(dp.cpu_seconds)}; bare {_fmt(bare.cpu_seconds)}")
    print(f"idle RSS (MB): data plane {_fmt(dp.idle_rss)}; bare {_fmt(bare.idle_rss)}")
    bare_rss = statistics.median(bare.idle_rss)
    checks = [
        Check(
            "boot to ready (median)",
            f"{dp.median_s:.2f} s",
            f"<= {MAX_BOOT_S:g} s",
            dp.median_s <= MAX_BOOT_S,
        ),
        Check("boot to ready (slowest)", f"{max(dp.seconds):.2f} s"),
        Check("boot CPU time (median)", f"{statistics.median(dp.cpu_seconds):.2f} s"),
        Check(
            "boot vs bare FastAPI", f"{dp.median_s / bare.median_s:.1f}x ({bare.median_s:.2f} s)"
        ),
    ]
    if pulled:
        ok = pulled.median_s <= MAX_BOOT_S
        checks.append(
            Check(
                "boot with control-plane pull (median)",
                f"{pulled.median_s:.2f} s",
                f"<= {MAX_BOOT_S:g} s",
                ok,
            )
        )
    idle = statistics.median(dp.idle_rss)
    checks += [
        Check(
            "idle RSS (median)",
            f"{idle:.1f} MB",
            f"<= {MAX_IDLE_RSS_MB:g} MB",
            idle <= MAX_IDLE_RSS_MB,
        ),
        Check("idle RSS vs bare FastAPI", f"{idle / bare_rss:.2f}x ({bare_rss:.1f} MB)"),
    ]
    return checks


def measure(
    boots: int, conversations: int, concurrency: int, workdir: Path, *, pull: bool = True
) -> list[Check]:
    bare = measure_boots(lambda d: start_bare(d), boots, workdir / "bare")
    dp = measure_boots(lambda d: start_data_plane(d), boots, workdir / "dp")
    pulled = measure_pull_boots(boots, workdir / "pulled") if pull else None
    checks = boot_checks(dp, pulled, bare)
    for name in PROVIDER_TENANTS:
        provider = measure_boots(start_provider_data_plane(name), boots, workdir / name.lower())
        checks += provider_checks(name, provider)

    return checks + measure_traffic(conversations, concurrency, workdir / "traffic")


def measure_traffic(conversations: int, concurrency: int, run_dir: Path) -> list[Check]:
    """RSS of one data plane before and after `conversations` conversations over HTTP."""
    run_dir.mkdir()
    with start_data_plane(run_dir) as server:
        server.wait_ready("/health")
        time.sleep(SETTLE_S)
        idle = rss_mb(server.pid)
        started = time.perf_counter()

        def progress(done: int) -> None:
            seconds = time.perf_counter() - started
            print(f"  {done:>6} conversations  RSS {rss_mb(server.pid):6.1f} MB  {seconds:5.1f}s")

        traffic = asyncio.run(drive(server.port, conversations, concurrency, progress))
        elapsed = time.perf_counter() - started
        after = rss_mb(server.pid)
        db_mb = sum(p.stat().st_size for p in run_dir.glob("state.db*")) / 2**20
    growth = (after - idle) / max(conversations, 1) * 1000
    rate = traffic.requests / elapsed
    print(f"{traffic.conversations} conversations, {traffic.requests} requests in {elapsed:.1f}s")
    print(f"  ({rate:.0f} req/s); RSS {idle:.1f} MB -> {after:.1f} MB; SQLite files {db_mb:.1f} MB")
    for failure in traffic.failures[:5]:
        print(f"  unexpected reply: {failure}")
    return [
        Check(f"RSS after {conversations:,} conversations", f"{after:.1f} MB (from {idle:.1f})"),
        Check("RSS growth per 1,000 conversations", f"{growth:.2f} MB"),
        Check("unexpected replies", str(len(traffic.failures)), "0", not traffic.failures),
    ]


def _fmt(values: list[float]) -> str:
    return (
        "median "
        + f"{statistics.median(values):.2f}"
        + " ["
        + ", ".join(f"{v:.2f}" for v in values)
        + "]"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--boots", type=int, default=5)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--no-control-plane", action="store_true", help="skip the boots that pull from a CP"
    )
    args = parser.parse_args(argv)
    machine = machine_check()
    workdir = Path(tempfile.mkdtemp(prefix="botfleet-bench-"))
    try:
        checks = measure(
            args.boots,
            args.conversations,
            args.concurrency,
            workdir,
            pull=not args.no_control_plane,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return emit("boot_memory", [*checks, machine])


if __name__ == "__main__":
    sys.exit(main())
