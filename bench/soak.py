"""Soak: the demo tenant's data plane under a light, realistic load for a long while.

    uv run python -m bench.soak [--minutes 25] [--rate 8] [--quick] [--workdir /tmp/soak]

A data plane (the demo tenant, a copy of its flow whose reminders fall due `--reminder-delay`
after the booking instead of the day before, and with `conversation_retention: 1d`) serves
contacts who come and go, about `--contacts` at a time, each one running a piece of the demo
conversation with pauses of 1 to 4 s between messages, as people do: booking (then coming back
later to move and/or cancel it, after its reminder fell due or before), asking what they have
booked, greeting, asking the LLM fallback a question, or stopping half-way through a booking
and never coming back. Most have their chat page open: it polls `GET /messages` every 2 s, as
chat.js does, and counts the reminders it reads. Before the load, state.db is seeded with
rows 9 days old (journal, outbox) and conversations 2 days old, so the pruning passes have
something to delete.

Every `--sample-s` seconds a row goes to `<workdir>/samples.csv`: the process's RSS, open file
descriptors, threads, the sizes of state.db(-wal) and state.jobs.db(-wal), p50/p99 of the
window's requests, and the /metrics counters; after the load, sampling goes on idle for
`--cooldown-s` (WAL files cut back, RSS, pruning). The summary gives each figure's slope per
hour over the load (after the first fifth: warm-up) and whether it levels off (the second
half's slope under a third of the first half's, or under a small absolute floor). Targets:
no open file, thread, task, WAL or /metrics series count growing (judged from 10 minutes of
load on), the highest RSS under `MAX_RSS_MB` (RSS itself climbs for about an hour while
bounded caches fill: docs/benchmarks.md, "Soak"), no 5xx or turn error, every aged row
pruned, `state.db-wal` cut back when idle (judged when the idle time allows), no `error` line.

`--launcher FILE` runs `python FILE serve data-plane ...` instead of `python -m
botfleet.cli.main`: a debugging wrapper (e.g. one that writes the asyncio task count, or
tracemalloc snapshots, to `<workdir>/debug.json`, read at each sample when it is there).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench._proc import (
    DEMO_TENANT,
    REPO_ROOT,
    Server,
    free_port,
    machine_check,
    rss_mb,
    start,
)
from bench._report import Check, emit
from bench._soak_load import Contact, Load, drive

FLOW = REPO_ROOT / "flows" / "peluqueria_flow.yaml"
#: The two places the demo flow schedules its reminder (the day before the appointment).
REMINDER_RUN_AT = (
    "run_at: \"{{ (data.selected_date ~ 'T' ~ data.selected_time) | shift_time(days=-1) }}\"",
    "run_at: \"{{ (data.move_date ~ 'T' ~ data.move_time) | shift_time(days=-1) }}\"",
)
FILES = ("state.db", "state.db-wal", "state.jobs.db", "state.jobs.db-wal")
#: /metrics series kept in the samples (counters' `_total`, gauges as they are).
METRICS = (
    "botfleet_messages_in_total",
    "botfleet_messages_out_total",
    "botfleet_turn_errors_total",
    "botfleet_duplicate_messages_total",
    "botfleet_send_errors_total",
    "botfleet_store_unavailable_total",
    "botfleet_refused_backlog_total",
    "botfleet_conversations",
    "botfleet_scheduled_jobs",
    "botfleet_tasks_fired_total",
    "botfleet_tasks_missed_total",
    "botfleet_tasks_failed_total",
    "botfleet_tasks_skipped_total",
)
#: Figures whose trend is judged, and the slope per hour under which one counts as flat.
TRENDS = {
    "rss_mb": 1.0,
    "fds": 2.0,
    "threads": 1.0,
    "tasks": 5.0,
    "state_db_mb": 1.0,
    "state_db_wal_mb": 2.0,
    "state_jobs_db_mb": 0.5,
    "state_jobs_db_wal_mb": 1.0,
    "inbound_p50_ms": 2.0,
    "inbound_p99_ms": 10.0,
    "messages_p99_ms": 10.0,
    "metric_series": 5.0,
}
#: Judged by their trend: what a leak of handles, tasks or label values shows as. RSS is judged
#: by a ceiling instead (its bounded caches fill for about an hour at this load: the state
#: cache, encoded turns, contact hashes, the calendar's remembered replies), state.db by the
#: retention (it holds 8 days of messages), latencies are shown only (the machine is shared).
JUDGED = ("fds", "threads", "tasks", "state_db_wal_mb", "state_jobs_db_wal_mb", "metric_series")
#: Every bounded cache full (docs/benchmarks.md, "Soak"): 40,000 conversations end near 85 MB.
MAX_RSS_MB = 110.0
#: Shorter loads than this show their trends without judging them.
MIN_JUDGED_MINUTES = 10.0
#: `state.db-wal` is judged when the idle time is at least this longer than the reminders'
#: delay: the last ones fall due up to that delay after the load (a write each), and the log is
#: cut back 30-60 s after the last write.
WAL_CUT_WITHIN_S = 65.0


# ---------------------------------------------------------------- the tenant


def write_tenant(workdir: Path, reminder_delay: str) -> Path:
    """The demo tenant with a flow whose reminders fall due `reminder_delay` after the
    booking (or the move), and whose silent conversations are forgotten after a day."""
    text = FLOW.read_text(encoding="utf-8")
    for run_at in REMINDER_RUN_AT:
        assert run_at in text, f"the demo flow no longer has {run_at!r}"
        text = text.replace(run_at, f"delay: {reminder_delay}")
    assert "  session_timeout: 2h\n" in text
    text = text.replace(
        "  session_timeout: 2h\n", "  session_timeout: 2h\n  conversation_retention: 1d\n"
    )
    flow = workdir / "soak_flow.yaml"
    flow.write_text(text, encoding="utf-8")
    tenant = yaml.safe_load(DEMO_TENANT.read_text(encoding="utf-8"))
    tenant["flow_path"] = str(flow)
    tenant["knowledge_path"] = str((DEMO_TENANT.parent / tenant["knowledge_path"]).resolve())
    path = workdir / "soak_tenant.yaml"
    path.write_text(yaml.safe_dump(tenant, sort_keys=False), encoding="utf-8")
    return path


def start_server(
    workdir: Path, tenant: Path, port: int, launcher: Path | None, name: str
) -> Server:
    entry = [str(launcher)] if launcher else ["-m", "botfleet.cli.main"]
    argv = [*entry, "serve", "data-plane", "--port", str(port), "--tenant-config", str(tenant)]
    env = {
        "DP_LOG_LEVEL": "info",  # the production default: pruning passes are info lines
        "DP_LOG_JSON": "true",
        "DP_STATE_DB_PATH": str(workdir / "state.db"),
        "SOAK_DEBUG_FILE": str(workdir / "debug.json"),
    }
    return start(name, argv, port=port, workdir=workdir, env=env)


def age_rows(state_db: Path) -> dict[str, int]:
    """Make the rows written so far old: journal and outbox 9 days (past the 8-day retention),
    conversations 2 days (past the flow's 1d). How many of each were aged."""
    day_us = 86_400 * 10**6
    old = "strftime('%Y-%m-%dT%H:%M:%f+00:00', julianday({}) - {})"
    with sqlite3.connect(state_db) as db:
        aged = {
            "journal": db.execute(
                "UPDATE journal SET received_us = received_us - ?", (9 * day_us,)
            ).rowcount,
            "outbox": db.execute(f"UPDATE outbox SET at = {old.format('at', 9)}").rowcount,
            "conversation": db.execute(
                f"UPDATE conversation SET updated_at = {old.format('updated_at', 2)}"
            ).rowcount,
        }
    return aged


def table_counts(state_db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{state_db}?mode=ro", uri=True) as db:
        return {
            t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("journal", "outbox", "conversation")
        }


# ---------------------------------------------------------------- sampling


def metric_values(text: str) -> tuple[dict[str, float], int]:
    """The kept series of a /metrics text, and how many series it has in all. A labelled one
    (the message counters' `channel`) is summed over its labels."""
    values: dict[str, float] = {}
    series = 0
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        series += 1
        name, _, value = line.rpartition(" ")
        name = name.partition("{")[0]
        if name in METRICS:
            values[name] = values.get(name, 0.0) + float(value)
    return values, series


def pct(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def sample(
    server: Server, workdir: Path, load: Load | None, since: float, phase: str, t0: float
) -> dict[str, Any]:
    import httpx

    pid = server.pid
    status = Path(f"/proc/{pid}/status").read_text()
    threads = next(
        int(line.split()[1]) for line in status.splitlines() if line.startswith("Threads:")
    )
    row: dict[str, Any] = {
        "t_s": round(time.monotonic() - t0, 1),
        "phase": phase,
        "rss_mb": round(rss_mb(pid), 2),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": threads,
    }
    debug = workdir / "debug.json"
    row["tasks"] = json.loads(debug.read_text()).get("tasks", "") if debug.exists() else ""
    for name in FILES:
        path = workdir / name
        key = name.replace(".", "_").replace("-", "_") + "_mb"
        row[key] = round(path.stat().st_size / 2**20, 3) if path.exists() else 0.0
    window = [x for x in (load.latencies if load else ()) if x[1] >= since]
    for kind in ("inbound", "messages"):
        ms = [x[2] for x in window if x[0] == kind]
        row[f"{kind}_n"] = len(ms)
        row[f"{kind}_p50_ms"] = round(pct(ms, 0.5), 2) if ms else ""
        row[f"{kind}_p99_ms"] = round(pct(ms, 0.99), 2) if ms else ""
    text = httpx.get(server.url + "/metrics", timeout=10).text
    values, series = metric_values(text)
    row["metric_series"] = series
    for name in METRICS:
        row[name.removeprefix("botfleet_")] = values.get(name, "")
    return row


# ---------------------------------------------------------------- trends


def slope_per_hour(points: Sequence[tuple[float, float]]) -> float:
    if len(points) < 3:
        return 0.0
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var * 3600


@dataclass
class Trend:
    name: str
    first: float
    last: float
    per_hour: float
    first_half: float
    second_half: float
    floor: float

    @property
    def levels_off(self) -> bool:
        return (
            abs(self.second_half) <= self.floor or abs(self.second_half) <= abs(self.first_half) / 3
        )

    @property
    def flat(self) -> bool:
        return abs(self.per_hour) <= self.floor


def trends(rows: Sequence[dict[str, Any]]) -> list[Trend]:
    load = [r for r in rows if r["phase"] == "load"]
    steady = load[len(load) // 5 :]  # the first fifth: warm-up (caches, the first pages)
    found = []
    for name, floor in TRENDS.items():
        points = [
            (float(r["t_s"]), float(r[name])) for r in steady if r.get(name) not in ("", None)
        ]
        if len(points) < 4:
            continue
        half = len(points) // 2
        found.append(
            Trend(
                name,
                points[0][1],
                points[-1][1],
                slope_per_hour(points),
                slope_per_hour(points[:half]),
                slope_per_hour(points[half:]),
                floor,
            )
        )
    return found


# ---------------------------------------------------------------- the run


def run(args: argparse.Namespace, workdir: Path) -> list[Check]:
    tenant = write_tenant(workdir, f"{args.reminder_delay_s:g}s")
    port = args.port or free_port()
    launcher = Path(args.launcher).resolve() if args.launcher else None

    # Rows that are already old when the soak starts: the pruning passes' work.
    with start_server(workdir, tenant, port, launcher, "prime") as server:
        server.wait_ready("/health")
        prime = Load(port, time.monotonic() + 3600, random.Random(1))

        async def prime_contacts() -> None:
            for n in range(args.old_contacts):
                c = Contact(prime, f"old-{n}", polls=False)
                await c.say(text="hi")
                await c.say(type="button_reply", payload="menu_view")
                await c.close()

        asyncio.run(prime_contacts())
    aged = age_rows(workdir / "state.db")
    print(f"aged rows: {aged}")

    rows: list[dict[str, Any]] = []
    csv_path = workdir / "samples.csv"
    with start_server(workdir, tenant, port, launcher, "data-plane") as server:
        server.wait_ready("/health")
        t0 = time.monotonic()
        load = Load(port, t0 + args.minutes * 60, random.Random(args.seed))

        async def soak() -> None:
            driver = asyncio.create_task(drive(load, args.contacts, args.reminder_delay_s))
            since = time.monotonic()
            phase_end = load.stop_at + args.cooldown_s
            while time.monotonic() < phase_end:
                next_at = since + args.sample_s
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
                phase = "load" if not driver.done() else "idle"
                row = await asyncio.to_thread(sample, server, workdir, load, since, phase, t0)
                since = next_at
                rows.append(row)
                write_csv(csv_path, rows)
                print(
                    f"  {row['t_s']:>7.0f}s {phase:4} rss {row['rss_mb']:6.1f} MB"
                    f"  fds {row['fds']:3}"
                    f"  thr {row['threads']:2}  tasks {row['tasks']!s:>4}"
                    f"  db {row['state_db_mb']:.2f}+{row['state_db_wal_mb']:.2f} MB"
                    f"  jobs {row['state_jobs_db_mb']:.2f}+{row['state_jobs_db_wal_mb']:.2f} MB"
                    f"  in {row['inbound_n']}/{args.sample_s:g}s p50 {row['inbound_p50_ms']} p99"
                    f" {row['inbound_p99_ms']} ms  msgs p99 {row['messages_p99_ms']} ms",
                    flush=True,
                )
            await driver

        asyncio.run(soak())
        counts = table_counts(workdir / "state.db")
    log = (workdir / "data-plane.log").read_text(errors="replace")
    return report(args, load, rows, aged, counts, log, workdir)


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def events(log: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and "event" in entry:
            found.setdefault(str(entry["event"]), []).append(entry)
    return found


def report(
    args: argparse.Namespace,
    load: Load,
    rows: Sequence[dict[str, Any]],
    aged: dict[str, int],
    counts: dict[str, int],
    log: str,
    workdir: Path,
) -> list[Check]:
    minutes = args.minutes
    inbound = sum(1 for x in load.latencies if x[0] == "inbound")
    polls = len(load.latencies) - inbound
    print(
        f"\n{load.contacts} contacts in {minutes:g} min:"
        f" {inbound} messages ({inbound / minutes / 60:.1f}/s),"
        f" {polls} polls ({polls / minutes / 60:.1f}/s); booked {load.booked}, cancelled"
        f" {load.cancelled}, moved {load.moved}, abandoned {load.abandoned}; reminders read by"
        f" pages {load.reminders_seen}; statuses {load.statuses}"
    )
    for surprise in load.surprises[:10]:
        print(f"  surprise: {surprise}")
    found = trends(rows)
    print("\ntrend over the load (after warm-up): first -> last, slope/h (1st half, 2nd half)")
    for t in found:
        verdict = "flat" if t.flat else ("levels off" if t.levels_off else "GROWS")
        print(
            f"  {t.name:22} {t.first:9.2f} -> {t.last:9.2f}  {t.per_hour:+9.2f}/h"
            f"  ({t.first_half:+.2f}, {t.second_half:+.2f})  {verdict}"
        )
    seen = events(log)
    pruned = {
        e: sum(int(x.get("removed", 0)) for x in seen.get(e, ()))
        for e in ("journal_pruned", "outbox_pruned", "conversations_forgotten", "task_runs_pruned")
    }
    errors = sorted({e for e, xs in seen.items() if any(x.get("level") == "error" for x in xs)})
    print(f"pruning: {pruned}; aged before the start {aged}; rows at the end {counts}")
    print(f"error events in the log: {errors or 'none'}")
    last_load = [r for r in rows if r["phase"] == "load"][-1]
    last = rows[-1]
    fired = float(last["tasks_fired_total"] or 0)
    print(
        f"after {args.cooldown_s:g} s idle: rss {last_load['rss_mb']} -> {last['rss_mb']} MB,"
        f" state.db-wal {last_load['state_db_wal_mb']} -> {last['state_db_wal_mb']} MB,"
        f" state.jobs.db-wal {last_load['state_jobs_db_wal_mb']}"
        f" -> {last['state_jobs_db_wal_mb']} MB"
    )
    print(f"samples: {workdir / 'samples.csv'}")
    growing = [t.name for t in found if not t.flat and not t.levels_off and t.name in JUDGED]
    peak_rss = max(float(r["rss_mb"]) for r in rows)
    wal_judged = args.cooldown_s >= args.reminder_delay_s + WAL_CUT_WITHIN_S
    bad = sum(v for s, v in load.statuses.items() if s >= 500)
    return [
        Check(
            "messages, polls",
            f"{inbound:,}, {polls:,} ({(inbound + polls) / minutes / 60:.1f} req/s)",
        ),
        Check("RSS over the load", f"{found_value(found, 'rss_mb')}"),
        Check("highest RSS", f"{peak_rss:.1f} MB", f"<= {MAX_RSS_MB:g} MB", peak_rss <= MAX_RSS_MB),
        # a trend needs a long run: under 10 minutes the figure is shown, not judged
        Check(
            "figures growing without levelling off",
            ", ".join(growing) or "none",
            "none" if minutes >= MIN_JUDGED_MINUTES else "",
            not growing if minutes >= MIN_JUDGED_MINUTES else None,
        ),
        Check(
            "5xx answers, turn errors",
            f"{bad}, {last['turn_errors_total']}",
            "0, 0",
            bad == 0 and not float(last["turn_errors_total"] or 0),
        ),
        Check(
            "reminders fired / read by pages",
            f"{fired:.0f} / {load.reminders_seen}",
            "> 0",
            fired > 0,
        ),
        Check(
            "old rows pruned (journal, outbox)",
            f"{pruned['journal_pruned']}, {pruned['outbox_pruned']}"
            f" of {aged['journal']}, {aged['outbox']}",
            "all",
            pruned["journal_pruned"] >= aged["journal"]
            and pruned["outbox_pruned"] >= aged["outbox"],
        ),
        Check(
            "state.db-wal after the idle time",
            f"{last['state_db_wal_mb']} MB after {args.cooldown_s:g} s",
            "0 MB" if wal_judged else "",
            float(last["state_db_wal_mb"]) == 0.0 if wal_judged else None,
        ),
        Check("error events in the log", ", ".join(errors) or "none", "none", not errors),
    ]


def found_value(found: Sequence[Trend], name: str) -> str:
    t = next((t for t in found if t.name == name), None)
    return "n/a" if t is None else f"{t.first:.1f} -> {t.last:.1f} MB ({t.per_hour:+.1f} MB/h)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=25.0, help="how long the load lasts")
    parser.add_argument("--contacts", type=int, default=16, help="new-contact visits at once")
    parser.add_argument("--sample-s", type=float, default=30.0)
    parser.add_argument("--cooldown-s", type=float, default=240.0, help="idle sampling after")
    parser.add_argument("--reminder-delay-s", type=float, default=90.0)
    parser.add_argument("--old-contacts", type=int, default=50, help="aged before the start")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=0, help="0: a free one")
    parser.add_argument("--workdir", help="kept (default: a temporary folder, removed)")
    parser.add_argument("--launcher", help="a Python file run instead of botfleet.cli.main")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 1 min of load, 5 s samples"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes, args.sample_s, args.cooldown_s = 0.75, 5.0, 45.0
        args.reminder_delay_s, args.old_contacts, args.contacts = 10.0, 10, 8
    machine = machine_check()
    workdir = (
        Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="botfleet-soak-"))
    )
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        checks = run(args, workdir)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return emit("soak", [*checks, machine])


if __name__ == "__main__":
    sys.exit(main())
