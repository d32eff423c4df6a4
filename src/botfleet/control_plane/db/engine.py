"""Async engine and session factory for SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from botfleet.adapters.stores.file_modes import create_private_file, make_private, sqlite_files
from botfleet.control_plane.logs import get_logger
from botfleet.control_plane.settings import normalise_database_url

_log = get_logger("db")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite_file(url: str) -> None:
    """Make the database file's folder, and keep the file owner-only: created 0600 (SQLite
    would make it 0644 less the umask, readable by every user of the host under 0022: API key
    hashes, sealed credentials, contacts' ids in the audit), and one restored or made by an
    older release with wider modes tightened, with its -wal and -shm (`database_file_made_private`,
    a warning naming each with the mode it had)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    create_private_file(path)
    tightened = {str(p): mode for p in sqlite_files(path) if (mode := make_private(p)) is not None}
    _warn_if_linked_and_shared(path)
    if tightened:
        _log.warning(
            "database_file_made_private",
            files={name: f"{mode:04o}" for name, mode in tightened.items()},
            detail="the group or others could read the control plane's database; they no "
            "longer can",
        )


def _warn_if_linked_and_shared(path: Path) -> None:
    """A database file reached through a symbolic link is not changed (`make_private` follows
    no link: one planted in a shared folder must not get another file changed), but one the
    group or others can read is said (`database_file_not_private`), with what to run."""
    try:
        if not path.is_symlink():
            return
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return
    if mode & 0o077:
        _log.warning(
            "database_file_not_private",
            file=str(path),
            mode=f"{mode:04o}",
            detail="the database file is a link to a file the group or others can read; it is "
            "left as it is: chmod 600 the file it points to",
        )


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, *, schema: str | None = None) -> AsyncEngine:
    """An async engine for `url` (driver normalised). `schema` sets PostgreSQL's search_path."""
    url = normalise_database_url(url)
    connect_args: dict[str, Any] = {}
    if is_sqlite(url):
        _prepare_sqlite_file(url)
        connect_args["timeout"] = 15  # wait for a concurrent writer instead of failing at once
    else:
        connect_args["timeout"] = 5  # connection timeout, so an outage becomes a quick 503
        if schema:
            connect_args["server_settings"] = {"search_path": schema}
    engine = create_async_engine(url, connect_args=connect_args, pool_pre_ping=not is_sqlite(url))
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
    return engine


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Rows stay readable after commit: services return them to the API layer.
    return async_sessionmaker(engine, expire_on_commit=False)


#: PostgreSQL's SQLSTATEs for a missing table or column (undefined_table, undefined_column).
_MISSING_SCHEMA_SQLSTATES = frozenset({"42P01", "42703"})


def is_missing_schema(exc: BaseException) -> bool:
    """True when `exc` means the tables (or columns) are not there: a database that was never
    migrated, or migrated to an older revision. SQLite reports that as an OperationalError,
    the class it also uses for "cannot open the database", so it must be told apart first."""
    if not isinstance(exc, DBAPIError):
        return False
    if _sqlstate(exc) in _MISSING_SCHEMA_SQLSTATES:
        return True
    message = str(exc.orig)
    return isinstance(exc, OperationalError) and message.startswith(
        ("no such table", "no such column")
    )


def is_connection_error(exc: BaseException) -> bool:
    """True when `exc` means "cannot talk to the database" (as opposed to a bad query or a
    database without the control plane's tables)."""
    if is_missing_schema(exc):
        return False
    if isinstance(exc, OSError | TimeoutError | OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if _server_unavailable(exc):
        return True
    # asyncpg raises its own errors for a server that is starting or going away.
    return type(exc).__module__.startswith("asyncpg") and "Connection" in type(exc).__name__


#: PostgreSQL's SQLSTATEs of a server that answers but takes no work now: shutting down
#: (57P01, 57P02), starting up or in recovery (57P03, "the database system is starting up"),
#: out of connection slots (53300). Class 08 is a connection failure.
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def _server_unavailable(exc: BaseException) -> bool:
    """Whether `exc` (SQLAlchemy's, which hands these over as a plain `DBAPIError`, or the
    driver's own) is PostgreSQL saying it takes no connections now; also a database an operator
    closed (55000 "is not currently accepting connections", `ALLOW_CONNECTIONS false`)."""
    for error in (exc, getattr(exc, "orig", None)):
        state = _state_of(error)
        if state is None:
            continue
        if state in _UNAVAILABLE_SQLSTATES or state.startswith("08"):
            return True
        if state == "55000" and "accepting connections" in str(error):
            return True
    return False


def describe_database(url: str) -> str:
    """The database `url` names, for an operator's message: host, port, database and user,
    never the password."""
    parsed = make_url(normalise_database_url(url))
    if parsed.get_backend_name() == "sqlite":
        return f"the SQLite database {parsed.database or ':memory:'}"
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    user = f" as user {parsed.username!r}" if parsed.username else ""
    # Without one in the URL the driver picks it (PGDATABASE, else the user's name).
    name = repr(parsed.database) if parsed.database else "(PGDATABASE's, or the user's name)"
    return f"the PostgreSQL database {name} at {where}{user}"


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of the driver's error SQLAlchemy wraps in `exc`, or None."""
    return _state_of(getattr(exc, "orig", None))


def _state_of(error: object) -> str | None:
    """The SQLSTATE a driver's error carries (asyncpg's `sqlstate`, psycopg's `pgcode`)."""
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
    return str(state) if state else None


def is_missing_database(exc: BaseException) -> bool:
    """PostgreSQL's invalid_catalog_name: the server answers, the database is not there."""
    return _sqlstate(exc) == "3D000"


def is_login_refused(exc: BaseException) -> bool:
    """PostgreSQL's class 28 (invalid authorization: wrong password, no such role, pg_hba)."""
    return (_sqlstate(exc) or "").startswith("28")


def is_privilege_refused(exc: BaseException) -> bool:
    """PostgreSQL's insufficient_privilege: the role may log in but not do what was asked
    (create tables in a schema, connect to the database, alter another role's table)."""
    return _sqlstate(exc) == "42501"


def is_schema_unusable(exc: BaseException) -> bool:
    """PostgreSQL's invalid_schema_name ("no schema has been selected to create in"): no schema
    of the search_path exists that the role may use."""
    return _sqlstate(exc) == "3F000"


def failure_reason(exc: BaseException, url: str) -> str:
    """A short reason for `exc`, with `url`'s password cut out should a driver quote it."""
    orig = getattr(exc, "orig", None)
    if orig is not None:
        text = str(orig)
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    password = make_url(normalise_database_url(url)).password
    if password:
        text = text.replace(str(password), "***")
    return " ".join(text.split())
