"""The demo flow's calendar calls, one by one: CPU per call on the in-memory calendar, bare and
through the resilience wrapper, against the code of an earlier commit measured in the same run.

    uv run python -m bench.calendar_ops [--seconds 2] [--baseline REV] [--bookings 0 50 100]

Each cycle is what one contact of `bench/webchat_wrk.py` makes the calendar do: available days
(14 ahead), the slots of one of them, a booking, "my appointments", a cancellation; the service
(haircut 30/30 min, colour 60/90, beard trim 30/30) turns with the cycle. Other contacts hold
0, 50 or 100 of the 156 slots of the next two weeks; ten contacts take turns, and each cancels the
booking of its previous cycle rather than the one just made, so the calendar never returns to
an earlier state between reads (as under load, where other contacts' writes come in between).
The clock moves 1 ms per reading (a frozen one would flatter anything that caches).

Targets measured: `CalendarService.call` (what the connector itself costs) and
`ResilientConnector.call` around it (timeout, retries, breaker, log line, metrics), as the
data plane builds it, with logging configured as the data plane's (JSON, warning level).

Baseline: the same cycles, in a subprocess, on the source tree of `--baseline` (default: the
commit before the 2026-12-03 second calendar session), extracted with `git archive`. Both runs
fingerprint the replies of every call; the check "same replies as the baseline" compares them.
Without git (or with `--baseline ''`) only the current figures are reported. CPU time of the
measuring thread around each call, so a busy machine does not change the figures much.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import random
import subprocess
import sys
import tarfile
import tempfile
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from time import thread_time
from typing import Any

from bench._baseline import python_argv
from bench._proc import DEMO_TENANT, REPO_ROOT, machine_check
from bench._report import EXIT_CANNOT_RUN, Check, emit

#: The code before the 2026-12-03 second calendar session (caches, resilience fast path).
BASELINE_REV = "41b170b974e6b535d22be3036ceb6e857fa9808b"
#: Monday 09:00 in Madrid, as in the other benchmarks.
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
BOOKINGS = (0, 50, 100)
OPERATIONS = (
    "get_available_days",
    "get_slots_for_day",
    "book_appointment",
    "get_future_appointments",
    "cancel_event",
)
#: (service key, duration, presence) of the demo flow's services.
SERVICES = (("haircut", 30, 30), ("colour", 60, 90), ("beard", 30, 30))
TARGETS = ("bare", "resilient")
#: Contacts taking turns; each keeps one booking from its previous cycle.
CONTACTS = 10
WORKER_PREFIX = "CALENDAR_OPS "


class TickingClock:
    """A clock that moves 1 ms each time it is read (deterministic, so both runs agree)."""

    def __init__(self, start: datetime) -> None:
        self.start, self.reads = start, 0

    def now(self) -> datetime:
        self.reads += 1
        return self.start + timedelta(milliseconds=self.reads)


def _targets() -> dict[str, Any]:
    """The demo tenant's calendar, bare and wrapped as the data plane's registry wraps it."""
    from prometheus_client import CollectorRegistry

    from botfleet.adapters.registry import build_connectors
    from botfleet.data_plane.resilience import (
        ConnectorMetrics,
        ResiliencePolicy,
        ResilientConnector,
    )
    from botfleet.domain.tenant_config import load_tenant_config

    config = load_tenant_config(DEMO_TENANT)
    service = build_connectors(config, clock=TickingClock(NOW))["calendar"]
    resilient = ResilientConnector(
        service,
        ResiliencePolicy(timeout_s=10.0),
        name="calendar",
        metrics=ConnectorMetrics(CollectorRegistry()),
    )
    return {"bare": service, "resilient": resilient}


async def _book_others(service: Any, count: int) -> int:
    """Book `count` slots spread over the next two weeks (a few first slots of each day)."""
    booked, day = 0, NOW.date()
    while booked < count and day < NOW.date() + timedelta(days=14):
        free = await service.call(
            "get_slots_for_day", {"date_str": day.isoformat()}, idempotency_key=""
        )
        for item in free[: max(1, count // 10)]:
            booking = {"slot": item["id"], "contact_id": f"other{booked}"}
            reply = await service.call("book_appointment", booking, idempotency_key=f"o{booked}")
            booked += bool(reply.get("success"))
            if booked >= count:
                break
        day += timedelta(days=1)
    return booked


class Cycles:
    """Runs demo cycles on one target, adding each call's CPU time to its operation."""

    def __init__(self, target: Any, tag: str) -> None:
        self.target, self.tag = target, tag
        self.spent = dict.fromkeys(OPERATIONS, 0.0)
        self.calls = dict.fromkeys(OPERATIONS, 0)
        self.digest = hashlib.sha256()
        self.count = 0
        # choices as a user's: not periodic (a calendar that comes back to earlier states
        # would flatter a cache), and the same in both runs
        self.choose = random.Random(tag).randrange

    async def _call(self, operation: str, params: dict[str, Any], key: str) -> Any:
        started = thread_time()
        reply = await self.target.call(operation, params, idempotency_key=key)
        self.spent[operation] += thread_time() - started
        self.calls[operation] += 1
        self.digest.update(json.dumps([operation, reply], sort_keys=True).encode())
        return reply

    async def cycle(self) -> None:
        n = self.count
        self.count += 1
        key, contact = f"{self.tag}-{n}", f"{self.tag}-contact{n % CONTACTS}"
        service, duration, presence = SERVICES[n % len(SERVICES)]
        durations = {"service_duration_min": str(duration), "presence_min": str(presence)}
        days = await self._call(
            "get_available_days",
            {"from_date": NOW.date().isoformat(), "lookahead_days": 14, **durations},
            f"{key}-days",
        )
        if not days:  # the calendar is full for this service
            return
        day = days[self.choose(len(days))]["id"].removeprefix("day_")
        slots = await self._call(
            "get_slots_for_day", {"date_str": day, **durations}, f"{key}-slots"
        )
        slot = slots[self.choose(len(slots))]["id"].removeprefix("hour_")
        booking = {
            "slot": slot,
            "contact_id": contact,
            "contact_name": "Ana",
            "service_key": service,
            "duration_min": str(duration),
            "presence_min": str(presence),
        }
        booked = await self._call("book_appointment", booking, f"{key}-book")
        assert booked["success"], booked
        mine = await self._call("get_future_appointments", {"contact_id": contact}, f"{key}-view")
        # the contact's booking from its previous cycle (none on its first): the calendar never
        # returns to an earlier state (as under load, where other contacts' writes come between)
        new = f"cancel_appt_{booked['event_id']}"
        older = [item["id"] for item in mine if item["id"] != new]
        if older:
            cancel = {"event_id": older[0], "contact_id": contact}
            cancelled = await self._call("cancel_event", cancel, f"{key}-cancel")
            assert cancelled["success"], cancelled


