"""The three SQLite-backed stores of a tenant file: states, inbound journal and outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botfleet.adapters.stores import codec
from botfleet.adapters.stores._contract import (
    check_final_status,
    check_limit,
    epoch_micros,
    outbox_record,
    stored_state,
)
from botfleet.adapters.stores._sqlite_database import SqliteDatabase
from botfleet.adapters.stores._sqlite_group_commit import GroupCommit
from botfleet.domain.errors import ConcurrentUpdate, StoreError
from botfleet.domain.messages import InboundMessage
from botfleet.flows.state import ConversationState
from botfleet.ports.stores import JournalEntry

_STATE_COLUMNS = (
    "contact_id",
    "tenant_id",
    "flow_id",
    "node",
    "version",
    "data",
    "history",
    "awaiting",
    "last_options",
    "created_at",
    "updated_at",
    "last_options_list",
    "last_inbound_at",
)
_SELECT_STATE = f"SELECT {', '.join(_STATE_COLUMNS)} FROM conversation WHERE contact_id = ?"
_INSERT_STATE = (
    f"INSERT INTO conversation ({', '.join(_STATE_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in _STATE_COLUMNS)}) "
    "ON CONFLICT (contact_id) DO NOTHING RETURNING version"
)
_UPDATE_STATE = (
    "UPDATE conversation SET "
    + ", ".join(f"{c} = ?" for c in _STATE_COLUMNS[1:])
    + " WHERE contact_id = ? AND version = ? RETURNING version"
)


class SqliteStateStore:
    """Conversation states, one row per contact; `version` guards every write."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def load(self, contact_id: str) -> ConversationState | None:
        rows = await self._db.fetch(
            f"load conversation {contact_id!r}", _SELECT_STATE, (contact_id,)
        )
        if not rows:
            return None
        try:
            return codec.state_from_row(dict(zip(_STATE_COLUMNS, rows[0], strict=True)))
        except ValueError as exc:
            raise StoreError(
                f"{self._db.path}: conversation {contact_id!r} holds invalid JSON: {exc}"
            ) from exc

    async def save(self, state: ConversationState, *, expected_version: int) -> ConversationState:
        new = stored_state(state, expected_version)
        row = codec.state_to_row(new)
        values = [row[c] for c in _STATE_COLUMNS]
        doing = f"save conversation {state.contact_id!r}"
        if expected_version == 0:
            rows = await self._db.fetch(doing, _INSERT_STATE, values)
        else:
            rows = await self._db.fetch(
                doing, _UPDATE_STATE, [*values[1:], values[0], expected_version]
            )
        if not rows:
            found = await self._db.fetch(
                doing, "SELECT version FROM conversation WHERE contact_id = ?", (state.contact_id,)
            )
            actual = found[0][0] if found else None
            raise ConcurrentUpdate(
                f"{state.tenant_id}/{state.contact_id}", expected_version, actual
            )
        return new

    async def delete(self, contact_id: str) -> None:
        await self._db.fetch(
            f"delete conversation {contact_id!r}",
            "DELETE FROM conversation WHERE contact_id = ?",
            (contact_id,),
        )

    async def count(self) -> int:
        rows = await self._db.fetch("count conversations", "SELECT count(*) FROM conversation")
        return int(rows[0][0])


_ENTRY_COLUMNS = "message, received_at, status, replies"


_RECORD = (
    "INSERT INTO journal (message_id, contact_id, message, received_at, received_us) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING RETURNING seq"
)


def journal_values(message: InboundMessage, received_at: datetime) -> tuple[Any, ...]:
    """A new journal row's values, in the order of `_RECORD`'s columns."""
    where = f"message {message.message_id!r}: received_at"
    return (
        message.message_id,
        message.contact_id,
        codec.dumps(codec.message_to_json(message)),
        codec.datetime_to_json(received_at, where),
        epoch_micros(received_at, where),
    )


