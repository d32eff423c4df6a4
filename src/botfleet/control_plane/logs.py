"""Structured JSON logs of the control plane, with secrets redacted before rendering.

The control plane's loggers are structlog wrappers around the stdlib logger
``botfleet.control_plane`` with their own processors, so they do not depend on (or change)
the process-wide structlog configuration another component may have set. Each line is rendered
here and handed to the stdlib logger as its message, marked as rendered, so the root handler
of a control-plane process (`configure_logging(..., libraries=True)`) writes it as it is.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

from botfleet.observability import RENDERED_LINE, install_library_handler, level_number

LOGGER_NAME = "botfleet.control_plane"
REDACTED = "[redacted]"

# Keys whose values are secrets wherever they appear in an event.
_SECRET_KEY = re.compile(
    r"(^|_)(secret|secrets|token|password|passwd|api_?key|authorization|private_key|"
    r"credential|credentials|fernet_keys?|ciphertext|boot_token|access_token|app_secret)($|_)",
    re.IGNORECASE,
)
_render_json = True


def _redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if _SECRET_KEY.search(str(key)) else _redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: replace the value of every secret-named key, at any depth."""
    redacted: EventDict = _redact(dict(event_dict))
    return redacted


def _render(
    logger: WrappedLogger, method: str, event_dict: EventDict
) -> tuple[tuple[str | bytes], dict[str, Any]]:
    if _render_json:
        line = structlog.processors.JSONRenderer(sort_keys=True)(logger, method, event_dict)
    else:
        line = structlog.dev.ConsoleRenderer(colors=False)(logger, method, event_dict)
    # The stdlib call's arguments: the line, marked as rendered (see RENDERED_LINE).
    return (line,), {"extra": {RENDERED_LINE: True}}


class _OwnHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` gives ``botfleet.control_plane`` when nothing else
    writes its lines."""


def get_logger(component: str) -> structlog.stdlib.BoundLogger:
    """A logger for one control-plane component (``api``, ``boot``, ...)."""
    logger: structlog.stdlib.BoundLogger = structlog.wrap_logger(
        logging.getLogger(f"{LOGGER_NAME}.{component}"),
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            _render,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
        component=component,
    )
    return logger


def configure_logging(level: str = "INFO", *, json: bool = True, libraries: bool = False) -> None:
    """Set the level and renderer; print to stdout unless logging is already set up.

    With `libraries` (the process is a control-plane server: `botfleet serve control-plane`,
    `create_app_from_env`), every stdlib record of the process goes through one root handler
    to stdout (`botfleet.observability.install_library_handler`): uvicorn's, SQLAlchemy's,
    Alembic's and httpx's as JSON lines (console text without `json`) with the secrets they
    could quote replaced, the control plane's own as rendered here."""
    global _render_json
    _render_json = json
    logger = logging.getLogger(LOGGER_NAME)
    numeric = level_number(level)
    logger.setLevel(numeric)
    if libraries:
        install_library_handler(numeric, json)
        for own in [h for h in logger.handlers if isinstance(h, _OwnHandler)]:
            logger.removeHandler(own)
    if not logging.getLogger().handlers and not logger.handlers:
        handler = _OwnHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
