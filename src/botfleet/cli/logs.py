"""Runtime log lines while a command talks to a person: off by default, or to stderr."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog


@contextmanager
def command_logs(level: str | None = None) -> Iterator[None]:
    """Silence the runtime's structlog lines (or show those at `level` and up on stderr) for
    the duration of a command; the previous configuration is restored afterwards."""
    previous = structlog.get_config()
    factory: Any = structlog.ReturnLoggerFactory()  # builds loggers that print nothing
    numeric = logging.CRITICAL
    if level is not None:
        named = logging.getLevelName(level.upper())
        numeric = named if named in (10, 20, 30, 40, 50) else logging.INFO
        factory = structlog.PrintLoggerFactory(sys.stderr)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )
    try:
        yield
    finally:
        structlog.configure(**previous)
