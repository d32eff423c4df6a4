"""Runtime log lines while a command talks to a person: off by default, or to stderr."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import structlog

#: Sees each runtime event (`event`, `level` and its fields); True when it showed the event, which
#: then is not logged again.
Intercept = Callable[[Mapping[str, Any]], bool]


@contextmanager
def command_logs(level: str | None = None, *, intercept: Intercept | None = None) -> Iterator[None]:
    """Silence the runtime's structlog lines (or show those at `level` and up on stderr) for
    the duration of a command; the previous configuration is restored afterwards.

    `intercept` sees every event at info and up, whatever `level` is (`botfleet chat` shows the
    flow's own warnings in the transcript)."""
    previous = structlog.get_config()
    factory: Any = structlog.ReturnLoggerFactory()  # builds loggers that print nothing
    numeric = logging.CRITICAL
    if level is not None:
        named = logging.getLevelName(level.upper())
        numeric = named if named in (10, 20, 30, 40, 50) else logging.INFO
        factory = structlog.PrintLoggerFactory(sys.stderr)
    processors: list[Any] = [structlog.processors.add_log_level]
    if intercept is not None:
        processors.append(_intercepting(intercept, numeric))
    processors.append(structlog.dev.ConsoleRenderer(colors=False))
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(
            numeric if intercept is None else min(numeric, logging.INFO)
        ),
        logger_factory=factory,
        cache_logger_on_first_use=False,
    )
    try:
        yield
    finally:
        structlog.configure(**previous)


_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
}


def _intercepting(intercept: Intercept, shown: int) -> Callable[..., Any]:
    def processor(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
        if intercept(event):
            raise structlog.DropEvent
        # The filter lets info through for `intercept`; below `level` it goes no further.
        if _LEVELS.get(str(event.get("level")), logging.INFO) < shown:
            raise structlog.DropEvent
        return event

    return processor
