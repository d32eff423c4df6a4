"""`ContactRecords` on the tenant's SQLite file: a contact's journal entries, and erasure; and
`MovesConversations`.

The journal has no index on `contact_id` (one more index to write on every message, for a rare
request): reading or erasing a contact's entries scans it, which its retention (8 days) bounds,
in one statement on the event loop (~120 ms per 500,000 journal rows, measured by the security
review of 2026-12-06: a pause for the tenant's other turns that an export or erasure, a rare
request, is allowed).
"""

from __future__ import annotations

import asyncio
import heapq
import sqlite3
from datetime import datetime

from botfleet.adapters.stores import codec
from botfleet.adapters.stores._contact_in_ids import like_pattern, naming
from botfleet.adapters.stores._contract import (
    check_limit,
    check_move,
    emptied_message,
    from_epoch_micros,
)
from botfleet.adapters.stores._sqlite_database import SqliteDatabase, has_table
from botfleet.adapters.stores._sqlite_redelivery import (
    ERASE_KEPT_CALLS,
    MOVE_KEPT_CALLS,
    REDELIVERY_TABLE,
)
from botfleet.adapters.stores._sqlite_tables import (
    UNREADABLE_TABLE,
    journal_entry,
    julian_day,
    log_unreadable,
    one_transaction,
    text_of,
)
from botfleet.adapters.stores._sqlite_turns import TASK_RUNS_TABLE
from botfleet.ports.contact_records import ConversationSummary, ErasedRecords
from botfleet.ports.stores import ConversationMove, JournalEntry

_RECEIVED = (
    "SELECT seq, CAST(message AS BLOB), CAST(received_at AS BLOB), CAST(status AS BLOB), "
    "CAST(replies AS BLOB), CAST(reply_seqs AS BLOB) FROM journal WHERE contact_id = ? "
    "ORDER BY seq LIMIT ?"
)
_PROCESSED = (
    "SELECT seq, message_id, received_us FROM journal WHERE contact_id = ? AND status != 'pending'"
)
_EMPTY_ENTRY = "UPDATE journal SET contact_id = '', message = ?, replies = '[]' WHERE seq = ?"
_HAS_STATE = "SELECT 1 FROM conversation WHERE contact_id = ?"
_MOVE_STATE = "UPDATE conversation SET contact_id = ? WHERE contact_id = ?"
# Moves whose conversation moved (in the transaction that moved it) and whose reminders, in the
# job file, may not have yet: the next start finishes them (data_plane.runtime.contact_moves).
# Created when first needed, not by a migration: the file stays readable by earlier releases.
MOVES_TABLE = "contact_move"
_CREATE_MOVES = (
    "CREATE TABLE IF NOT EXISTS contact_move "
    "(seq INTEGER PRIMARY KEY, old_contact_id TEXT NOT NULL, new_contact_id TEXT NOT NULL)"
)
_RUNS_LIKE = "SELECT run_id FROM task_runs WHERE run_id LIKE ? ESCAPE '\\'"
_FORGET_RUN = "DELETE FROM task_runs WHERE run_id = ?"
_MOVE_BEGUN = "INSERT INTO contact_move (old_contact_id, new_contact_id) VALUES (?, ?)"
_MOVES_UNFINISHED = "SELECT old_contact_id, new_contact_id FROM contact_move ORDER BY seq"
_MOVE_FINISHED = "DELETE FROM contact_move WHERE old_contact_id = ? AND new_contact_id = ?"
_MOVES_OF = "DELETE FROM contact_move WHERE old_contact_id = ? OR new_contact_id = ?"
#: Conversation rows one statement of `recent` reads.
RECENT_BATCH = 2000
# One batch of conversations in rowid order, each with its last update as an instant
# (julianday: `updated_at` is ISO 8601 text with whatever offset the clock gave).
_RECENT = (
    "SELECT rowid, julianday(updated_at), CAST(contact_id AS BLOB), CAST(node AS BLOB), "
    "CAST(created_at AS BLOB), CAST(updated_at AS BLOB), CAST(last_inbound_at AS BLOB) "
    "FROM conversation WHERE rowid > ? ORDER BY rowid LIMIT ?"
)
# The `before` time as the rows' times are computed (`julianday()` keeps milliseconds), so a
# conversation on a page boundary compares equal to the cursor naming it, whatever offset
# either text was written with.
_INSTANT = "SELECT julianday(?)"


