"""Exception handlers: the error tree -> HTTP status codes, with messages safe to show."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, SQLAlchemyError

from botfleet.control_plane.db.engine import is_connection_error, is_missing_schema
from botfleet.control_plane.errors import (
    AuthenticationFailed,
    ControlPlaneError,
    DatabaseNotMigrated,
    DatabaseUnavailable,
)
from botfleet.control_plane.logs import get_logger
from botfleet.control_plane.metrics import ControlPlaneMetrics
from botfleet.control_plane.models import PATTERN_RULES
from botfleet.domain.errors import ConfigError, FlowValidationError

_log = get_logger("errors")

#: The answer (409) to a database constraint refusing a write (`IntegrityError`): a concurrent
#: request wrote the row first. Which routes can meet it: `responses.CONCURRENT_CHANGE`.
CONCURRENT_CHANGE = "the change conflicts with a concurrent one; retry the request"


def _json(status: int, detail: str, **extra: object) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers)


async def _control_plane_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ControlPlaneError)
    if isinstance(exc, AuthenticationFailed):
        return _json(401, str(exc))
    return _json(exc.status_code, str(exc))


def _printable(value: object) -> str | int:
    """A `loc` part or message as JSON can carry it (a lone surrogate would make rendering
    fail, and the failure's traceback would print the request)."""
    if isinstance(value, int):
        return value
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def _message(error: Mapping[str, Any]) -> str | int:
    """An error's `msg`; a pattern the API's own models set is said in words (`PATTERN_RULES`):
    pydantic's "String should match pattern '^[a-z0-9](?:...)$'" leaves the caller to read
    the regex."""
    if error.get("type") == "string_pattern_mismatch":
        rule = PATTERN_RULES.get(str((error.get("ctx") or {}).get("pattern", "")))
        if rule is not None:
            return rule
    return _printable(error.get("msg", ""))


async def _request_invalid(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 shape (``{"detail": [{loc, msg, type}]}``) without ``input`` or ``ctx``:
    those repeat the caller's values, and a credentials body is nothing but secrets."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "type": str(error.get("type", "")),
            "loc": [_printable(part) for part in error.get("loc", ())],
            "msg": _message(error),
        }
        for error in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


async def _flow_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FlowValidationError)
    errors = [
        {
            "line": issue.line,
            "path": issue.path,
            "message": issue.message,
            "severity": issue.severity,
            "source": issue.source,
        }
        for issue in exc.issues
    ]
    count = sum(1 for issue in exc.issues if issue.severity == "error")
    return _json(422, f"the flow has {count} error(s)", errors=errors)


async def _config_error(_request: Request, exc: Exception) -> JSONResponse:
    return _json(422, str(exc))


def _is_data_exception(exc: Exception) -> bool:
    """SQLSTATE class 22 (data exception: NUL in text, value out of range...) or DataError."""
    if isinstance(exc, DataError):
        return True
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, DBAPIError) and isinstance(sqlstate, str) and sqlstate.startswith("22")


def _database_error_handler(
    metrics: ControlPlaneMetrics,
) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        # The route's template, not the path: a contact route's path holds a phone number.
        path = getattr(request.scope.get("route"), "path", None) or request.url.path
        if isinstance(exc, IntegrityError):
            return _json(409, CONCURRENT_CHANGE)
        if _is_data_exception(exc):
            return _json(422, "a value was refused by the database (unsupported characters?)")
        if is_missing_schema(exc):
            _log.error("database not migrated", path=path)
            return _json(503, str(DatabaseNotMigrated()))
        if isinstance(exc, DatabaseUnavailable) or is_connection_error(exc):
            metrics.db_unavailable.inc()
            _log.error("database unavailable", path=path, error=type(exc).__name__)
            return _json(503, str(DatabaseUnavailable()))
        _log.error("database error", path=path, error=type(exc).__name__)
        return _json(500, "internal database error")

    return handle


def install_error_handlers(app: FastAPI, metrics: ControlPlaneMetrics) -> None:
    database = _database_error_handler(metrics)
    app.add_exception_handler(DatabaseUnavailable, database)
    app.add_exception_handler(ControlPlaneError, _control_plane_error)
    app.add_exception_handler(RequestValidationError, _request_invalid)
    app.add_exception_handler(FlowValidationError, _flow_invalid)
    app.add_exception_handler(ConfigError, _config_error)
    app.add_exception_handler(SQLAlchemyError, database)
    app.add_exception_handler(OSError, database)
    app.add_exception_handler(TimeoutError, database)