class SqliteMessageJournal:
    """Inbound messages; `message_id` is UNIQUE, so a duplicate is caught by the database."""

    def __init__(self, database: SqliteDatabase, group_commit: GroupCommit | None = None) -> None:
        self._db = database
        self._group = group_commit or GroupCommit(database)

    async def record(self, message: InboundMessage, received_at: datetime) -> bool:
        params = journal_values(message, received_at)
        # Messages arriving together are recorded (and acknowledged) in one transaction, with
        # the turns committing meanwhile; each returns once it is committed.
        rows = await self._group.run(
            f"record message {message.message_id!r}",
            lambda conn: conn.execute(_RECORD, params).fetchall(),
            one_statement=True,
        )
        return bool(rows)

    async def complete(
        self, message_id: str, replies: Sequence[dict[str, Any]], *, status: str = "done"
    ) -> None:
        check_final_status(status, message_id)
        text = codec.checked_dumps(list(replies), f"message {message_id!r}: replies")
        rows = await self._db.fetch(
            f"complete message {message_id!r}",
            "UPDATE journal SET status = ?, replies = ? WHERE message_id = ? RETURNING seq",
            (status, text, message_id),
        )
        if not rows:
            raise StoreError(f"{self._db.path}: journal has no message {message_id!r} to complete")

    async def get(self, message_id: str) -> JournalEntry | None:
        rows = await self._db.fetch(
            f"read message {message_id!r}",
            f"SELECT {_ENTRY_COLUMNS} FROM journal WHERE message_id = ?",
            (message_id,),
        )
        return self._entry(rows[0]) if rows else None

    async def pending(self) -> list[JournalEntry]:
        rows = await self._db.fetch(
            "list pending messages",
            f"SELECT {_ENTRY_COLUMNS} FROM journal WHERE status = 'pending' "
            "ORDER BY received_us, seq",
        )
        return [self._entry(row) for row in rows]

    async def prune(self, older_than: datetime) -> int:
        """Delete processed (done or failed) entries received before `older_than`."""
        return await self._db.change(
            "prune the journal",
            "DELETE FROM journal WHERE status != 'pending' AND received_us < ?",
            (epoch_micros(older_than, "prune: older_than"),),
        )

    def _entry(self, row: Sequence[Any]) -> JournalEntry:
        message, received_at, status, replies = row
        try:
            return JournalEntry(
                message=codec.message_from_json(codec.loads(message)),
                received_at=codec.datetime_from_json(received_at),
                status=status,
                replies=tuple(codec.loads(replies)),
            )
        except ValueError as exc:  # invalid JSON or date (the codec reports its own errors)
            raise StoreError(f"{self._db.path}: unreadable journal entry: {exc}") from exc


class SqliteOutbox:
    """Messages the bot sent, append-only; `seq` is AUTOINCREMENT, so never reused."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def append(self, contact_id: str, output: dict[str, Any], at: datetime) -> int:
        where = f"outbox output for {contact_id!r}"
        rows = await self._db.fetch(
            f"append to the outbox of {contact_id!r}",
            "INSERT INTO outbox (contact_id, at, output) VALUES (?, ?, ?) RETURNING seq",
            (
                contact_id,
                codec.datetime_to_json(at, f"{where}: at"),
                codec.checked_dumps(output, where),
            ),
        )
        return int(rows[0][0])

    async def since(
        self, *, contact_id: str | None = None, since: int = 0, limit: int = 200
    ) -> list[dict[str, Any]]:
        check_limit(limit)
        if contact_id is None:
            sql = (
                "SELECT seq, contact_id, at, output FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?"
            )
            params: tuple[Any, ...] = (since, limit)
        else:
            sql = (
                "SELECT seq, contact_id, at, output FROM outbox "
                "WHERE contact_id = ? AND seq > ? ORDER BY seq LIMIT ?"
            )
            params = (contact_id, since, limit)
        rows = await self._db.fetch("read the outbox", sql, params)
        return [outbox_record(*row) for row in rows]