async def _measure_target(target: Any, tag: str, seconds: float) -> Cycles:
    warm = Cycles(target, f"{tag}-warm")
    for _ in range(30):
        await warm.cycle()
    cycles = Cycles(target, tag)
    while sum(cycles.spent.values()) < seconds:
        await cycles.cycle()
    return cycles


def measure(
    seconds: float, bookings: tuple[int, ...] = BOOKINGS, *, data_plane_logging: bool = True
) -> dict[str, Any]:
    """Microseconds of CPU per call: {"runs": {bookings: {target: {operation: us}}}}, with a
    fingerprint of the replies per booking count. `data_plane_logging`: configure structlog
    as the data plane does (for the worker process; tests leave the configuration alone)."""
    import botfleet
    from botfleet.observability import configure_logging

    if data_plane_logging:
        configure_logging("warning")
    figures: dict[str, Any] = {"source": str(Path(botfleet.__file__).parent), "runs": {}}
    for count in bookings:
        targets = _targets()
        loop = asyncio.new_event_loop()
        booked = loop.run_until_complete(_book_others(targets["bare"], count))
        gc.collect()
        gc.freeze()  # as the data plane does once booted
        run: dict[str, Any] = {"booked": booked}
        for name in TARGETS:
            cycles = loop.run_until_complete(_measure_target(targets[name], name, seconds))
            run[name] = {op: cycles.spent[op] / cycles.calls[op] * 1e6 for op in OPERATIONS}
            run[f"{name}_cycles"] = cycles.count
        # Fingerprint: a fixed number of cycles on a fresh calendar (the timed runs' counts vary).
        fresh = _targets()["bare"]
        loop.run_until_complete(_book_others(fresh, count))
        check = Cycles(fresh, "check")
        for _ in range(60):
            loop.run_until_complete(check.cycle())
        run["fingerprint"] = check.digest.hexdigest()[:16]
        loop.close()
        gc.unfreeze()
        figures["runs"][str(count)] = run
    return figures


