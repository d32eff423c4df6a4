"""Connector calls kept for later (`redelivery`), in the tenant's state file.

Created when first needed, not by a migration: the file stays readable by earlier releases
(which leave the table alone: its calls wait for a release that redelivers them).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from botfleet.adapters.stores import codec
from botfleet.adapters.stores._contract import epoch_micros, from_epoch_micros
from botfleet.adapters.stores._sqlite_database import SqliteDatabase, has_table
from botfleet.adapters.stores._sqlite_tables import one_transaction
from botfleet.ports.redelivery import QueuedCall

_CREATE = (
    "CREATE TABLE IF NOT EXISTS redelivery ("
    " key TEXT PRIMARY KEY, connector TEXT NOT NULL, operation TEXT NOT NULL,"
    " params TEXT NOT NULL, contact_id TEXT, queued_at TEXT NOT NULL,"
    " next_us INTEGER NOT NULL, attempts INTEGER NOT NULL, last_error TEXT NOT NULL)"
)
_CREATE_INDEX = "CREATE INDEX IF NOT EXISTS redelivery_next ON redelivery (next_us)"
_CREATE_CONTACT_INDEX = "CREATE INDEX IF NOT EXISTS redelivery_contact ON redelivery (contact_id)"
REDELIVERY_TABLE = "redelivery"
#: A call's columns, in `QueuedCall`'s order (`call_of` reads a row of them).
_COLUMNS = "key, connector, operation, params, contact_id, queued_at, next_us, attempts, last_error"
_ADD = (
    f"INSERT INTO redelivery ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO NOTHING"
)
_DUE = f"SELECT {_COLUMNS} FROM redelivery WHERE next_us <= ? ORDER BY next_us, key LIMIT ?"
_RETRY_LATER = "UPDATE redelivery SET next_us = ?, attempts = ?, last_error = ? WHERE key = ?"
_REMOVE = "DELETE FROM redelivery WHERE key = ?"
_COUNTS = "SELECT connector, COUNT(*) FROM redelivery GROUP BY connector"
#: A contact's erasure (`SqliteContactRecords.erase`) deletes its calls in the same commit.
ERASE_KEPT_CALLS = "DELETE FROM redelivery WHERE contact_id = ?"
#: A conversation moved to a new id (a Telegram group become a supergroup) takes its calls.
MOVE_KEPT_CALLS = "UPDATE redelivery SET contact_id = ? WHERE contact_id = ?"
SELECT_CONTACT = f"SELECT {_COLUMNS} FROM redelivery WHERE contact_id = ? ORDER BY next_us, key"


def call_of(row: tuple[object, ...]) -> QueuedCall:
    key, connector, operation, params, contact_id, queued_at, next_us, attempts, error = row
    return QueuedCall(
        key=str(key),
        connector=str(connector),
        operation=str(operation),
        params=codec.loads(str(params)),
        contact_id=None if contact_id is None else str(contact_id),
        queued_at=codec.datetime_from_json(str(queued_at)),
        next_at=from_epoch_micros(int(str(next_us))),
        attempts=int(str(attempts)),
        last_error=str(error),
    )


class SqliteRedeliveryQueue:
    """`RedeliveryQueue` over the `redelivery` table of a tenant's state file."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def add(self, call: QueuedCall) -> bool:
        params = codec.checked_dumps(dict(call.params), "params")
        values = (
            call.key,
            call.connector,
            call.operation,
            params,
            call.contact_id,
            codec.datetime_to_json(call.queued_at, "queued_at"),
            epoch_micros(call.next_at, "next_at"),
            call.attempts,
            call.last_error,
        )

        def work(conn: sqlite3.Connection) -> bool:
            conn.execute(_CREATE)
            conn.execute(_CREATE_INDEX)
            conn.execute(_CREATE_CONTACT_INDEX)
            return conn.execute(_ADD, values).rowcount > 0

        return await self._db.run("keep a call for later", one_transaction(work))

    async def due(self, now: datetime, *, limit: int) -> list[QueuedCall]:
        def work(conn: sqlite3.Connection) -> list[QueuedCall]:
            if not has_table(conn, REDELIVERY_TABLE):
                return []
            return [
                call_of(row)
                for row in conn.execute(_DUE, (epoch_micros(now, "now"), limit)).fetchall()
            ]

        return await self._db.run("read the calls due again", work)

    async def retry_later(
        self, key: str, *, next_at: datetime, attempts: int, last_error: str
    ) -> None:
        await self._db.change(
            "record a call's attempt",
            _RETRY_LATER,
            (epoch_micros(next_at, "next_at"), attempts, last_error, key),
        )

    async def remove(self, key: str) -> None:
        await self._db.change("forget a call kept for later", _REMOVE, (key,))

    async def counts(self) -> dict[str, int]:
        def work(conn: sqlite3.Connection) -> dict[str, int]:
            if not has_table(conn, REDELIVERY_TABLE):
                return {}
            return {str(c): int(n) for c, n in conn.execute(_COUNTS).fetchall()}

        return await self._db.run("count the calls kept for later", work)

    async def of_contact(self, contact_id: str) -> list[QueuedCall]:
        """The contact's calls waiting (a person's request to see their data)."""

        def work(conn: sqlite3.Connection) -> list[QueuedCall]:
            if not has_table(conn, REDELIVERY_TABLE):
                return []
            return [call_of(row) for row in conn.execute(SELECT_CONTACT, (contact_id,))]

        return await self._db.run("read a contact's calls kept for later", work)
