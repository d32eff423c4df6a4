"""In-memory stores: the dev and test adapters of StateStore, MessageJournal and OutboxStore.

They behave like the SQLite adapters (optimistic concurrency, duplicate detection, bounded
history, JSON-only values) because values go through the same codec; they just forget
everything when the process ends. Each method runs without awaiting, so on one event loop a
check-then-write is atomic, as a single SQL statement is.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from botfleet.adapters.stores import codec
from botfleet.adapters.stores._contract import (
    check_final_status,
    check_limit,
    epoch_micros,
    outbox_record,
    stored_state,
)
from botfleet.adapters.stores._memory_contacts import InMemoryContactRecords
from botfleet.adapters.stores._memory_redelivery import InMemoryRedeliveryQueue
from botfleet.domain.errors import ConcurrentUpdate, StoreError, TaskAlreadyRan
from botfleet.domain.messages import InboundMessage
from botfleet.flows.state import ConversationState
from botfleet.ports.stores import JournalEntry, ReceivedMessage

__all__ = ["InMemoryMessageJournal", "InMemoryOutbox", "InMemoryStateStore", "InMemoryTenantStore"]


class InMemoryStateStore:
    """Conversation states in a dict, as JSON text (so callers cannot mutate what is stored)."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[int, str]] = {}

    async def load(self, contact_id: str) -> ConversationState | None:
        row = self._rows.get(contact_id)
        return None if row is None else codec.state_from_json(codec.loads(row[1]))

    async def save(self, state: ConversationState, *, expected_version: int) -> ConversationState:
        new = stored_state(state, expected_version)
        row = self._rows.get(state.contact_id)
        actual = None if row is None else row[0]
        if actual != (expected_version or None):
            key = f"{state.tenant_id}/{state.contact_id}"
            raise ConcurrentUpdate(key, expected_version, actual)
        self._rows[state.contact_id] = (new.version, codec.dumps(codec.state_to_json(new)))
        return new

    async def delete(self, contact_id: str) -> None:
        self._rows.pop(contact_id, None)

    async def count(self) -> int:
        return len(self._rows)


@dataclass(slots=True)
class _JournalRow:
    seq: int
    message: str  # JSON text
    received_at: datetime
    status: str = "pending"
    replies: str = "[]"  # JSON text
    reply_seqs: tuple[int, ...] | None = ()

    def entry(self) -> JournalEntry:
        return JournalEntry(
            message=codec.message_from_json(codec.loads(self.message)),
            received_at=self.received_at,
            status=self.status,
            replies=tuple(codec.loads(self.replies)),
            reply_seqs=self.reply_seqs,
        )


class InMemoryMessageJournal:
    """Inbound messages by id; a second `record()` of the same id reports a duplicate."""

    def __init__(self) -> None:
        self._rows: dict[str, _JournalRow] = {}
        self._seq = itertools.count(1)

    async def record(self, message: InboundMessage, received_at: datetime) -> bool:
        if message.message_id in self._rows:
            return False
        self._rows[message.message_id] = self._new_row(ReceivedMessage(message, received_at))
        return True

    async def record_failed(self, message: InboundMessage, received_at: datetime) -> bool:
        if message.message_id in self._rows:
            return False
        row = self._new_row(ReceivedMessage(message, received_at))
        row.status = "failed"
        self._rows[message.message_id] = row
        return True

    async def complete(
        self, message_id: str, replies: Sequence[dict[str, Any]], *, status: str = "done"
    ) -> None:
        check_final_status(status, message_id)
        row = self._rows.get(message_id)
        if row is None:
            raise StoreError(f"journal has no message {message_id!r} to complete")
        row.replies = codec.checked_dumps(list(replies), f"message {message_id!r}: replies")
        row.reply_seqs = None if replies else ()  # no outbox rows: none known
        row.status = status

    async def get(self, message_id: str) -> JournalEntry | None:
        row = self._rows.get(message_id)
        return None if row is None else row.entry()

    def _new_row(self, received: ReceivedMessage) -> _JournalRow:
        """A new row for `received` (`record`, or a turn recording its message itself); its id
        must not be in the journal."""
        message = received.message
        row = self._rows.get(message.message_id)
        if row is not None:
            raise StoreError(
                f"message {message.message_id!r} is in the journal already (status "
                f"{row.status!r}); its turn is not committed twice"
            )
        text = codec.dumps(codec.message_to_json(message))
        epoch_micros(received.received_at, f"message {message.message_id!r}: received_at")
        return _JournalRow(next(self._seq), text, received.received_at)

    def _pending_row(self, message_id: str) -> _JournalRow:
        """The row a turn completes; it must exist and not be processed yet."""
        row = self._rows.get(message_id)
        if row is None:
            raise StoreError(f"journal has no message {message_id!r} to complete")
        if row.status != "pending":
            raise StoreError(
                f"message {message_id!r} was already processed (status {row.status!r}); "
                "its turn is not committed twice"
            )
        return row

    async def pending(self) -> list[JournalEntry]:
        """In the order recorded (received times come from a wall clock that can step back)."""
        rows = [r for r in self._rows.values() if r.status == "pending"]
        rows.sort(key=lambda r: r.seq)
        return [r.entry() for r in rows]

    async def prune(self, older_than: datetime) -> int:
        """Forget processed (done or failed) messages received before `older_than`."""
        limit = epoch_micros(older_than, "prune: older_than")
        old = [
            message_id
            for message_id, row in self._rows.items()
            if row.status != "pending" and epoch_micros(row.received_at, "received_at") < limit
        ]
        for message_id in old:
            del self._rows[message_id]
        return len(old)


