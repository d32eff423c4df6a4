"""Scheduler: 1,000 jobs due in the same minute among 10,000 stored; boot with 100,000 stored.

    uv run python -m bench.scheduler_bench [--quick] [--stored 10000] [--due 1000]
                                           [--boot-jobs 100000] [--boots 3]

Firing (the APScheduler adapter on a SQLite job file, as the data plane runs it): the store holds
`--stored` jobs, `--due` of them due within one minute, the rest tomorrow. Three runs:

* burst: all due jobs at the same instant (the worst case of "the same minute");
* minute: due times spread evenly over 60 s (skipped with --quick);
* runtime: a burst of the demo flow's `reminder` task through the real ConversationRuntime
  (SQLite state, outbox), one contact per job; lateness measured at delivery. Informational:
  it adds the runtime's turn cost to the scheduler's.

Lateness = when the job reached the runner (or the sender) minus its due time. Targets (issue 6):
every due job fires, exactly once; p99 lateness <= 1 s.

Boot: `--boot-jobs` one-off jobs in the demo tenant's job file, then (a) the scheduler alone:
open the file, register the standing schedules, start, until due jobs are looked for; (b) the
whole data plane as `botfleet serve data-plane` runs it, from process start until `/health`
answers, compared with the same boot on an empty job file. Target: < 3 s with 100,000 jobs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._proc import DEMO_TENANT, cpu_seconds, machine_check, start_data_plane
from bench._report import Check, emit
from botfleet.adapters.scheduling import APSchedulerTaskScheduler, jobs_db_beside
from botfleet.domain.outputs import Output
from botfleet.domain.tenant_config import load_tenant_config
from botfleet.flows.effects import ScheduleTask
from botfleet.observability import configure_logging
from botfleet.ports.scheduling import StandingJob

MAX_P99_LATENESS_S = 1.0
MAX_BOOT_S = 3.0
LEAD_S = 3.0  # time between the end of the set-up and the first due job
CHUNK = 10_000


@dataclass
class Firing:
    name: str
    due: dict[int, datetime]
    runs: Counter[int] = field(default_factory=Counter)
    lateness: list[float] = field(default_factory=list)

    def record(self, index: int) -> None:
        self.runs[index] += 1
        if self.runs[index] == 1:
            self.lateness.append((datetime.now(UTC) - self.due[index]).total_seconds())

    @property
    def complete(self) -> bool:
        return len(self.runs) >= len(self.due)

    def checks(self, *, target: bool) -> list[Check]:
        fired = sum(1 for i in self.due if self.runs[i] > 0)
        duplicates = sum(n - 1 for n in self.runs.values() if n > 1)
        late = sorted(self.lateness) or [float("nan")]
        p50 = statistics.median(late)
        p99 = late[max(0, round(0.99 * len(late)) - 1)]
        ok = (lambda good: good) if target else (lambda good: None)
        return [
            Check(
                f"{self.name}: fired",
                f"{fired} of {len(self.due)}",
                "all",
                ok(fired == len(self.due)),
            ),
            Check(f"{self.name}: duplicates", str(duplicates), "0", ok(duplicates == 0)),
            Check(f"{self.name}: lateness p50", f"{p50 * 1000:.0f} ms"),
            Check(
                f"{self.name}: lateness p99",
                f"{p99 * 1000:.0f} ms",
                f"<= {MAX_P99_LATENESS_S * 1000:.0f} ms" if target else "",
                ok(p99 <= MAX_P99_LATENESS_S),
            ),
            Check(f"{self.name}: lateness max", f"{late[-1] * 1000:.0f} ms"),
        ]


def requests(
    count: int, first: datetime, spread_s: float, *, prefix: str, task: str = "bench"
) -> list[ScheduleTask]:
    step = spread_s / count if spread_s else 0.0
    return [
        ScheduleTask(
            task,
            first + timedelta(seconds=i * step),
            f"{prefix}:{i}",
            f"contact-{i}",
            {"i": i, "service": "Haircut", "time": "10:00"},
        )
        for i in range(count)
    ]


async def fill(scheduler: APSchedulerTaskScheduler, jobs: Sequence[ScheduleTask]) -> None:
    for start in range(0, len(jobs), CHUNK):
        await scheduler.schedule_many(jobs[start : start + CHUNK])


async def wait_for(firing: Firing, deadline: datetime) -> None:
    polls = max(1, int((deadline - datetime.now(UTC)).total_seconds() / 0.05))
    for _ in range(polls):
        if firing.complete:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # anything fired twice shows up here


async def fire(name: str, workdir: Path, stored: int, due: int, spread_s: float) -> Firing:
    """The scheduler alone: the runner only records the time."""
    scheduler = APSchedulerTaskScheduler(tenant_id=f"bench-{name}", jobs_db=workdir / f"{name}.db")
    first = datetime.now(UTC) + timedelta(seconds=LEAD_S + stored / 20_000)
    due_jobs = requests(due, first, spread_s, prefix="due")
    firing = Firing(name, {r.data["i"]: r.run_at for r in due_jobs})

    async def runner(contact_id: str | None, task: str, data: dict[str, Any], run_id: str) -> None:
        firing.record(int(data["i"]))

    scheduler.bind(runner)
    await scheduler.start()
    await fill(scheduler, requests(stored - due, first + timedelta(days=1), 0, prefix="later"))
    await fill(scheduler, due_jobs)
    if datetime.now(UTC) > first:
        print(f"WARNING: {name}: set-up ran past the first due time; lateness includes it")
    await wait_for(firing, first + timedelta(seconds=spread_s + 30))
    await scheduler.stop()
    return firing


class TimedSender:
    """Records when each contact's reminder was delivered."""

    def __init__(self, firing: Firing) -> None:
        from botfleet.adapters.channels.webchat import WEBCHAT_CAPABILITIES

        self.capabilities = WEBCHAT_CAPABILITIES
        self.firing = firing

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> None:
        self.firing.record(int(contact_id.removeprefix("contact-")))


