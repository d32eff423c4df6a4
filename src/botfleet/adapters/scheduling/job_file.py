"""What a scheduler that cannot use its job file at start raises: the file's path and what to do.

SQLite's own words ("file is not a database", "database is locked") do not say which file: a
data plane has two (`state.db`, `state.jobs.db`), and the operator reading a failed start must
know which one to restore or which process to stop.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from botfleet.adapters.scheduling.jobstore import transient_cause
from botfleet.domain.errors import StoreError, StoreUnavailable

#: SQLite result codes of a file that is damaged or not SQLite at all (SQLITE_CORRUPT,
#: SQLITE_NOTADB): trying again will not help, the file has to be replaced.
_DAMAGED_CODES = frozenset({11, 26})
_DAMAGED_HINT = (
    "restore it from a backup, or move it aside to start without its pending reminders "
    "(standing schedules are registered again from the flow); docs/scheduler.md, "
    '"Where the jobs live"'
)


def job_file_error(path: Path | None, exc: BaseException) -> StoreError:
    """`exc`, met while starting the scheduler on `path` (None: in memory), as the port's error.

    `StoreUnavailable` when the same start may succeed later (another process holds the lock,
    a full disk), else `StoreError`; either way the message starts with the file's path.
    """
    where = "the in-memory job store" if path is None else str(path)
    if isinstance(exc, StoreUnavailable):  # already the port's error, from a retried call
        return StoreUnavailable(f"{where}: {exc}", cause=exc.cause)
    transient = transient_cause(exc)
    if transient is not None:
        return StoreUnavailable(
            f"{where}: the scheduler cannot use the job file now: {transient}",
            cause=str(transient),
        )
    message = f"{where}: cannot open the job file: {exc}"
    code = getattr(exc, "sqlite_errorcode", None)
    if (
        isinstance(exc, sqlite3.DatabaseError)
        and isinstance(code, int)
        and code & 0xFF in _DAMAGED_CODES
    ):
        message += f"; {_DAMAGED_HINT}"
    return StoreError(message, cause=str(exc))
