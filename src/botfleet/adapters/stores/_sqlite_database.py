"""The connection shared by a tenant's SQLite stores; sqlite errors become `StoreError`.

Statements run on the event loop's thread, straight through the stdlib `sqlite3` module. A
tenant's statements are short (indexed reads and single-row writes of a few kilobytes; WAL with
`synchronous=NORMAL`, so a commit does not wait for the disk), and handing each one to a worker
thread and back, as aiosqlite does, cost five times the statement itself (docs/benchmarks.md).

Waiting for another process's write lock must not block the loop, so SQLite's own busy
handler is off once the file is open (`busy_timeout = 0`): a statement that meets the lock
fails at once with SQLITE_BUSY, and `SqliteDatabase` tries it again after an `asyncio.sleep`
with back-off, until the store's busy timeout has passed (then `StoreUnavailable`). Nothing
awaits in the middle of a statement or a `run` transaction, so no other coroutine's
statement can slip into one.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from botfleet.adapters.stores._sqlite_checkpoint import WalCheckpointer
from botfleet.adapters.stores.file_modes import PRIVATE_FOLDER, create_private_file
from botfleet.domain.errors import StoreError, StoreUnavailable

T = TypeVar("T")

#: SQLite result codes that say "not now" rather than "never": busy or locked by another
#: connection, out of memory, I/O error, disk full, cannot open the file, lock protocol.
_TRANSIENT_CODES = frozenset({5, 6, 7, 10, 13, 14, 15})
#: Of those, the ones worth waiting for: another connection holds the lock.
_LOCK_CODES = frozenset({5, 6})
#: What a statement raises when SQLite (or binding a value for it) fails.
SQLITE_FAILURES = (sqlite3.Error, UnicodeEncodeError, OverflowError)
#: First and longest pause between two tries of a statement that met the lock.
_FIRST_PAUSE_S = 0.001
_LONGEST_PAUSE_S = 0.05


class LockBusy(Exception):
    """Another connection holds the file's lock (`SqliteDatabase.run_now` does not wait)."""

    def __init__(self, error: StoreError) -> None:
        super().__init__(str(error))
        self.error = error


def _code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def is_transient(exc: BaseException) -> bool:
    """True for sqlite errors that may go away (busy, full, I/O): after one, SQLite may have
    rolled back the whole transaction, not only the statement."""
    return _code(exc) in _TRANSIENT_CODES


def _store_error(path: Path, doing: str, exc: Exception) -> StoreError:
    if _code(exc) in _TRANSIENT_CODES:
        return StoreUnavailable(f"{path}: cannot {doing}: {exc}", cause=str(exc))
    return StoreError(f"{path}: cannot {doing}: {exc}", cause=str(exc))


def connect(path: Path, what: str) -> sqlite3.Connection:
    """Open `path` (creating its folder) in autocommit mode. Raises `StoreError` naming it.

    A file or folder created here is its owner's only, whatever the umask: it holds contacts'
    messages (`botfleet.adapters.stores.file_modes`)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the folder: {exc}") from exc
    create_private_file(path)
    try:
        # Any thread may hold the loop (tests run apps in portals); the loop serialises use.
        return sqlite3.connect(path, isolation_level=None, timeout=0, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open {what}: {exc}") from exc


def has_table(conn: sqlite3.Connection, name: str) -> bool:
    """Whether the file holds table `name`: the tables made when first needed (not by a
    migration, so earlier releases still open the file) may not be there yet."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return found is not None


class SqliteDatabase:
    """The shared connection. Translates sqlite errors into `StoreError` naming the file
    (`StoreUnavailable` when the same call may work later: locked, full, I/O error)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, busy_timeout: float) -> None:
        self._conn = conn
        self.path = path
        self.busy_timeout = busy_timeout
        self.closed = False
        #: Statements that met another connection's lock and were tried again (tests, curiosity).
        self.lock_waits = 0
        # Checkpoints run on a worker thread, never inside a commit on the loop.
        try:
            conn.execute("PRAGMA wal_autocheckpoint = 0")
        except sqlite3.Error as exc:
            raise _store_error(path, "turn off checkpoints on commit", exc) from exc
        self.checkpointer = WalCheckpointer(path)
        self._changes = conn.total_changes

    async def fetch(self, doing: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one statement and return its rows; `doing` says what for, in error messages."""
        return await self.run(doing, lambda conn: conn.execute(sql, params).fetchall())

    async def change(self, doing: str, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write statement and return how many rows it changed."""
        return await self.run(doing, lambda conn: conn.execute(sql, params).rowcount)

    async def run(self, doing: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on the connection in one go, so no other statement interleaves.

        For multi-statement transactions: `work` must roll back what it began when it fails
        (it is run again, whole, when it met another connection's lock). `work` may raise
        `StoreError` itself; sqlite errors become `StoreError`.
        """
        deadline: float | None = None
        pause = _FIRST_PAUSE_S
        while True:
            if not self.checkpointer.gate.is_set():  # a RESTART checkpoint is running
                await self._wait_for_checkpoint(doing)
            try:
                return self.run_now(doing, work)
            except LockBusy as busy:
                now = time.monotonic()
                deadline = deadline if deadline is not None else now + self.busy_timeout
                if now >= deadline:
                    raise busy.error from busy.__cause__
                self.lock_waits += 1
                await asyncio.sleep(min(pause, deadline - now))
                pause = min(pause * 2, _LONGEST_PAUSE_S)

    def run_now(self, doing: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """`run` without waiting: raises `LockBusy` instead of waiting for another connection's
        lock. Only while `checkpointer.gate` is open (a RESTART holds the file otherwise)."""
        if self.closed:
            raise StoreError(f"{self.path}: cannot {doing}: the store is closed")
        try:
            result = work(self._conn)
        except SQLITE_FAILURES as exc:
            error = self.error(doing, exc)
            if _code(exc) in _LOCK_CODES:
                raise LockBusy(error) from exc
            raise error from exc
        changes = self._conn.total_changes
        if changes != self._changes:
            self.checkpointer.changed(changes - self._changes)
            self._changes = changes
        return result

    def error(self, doing: str, exc: Exception) -> StoreError:
        """The `StoreError` (`StoreUnavailable` when worth trying again) for a failed call."""
        return _store_error(self.path, doing, exc)

    async def _wait_for_checkpoint(self, doing: str) -> None:
        """As long as another connection's lock may be waited for: a RESTART is short, but a
        stalled disk must turn into a retryable error, not a request that never ends."""
        try:
            await asyncio.wait_for(self.checkpointer.gate.wait(), self.busy_timeout)
        except TimeoutError:
            held = f"a checkpoint has held the file for over {self.busy_timeout:g} s"
            raise StoreUnavailable(f"{self.path}: cannot {doing}: {held}", cause=held) from None

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.checkpointer.close()
            self._conn.close()  # the last connection to close checkpoints what is left
