"""A/B of the CPU per turn through the runtime, no HTTP: this checkout against an earlier commit.

    uv run python -m bench.turn_ab --base HEAD~1 [--rounds 6]

`webchat_ab` measures through uvicorn and wrk, which share this machine's two cores with the
data plane; its runs of the same code differ by 15% and more in a noisy hour. This one drives
the demo conversation (book, view, cancel) for 32 contacts at once straight into
`ConversationRuntime.handle` on a SQLite file, in a fresh process per run (`bench/_turn_cpu.py`;
the base commit's code, script and demo flow from a temporary worktree), alternating base
and checkout, and prints each run's CPU microseconds per turn and the medians. Engine, store,
group commits, checkpoints and calendar are in it; HTTP is not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench._baseline import base_worktree
from bench._proc import REPO_ROOT
from bench._report import EXIT_CANNOT_RUN


def _run_once(tree: Path | None, contacts: int) -> float:
    """One run of the checkout (None) or of the worktree `tree`: its code, its bench script and
    its demo flow, which an older release may not be able to read in its newer form."""
    env = dict(os.environ)
    if tree is not None:
        src = tree / "src"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    argv = [sys.executable, "-m", "bench._turn_cpu", "--contacts", str(contacts)]
    done = subprocess.run(argv, cwd=tree or REPO_ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"bench._turn_cpu failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="HEAD~1", help="git ref to compare against")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--contacts", type=int, default=32)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.contacts < 1:
        parser.error("--rounds and --contacts must be at least 1")
    results: dict[str, list[float]] = {"base": [], "this": []}
    try:
        with base_worktree(REPO_ROOT, args.base) as tree:
            for _ in range(args.rounds):
                for name, where in (("base", tree), ("this", None)):
                    us = _run_once(where, args.contacts)
                    results[name].append(us)
                    print(f"{name:5s} {us:6.1f} us CPU/turn", flush=True)
    except subprocess.CalledProcessError as exc:
        reason = (exc.stderr or b"").decode(errors="replace").strip() or str(exc)
        print(f"cannot check out {args.base}: {reason}", file=sys.stderr)
        return EXIT_CANNOT_RUN
    lower = sum(t < b for b, t in zip(results["base"], results["this"], strict=True))
    for name, rows in results.items():
        label = args.base if name == "base" else "checkout"
        print(f"{name} ({label}), median of {len(rows)}: {statistics.median(rows):.1f} us CPU/turn")
    print(f"this checkout lower in {lower} of {args.rounds} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