async def fire_through_runtime(workdir: Path, stored: int, due: int) -> Firing:
    """The demo tenant's runtime on SQLite: the `reminder` task for `due` contacts at once."""
    from botfleet.data_plane.bootstrap import Overrides, bootstrap
    from botfleet.data_plane.settings import DataPlaneSettings

    first = datetime.now(UTC) + timedelta(seconds=LEAD_S + stored / 20_000)
    due_jobs = requests(due, first, 0, prefix="reminder", task="reminder")
    firing = Firing("runtime", {r.data["i"]: r.run_at for r in due_jobs})
    settings = DataPlaneSettings.model_validate({"state_db_path": workdir / "runtime-state.db"})
    config = load_tenant_config(DEMO_TENANT)
    async with AsyncExitStack() as stack:
        runtime = await bootstrap(settings, config, stack, Overrides(sender=TimedSender(firing)))
        scheduler = runtime.scheduler
        assert isinstance(scheduler, APSchedulerTaskScheduler)
        later = requests(
            stored - due, first + timedelta(days=1), 0, prefix="later", task="reminder"
        )
        await fill(scheduler, later)
        await fill(scheduler, due_jobs)
        await wait_for(firing, first + timedelta(seconds=60))
    return firing


async def boot_scheduler(jobs_db: Path) -> float:
    """Open the job file and start (standing schedules included) until due jobs are looked for."""

    async def runner(*args: Any) -> None:
        return None

    standing = [StandingJob("nightly", "reminder", cron="0 3 * * *", timezone="Europe/Madrid")]
    started = time.perf_counter()
    scheduler = APSchedulerTaskScheduler(tenant_id="demo", jobs_db=jobs_db)
    scheduler.bind(runner)
    await scheduler.start(standing)
    await asyncio.sleep(0)  # APScheduler looks for due jobs on the loop's next turn
    await asyncio.sleep(0)
    seconds = time.perf_counter() - started
    await scheduler.stop()
    return seconds


