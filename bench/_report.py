"""How a benchmark reports: a table of checks on stdout and one machine-readable line.

Every benchmark ends with `BENCH_RESULT {"bench": ..., "checks": [...]}` on its own line;
`run_all.py` collects those lines into the summary table. Exit codes: 0 every target held,
1 a target was missed, 2 the benchmark could not run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

RESULT_PREFIX = "BENCH_RESULT "
EXIT_OK, EXIT_MISSED, EXIT_CANNOT_RUN = 0, 1, 2


@dataclass(frozen=True)
class Check:
    """One figure, its target and whether it held (`ok=None`: informational, no target)."""

    name: str
    value: str
    target: str = ""
    ok: bool | None = None

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "info"}[self.ok]


#: The data plane's targets against a bare FastAPI endpoint at 32 connections (issues 2 and 9).
MIN_RATIO, MAX_P99_MS = 0.40, 25.0


def _of(rounds: int) -> str:
    return f" (median of {rounds} rounds)" if rounds > 1 else ""


def ratio_check(ratio: float, rounds: int) -> Check:
    """Throughput against the bare endpoint; a median when there were several rounds."""
    target = f">= {MIN_RATIO:.0%}"
    return Check("throughput vs bare" + _of(rounds), f"{ratio:.1%}", target, ratio >= MIN_RATIO)


def p99_check(p99_ms: float, rounds: int) -> Check:
    """The data plane's p99 latency; a median of the rounds' p99s when there were several."""
    target = f"<= {MAX_P99_MS:g} ms"
    return Check("p99 latency" + _of(rounds), f"{p99_ms:.1f} ms", target, p99_ms <= MAX_P99_MS)


def table(checks: Sequence[Check], *, bench: str = "") -> str:
    header: list[str] = ["figure", "value", "target", "result"]
    rows = [[c.name, c.value, c.target or "-", c.verdict] for c in checks]
    if bench:
        header = ["bench", *header]
        rows = [[bench, *r] for r in rows]
    return format_rows(header, rows)


def format_rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces, with a dashed rule under the header."""
    widths = [max(len(x) for x in col) for col in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(x.ljust(w) for x, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def emit(bench: str, checks: Sequence[Check]) -> int:
    """Print the table and the result line; the exit code for `sys.exit`."""
    print()
    print(table(checks))
    print(RESULT_PREFIX + json.dumps({"bench": bench, "checks": [asdict(c) for c in checks]}))
    return EXIT_MISSED if any(c.ok is False for c in checks) else EXIT_OK


def parse_result(output: str) -> tuple[str, list[Check]] | None:
    """The checks a benchmark printed, or None when it printed no result line."""
    for line in reversed(output.splitlines()):
        if line.startswith(RESULT_PREFIX):
            data = json.loads(line[len(RESULT_PREFIX) :])
            return str(data["bench"]), [Check(**c) for c in data["checks"]]
    return None
