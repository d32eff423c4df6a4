"""Structured JSON logs of the control plane, with secrets redacted before rendering.

The control plane's loggers are structlog wrappers around the stdlib logger
``botfleet.control_plane`` with their own processors, so they do not depend on (or change)
the process-wide structlog configuration another component may have set.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, WrappedLogger

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


def _render(logger: WrappedLogger, method: str, event_dict: EventDict) -> str | bytes:
    if _render_json:
        return structlog.processors.JSONRenderer(sort_keys=True)(logger, method, event_dict)
    return structlog.dev.ConsoleRenderer(colors=False)(logger, method, event_dict)


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


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Set the level and renderer; print to stdout unless logging is already set up."""
    global _render_json
    _render_json = json
    logger = logging.getLogger(LOGGER_NAME)
    numeric = logging.getLevelName(level.upper())
    logger.setLevel(numeric if isinstance(numeric, int) else logging.INFO)
    if not logging.getLogger().handlers and not logger.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
