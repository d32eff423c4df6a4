"""Where a server's CPU goes: py-spy samples grouped by component.

`record(pid, seconds)` runs `py-spy record --format raw` against a running server (py-spy comes
from `uv run --with py-spy ...`; it is not a project dependency). `by_component(raw)` gives each
sample to the innermost frame that belongs to a known component, so a `json.dumps` called by the
SQLite store counts as the store and a pydantic call made by the web chat route as the channel.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

#: (component, pattern on "function (file:line)"), tried from the innermost frame outwards.
COMPONENTS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("calendar connector", r"botfleet/adapters/connectors/|botfleet/domain/calendar"),
        ("SQLite store", r"botfleet/adapters/stores/|aiosqlite/|sqlite3/"),
        ("engine (flows/)", r"botfleet/flows/|jinja2/"),
        ("web chat channel", r"botfleet/adapters/channels/"),
        ("LLM fallback", r"botfleet/adapters/llm/|botfleet/data_plane/llm"),
        ("connector resilience", r"botfleet/data_plane/resilience/|tenacity/"),
        ("logging", r"structlog/|logging/|botfleet/data_plane/runtime/contact_log"),
        ("metrics", r"prometheus_client/|botfleet/data_plane/runtime/metrics"),
        ("runtime shell", r"botfleet/data_plane/|botfleet/domain/"),
        (
            "HTTP stack (uvicorn, starlette, fastapi, pydantic)",
            r"uvicorn/|starlette/|fastapi/|pydantic|httptools|h11/|anyio/",
        ),
        ("event loop", r"asyncio/|uvloop/"),
    )
)
OTHER = "other"


def py_spy() -> str | None:
    return shutil.which("py-spy")


def record(pid: int, seconds: float, out: Path, *, rate: int = 250) -> subprocess.Popen[bytes]:
    """Start sampling `pid` for `seconds` (returns at once; `.wait()` on the result)."""
    argv = ["py-spy", "record", "-p", str(pid), "-d", str(max(1, round(seconds))), "-r", str(rate)]
    argv += ["-f", "raw", "-o", str(out), "--nonblocking"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def component_of(frames: list[str]) -> str:
    for frame in reversed(frames):  # innermost first
        for name, pattern in COMPONENTS:
            if pattern.search(frame):
                return name
    return OTHER


def by_component(raw: str) -> Counter[str]:
    """Samples per component from py-spy's raw (collapsed stacks) output."""
    counts: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = stack.split(";")
        name = component_of(frames)
        if any("aiosqlite/core.py" in f and "_connection_worker_thread" in f for f in frames[:6]):
            name = "SQLite store (aiosqlite thread)"
        counts[name] += int(n)
    return counts


def shares(counts: Counter[str]) -> list[tuple[str, float]]:
    total = sum(counts.values()) or 1
    return [(name, n / total) for name, n in counts.most_common()]
