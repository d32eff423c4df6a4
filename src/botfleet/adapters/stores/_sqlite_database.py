"""The connection shared by a tenant's SQLite stores; sqlite errors become `StoreError`."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from botfleet.domain.errors import StoreError


class SqliteDatabase:
    """The shared connection. Translates sqlite errors into `StoreError` naming the file."""

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
            raise StoreError(f"{self.path}: cannot {doing}: {exc}") from exc

    async def change(self, doing: str, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write statement and return how many rows it changed."""
        if self.closed:
            raise StoreError(f"{self.path}: cannot {doing}: the store is closed")
        try:
            cursor = await self._conn.execute(sql, params)
            count = cursor.rowcount
            await cursor.close()
        except (sqlite3.Error, UnicodeEncodeError) as exc:
            raise StoreError(f"{self.path}: cannot {doing}: {exc}") from exc
        return count

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self._conn.close()
