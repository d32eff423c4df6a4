"""SQLite tenant store: one file per tenant holding conversation states, journal and outbox.

Open it with `await SqliteTenantStore.open(path)` or `async with SqliteTenantStore.open(path)`.
One `sqlite3` connection in autocommit mode serves all the stores, on the event loop's thread
(`_sqlite_database`): every call is a single statement (writes use `RETURNING`) or one
`run` transaction, and thus one committed transaction; nothing is left half-done between two
awaits. The frequent writes (turn commits, journal records, delivery confirmations, LLM
usage counts) go through `group_commit` instead: those reaching the store in one loop
iteration share a transaction, a savepoint per turn (`_sqlite_group_commit`), and each
returns once that transaction has committed.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from botfleet.adapters.stores._sqlite_contacts import SqliteContactRecords
from botfleet.adapters.stores._sqlite_database import SqliteDatabase, connect
from botfleet.adapters.stores._sqlite_group_commit import GroupCommit
from botfleet.adapters.stores._sqlite_redelivery import SqliteRedeliveryQueue
from botfleet.adapters.stores._sqlite_schema import prepare
from botfleet.adapters.stores._sqlite_tables import (
    SqliteMessageJournal,
    SqliteOutbox,
    SqliteStateStore,
)
from botfleet.adapters.stores._sqlite_turns import SqliteTurnStore
from botfleet.flows.state import ConversationState
from botfleet.ports.stores import ReceivedMessage

__all__ = [
    "OpeningTenantStore",
    "SqliteMessageJournal",
    "SqliteOutbox",
    "SqliteStateStore",
    "SqliteTenantStore",
    "SqliteTurnStore",
]

DEFAULT_BUSY_TIMEOUT = 5.0  # seconds to wait for another process's write lock


class SqliteTenantStore:
    """A tenant's SQLite file; `.states`, `.journal`, `.outbox` and `.contacts` implement the
    store ports."""

    def __init__(self, database: SqliteDatabase) -> None:
        """Use `SqliteTenantStore.open(path)`; this wraps an already prepared connection."""
        self._database = database
        self.path = database.path
        self.states = SqliteStateStore(database)
        # One group for the journal's records and the turns' commits: both are written often,
        # and messages recorded in an iteration share the transaction of the turns committed.
        self.group_commit = GroupCommit(database)
        self.journal = SqliteMessageJournal(database, self.group_commit)
        self.outbox = SqliteOutbox(database)
        self.turns = SqliteTurnStore(database, self.group_commit)
        self.contacts = SqliteContactRecords(database)
        self.redelivery = SqliteRedeliveryQueue(database)

    @property
    def database(self) -> SqliteDatabase:
        """The file's connection, for other stores kept in the same file (LLM usage)."""
        return self._database

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT
    ) -> OpeningTenantStore:
        """Open (creating folders and file, migrating the schema) the store at `path`.

        Args:
            path: the tenant's database file.
            busy_timeout: seconds to wait for a lock held by another connection before a
                call fails with `StoreError` ("database is locked").

        Raises:
            StoreError: the file cannot be created or opened, is not a database, cannot use
                WAL, or was written by a newer botfleet (schema version too high).
        """
        return OpeningTenantStore(Path(path), busy_timeout)

    @classmethod
    async def _connect(cls, path: Path, busy_timeout: float) -> SqliteTenantStore:
        conn = connect(path, "the tenant store")
        try:
            prepare(conn, path, busy_timeout)
        except BaseException:
            conn.close()
            raise
        return cls(SqliteDatabase(conn, path, busy_timeout=busy_timeout))

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
        """`TurnStore.commit_turn`: state, outbox rows and journal completion in one transaction."""
        return await self.turns.commit_turn(
            state,
            expected_version=expected_version,
            message_id=message_id,
            outputs=outputs,
            at=at,
            undelivered=undelivered,
            merged_ids=merged_ids,
            unrecorded=unrecorded,
            task_run=task_run,
            seqs=seqs,
        )

    async def task_ran(self, run_id: str) -> bool:
        """`TurnStore.task_ran`: a committed turn recorded this task run."""
        return await self.turns.task_ran(run_id)

    async def pending_deliveries(self) -> list[dict[str, Any]]:
        """`TurnStore.pending_deliveries`: outputs committed but never confirmed sent."""
        return await self.turns.pending_deliveries()

    async def confirm_delivered(self, contact_id: str, *, up_to: int | None = None) -> int:
        """`TurnStore.confirm_delivered`: the contact's outputs were handed to the channel."""
        return await self.turns.confirm_delivered(contact_id, up_to=up_to)

    async def prune_journal(self, older_than: datetime) -> int:
        """Delete processed (done or failed) journal entries received before `older_than`.

        Pending entries are always kept. Returns how many entries were deleted. Entries
        pruned no longer count as duplicates, so keep more than the channels' retry window.
        """
        return self._pruned(await self.journal.prune(older_than))

    async def prune_outbox(self, older_than: datetime) -> int:
        """Delete delivered outbox rows written before `older_than`; returns how many.

        Rows waiting for delivery (a provider channel's, before the send is confirmed) are
        always kept, as are rows set aside as unreadable. The web chat reads the outbox: keep
        more than its clients need to catch up (the journal's retention is used).
        """
        return self._pruned(await self.outbox.prune(older_than))

    async def prune_unreadable_states(self, older_than: datetime) -> int:
        """Delete the conversation states set aside as unreadable (`conversation_unreadable`)
        before `older_than`; returns how many. They hold a contact's content as the state did,
        so they are kept as long as the journal keeps message ids, not for good."""
        return self._pruned(await self.states.prune_set_aside(older_than))

    async def forget_inactive(self, older_than: datetime) -> list[str]:
        """Delete the conversation states last updated before `older_than` (the flow's
        `settings.conversation_retention`); returns their contact ids."""
        return await self.states.forget_inactive(older_than)

    async def prune_task_runs(self, older_than: datetime) -> int:
        """Delete the task runs (`TurnStore.task_ran`) recorded before `older_than`; returns how
        many. A run must be remembered as long as its job could be stored again, by a turn
        replayed after a crash within the scheduler's grace window: the journal's retention is
        far longer."""
        return self._pruned(await self.turns.prune_task_runs(older_than))

    def _pruned(self, removed: int) -> int:
        """`removed` rows aged out: a contact's words (messages, replies, states set aside;
        a run id may hold a contact id) stay in the write-ahead log's pages, and in the file's
        until a checkpoint copies the zeroed pages over them, so the log is cut back at the
        next idle moment, as after an erasure. Without it a quiet tenant kept pruned messages
        readable for as long as its log took to reach a checkpoint (days at a clinic's pace)."""
        if removed:
            self._database.checkpointer.erased()
        return removed

    async def close(self) -> None:
        """Close the connection; idempotent. Later calls raise `StoreError`."""
        await self._database.close()

    async def __aenter__(self) -> SqliteTenantStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class OpeningTenantStore:
    """What `SqliteTenantStore.open()` returns: await it, or use it with `async with`."""

    def __init__(self, path: Path, busy_timeout: float) -> None:
        self._path = path
        self._busy_timeout = busy_timeout
        self._store: SqliteTenantStore | None = None

    def __await__(self) -> Generator[Any, None, SqliteTenantStore]:
        # The coroutine is created only when awaited: no "never awaited" warnings.
        return SqliteTenantStore._connect(self._path, self._busy_timeout).__await__()

    async def __aenter__(self) -> SqliteTenantStore:
        self._store = await self
        return self._store

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._store is not None:
            await self._store.close()
