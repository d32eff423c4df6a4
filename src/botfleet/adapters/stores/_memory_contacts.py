"""`ContactRecords` over the in-memory stores (`InMemoryTenantStore.contacts`), and
`MovesConversations`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from botfleet.adapters.stores import codec
from botfleet.adapters.stores._contact_in_ids import naming
from botfleet.adapters.stores._contract import (
    check_limit,
    check_move,
    emptied_message,
    epoch_micros,
)
from botfleet.flows.state import ConversationState
from botfleet.ports.contact_records import ConversationSummary, ErasedRecords
from botfleet.ports.stores import ConversationMove, JournalEntry

if TYPE_CHECKING:
    from botfleet.adapters.stores.memory import InMemoryTenantStore


class InMemoryContactRecords:
    """`ContactRecords` of one `InMemoryTenantStore`. Nothing awaits inside a call, so an
    erasure is all or nothing, as the SQLite transaction is."""

    def __init__(self, store: InMemoryTenantStore) -> None:
        self._store = store

    async def received(self, contact_id: str, *, limit: int) -> list[JournalEntry]:
        check_limit(limit)
        rows = sorted(self._store.journal._rows.values(), key=lambda r: r.seq)
        entries = (row.entry() for row in rows)
        return [e for e in entries if e.message.contact_id == contact_id][:limit]

    async def recent(
        self,
        *,
        limit: int,
        active_since: datetime | None = None,
        before: tuple[datetime, str] | None = None,
    ) -> list[ConversationSummary]:
        check_limit(limit)
        states = [
            codec.state_from_json(codec.loads(t)) for _, t in self._store.states._rows.values()
        ]
        if active_since is not None:
            since = epoch_micros(active_since, "active_since")
            states = [s for s in states if epoch_micros(s.updated_at, "updated_at") >= since]

        def key(state: ConversationState) -> tuple[int, str]:
            # Ties by contact id, as SQLite's (whose times stop at the millisecond).
            return (epoch_micros(state.updated_at, "updated_at"), state.contact_id)

        if before is not None:
            bound = (epoch_micros(before[0], "before"), before[1])
            states = [s for s in states if key(s) < bound]
        states.sort(key=key, reverse=True)
        return [
            ConversationSummary(s.contact_id, s.node, s.created_at, s.updated_at, s.last_inbound_at)
            for s in states[:limit]
        ]

    async def erase(self, contact_id: str) -> ErasedRecords:
        store = self._store
        conversation = store.states._rows.pop(contact_id, None) is not None
        outbox = store.outbox._rows
        sent = 0
        for index, sent_row in enumerate(outbox):
            if sent_row is not None and sent_row[1] == contact_id:
                outbox[index] = None
                store._undelivered.pop(sent_row[0], None)
                sent += 1
        received = 0
        for message_id, row in store.journal._rows.items():
            if row.status == "pending":
                continue
            if codec.loads(row.message).get("contact_id") != contact_id:
                continue
            row.message = emptied_message(message_id, row.received_at)
            row.replies = "[]"
            received += 1
        moves = store.unfinished_moves
        moves[:] = [m for m in moves if contact_id not in m]  # as SQLite's erasure does
        for run in naming(list(store._task_runs), contact_id):  # as SQLite's erasure does
            del store._task_runs[run]
        return ErasedRecords(
            conversation=conversation,
            messages_received=received,
            messages_sent=sent,
            calls_kept=store.redelivery.erase_contact(contact_id),
        )

    async def move_conversation(self, old_contact_id: str, new_contact_id: str) -> ConversationMove:
        """`MovesConversations.move_conversation`; nothing awaits, so it is all or nothing."""
        check_move(old_contact_id, new_contact_id)
        rows = self._store.states._rows
        row = rows.get(old_contact_id)
        if row is None:
            return "absent"
        if new_contact_id in rows:
            return "taken"
        version, text = row
        # The state names its contact, as the SQLite row's key does: rewritten, not copied.
        document = codec.loads(text)
        document["contact_id"] = new_contact_id
        rows[new_contact_id] = (version, codec.dumps(document))
        del rows[old_contact_id]
        self._store.redelivery.move_contact(old_contact_id, new_contact_id)
        self._store.unfinished_moves.append((old_contact_id, new_contact_id))
        return "moved"

    async def unfinished_moves(self) -> list[tuple[str, str]]:
        """`MovesConversations.unfinished_moves`."""
        return list(self._store.unfinished_moves)

    async def move_finished(self, old_contact_id: str, new_contact_id: str) -> None:
        """`MovesConversations.move_finished`."""
        moves = self._store.unfinished_moves
        moves[:] = [m for m in moves if m != (old_contact_id, new_contact_id)]
