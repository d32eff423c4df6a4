"""The connection shared by a tenant's SQLite stores; sqlite errors become `StoreError`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from botfleet.domain.errors import StoreError, StoreUnavailable

T = TypeVar("T")

#: SQLite result codes that say "not now" rather than "never": busy or locked by another
#: connection, out of memory, I/O error, disk full, cannot open the file, lock protocol.
_TRANSIENT_CODES = frozenset({5, 6, 7, 10, 13, 14, 15})


def _store_error(path: Path, doing: str, exc: Exception) -> StoreError:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _TRANSIENT_CODES:
        return StoreUnavailable(f"{path}: cannot {doing}: {exc}")
    return StoreError(f"{path}: cannot {doing}: {exc}")


class SqliteDatabase:
    """The shared connection. Translates sqlite errors into `StoreError` naming the file
    (`StoreUnavailable` when the same call may work later: locked, full, I/O error)."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self.closed = False

    async def fetch(self, doing: str, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Run one statement and return its rows; `doing` says what for, in error messages."""
        if self.closed:
            raise StoreError(f"{self.path}: cannot {doing}: the store is closed")
        try:
            return list(await self._conn.execute_fetchall(sql, params))
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise _store_error(self.path, doing, exc) from exc

    async def change(self, doing: str, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write statement and return how many rows it changed."""
        if self.closed:
            raise StoreError(f"{self.path}: cannot {doing}: the store is closed")
        try:
            cursor = await self._conn.execute(sql, params)
            count = cursor.rowcount
            await cursor.close()
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise _store_error(self.path, doing, exc) from exc
        return count

    async def run(self, doing: str, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on the connection's thread in one go, so no other statement interleaves.

        For multi-statement transactions: the connection is shared by every coroutine, so a
        `BEGIN` sent as its own call would let other coroutines' statements slip into the
        transaction. `work` may raise `StoreError` itself; sqlite errors become `StoreError`.
        """
        if self.closed:
            raise StoreError(f"{self.path}: cannot {doing}: the store is closed")
        conn = self._conn
        try:
            # aiosqlite runs queued functions on its thread in order; `_execute` is how its own
            # methods queue work (it has no public equivalent). The version is pinned in uv.lock
            # and tests/integration/data_plane/test_turn_commit.py covers this call.
            result: T = await conn._execute(lambda: work(conn._conn))  # type: ignore[no-untyped-call]
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise _store_error(self.path, doing, exc) from exc
        return result

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self._conn.close()
