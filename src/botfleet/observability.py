"""Structured logging setup (structlog, JSON lines in production), and the imports a server
process leaves out (`server_imports`)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import structlog

#: Optional packages that libraries pick up only because they are installed (typer needs rich;
#: SQLAlchemy needs greenlet), which a server process never uses: `rich` (with pygments and
#: attrs, ~4 MB of RSS) gives structlog's console renderer pretty tracebacks and httpx its
#: command-line client, which imports `pygments` before rich (~0.5 MB); `greenlet` (with
#: libstdc++, ~1.5 MB) gives structlog a deprecated greenlet-local context. Each of the others
#: is an optional import its library does without (idle RSS of the demo data plane, MB):
#: `pydantic.v1` (-1.3) only lets FastAPI reject pydantic v1 models, which botfleet does not
#: use (its check returns False when the import fails); `watchfiles` (-0.65) is uvicorn's
#: reloader (the server never reloads; uvicorn falls back to its stat reloader, unused too);
#: `python_multipart` and its old name `multipart` (-0.23) parse form bodies, and no data
#: plane route takes a form; `yaml._yaml` (-0.1) is libyaml behind PyYAML's C loaders, and
#: botfleet reads YAML with the pure-Python `SafeLoader` / `safe_load`.
SERVER_HIDDEN = (
    "rich",
    "pygments",
    "pydantic.v1",
    "watchfiles",
    "python_multipart",
    "multipart",
    "yaml._yaml",
)
SERVER_HIDDEN_DURING_STRUCTLOG_IMPORT = ("greenlet",)


@contextmanager
def hidden_imports(*names: str) -> Iterator[None]:
    """Inside the block, `import name` raises ImportError for each of `names` not imported yet
    (a None entry in sys.modules, as Python documents); afterwards they import normally again.
    Libraries that check for an optional package once, at their own import, keep the answer."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


@contextmanager
def server_imports() -> Iterator[None]:
    """For the life of a server (the data plane): structlog is imported without rich and
    greenlet, and `SERVER_HIDDEN` (rich, pygments, pydantic.v1, ...) stays hidden until the
    block ends, so httpx (imported later by channels that call provider APIs, or by the
    control-plane pull) leaves rich and pygments out too, and FastAPI, uvicorn and PyYAML
    their optional parts. Nothing in a server renders to a terminal; the only loss is rich's
    tracebacks in console logs (plain ones instead). CLI commands that print with rich run
    outside the block."""
    with hidden_imports(*SERVER_HIDDEN):
        with hidden_imports(*SERVER_HIDDEN_DURING_STRUCTLOG_IMPORT):
            import structlog  # noqa: F401  (decides about rich and greenlet now)
        yield


def configure_logging(level: str = "info", *, json: bool = True) -> None:
    """JSON lines to stdout with ISO timestamps; pretty console output when `json=False`."""
    import structlog

    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    logging.basicConfig(format="%(message)s", stream=sys.stdout, level=numeric)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )
