"""Run every benchmark and print one summary table with targets and PASS/FAIL (`make bench`).

    uv run python bench/run_all.py [--quick] [--only NAME ...]

Each benchmark runs in its own process (`python -m bench.<name>`), prints its own figures and ends
with a `BENCH_RESULT` line (bench/_report.py) that this collects. `bench/scheduler_bench.py` is
run too when it exists. Exit code: 0 all targets held, 1 a target was missed, 2 a benchmark could
not run. Figures and the commands are recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script (`python bench/run_all.py`)
    sys.path.insert(0, str(REPO_ROOT))

from bench._report import (  # noqa: E402  (needs the path set above)
    EXIT_CANNOT_RUN,
    EXIT_MISSED,
    EXIT_OK,
    Check,
    format_rows,
    parse_result,
)

#: (module, arguments for a full run, arguments for --quick)
BENCHMARKS: tuple[tuple[str, list[str], list[str]], ...] = (
    ("engine_micro", [], ["--seconds", "1"]),
    ("calendar_slots", [], []),
    ("calendar_ops", [], ["--seconds", "0.3"]),
    ("store_trips", [], []),
    ("provider_http", [], ["--requests", "400"]),
    ("boot_memory", [], ["--boots", "2", "--conversations", "500"]),
    ("webchat_wrk", [], ["--duration", "5", "--warmup", "1", "--rounds", "1"]),
    ("whatsapp_webhook", [], ["--duration", "5", "--warmup", "1", "--rounds", "1"]),
    ("scheduler_bench", [], []),
    ("density", [], ["--quick"]),
    ("validate_time", [], ["--keys", "50", "--templates", "250", "--runs", "1"]),
    ("soak", ["--minutes", "10", "--cooldown-s", "180"], ["--quick"]),
)


def available(module: str) -> bool:
    return (REPO_ROOT / "bench" / f"{module}.py").exists()


def run_one(module: str, args: list[str]) -> tuple[int, list[Check] | None, float]:
    """Run `python -m bench.<module>`, echoing its output; (exit code, its checks, seconds).

    The checks are None when it printed no `BENCH_RESULT` line (it crashed, or it is a benchmark
    that reports by exit code only).
    """
    print(f"\n=== {module} {' '.join(args)}".rstrip(), flush=True)
    paths = [str(REPO_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    code = process.wait()
    parsed = parse_result("".join(lines))
    return code, (parsed[1] if parsed else None), time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="short runs (a smoke check, not figures)"
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks")
    args = parser.parse_args(argv)
    print(f"botfleet benchmarks on {os.cpu_count()} CPU cores, Python {sys.version.split()[0]}")
    rows: list[list[str]] = []
    worst = EXIT_OK
    for module, full, quick in BENCHMARKS:
        if (args.only and module not in args.only) or not available(module):
            continue
        code, checks, seconds = run_one(module, quick if args.quick else full)
        if checks is None or code not in (EXIT_OK, EXIT_MISSED):
            # no result line, or an exit code outside the convention: judge by the exit code
            ok = code == EXIT_OK
            checks = [*(checks or []), Check("ran to the end", f"exit code {code}", "exit 0", ok)]
            worst = worst if ok else EXIT_CANNOT_RUN
        elif code == EXIT_MISSED and worst == EXIT_OK:
            worst = EXIT_MISSED
        rows += [[module, c.name, c.value, c.target or "-", c.verdict] for c in checks]
        print(f"=== {module} took {seconds:.0f}s", flush=True)
    print("\nSummary" + (" (--quick: smoke run, figures not comparable)" if args.quick else ""))
    print(format_rows(["bench", "figure", "value", "target", "result"], rows))
    missed = sum(1 for r in rows if r[4] == "FAIL")
    print(f"\n{missed} target(s) missed" if missed else "\nall targets held")
    return worst


if __name__ == "__main__":
    sys.exit(main())