def _baseline_tree(rev: str, into: Path) -> Path | None:
    """`src/` of `rev`, extracted under `into`; None when git or the revision is missing."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", rev, "src"],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"no baseline: cannot read {rev} from git ({exc})")
        return None
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _worker(
    source: Path, seconds: float, bookings: list[int], python: list[str] | None = None
) -> dict[str, Any]:
    """`measure` in a fresh process whose `botfleet` comes from `source`, started by `python`
    (a baseline's, from `bench._baseline.python_argv`; this interpreter by default)."""
    paths = [str(source), str(REPO_ROOT)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    argv = [*(python or [sys.executable]), "-m", "bench.calendar_ops", "--worker"]
    argv += ["--seconds", str(seconds)]
    argv += ["--bookings", *map(str, bookings)]
    done = subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith(WORKER_PREFIX):
            figures: dict[str, Any] = json.loads(line.removeprefix(WORKER_PREFIX))
            if Path(figures["source"]).resolve() != (source / "botfleet").resolve():
                raise RuntimeError(f"the worker imported {figures['source']}, not {source}")
            return figures
    raise RuntimeError(f"worker failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _us(value: float) -> str:
    return f"{value:,.0f} us" if value >= 10 else f"{value:.1f} us"


def report(now: dict[str, Any], before: dict[str, Any] | None) -> list[Check]:
    checks: list[Check] = []
    header = f"{'bookings':>8}  {'operation':<24} {'target':<9} {'before':>9} {'after':>9} ratio"
    print(header)
    for count, run in now["runs"].items():
        old = before["runs"].get(count) if before else None
        for name in TARGETS:
            for op in OPERATIONS:
                after = run[name][op]
                was = old[name][op] if old else None
                ratio = f"{was / after:4.1f}x" if was else ""
                print(
                    f"{run['booked']:>8}  {op:<24} {name:<9} "
                    f"{_us(was) if was else '-':>9} {_us(after):>9} {ratio}"
                )
                value = _us(after) + (f" (was {_us(was)}, {was / after:.1f}x)" if was else "")
                checks.append(Check(f"{op}, {name}, {run['booked']} bookings", value))
            cycle = sum(run[name].values())
            was_cycle = sum(old[name].values()) if old else None
            value = _us(cycle) + (
                f" (was {_us(was_cycle)}, {was_cycle / cycle:.1f}x)" if was_cycle else ""
            )
            print(f"{run['booked']:>8}  {'whole cycle (5 calls)':<24} {name:<9} {value}")
            checks.append(Check(f"cycle of 5 calls, {name}, {run['booked']} bookings", value))
        wrapper = (sum(run["resilient"].values()) - sum(run["bare"].values())) / len(OPERATIONS)
        value = _us(wrapper)
        if old:
            was = (sum(old["resilient"].values()) - sum(old["bare"].values())) / len(OPERATIONS)
            value += (
                f" (was {_us(was)}, {was / wrapper:.1f}x)" if wrapper > 0 else f" (was {_us(was)})"
            )
        print(f"{run['booked']:>8}  resilience wrapper per call: {value}")
        checks.append(Check(f"resilience wrapper per call, {run['booked']} bookings", value))
        if old:
            same = old["fingerprint"] == run["fingerprint"]
            checks.append(
                Check(
                    f"same replies as the baseline, {run['booked']} bookings",
                    f"{run['fingerprint']} / {old['fingerprint']}",
                    "equal",
                    same,
                )
            )
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=2.0, help="CPU seconds per target")
    parser.add_argument("--bookings", type=int, nargs="+", default=list(BOOKINGS))
    parser.add_argument("--baseline", default=BASELINE_REV, help="git revision ('' for none)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        figures = measure(args.seconds, tuple(args.bookings))
        print(WORKER_PREFIX + json.dumps(figures))
        return 0
    load = machine_check()
    try:
        with tempfile.TemporaryDirectory(prefix="calendar-ops-") as tmp:
            tree = _baseline_tree(args.baseline, Path(tmp)) if args.baseline else None
            before = None
            if tree is not None:
                python = python_argv(REPO_ROOT, args.baseline)
                before = _worker(tree, args.seconds, args.bookings, python)
            now = _worker(REPO_ROOT / "src", args.seconds, args.bookings)
    except RuntimeError as exc:
        print(exc)
        return EXIT_CANNOT_RUN
    checks = report(now, before)
    if before is None:
        checks.append(Check("baseline", "none (no git revision to compare with)"))
    return emit("calendar_ops", [*checks, load])


if __name__ == "__main__":
    sys.exit(main())