class InMemoryOutbox:
    """Sent messages in a list; sequence numbers start at 1 and never repeat."""

    def __init__(self) -> None:
        #: seq, contact, at (ISO), output JSON; at index seq - 1, None once pruned.
        self._rows: list[tuple[int, str, str, str] | None] = []

    async def append(self, contact_id: str, output: dict[str, Any], at: datetime) -> int:
        text = codec.checked_dumps(output, f"outbox output for {contact_id!r}")
        at_text = codec.datetime_to_json(at, f"outbox output for {contact_id!r}: at")
        seq = len(self._rows) + 1
        self._rows.append((seq, contact_id, at_text, text))
        return seq

    async def since(
        self, *, contact_id: str | None = None, since: int = 0, limit: int = 200
    ) -> list[dict[str, Any]]:
        check_limit(limit)
        found: list[dict[str, Any]] = []
        for row in self._rows[max(since, 0) :]:
            if len(found) >= limit:
                break
            if row is None:  # pruned
                continue
            seq, contact, at, output = row
            if contact_id is None or contact == contact_id:
                found.append(outbox_record(seq, contact, at, output))
        return found


class InMemoryTenantStore:
    """The three in-memory stores bundled like `SqliteTenantStore`, for the composition root."""

    def __init__(self) -> None:
        self.states = InMemoryStateStore()
        self.journal = InMemoryMessageJournal()
        self.outbox = InMemoryOutbox()
        self._undelivered: dict[int, str] = {}  # outbox seq -> contact id
        self._task_runs: dict[str, int] = {}  # run id -> when recorded (epoch microseconds)
        #: (old, new) of moves whose conversation moved and whose jobs may not have, in order.
        self.unfinished_moves: list[tuple[str, str]] = []
        self.contacts = InMemoryContactRecords(self)
        self.redelivery = InMemoryRedeliveryQueue()

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
        """`TurnStore.commit_turn`: every check runs before the first write, and nothing awaits
        in between, so the turn is stored whole or not at all."""
        if task_run is not None and task_run in self._task_runs:
            raise TaskAlreadyRan(f"task run {task_run!r} was committed before")
        new = stored_state(state, expected_version)
        state_text = codec.dumps(codec.state_to_json(new))
        row = self.states._rows.get(state.contact_id)
        actual = None if row is None else row[0]
        if actual != (expected_version or None):
            raise ConcurrentUpdate(
                f"{state.tenant_id}/{state.contact_id}", expected_version, actual
            )
        where = f"outbox output for {state.contact_id!r}"
        at_text = codec.datetime_to_json(at, f"{where}: at")
        texts = [codec.checked_dumps(o, f"{where}[{i}]") for i, o in enumerate(outputs)]
        ran_us = 0 if task_run is None else epoch_micros(at, f"{where}: at")
        new_rows = {r.message.message_id: self.journal._new_row(r) for r in unrecorded}
        merged = [new_rows.get(m) or self.journal._pending_row(m) for m in merged_ids]
        entry = None
        if message_id is not None:
            entry = new_rows.get(message_id) or self.journal._pending_row(message_id)
        completed = [*merged_ids, *([] if message_id is None else [message_id])]
        if len(set(completed)) < len(completed):
            # As SQLite finds it: the second completion meets an entry already done.
            raise StoreError(f"a message is completed twice by one turn: {completed!r}")
        # Writes from here on: none of them can fail.
        for message_key, new_row in new_rows.items():
            if message_key in completed:
                self.journal._rows[message_key] = new_row
        self.states._rows[state.contact_id] = (new.version, state_text)
        written = self._append(state.contact_id, at_text, texts, undelivered)
        for merged_entry in merged:
            merged_entry.replies = "[]"
            merged_entry.reply_seqs = ()
            merged_entry.status = "done"
        if entry is not None:
            entry.replies = "[" + ",".join(texts) + "]"
            entry.reply_seqs = tuple(written)
            entry.status = "done"
        if task_run is not None:
            self._task_runs[task_run] = ran_us
        if seqs is not None:
            seqs.extend(written)
        # What `load` would now return (tuples come back as lists): callers may cache it.
        return codec.state_from_json(codec.loads(state_text))

    def _append(
        self, contact_id: str, at_text: str, texts: Sequence[str], undelivered: bool
    ) -> list[int]:
        """A turn's outbox rows; their seqs."""
        written: list[int] = []
        for text in texts:
            seq = len(self.outbox._rows) + 1
            self.outbox._rows.append((seq, contact_id, at_text, text))
            written.append(seq)
            if undelivered:
                self._undelivered[seq] = contact_id
        return written

    async def task_ran(self, run_id: str) -> bool:
        """`TurnStore.task_ran`: a committed turn recorded this task run."""
        return run_id in self._task_runs

    async def prune_task_runs(self, older_than: datetime) -> int:
        """Forget task runs recorded before `older_than`."""
        limit = epoch_micros(older_than, "prune: older_than")
        old = [run for run, at in self._task_runs.items() if at < limit]
        for run in old:
            del self._task_runs[run]
        return len(old)

    async def pending_deliveries(self) -> list[dict[str, Any]]:
        """`TurnStore.pending_deliveries`: outputs committed but never confirmed sent."""
        rows = (self.outbox._rows[seq - 1] for seq in sorted(self._undelivered))
        return [outbox_record(*row) for row in rows if row is not None]  # never pruned

    async def confirm_delivered(self, contact_id: str, *, up_to: int | None = None) -> int:
        """`TurnStore.confirm_delivered`: the contact's outputs were handed to the channel."""
        done = [
            seq
            for seq, contact in self._undelivered.items()
            if contact == contact_id and (up_to is None or seq <= up_to)
        ]
        for seq in done:
            del self._undelivered[seq]
        return len(done)

    async def prune_journal(self, older_than: datetime) -> int:
        """Forget processed journal entries received before `older_than`."""
        return await self.journal.prune(older_than)

    async def forget_inactive(self, older_than: datetime) -> list[str]:
        """Delete the conversation states last updated before `older_than`; their contacts."""
        limit = epoch_micros(older_than, "forget_inactive: older_than")
        rows = self.states._rows
        old = [
            contact
            for contact, (_, text) in rows.items()
            if epoch_micros(codec.state_from_json(codec.loads(text)).updated_at, "updated_at")
            < limit
        ]
        for contact in old:
            del rows[contact]
        return old

    async def prune_outbox(self, older_than: datetime) -> int:
        """Forget delivered outbox rows written before `older_than` (never undelivered ones)."""
        limit = epoch_micros(older_than, "prune: older_than")
        rows, removed = self.outbox._rows, 0
        for index, row in enumerate(rows):
            if row is None or row[0] in self._undelivered:
                continue
            if epoch_micros(codec.datetime_from_json(row[2]), "at") < limit:
                rows[index] = None
                removed += 1
        return removed

    async def close(self) -> None:
        """Nothing to release; present so both tenant stores are used the same way."""

    async def __aenter__(self) -> InMemoryTenantStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
