"""A/B of the web chat data plane: this checkout against an earlier commit, runs alternating.

    uv run python -m bench.webchat_ab --base HEAD~1 [--rounds 3] [--duration 12]

`webchat_wrk` measures one data plane run against a bare endpoint; on a shared machine two
runs of the same code differ by up to 15% (CPU per request 480-580 us seen in one hour), more
than most changes. This runs the data plane alone, the base commit's code (a temporary git
worktree, put first on PYTHONPATH) and this checkout's in turn, `--rounds` times, under the same
wrk load as `webchat_wrk`, and prints each run and the medians. It has no targets: it says
whether a change helps, `webchat_wrk` says where the data plane stands.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench._baseline import BaselineUnavailable, base_worktree, missing_requirements
from bench._proc import REPO_ROOT, start_data_plane
from bench._report import EXIT_CANNOT_RUN
from bench.webchat_wrk import INSTALL_HINT, Load, drive, find_wrk, whole_seconds


def _run_once(wrk: str, load: Load, src: Path | None) -> tuple[float, float, float, float]:
    """(requests/s, p50 ms, p99 ms, CPU us per request) of one data plane run."""
    workdir = Path(tempfile.mkdtemp(prefix="botfleet-ab-"))
    saved = os.environ.get("PYTHONPATH")
    if src is not None:
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), saved]))
    try:
        with start_data_plane(workdir) as dp:
            dp.wait_ready("/health")
            time.sleep(1.0)  # as webchat_wrk: let the boot settle
            run = drive(wrk, dp, load, "ab")
    finally:
        if src is not None:
            if saved is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = saved
        shutil.rmtree(workdir, ignore_errors=True)
    w = run.wrk
    return w["rps"], w["p50_ms"], w["p99_ms"], run.cpu_us_per_request


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="HEAD~1", help="git ref to compare against")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--duration", type=whole_seconds, default=12.0, help="measured seconds per run"
    )
    parser.add_argument("--warmup", type=whole_seconds, default=3.0)
    args = parser.parse_args(argv)
    if args.duration < 1 or args.rounds < 1:
        parser.error("--duration and --rounds must be at least 1")
    try:
        missing = missing_requirements(REPO_ROOT, args.base)
    except BaselineUnavailable as exc:
        print(exc, file=sys.stderr)
        return EXIT_CANNOT_RUN
    if missing:
        # Both data planes must run on the same interpreter and packages, so the missing ones
        # are not layered on the base's server alone: the whole comparison runs with them.
        layered = " ".join(f"--with '{r}'" for r in missing)
        print(
            f"{args.base} needs {', '.join(missing)}, which this environment lacks; run "
            f"`uv run {layered} python -m bench.webchat_ab --base {args.base} ...`",
            file=sys.stderr,
        )
        return EXIT_CANNOT_RUN
    wrk = find_wrk()
    if wrk is None:
        print(INSTALL_HINT, file=sys.stderr)
        return EXIT_CANNOT_RUN
    load = Load(32, 1, args.duration, args.warmup, 500)
    results: dict[str, list[tuple[float, float, float, float]]] = {"base": [], "this": []}
    with base_worktree(REPO_ROOT, args.base) as tree:
        for _ in range(args.rounds):
            for name, src in (("base", tree / "src"), ("this", None)):
                row = _run_once(wrk, load, src)
                results[name].append(row)
                rps, p50, p99, cpu = row
                print(f"{name:5s} {rps:6.0f} req/s  p50 {p50:5.1f} ms  p99 {p99:5.1f} ms  "
                      f"{cpu:4.0f} us CPU/request", flush=True)  # fmt: skip
    for name, rows in results.items():
        print(
            f"{name} ({args.base if name == 'base' else 'checkout'}), medians of {len(rows)}: "
            f"{statistics.median(r[0] for r in rows):.0f} req/s, "
            f"p99 {statistics.median(r[2] for r in rows):.1f} ms, "
            f"{statistics.median(r[3] for r in rows):.0f} us CPU/request"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
