"""The channels a tenant's state file was kept for (`channel_layout`), and the ids of a kind
already in it: the data plane's start checks them before a new layout may hand conversations
to another channel (`botfleet.data_plane.channel_layout`).

Created when first needed, not by a migration: the file stays readable by earlier releases.
"""

from __future__ import annotations

import json
import sqlite3

from botfleet.adapters.stores._sqlite_database import SqliteDatabase, has_table
from botfleet.adapters.stores._sqlite_tables import one_transaction

_CREATE = "CREATE TABLE IF NOT EXISTS channel_layout (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
_READ = "SELECT value FROM channel_layout WHERE key = 'channels'"
_WRITE = "INSERT OR REPLACE INTO channel_layout (key, value) VALUES ('channels', ?)"
# Ranges rather than LIKE: the primary key's and the message id's indexes serve them, and no
# id's '%' or '_' is read as a pattern.
_STATES = "SELECT COUNT(*) FROM conversation WHERE contact_id >= ? AND contact_id < ?"
# A contact's messages without a conversation left (a contact erased empties them, so they no
# longer count: the way out the refusal names).
_MESSAGES = "SELECT COUNT(*) FROM journal WHERE contact_id >= ? AND contact_id < ?"


class SqliteChannelLayout:
    """The `channel_layout` table of a tenant's state file."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def stored(self) -> tuple[str, tuple[str, ...]] | None:
        """(kind of `channel`, kinds it served as more channels) as last kept; None before the
        first."""

        def work(conn: sqlite3.Connection) -> tuple[str, tuple[str, ...]] | None:
            if not has_table(conn, "channel_layout"):
                return None
            row = conn.execute(_READ).fetchone()
            if row is None:
                return None
            kept = json.loads(row[0])
            return str(kept["channel"]), tuple(str(k) for k in kept["more"])

        return await self._db.run("read the tenant's channels", work)

    async def keep(self, channel: str, more: tuple[str, ...]) -> None:
        """Keep the layout the data plane now runs on."""
        value = json.dumps({"channel": channel, "more": list(more)})

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(_CREATE)
            conn.execute(_WRITE, (value,))

        await self._db.run("keep the tenant's channels", one_transaction(work))

    async def ids_with_prefix(self, prefix: str) -> int:
        """Conversations and journaled messages whose contact id starts with `prefix` (which
        ends with ':')."""
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)

        def work(conn: sqlite3.Connection) -> int:
            states = conn.execute(_STATES, (prefix, end)).fetchone()[0]
            messages = conn.execute(_MESSAGES, (prefix, end)).fetchone()[0]
            return int(states) + int(messages)

        return await self._db.run("count ids of a channel kind", work)
