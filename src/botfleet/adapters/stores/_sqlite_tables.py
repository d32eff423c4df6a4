"""The three SQLite-backed stores of a tenant file: states, inbound journal and outbox."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog

from botfleet.adapters.stores import codec
from botfleet.adapters.stores._contract import (
    check_final_status,
    check_limit,
    epoch_micros,
    from_epoch_micros,
    outbox_record,
    stored_state,
)
from botfleet.adapters.stores._sqlite_database import SqliteDatabase, has_table
from botfleet.adapters.stores._sqlite_group_commit import GroupCommit
from botfleet.domain.errors import ConcurrentUpdate, StoreError, StoreUnavailable
from botfleet.domain.messages import InboundMessage, MessageType
from botfleet.domain.outputs import output_from_dict
from botfleet.flows.state import ConversationState
from botfleet.ports.stores import JournalEntry

log = structlog.get_logger("botfleet.store")
T = TypeVar("T")

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
# A row that `_SELECT_STATE` could not read, its texts as bytes (see `_undecodable`).
_SELECT_STATE_BYTES = (
    "SELECT "
    + ", ".join(c if c == "version" else f"CAST({c} AS BLOB)" for c in _STATE_COLUMNS)
    + " FROM conversation WHERE contact_id = ?"
)
# Unreadable states, kept as they were for an operator (`SqliteStateStore._set_aside`).
# Created when first needed, not by a migration: the file stays readable by earlier releases.
# Untyped columns: values are copied as they are, bytes that are not UTF-8 included.
_CREATE_UNREADABLE_STATES = (
    "CREATE TABLE IF NOT EXISTS conversation_unreadable "
    f"(set_aside_at TEXT NOT NULL, {', '.join(_STATE_COLUMNS)})"
)
UNREADABLE_TABLE = "conversation_unreadable"
# `set_aside_at` is ISO 8601 text: compared as an instant (julianday), as the outbox's `at` is.
#: Conversation rows one statement of `forget_inactive` looks at.
FORGET_BATCH = 2000
_BATCH_END = (
    "SELECT max(rowid) FROM (SELECT rowid FROM conversation WHERE rowid > ? ORDER BY rowid LIMIT ?)"
)
_FORGET_INACTIVE = (
    "DELETE FROM conversation WHERE rowid > ? AND rowid <= ? AND julianday(updated_at) < ? "
    "RETURNING CAST(contact_id AS BLOB)"
)
_PRUNE_UNREADABLE_STATES = "DELETE FROM conversation_unreadable WHERE julianday(set_aside_at) < ?"
_SET_STATE_ASIDE = (
    f"INSERT INTO conversation_unreadable (set_aside_at, {', '.join(_STATE_COLUMNS)}) "
    f"SELECT ?, {', '.join(_STATE_COLUMNS)} FROM conversation "
    "WHERE contact_id = ? AND version = ?"
)
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


def one_transaction(body: Callable[[sqlite3.Connection], T]) -> Callable[[sqlite3.Connection], T]:
    """`body`'s statements as one write transaction, for `SqliteDatabase.run`: rolled back if
    any fails (`run` may run it again whole after another connection's lock)."""

    def work(conn: sqlite3.Connection) -> T:
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = body(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    return work


class SqliteStateStore:
    """Conversation states, one row per contact; `version` guards every write."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def load(self, contact_id: str) -> ConversationState | None:
        """The contact's state, or None. A row that cannot be read back is set aside
        (`_set_aside`) and None returned: the conversation starts over."""
        try:
            rows = await self._db.fetch(
                f"load conversation {contact_id!r}", _SELECT_STATE, (contact_id,)
            )
        except StoreUnavailable:
            raise
        except StoreError as exc:  # perhaps a text that is not UTF-8: sqlite cannot decode it
            version = await self._undecodable(contact_id)
            if version is None:
                raise
            await self._set_aside(contact_id, version, exc)
            return None
        if not rows:
            return None
        try:
            return codec.state_from_row(dict(zip(_STATE_COLUMNS, rows[0], strict=True)))
        except (ValueError, StoreError) as exc:  # invalid JSON, not a state (a newer release)
            await self._set_aside(contact_id, rows[0][_STATE_COLUMNS.index("version")], exc)
            return None

    async def _undecodable(self, contact_id: str) -> Any:
        """The row's `version` if it holds a text that is not UTF-8 (read as bytes here), else
        None."""
        rows = await self._db.fetch(
            f"load conversation {contact_id!r}", _SELECT_STATE_BYTES, (contact_id,)
        )
        try:
            for value in rows[0] if rows else ():
                text_of(value)
        except UnicodeDecodeError:
            return rows[0][_STATE_COLUMNS.index("version")]
        return None

    async def _set_aside(self, contact_id: str, version: Any, exc: Exception) -> None:
        """A row that cannot be read back (corrupted, or written by a newer release): logged
        (`store_row_unreadable`, never its content), copied as it is into
        `conversation_unreadable` for an operator, and deleted, so the contact's conversation
        starts over (`load` returns None) instead of failing every turn. Only the `version`
        found unreadable: a row saved since then is left alone. The copy goes with the
        contact's state (`delete`) or with age (`prune_set_aside`)."""
        at = datetime.now(UTC).isoformat()

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(_CREATE_UNREADABLE_STATES)
            conn.execute(_SET_STATE_ASIDE, (at, contact_id, version))
            conn.execute(
                "DELETE FROM conversation WHERE contact_id = ? AND version = ?",
                (contact_id, version),
            )

        await self._db.run(f"set conversation {contact_id!r} aside", one_transaction(work))
        log.error(
            "store_row_unreadable",
            path=str(self._db.path),
            table="conversation",
            version=version if isinstance(version, int) else None,
            error=type(exc).__name__,
        )

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
        """Forget the contact: its state and any copy of it set aside as unreadable (it holds
        the same content), in one transaction."""

        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM conversation WHERE contact_id = ?", (contact_id,))
            # Not created here: a file that never set a state aside stays without the table.
            if has_table(conn, UNREADABLE_TABLE):
                conn.execute(
                    "DELETE FROM conversation_unreadable WHERE contact_id = ?", (contact_id,)
                )

        await self._db.run(f"delete conversation {contact_id!r}", one_transaction(work))

    async def prune_set_aside(self, older_than: datetime) -> int:
        """Delete the states set aside as unreadable (`_set_aside`) before `older_than`;
        returns how many."""
        cutoff = julian_day(older_than, "prune: older_than")

        def work(conn: sqlite3.Connection) -> int:
            if not has_table(conn, UNREADABLE_TABLE):
                return 0
            return conn.execute(_PRUNE_UNREADABLE_STATES, (cutoff,)).rowcount

        return await self._db.run("prune unreadable conversations", work)

    async def forget_inactive(self, older_than: datetime) -> list[str]:
        """Delete the states last updated before `older_than`; returns their contact ids.

        A batch of rows at a time, in rowid order, other statements running in between: no
        index on `updated_at` (one more write per turn, for an hourly pass), so every row is
        looked at, but never many in one statement."""
        cutoff = julian_day(older_than, "forget_inactive: older_than")
        forgotten: list[str] = []
        after = 0

        def batch(conn: sqlite3.Connection) -> int | None:
            last = conn.execute(_BATCH_END, (after, FORGET_BATCH)).fetchone()[0]
            if last is None:
                return None
            for (contact,) in conn.execute(_FORGET_INACTIVE, (after, last, cutoff)):
                forgotten.append(text_of(contact))
            return int(last)

        while (
            last := await self._db.run("forget inactive conversations", one_transaction(batch))
        ) is not None:
            after = last
            await asyncio.sleep(0)
        if forgotten:
            self._db.checkpointer.erased()  # the log still holds the states' pages
        return forgotten

    async def count(self) -> int:
        rows = await self._db.fetch("count conversations", "SELECT count(*) FROM conversation")
        return int(rows[0][0])


# A message's entry by id (a redelivery, a copy of a web chat message). As in the recovery
# scan, the texts are read as bytes: one that is not UTF-8 (a corrupted value) must fail its row
# only, and sqlite's own decoding error would quote it. A new message finds no row.
_GET = (
    "SELECT CAST(message AS BLOB), CAST(received_at AS BLOB), CAST(status AS BLOB), "
    "CAST(replies AS BLOB), CAST(reply_seqs AS BLOB) FROM journal WHERE message_id = ?"
)
# What an unreadable entry still tells (`SqliteMessageJournal.get`): columns only the database
# writes, or plain ids.
_GET_UNREADABLE = (
    "SELECT seq, CAST(contact_id AS BLOB), received_us, CAST(status AS BLOB) FROM journal "
    "WHERE message_id = ?"
)
# The recovery scan: pending rows through their partial index, in the order they were recorded
# (`seq`), not by their received times, which come from the wall clock and can step back.
# The texts are read as bytes: one that is not UTF-8 (a corrupted value) must fail its row only.
_PENDING = (
    "SELECT seq, CAST(message_id AS BLOB), CAST(message AS BLOB), CAST(received_at AS BLOB), "
    "CAST(replies AS BLOB) FROM journal INDEXED BY journal_pending "
    "WHERE status = 'pending' ORDER BY seq"
)


def text_of(value: Any) -> str:
    """A text column read `AS BLOB`; raises `UnicodeDecodeError` if it is not UTF-8."""
    return value.decode() if isinstance(value, bytes) else str(value)


def lossy_text_of(value: Any) -> str:
    """A text column read `AS BLOB`, bytes that are not UTF-8 replaced (ids of a bad row)."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


#: `outbox.delivered` of a row that cannot be read back (corrupted, or written by a newer
#: release): set aside, so it is neither sent at every start nor read at every poll. Readers of
#: earlier releases look for 0 only, so they skip it too; pruning keeps it (for inspection).
SET_ASIDE = 2


def readable_outbox_record(seq: int, contact_id: Any, at: Any, output: Any) -> dict[str, Any]:
    """An outbox row read `AS BLOB`, as `outbox_record` gives it. Raises (invalid UTF-8 or
    JSON, not an output) for a row that cannot be read back."""
    record = outbox_record(seq, text_of(contact_id), text_of(at), text_of(output))
    output_from_dict(record["output"])  # what a reader (a redelivery, the web chat) makes of it
    return record


async def update_rows(db: SqliteDatabase, doing: str, update: str, seqs: Sequence[int]) -> None:
    """Run `update` (ending in `seq IN ({marks})`) over `seqs`, a few hundred at a time (SQLite
    limits the parameters of a statement)."""
    for start in range(0, len(seqs), 500):
        chunk = seqs[start : start + 500]
        await db.change(doing, update.format(marks=", ".join("?" for _ in chunk)), chunk)


def log_unreadable(path: Any, table: str, seq: int, exc: BaseException, **ids: Any) -> None:
    """One row that cannot be read back (corrupted, or written by a newer release): named by
    table and row, never by its content (a message's text, a contact's number)."""
    log.error(
        "store_row_unreadable",
        path=str(path),
        table=table,
        seq=seq,
        error=type(exc).__name__,
        **ids,
    )


_RECORD = (
    "INSERT INTO journal (message_id, contact_id, message, received_at, received_us) "
    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING RETURNING seq"
)
_RECORD_FAILED = (
    "INSERT INTO journal (message_id, contact_id, message, received_at, received_us, status) "
    "VALUES (?, ?, ?, ?, ?, 'failed') ON CONFLICT (message_id) DO NOTHING RETURNING seq"
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

    async def record_failed(self, message: InboundMessage, received_at: datetime) -> bool:
        rows = await self._db.fetch(
            f"record failed message {message.message_id!r}",
            _RECORD_FAILED,
            journal_values(message, received_at),
        )
        return bool(rows)

    async def complete(
        self, message_id: str, replies: Sequence[dict[str, Any]], *, status: str = "done"
    ) -> None:
        check_final_status(status, message_id)
        text = codec.checked_dumps(list(replies), f"message {message_id!r}: replies")
        rows = await self._db.fetch(
            f"complete message {message_id!r}",
            "UPDATE journal SET status = ?, replies = ?, reply_seqs = NULL "
            "WHERE message_id = ? RETURNING seq",
            (status, text, message_id),
        )
        if not rows:
            raise StoreError(f"{self._db.path}: journal has no message {message_id!r} to complete")

    async def get(self, message_id: str) -> JournalEntry | None:
        """The message's entry. One that cannot be read back (corrupted, or written by a newer
        release) is logged (`store_row_unreadable`), marked failed if it was pending (as
        recovery does: it can no longer be run) and returned as a stand-in: an `unsupported`
        message of the same id and contact, its status, no replies. Its redelivery is then a
        duplicate, acknowledged and not answered again, instead of an error the provider
        retries for days."""
        doing = f"read message {message_id!r}"
        rows = await self._db.fetch(doing, _GET, (message_id,))
        if not rows:
            return None
        try:
            *texts, reply_seqs = rows[0]
            return self._entry([text_of(value) for value in texts], reply_seqs)
        except Exception as exc:  # invalid JSON, UTF-8 or date; an unknown message type
            return await self._unreadable(doing, message_id, exc)

    async def _unreadable(self, doing: str, message_id: str, exc: Exception) -> JournalEntry | None:
        rows = await self._db.fetch(doing, _GET_UNREADABLE, (message_id,))
        if not rows:  # pruned meanwhile
            return None
        seq, contact_id, received_us, status = rows[0]
        log_unreadable(self._db.path, "journal", seq, exc, message_id=message_id[:200])
        status = lossy_text_of(status)
        if status == "pending":  # it cannot be run: set aside, as recovery does
            await self._db.change(
                "mark an unreadable message failed",
                "UPDATE journal SET status = 'failed' WHERE seq = ? AND status = 'pending'",
                (seq,),
            )
        status = "done" if status == "done" else "failed"
        received_at = from_epoch_micros(int(received_us))
        message = InboundMessage(
            message_id=message_id,
            contact_id=lossy_text_of(contact_id),
            type=MessageType.UNSUPPORTED,
            timestamp=received_at,
        )
        return JournalEntry(message=message, received_at=received_at, status=status)

    async def pending(self) -> list[JournalEntry]:
        """Pending entries in the order recorded. One that cannot be read back is logged
        (`store_row_unreadable`) and marked failed, so that it is not read again at every
        start; the others are returned: one bad row must not keep the data plane down."""
        rows = await self._db.fetch("list pending messages", _PENDING)
        entries: list[JournalEntry] = []
        unreadable: list[int] = []
        for seq, message_id, message, received_at, replies in rows:
            try:
                entries.append(
                    self._entry(
                        (text_of(message), text_of(received_at), "pending", text_of(replies))
                    )
                )
            except Exception as exc:  # invalid JSON, UTF-8 or date; an unknown message type
                unreadable.append(seq)
                name = message_id.decode(errors="replace") if isinstance(message_id, bytes) else ""
                log_unreadable(self._db.path, "journal", seq, exc, message_id=name[:200])
        await update_rows(
            self._db,
            "mark unreadable messages failed",
            "UPDATE journal SET status = 'failed' WHERE status = 'pending' AND seq IN ({marks})",
            unreadable,
        )
        return entries

    async def prune(self, older_than: datetime) -> int:
        """Delete processed (done or failed) entries received before `older_than`."""
        return await self._db.change(
            "prune the journal",
            "DELETE FROM journal WHERE status != 'pending' AND received_us < ?",
            (epoch_micros(older_than, "prune: older_than"),),
        )

    def _entry(self, row: Sequence[str], reply_seqs: bytes | str | None = None) -> JournalEntry:
        """An entry from its text columns; `reply_seqs` as stored (NULL: none known)."""
        try:
            return journal_entry(row, reply_seqs)
        except ValueError as exc:  # invalid JSON or date (the codec reports its own errors)
            raise StoreError(f"{self._db.path}: unreadable journal entry: {exc}") from exc


def journal_entry(row: Sequence[str], reply_seqs: bytes | str | None) -> JournalEntry:
    """A journal entry from its text columns (message, received_at, status, replies) and its
    `reply_seqs` as stored. Raises `ValueError` for invalid JSON or dates."""
    message, received_at, status, replies = row
    shown = tuple(codec.loads(replies))
    return JournalEntry(
        message=codec.message_from_json(codec.loads(message)),
        received_at=codec.datetime_from_json(received_at),
        status=status,
        replies=shown,
        reply_seqs=reply_seqs_of(reply_seqs, shown),
    )


def reply_seqs_of(stored: Any, replies: tuple[Any, ...]) -> tuple[int, ...] | None:
    """`JournalEntry.reply_seqs` from the column: NULL is none known, unless there are no
    replies to number (a pending or failed entry). A value that does not number the replies
    (a corrupted one) is not known either: the entry itself is still readable."""
    if stored is None:
        return None if replies else ()
    try:
        seqs = codec.loads(text_of(stored))
    except (ValueError, RecursionError):  # not UTF-8 or JSON; nested past the parser's depth
        return None
    if (
        not isinstance(seqs, list)
        or len(seqs) != len(replies)
        or not all(type(seq) is int for seq in seqs)
    ):
        return None
    return tuple(seqs)


#: Outbox rows one pruning statement looks at: a short statement on the event loop.
PRUNE_BATCH = 1000
# `at` is ISO 8601 text with whatever offset the clock gave, so rows are compared as instants
# (julianday) and found in `seq` order, the order they were written: no index on `at` (that
# would be more work on every turn). The oldest delivered rows come first; a batch that is
# not deleted whole holds a row still young, and the pass ends there.
_PRUNE_OUTBOX = (
    "DELETE FROM outbox WHERE seq IN "
    "(SELECT seq FROM outbox WHERE delivered = 1 ORDER BY seq LIMIT ?) AND julianday(at) < ?"
)
_UNIX_EPOCH_JULIAN_DAY = 2440587.5


def julian_day(moment: datetime, where: str) -> float:
    """`moment` as SQLite's `julianday()` gives it, to compare with a stored ISO 8601 text."""
    codec.datetime_to_json(moment, where)  # refuses naive datetimes
    return moment.timestamp() / 86_400 + _UNIX_EPOCH_JULIAN_DAY


# Texts read as bytes, as in the recovery scan.
_SINCE_COLUMNS = "seq, CAST(contact_id AS BLOB), CAST(at AS BLOB), CAST(output AS BLOB), delivered"
_SINCE = f"SELECT {_SINCE_COLUMNS} FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?"
_SINCE_CONTACT = (
    f"SELECT {_SINCE_COLUMNS} FROM outbox WHERE contact_id = ? AND seq > ? ORDER BY seq LIMIT ?"
)


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
        """Rows after `since`, oldest first. One that cannot be read back is left out: logged
        (`store_row_unreadable`) and set aside (`SET_ASIDE`, as recovery does) the first time,
        left out silently once set aside (the web chat polls every few seconds); the others
        are returned."""
        check_limit(limit)
        if contact_id is None:
            rows = await self._db.fetch("read the outbox", _SINCE, (since, limit))
        else:
            rows = await self._db.fetch(
                "read the outbox", _SINCE_CONTACT, (contact_id, since, limit)
            )
        records: list[dict[str, Any]] = []
        unreadable: list[int] = []
        for seq, contact, at, output, delivered in rows:
            try:
                records.append(readable_outbox_record(seq, contact, at, output))
            except Exception as exc:  # invalid JSON or UTF-8; not an output
                if delivered != SET_ASIDE:
                    unreadable.append(seq)
                    log_unreadable(self._db.path, "outbox", seq, exc)
        # A read must not fail for it (a locked file): the next one sets it aside (and logs it).
        with suppress(StoreError):
            await update_rows(
                self._db,
                "set unreadable outputs aside",
                f"UPDATE outbox SET delivered = {SET_ASIDE} WHERE seq IN ({{marks}})",
                unreadable,
            )
        return records

    async def prune(self, older_than: datetime) -> int:
        """Delete delivered rows written before `older_than`, a batch at a time (other
        statements run in between); undelivered rows, and rows set aside, are kept."""
        cutoff = julian_day(older_than, "prune: older_than")
        removed = 0
        while True:
            deleted = await self._db.change(
                "prune the outbox", _PRUNE_OUTBOX, (PRUNE_BATCH, cutoff)
            )
            removed += deleted
            if deleted < PRUNE_BATCH:
                return removed
            await asyncio.sleep(0)