async def fill_boot_file(jobs_db: Path, count: int) -> float:
    async def runner(*args: Any) -> None:
        return None

    started = time.perf_counter()
    scheduler = APSchedulerTaskScheduler(tenant_id="demo", jobs_db=jobs_db)
    scheduler.bind(runner)
    await scheduler.start()
    first = datetime.now(UTC) + timedelta(days=1)
    await fill(scheduler, requests(count, first, 30 * 86_400, prefix="reminder", task="reminder"))
    await scheduler.stop()
    return time.perf_counter() - started


def boot_process(workdir: Path) -> tuple[float, float]:
    """(wall seconds until `/health` answers, the server's CPU seconds by then)."""
    with start_data_plane(workdir) as server:
        wall = server.wait_ready("/health")
        return wall, cpu_seconds(server.pid)


def boot_processes(full: Path, empty: Path, count: int) -> tuple[list[float], ...]:
    """Alternate boots with and without the jobs, so machine load hits both alike."""
    walls: tuple[list[float], list[float], list[float], list[float]] = ([], [], [], [])
    for _ in range(count):
        for offset, workdir in ((0, full), (2, empty)):
            wall, cpu = boot_process(workdir)
            walls[offset].append(wall)
            walls[offset + 1].append(cpu)
    return walls


async def main_async(args: argparse.Namespace) -> int:
    configure_logging("warning", json=False)
    checks = [machine_check()]
    with tempfile.TemporaryDirectory(prefix="scheduler-bench-") as tmp:
        workdir = Path(tmp)
        runs = [("burst", 0.0)] + ([] if args.quick else [("minute", 60.0)])
        if args.part != "boot":
            checks += await firing_checks(workdir, args, runs)
        if args.part != "firing":
            checks += await boot_checks(workdir, args)
    return emit("scheduler_bench", checks)


async def firing_checks(
    workdir: Path, args: argparse.Namespace, runs: list[tuple[str, float]]
) -> list[Check]:
    checks: list[Check] = []
    for name, spread in runs:
        print(f"firing: {name}: {args.due:,} due among {args.stored:,} stored ...", flush=True)
        firing = await fire(name, workdir, args.stored, args.due, spread)
        checks += firing.checks(target=True)
    print(f"firing: runtime: {args.due:,} reminders through the demo runtime ...", flush=True)
    checks += (await fire_through_runtime(workdir, args.stored, args.due)).checks(target=False)
    return checks


async def boot_checks(workdir: Path, args: argparse.Namespace) -> list[Check]:
    checks: list[Check] = []
    full, empty = workdir / "full", workdir / "empty"
    full.mkdir()
    empty.mkdir()
    jobs_db = jobs_db_beside(full / "state.db")
    print(f"boot: writing {args.boot_jobs:,} jobs ...", flush=True)
    filled = await fill_boot_file(jobs_db, args.boot_jobs)
    checks.append(Check("boot: writing the jobs (bulk)", f"{filled:.1f} s"))
    alone = statistics.median([await boot_scheduler(jobs_db) for _ in range(args.boots)])
    checks.append(
        Check(
            f"boot: scheduler start, {args.boot_jobs:,} jobs",
            f"{alone * 1000:.0f} ms",
            f"< {MAX_BOOT_S:.0f} s",
            alone < MAX_BOOT_S,
        )
    )
    full_wall, full_cpu, empty_wall, empty_cpu = map(
        statistics.median, boot_processes(full, empty, args.boots)
    )
    checks += [
        Check(
            f"boot: data plane to /health, {args.boot_jobs:,} jobs",
            f"{full_wall:.2f} s (CPU {full_cpu:.2f} s)",
            f"< {MAX_BOOT_S:.0f} s",
            full_wall < MAX_BOOT_S,
        ),
        Check(
            "boot: data plane to /health, no jobs",
            f"{empty_wall:.2f} s (CPU {empty_cpu:.2f} s)",
        ),
    ]
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="skip the minute-long run")
    parser.add_argument("--stored", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--boot-jobs", type=int, default=100_000)
    parser.add_argument("--boots", type=int, default=3)
    parser.add_argument("--part", choices=("all", "firing", "boot"), default="all")
    args = parser.parse_args(argv)
    if not 0 < args.due <= args.stored:
        parser.error("need 0 < --due <= --stored")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
