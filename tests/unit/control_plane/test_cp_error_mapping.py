"""Database errors map to clear statuses: data exceptions 422, connection failures and missing
tables 503 (each with its own message)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

from botfleet.control_plane.api.errors import _is_data_exception
from botfleet.control_plane.db.engine import is_connection_error, is_missing_schema


class _DriverError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def test_sqlstate_class_22_is_a_data_exception() -> None:
    nul = DBAPIError("INSERT ...", {}, _DriverError("22021"))
    too_long = DBAPIError("INSERT ...", {}, _DriverError("22001"))
    syntax = DBAPIError("SELECT ...", {}, _DriverError("42601"))
    assert _is_data_exception(nul)
    assert _is_data_exception(too_long)
    assert not _is_data_exception(syntax)


def test_connection_failures_are_recognised() -> None:
    assert is_connection_error(ConnectionRefusedError())
    assert is_connection_error(TimeoutError())
    assert is_connection_error(OperationalError("connect", {}, Exception("refused")))
    assert not is_connection_error(ValueError("bad input"))
    assert not is_connection_error(DBAPIError("SELECT", {}, _DriverError("42601")))


def test_missing_tables_are_not_connection_failures() -> None:
    sqlite_table = OperationalError("SELECT", {}, Exception("no such table: tenants"))
    sqlite_column = OperationalError("SELECT", {}, Exception("no such column: tenants.llm"))
    postgres = DBAPIError("SELECT", {}, _DriverError("42P01"))
    for exc in (sqlite_table, sqlite_column, postgres):
        assert is_missing_schema(exc)
        assert not is_connection_error(exc)
    unopenable = OperationalError("connect", {}, Exception("unable to open database file"))
    assert is_connection_error(unopenable) and not is_missing_schema(unopenable)
    assert not is_missing_schema(DBAPIError("SELECT", {}, _DriverError("42601")))


def test_a_server_starting_or_stopping_is_a_connection_failure() -> None:
    """SQLAlchemy hands these over as a plain DBAPIError: they were answered 500, and a start
    beside a PostgreSQL still starting exited with a traceback instead of retrying."""
    import asyncpg

    for state in ("57P03", "57P01", "57P02", "53300", "08006"):
        assert is_connection_error(DBAPIError("connect", {}, _DriverError(state))), state
    closed = _DriverError("55000")
    closed.args = ('database "shop" is not currently accepting connections',)
    assert is_connection_error(DBAPIError("connect", {}, closed))
    assert not is_connection_error(DBAPIError("UPDATE", {}, _DriverError("55000")))
    assert is_connection_error(asyncpg.exceptions.CannotConnectNowError("starting up"))
