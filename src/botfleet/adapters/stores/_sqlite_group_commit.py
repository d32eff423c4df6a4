"""Group commit: the turn commits and journal records that reach a tenant's store in one
event-loop iteration are written in one SQLite transaction, a SAVEPOINT per turn.

Under load most of a turn's commit was the same pages written again by the next turn (the
journal's and the outbox's last leaves and index pages, `sqlite_sequence`) and a COMMIT per
turn; pages written once per group instead of once per turn are fewer log frames to write and
to checkpoint (docs/benchmarks.md, "Run of 2026-12-04, third session: group commit"). A turn's
`run` still returns only once the transaction holding it has committed, so nothing is
acknowledged before it is durable.

Failures keep to the turn they belong to where SQLite allows it:
- an error raised by one turn's own work (a stale version: `ConcurrentUpdate`; a journal entry
  already done; a value SQLite refuses) rolls back to that turn's savepoint and fails that
  turn only; the others commit;
- a transient sqlite error (disk full, I/O error: SQLite may have rolled the whole transaction
  back already), a failed BEGIN or COMMIT, or anything that is not an `Exception` fails every
  turn of the group, each with its own copy of the error; nothing of the group is written;
- another process holding the write lock makes the whole group wait and try again, as one
  statement would (`SqliteDatabase.run`).

A caller cancelled before its group is written is left out of it. No library offers this for
the stdlib `sqlite3` module (SQLAlchemy and aiosqlite commit per session or per call).
"""

from __future__ import annotations

import asyncio
import copy
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from botfleet.adapters.stores._sqlite_database import (
    SQLITE_FAILURES,
    LockBusy,
    SqliteDatabase,
    is_transient,
)
from botfleet.domain.errors import StoreError

T = TypeVar("T")


@dataclass(slots=True)
class _Entry(Generic[T]):
    doing: str
    work: Callable[[sqlite3.Connection], T]
    future: asyncio.Future[T]
    one_statement: bool
    outcome: tuple[bool, Any] = field(default=(False, None))  # (ok, result or exception)


class GroupCommit:
    """Runs transaction bodies (statements without BEGIN or COMMIT) in shared transactions."""

    def __init__(self, database: SqliteDatabase) -> None:
        self._db = database
        self._pending: list[_Entry[Any]] = []
        self._waiting: set[asyncio.Future[None]] = set()
        #: Groups written and the calls in them since start (tests, curiosity).
        self.groups = 0
        self.calls = 0

    async def run(
        self, doing: str, work: Callable[[sqlite3.Connection], T], *, one_statement: bool = False
    ) -> T:
        """Run `work` in the next group's transaction; returns its result once committed.

        `doing` says what for, in error messages. `work` must not begin, commit or roll back.
        `one_statement`: `work` runs a single statement, which SQLite undoes by itself when it
        fails, so it needs no savepoint of its own.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if not self._pending:
            # After the callbacks already queued: the other turns stepped in this iteration
            # reach `run` before the group is written.
            loop.call_soon(self._write_pending)
        self._pending.append(_Entry(doing, work, future, one_statement))
        return await future

    def _write_pending(self) -> None:
        group = [entry for entry in self._pending if not entry.future.cancelled()]
        self._pending = []
        if not group:
            return
        if not self._db.checkpointer.gate.is_set():  # a RESTART holds the file
            self._write_when_possible(group)
            return
        try:
            self._db.run_now(_doing(group), lambda conn: _write(group, conn, self._db))
        except LockBusy:
            self._write_when_possible(group)
        except BaseException as exc:  # a callback's exception would only be logged: fail them
            _fail(group, exc)
            if not isinstance(exc, Exception):
                raise
        else:
            self._settle(group)

    def _write_when_possible(self, group: list[_Entry[Any]]) -> None:
        """Wait for the lock or the checkpoint, as any statement does (`SqliteDatabase.run`)."""
        task = asyncio.ensure_future(self._write_later(group))
        self._waiting.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._waiting.discard)

    async def _write_later(self, group: list[_Entry[Any]]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            # Callers cancelled while the group waited are left out, as they would have been
            # had it been written at once.
            live = [entry for entry in group if not entry.future.cancelled()]
            if live:
                _write(live, conn, self._db)

        try:
            await self._db.run(_doing(group), write)
        except BaseException as exc:
            _fail(group, exc)
            if not isinstance(exc, Exception):
                raise
        else:
            self._settle(group)

    def _settle(self, group: list[_Entry[Any]]) -> None:
        self.groups += 1
        for entry in group:
            if entry.future.done():  # cancelled while the group waited: left out of it
                continue
            self.calls += 1
            ok, value = entry.outcome
            if ok:
                entry.future.set_result(value)
            else:
                entry.future.set_exception(value)


def _doing(group: list[_Entry[Any]]) -> str:
    if len(group) == 1:
        return group[0].doing
    return f"{group[0].doing} (with {len(group) - 1} other writes in one transaction)"


def _write(group: list[_Entry[Any]], conn: sqlite3.Connection, db: SqliteDatabase) -> None:
    """The group's transaction; sets each entry's outcome, or raises for the whole group."""
    conn.execute("BEGIN IMMEDIATE")  # the write lock first: no other process wedges in
    try:
        if len(group) == 1:  # alone: its transaction is its savepoint
            group[0].outcome = _alone(group[0], conn)
        else:
            for entry in group:
                entry.outcome = _savepoint(entry, conn, db)
        if conn.in_transaction:
            conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _alone(entry: _Entry[Any], conn: sqlite3.Connection) -> tuple[bool, Any]:
    try:
        return True, entry.work(conn)
    except SQLITE_FAILURES:
        raise  # `SqliteDatabase` names the file and tells transient from permanent
    except Exception as exc:  # the turn's own refusal (ConcurrentUpdate, StoreError, a bug)
        conn.execute("ROLLBACK")
        return False, exc


def _savepoint(
    entry: _Entry[Any], conn: sqlite3.Connection, db: SqliteDatabase
) -> tuple[bool, Any]:
    if not entry.one_statement:
        conn.execute("SAVEPOINT turn")
    try:
        result = entry.work(conn)
    except SQLITE_FAILURES as exc:
        if is_transient(exc) or not conn.in_transaction:
            raise  # SQLite may have undone the whole transaction: fail the whole group
        _undo(entry, conn)
        error = db.error(entry.doing, exc)
        error.__cause__ = exc
        return False, error
    except Exception as exc:  # the turn's own refusal (ConcurrentUpdate, StoreError, a bug)
        _undo(entry, conn)
        return False, exc
    if not entry.one_statement:
        conn.execute("RELEASE turn")
    return True, result


def _undo(entry: _Entry[Any], conn: sqlite3.Connection) -> None:
    if not entry.one_statement:  # a failed statement has been undone by SQLite already
        conn.execute("ROLLBACK TO turn")
        conn.execute("RELEASE turn")


def _fail(group: list[_Entry[Any]], exc: BaseException) -> None:
    """Every turn of the group gets the group's error, each its own copy (an exception object
    raised in several tasks would collect all their tracebacks)."""
    for entry in group:
        if entry.future.done():
            continue
        if isinstance(exc, Exception):
            entry.future.set_exception(_copy(exc))
        else:
            entry.future.cancel()


def _copy(exc: Exception) -> Exception:
    try:
        mine = copy.copy(exc)
    except Exception:  # an exception class whose arguments are not its `args`
        mine = StoreError(str(exc))
    mine.__cause__ = exc.__cause__
    return mine