class SqliteContactRecords:
    """`ContactRecords` over the tables of `SqliteTenantStore`."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database

    async def received(self, contact_id: str, *, limit: int) -> list[JournalEntry]:
        """`ContactRecords.received`; an entry that cannot be read back is left out, logged."""
        check_limit(limit)
        rows = await self._db.fetch(
            "read a contact's journal entries", _RECEIVED, (contact_id, limit)
        )
        entries: list[JournalEntry] = []
        for seq, message, received_at, status, replies, reply_seqs in rows:
            try:
                texts = [text_of(value) for value in (message, received_at, status, replies)]
                entries.append(journal_entry(texts, reply_seqs))
            except Exception as exc:  # invalid JSON, UTF-8 or date: a corrupted row
                log_unreadable(self._db.path, "journal", seq, exc)
        return entries

    async def recent(
        self,
        *,
        limit: int,
        active_since: datetime | None = None,
        before: tuple[datetime, str] | None = None,
    ) -> list[ConversationSummary]:
        """`ContactRecords.recent`. No index on `updated_at` (one more write per turn, for a
        listing): the table is read a batch at a time, other statements running in between,
        keeping the `limit` most recent by (time, contact id); a page after `before` reads
        the table as the first page does."""
        check_limit(limit)
        cutoff = None if active_since is None else julian_day(active_since, "active_since")
        bound = None if before is None else await self._bound(*before)
        newest: list[tuple[float, bytes, int, tuple[bytes, ...]]] = []
        after = 0
        while True:
            rows = await self._db.fetch("list conversations", _RECENT, (after, RECENT_BATCH))
            for rowid, instant, *texts in rows:
                if instant is None or (cutoff is not None and instant < cutoff):
                    continue  # an unreadable time, or too old
                # The contact id (unique) breaks ties: a total order, which pages can split.
                # Its UTF-8 bytes sort as its characters do (`ContactRecords`, memory store).
                contact = bytes(texts[0] or b"")
                if bound is not None and (instant, contact) >= bound:
                    continue  # on an earlier page
                entry = (float(instant), contact, int(rowid), tuple(texts))
                if len(newest) < limit:
                    heapq.heappush(newest, entry)
                else:
                    heapq.heappushpop(newest, entry)
            if len(rows) < RECENT_BATCH:
                break
            after = rows[-1][0]
            await asyncio.sleep(0)
        summaries: list[ConversationSummary] = []
        for _, _, rowid, texts in sorted(newest, reverse=True):
            try:
                summaries.append(_summary(*texts))
            except Exception as exc:  # invalid UTF-8 or date: a corrupted row
                log_unreadable(self._db.path, "conversation", rowid, exc)
        return summaries

    async def _bound(self, updated_at: datetime, contact_id: str) -> tuple[float, bytes]:
        """`before` as the rows' sort keys are: (julianday, contact id as UTF-8)."""
        text = codec.datetime_to_json(updated_at, "before")
        rows = await self._db.fetch("list conversations", _INSTANT, (text,))
        instant = rows[0][0]
        if instant is None:  # a time SQLite cannot read (an offset with seconds): no bound
            return (float("-inf"), b"")  # is met, nothing listed rather than all
        # A lone surrogate (no stored id has one) encoded rather than refused.
        return (float(instant), contact_id.encode("utf-8", "surrogatepass"))

    async def erase(self, contact_id: str) -> ErasedRecords:
        """`ContactRecords.erase`, in one transaction."""

        def work(conn: sqlite3.Connection) -> ErasedRecords:
            conversation = conn.execute(
                "DELETE FROM conversation WHERE contact_id = ?", (contact_id,)
            ).rowcount
            if has_table(conn, UNREADABLE_TABLE):
                conversation += conn.execute(
                    "DELETE FROM conversation_unreadable WHERE contact_id = ?", (contact_id,)
                ).rowcount
            sent = conn.execute("DELETE FROM outbox WHERE contact_id = ?", (contact_id,)).rowcount
            # An unfinished move names the contact: it goes with the rest (its jobs were
            # cancelled by the erasure, so there is nothing left for it to finish).
            if has_table(conn, MOVES_TABLE):
                conn.execute(_MOVES_OF, (contact_id, contact_id))
            kept = 0
            if has_table(conn, REDELIVERY_TABLE):
                kept = conn.execute(ERASE_KEPT_CALLS, (contact_id,)).rowcount
            if has_table(conn, TASK_RUNS_TABLE):
                # A reminder's run id holds the flow's key, most often with the contact's id.
                found = conn.execute(_RUNS_LIKE, (like_pattern(contact_id),)).fetchall()
                runs = naming((str(row[0]) for row in found), contact_id)
                conn.executemany(_FORGET_RUN, [(run,) for run in runs])
            processed = conn.execute(_PROCESSED, (contact_id,)).fetchall()
            conn.executemany(
                _EMPTY_ENTRY,
                [
                    (emptied_message(message_id, from_epoch_micros(us)), seq)
                    for seq, message_id, us in processed
                ],
            )
            return ErasedRecords(
                conversation=conversation > 0,
                messages_received=len(processed),
                messages_sent=sent,
                calls_kept=kept,
            )

        # No contact id in the words: they reach the operator's log (a phone number).
        erased = await self._db.run("erase a contact", one_transaction(work))
        self._db.checkpointer.erased()  # the log still holds the rows' pages
        return erased

    async def move_conversation(self, old_contact_id: str, new_contact_id: str) -> ConversationMove:
        """`MovesConversations.move_conversation`, in one transaction: the row keeps its
        version and content, only its key changes, and the move is recorded as unfinished
        (`contact_move`) by the same commit."""
        check_move(old_contact_id, new_contact_id)

        def work(conn: sqlite3.Connection) -> ConversationMove:
            if not conn.execute(_HAS_STATE, (old_contact_id,)).fetchone():
                return "absent"
            if conn.execute(_HAS_STATE, (new_contact_id,)).fetchone():
                return "taken"
            conn.execute(_MOVE_STATE, (new_contact_id, old_contact_id))
            if has_table(conn, REDELIVERY_TABLE):  # the notifications kept follow it
                conn.execute(MOVE_KEPT_CALLS, (new_contact_id, old_contact_id))
            conn.execute(_CREATE_MOVES)
            conn.execute(_MOVE_BEGUN, (old_contact_id, new_contact_id))
            return "moved"

        # No contact id in the words: they reach the operator's log (a phone number).
        return await self._db.run("move a conversation", one_transaction(work))

    async def unfinished_moves(self) -> list[tuple[str, str]]:
        """`MovesConversations.unfinished_moves`."""

        def work(conn: sqlite3.Connection) -> list[tuple[str, str]]:
            if not has_table(conn, MOVES_TABLE):
                return []  # no move was ever made in this file
            rows = conn.execute(_MOVES_UNFINISHED).fetchall()
            return [(str(old), str(new)) for old, new in rows]

        return await self._db.run("read the unfinished contact moves", work)

    async def move_finished(self, old_contact_id: str, new_contact_id: str) -> None:
        """`MovesConversations.move_finished`."""

        def work(conn: sqlite3.Connection) -> None:
            if has_table(conn, MOVES_TABLE):
                conn.execute(_MOVE_FINISHED, (old_contact_id, new_contact_id))

        await self._db.run("finish a contact move", one_transaction(work))


def _summary(
    contact: bytes, node: bytes, created: bytes, updated: bytes, inbound: bytes | None
) -> ConversationSummary:
    return ConversationSummary(
        contact_id=text_of(contact),
        node=text_of(node),
        created_at=codec.datetime_from_json(text_of(created)),
        updated_at=codec.datetime_from_json(text_of(updated)),
        last_inbound_at=None if inbound is None else codec.datetime_from_json(text_of(inbound)),
    )
