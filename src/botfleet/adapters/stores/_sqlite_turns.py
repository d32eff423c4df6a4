"""SQLite `TurnStore`: a turn's state, outbox rows and journal completion in one transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, cast

from botfleet.adapters.stores import codec
from botfleet.adapters.stores._contract import epoch_micros, stored_state
from botfleet.adapters.stores._sqlite_database import SqliteDatabase, has_table
from botfleet.adapters.stores._sqlite_group_commit import GroupCommit
from botfleet.adapters.stores._sqlite_tables import (
    _INSERT_STATE,
    _STATE_COLUMNS,
    _UPDATE_STATE,
    SET_ASIDE,
    journal_values,
    log_unreadable,
    readable_outbox_record,
    update_rows,
)
from botfleet.domain.errors import ConcurrentUpdate, StoreError, TaskAlreadyRan
from botfleet.flows.state import ConversationState
from botfleet.ports.stores import ReceivedMessage

_INSERT_OUTBOX = "INSERT INTO outbox (contact_id, at, output, delivered) VALUES (?, ?, ?, ?)"
_MAX_SEQ = 2**63 - 1
_CONFIRM = "UPDATE outbox SET delivered = 1 WHERE contact_id = ? AND delivered = 0 AND seq <= ?"
_UNDELIVERED = (
    "SELECT seq, CAST(contact_id AS BLOB), CAST(at AS BLOB), CAST(output AS BLOB) "
    "FROM outbox WHERE delivered = 0 ORDER BY seq"
)
_COMPLETE_PENDING = (
    "UPDATE journal SET status = 'done', replies = ?, reply_seqs = ? "
    "WHERE message_id = ? AND status = 'pending' RETURNING seq"
)
_RECORD_DONE = (
    "INSERT INTO journal (message_id, contact_id, message, received_at, received_us, replies, "
    "reply_seqs, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'done') "
    "ON CONFLICT (message_id) DO NOTHING RETURNING seq"
)

# Runs of one-off tasks their turns recorded (`task_run`), so a job stored again after its run
# is not sent twice. Created when first needed, not by a migration: the file stays readable by
# earlier releases. `ran_us` (microseconds since the epoch) orders pruning; `ran_at` is for
# people reading the file.
#: Made when first needed (`has_table`); an erasure deletes a contact's runs from it.
TASK_RUNS_TABLE = "task_runs"
_CREATE_TASK_RUNS = (
    "CREATE TABLE IF NOT EXISTS task_runs "
    "(run_id TEXT PRIMARY KEY, ran_at TEXT NOT NULL, ran_us INTEGER NOT NULL)"
)
_CREATE_TASK_RUNS_INDEX = "CREATE INDEX IF NOT EXISTS task_runs_ran ON task_runs (ran_us)"
_RECORD_TASK_RUN = (
    "INSERT INTO task_runs (run_id, ran_at, ran_us) VALUES (?, ?, ?) "
    "ON CONFLICT (run_id) DO NOTHING RETURNING run_id"
)


@dataclass(frozen=True, slots=True)
class _TurnRows:
    """Everything the transaction writes, encoded beforehand on the event loop."""

    contact_id: str
    key: str
    expected_version: int
    state_values: list[Any]
    outbox_rows: list[tuple[str, str, str, int]]
    message_id: str | None
    replies: str
    merged_ids: tuple[str, ...]
    #: Journal rows (`journal_values`) of the messages the turn records itself, by id.
    unrecorded: dict[str, tuple[Any, ...]]
    #: The `task_runs` row of a task's run (run id, at, at in microseconds), or None.
    task_run: tuple[str, str, int] | None
    where: str


class SqliteTurnStore:
    """Implements `TurnStore` on a tenant's SQLite file: a turn is one savepoint of the
    transaction its group of turns shares (`GroupCommit`)."""

    def __init__(self, database: SqliteDatabase, group_commit: GroupCommit | None = None) -> None:
        self._db = database
        self.group_commit = group_commit or GroupCommit(database)

    async def commit_turn(
        self,
        state: ConversationState,
        *,
        expected_version: int,
        message_id: str | None,
        outputs: Sequence[dict[str, Any]],
        at: datetime,
        undelivered: bool = False,
        merged_ids: Sequence[str] = (),
        unrecorded: Sequence[ReceivedMessage] = (),
        task_run: str | None = None,
        seqs: list[int] | None = None,
    ) -> ConversationState:
        new = stored_state(state, expected_version)
        row = codec.state_to_row(new)
        where = f"outbox output for {state.contact_id!r}"
        at_text = codec.datetime_to_json(at, f"{where}: at")
        texts = codec.checked_dumps_each(outputs, where)
        rows = _TurnRows(
            contact_id=state.contact_id,
            key=f"{state.tenant_id}/{state.contact_id}",
            expected_version=expected_version,
            state_values=[row[c] for c in _STATE_COLUMNS],
            outbox_rows=[(state.contact_id, at_text, text, int(not undelivered)) for text in texts],
            message_id=message_id,
            replies="[" + ",".join(texts) + "]",
            merged_ids=tuple(merged_ids),
            unrecorded={
                r.message.message_id: journal_values(r.message, r.received_at) for r in unrecorded
            },
            task_run=None
            if task_run is None
            else (task_run, at_text, epoch_micros(at, f"{where}: at")),
            where=str(self._db.path),
        )
        written = await self.group_commit.run(
            f"commit the turn of {state.contact_id!r}", partial(_write, rows)
        )
        if seqs is not None:
            seqs.extend(written)
        # What `load` would now return (tuples come back as lists): callers may cache it.
        return codec.state_reloaded(new, row)

    async def task_ran(self, run_id: str) -> bool:
        """`TurnStore.task_ran`: the run is in `task_runs` (no table yet: no run recorded)."""

        def work(conn: sqlite3.Connection) -> bool:
            if not has_table(conn, TASK_RUNS_TABLE):
                return False
            found = conn.execute("SELECT 1 FROM task_runs WHERE run_id = ?", (run_id,))
            return found.fetchone() is not None

        return await self._db.run(f"read task run {run_id!r}", work)

    async def prune_task_runs(self, older_than: datetime) -> int:
        """Delete the task runs recorded before `older_than`; returns how many."""
        cutoff = epoch_micros(older_than, "prune: older_than")

        def work(conn: sqlite3.Connection) -> int:
            if not has_table(conn, TASK_RUNS_TABLE):
                return 0
            return conn.execute("DELETE FROM task_runs WHERE ran_us < ?", (cutoff,)).rowcount

        return await self._db.run("prune task runs", work)

    async def pending_deliveries(self) -> list[dict[str, Any]]:
        """Undelivered rows in order. One that cannot be read back is logged
        (`store_row_unreadable`) and set aside (`SET_ASIDE`); the others are returned."""
        rows = await self._db.fetch("list undelivered outputs", _UNDELIVERED)
        records: list[dict[str, Any]] = []
        unreadable: list[int] = []
        for seq, contact_id, at, output in rows:
            try:
                record = readable_outbox_record(seq, contact_id, at, output)
            except Exception as exc:  # invalid JSON or UTF-8; not an output
                unreadable.append(seq)
                log_unreadable(self._db.path, "outbox", seq, exc)
                continue
            records.append(record)
        await update_rows(
            self._db,
            "set unreadable outputs aside",
            f"UPDATE outbox SET delivered = {SET_ASIDE} WHERE delivered = 0 AND seq IN ({{marks}})",
            unreadable,
        )
        return records

    async def confirm_delivered(self, contact_id: str, *, up_to: int | None = None) -> int:
        params = (contact_id, _MAX_SEQ if up_to is None else up_to)
        # After every send of a provider channel: it joins the turns' group commits.
        return await self.group_commit.run(
            f"confirm the delivery of outputs to {contact_id!r}",
            lambda conn: conn.execute(_CONFIRM, params).rowcount,
            one_statement=True,
        )


def _write(rows: _TurnRows, conn: sqlite3.Connection) -> list[int]:
    """The turn's statements, inside the transaction `GroupCommit` began; returns the outbox
    rows' seqs, which are this turn's own even when its group holds others."""
    if rows.task_run is not None:
        _record_task_run(rows.task_run, conn)
    _save_state(rows, conn)
    seqs = _append_outbox(rows.outbox_rows, conn)
    for merged_id in rows.merged_ids:
        _complete(conn, merged_id, "[]", "[]", rows)
    if rows.message_id is not None:
        seqs_text = "[" + ",".join(map(str, seqs)) + "]"
        _complete(conn, rows.message_id, rows.replies, seqs_text, rows)
    return seqs


def _append_outbox(
    outbox_rows: list[tuple[str, str, str, int]], conn: sqlite3.Connection
) -> list[int]:
    """Insert the rows one `execute` each, which leaves each row's seq in `lastrowid`:
    `executemany` steps the statement as often but keeps no rowid, and asking for them after
    would cost the turn another statement."""
    cursor = conn.cursor()
    seqs: list[int] = []
    for row in outbox_rows:
        cursor.execute(_INSERT_OUTBOX, row)
        seqs.append(cast(int, cursor.lastrowid))  # an INSERT's: never None
    return seqs


def _record_task_run(row: tuple[str, str, int], conn: sqlite3.Connection) -> None:
    conn.execute(_CREATE_TASK_RUNS)
    conn.execute(_CREATE_TASK_RUNS_INDEX)
    if not conn.execute(_RECORD_TASK_RUN, row).fetchall():
        raise TaskAlreadyRan(f"task run {row[0]!r} was committed before")


def _save_state(rows: _TurnRows, conn: sqlite3.Connection) -> None:
    values = rows.state_values
    if rows.expected_version == 0:
        cursor = conn.execute(_INSERT_STATE, values)
    else:
        cursor = conn.execute(_UPDATE_STATE, [*values[1:], values[0], rows.expected_version])
    found = cursor.fetchall()
    if not found:
        current = conn.execute(
            "SELECT version FROM conversation WHERE contact_id = ?", (rows.contact_id,)
        ).fetchall()
        raise ConcurrentUpdate(rows.key, rows.expected_version, current[0][0] if current else None)


def _complete(
    conn: sqlite3.Connection, message_id: str, replies: str, seqs: str, rows: _TurnRows
) -> None:
    where = rows.where
    values = rows.unrecorded.get(message_id)
    if values is not None:
        if conn.execute(_RECORD_DONE, (*values, replies, seqs)).fetchall():
            return
    elif conn.execute(_COMPLETE_PENDING, (replies, seqs, message_id)).fetchall():
        return
    found = conn.execute(
        "SELECT status FROM journal WHERE message_id = ?", (message_id,)
    ).fetchall()
    if not found:
        raise StoreError(f"{where}: journal has no message {message_id!r} to complete")
    if values is not None:
        raise StoreError(
            f"{where}: message {message_id!r} is in the journal already (status "
            f"{found[0][0]!r}); its turn is not committed twice"
        )
    raise StoreError(
        f"{where}: message {message_id!r} was already processed (status "
        f"{found[0][0]!r}); its turn is not committed twice"
    )
