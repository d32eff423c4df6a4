"""Persistence ports of a tenant's data plane: conversation state and the inbound journal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, runtime_checkable

from botfleet.domain.messages import InboundMessage
from botfleet.flows.state import ConversationState


class StateStore(Protocol):
    """Conversation state per contact, with optimistic concurrency on `version`."""

    async def load(self, contact_id: str) -> ConversationState | None:
        """The stored state of a contact, or None for a new contact."""
        ...

    async def save(self, state: ConversationState, *, expected_version: int) -> ConversationState:
        """Store `state` if the stored version is `expected_version` (0: not stored yet).

        Returns the state with its new version; raises `ConcurrentUpdate` otherwise.
        """
        ...

    async def delete(self, contact_id: str) -> None:
        """Forget a contact (reset)."""
        ...

    async def count(self) -> int:
        """How many conversations are stored."""
        ...


@dataclass(frozen=True, slots=True)
class JournalEntry:
    message: InboundMessage
    received_at: datetime
    status: str  # "pending" | "done" | "failed"
    replies: tuple[dict[str, Any], ...] = ()
    #: The outbox sequence number of each of `replies`, in order (`TurnStore.commit_turn`'s
    #: `seqs`): a web chat retry answers with them. None when not known: replies given to
    #: `MessageJournal.complete`, or a turn committed before the store kept them.
    reply_seqs: tuple[int, ...] | None = ()


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    """A message a turn records in the journal itself (`TurnStore.commit_turn`'s `unrecorded`)."""

    message: InboundMessage
    received_at: datetime


#: How long the journal remembers a processed message id (and delivered outputs are kept):
#: WhatsApp retries a webhook for up to 7 days, so a little longer. Channels that drop
#: deliveries too old to be a provider's retry derive their bound from it.
JOURNAL_RETENTION = timedelta(days=8)


class MessageJournal(Protocol):
    """Inbound messages persisted before they are acknowledged; the basis of exactly-once."""

    async def record(self, message: InboundMessage, received_at: datetime) -> bool:
        """Persist a message. False if this message id was seen before (a duplicate)."""
        ...

    async def record_failed(self, message: InboundMessage, received_at: datetime) -> bool:
        """Persist a message that was never recorded as processed and failed (no replies), in
        one write: it is never left pending, to be run again at the next start, when its
        caller has already been given the failure (a synchronous channel's turn, which
        journals its message only with its commit). False, the entry left as it is, if this
        message id is in the journal already."""
        ...

    async def complete(
        self, message_id: str, replies: Sequence[dict[str, Any]], *, status: str = "done"
    ) -> None:
        """Mark a message processed and keep the replies it produced."""
        ...

    async def get(self, message_id: str) -> JournalEntry | None:
        """One journal entry by message id."""
        ...

    async def pending(self) -> list[JournalEntry]:
        """Acknowledged but not yet processed messages, oldest first (crash recovery)."""
        ...


class OutboxStore(Protocol):
    """Messages the bot sent, readable by contact and time (web chat `GET /messages`)."""

    async def append(self, contact_id: str, output: dict[str, Any], at: datetime) -> int:
        """Store one outgoing message; returns its sequence number."""
        ...

    async def since(
        self, *, contact_id: str | None = None, since: int = 0, limit: int = 200
    ) -> list[dict[str, Any]]:
        """Outgoing messages with sequence number > `since`, oldest first."""
        ...


class TurnStore(Protocol):
    """Commits everything one turn produced in one transaction: the basis of exactly-once turns."""

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
        """Save `state`, append `outputs` to its contact's outbox and complete the message.

        All or nothing: the state is saved as `StateStore.save` does (`expected_version` 0 for
        a new conversation); each output becomes one outbox row stamped `at`; for a message's
        turn (`message_id` set; None for a scheduled task) the pending journal entry is marked
        done with `outputs` as its replies. Returns the stored state with its new version,
        exactly as `StateStore.load` would now return it (so callers may cache it).
        Raises `ConcurrentUpdate` on a stale version and `StoreError` when the journal entry is
        missing or no longer pending (already processed); then nothing was written.
        With `undelivered`, the outbox rows wait for `confirm_delivered` (see below).
        `merged_ids`: earlier messages this turn answers together with `message_id` (the flow's
        `debounce_ms`); their pending entries are marked done, with no replies of their own, in
        the same transaction, under the same rules.
        `unrecorded`: those of `message_id` and `merged_ids` that were never journaled (a
        synchronous channel acknowledges a message only with its turn's replies, so the turn's
        transaction records it, done, instead of a `MessageJournal.record` write before it).
        Each is added to the journal as done; `StoreError` if its id is in the journal already
        (then nothing was written).
        `task_run`: for a scheduled task's turn, the run it records as done (a one-off job's run
        id, `ports.scheduling.one_off_run_id`), stamped `at`; `TaskAlreadyRan` if a turn
        recorded it before (then nothing was written). A job can be stored again after its run
        (the turn that scheduled it replayed after a crash): its run then has the same id.
        `seqs`: a list the store extends, once the turn is committed (never on a failure), with
        the outbox sequence number of each output, in order: those `OutboxStore.since` shows
        them under. The journal entry of `message_id` keeps them too (`JournalEntry.reply_seqs`),
        so a retried message is answered with the same numbers. A turn committed together with
        others (a group commit) gets its own rows' numbers.
        """
        ...

    async def task_ran(self, run_id: str) -> bool:
        """Whether a committed turn recorded the task run `run_id` (`commit_turn`'s
        `task_run`). Records are pruned with the journal's retention."""
        ...

    async def pending_deliveries(self) -> list[dict[str, Any]]:
        """Outbox rows committed `undelivered` and never confirmed, oldest first.

        Rows as `OutboxStore.since` returns them. After a crash these are the outputs the
        channel may never have received; the runtime sends them again at start.
        """
        ...

    async def confirm_delivered(self, contact_id: str, *, up_to: int | None = None) -> int:
        """Mark the contact's undelivered rows (all, or those with seq <= `up_to`) as handed to
        the channel. Returns how many rows changed."""
        ...


#: What `MovesConversations.move_conversation` did: `moved`; `absent`, no state under the old
#: id (nothing changed: nothing to move, or moved before); `taken`, the new id has a state of
#: its own (nothing changed: a conversation is never overwritten by another).
ConversationMove = Literal["moved", "absent", "taken"]


@runtime_checkable
class MovesConversations(Protocol):
    """A conversation that follows its contact to a new id (a Telegram group that became a
    supergroup has a new chat id, and the group's people expect to go on where they were)."""

    async def move_conversation(self, old_contact_id: str, new_contact_id: str) -> ConversationMove:
        """Store the state of `old_contact_id`, with its version, under `new_contact_id`, and
        none under the old id, all or nothing; unless the new id has a state already (`taken`).

        Only the conversation moves: the journal and the outbox are what was said to and by the
        old id, and stay under it (an export or erasure of the old id still finds them). A
        copy of the state set aside as unreadable stays too. Idempotent: a second call finds
        nothing under the old id (`absent`). Raises `ValueError` when both ids are the same.

        A `moved` conversation's move is recorded as unfinished by the same commit
        (`unfinished_moves`): its reminders live in another file, and a crash before they
        follow must not leave them behind. An erasure of either id forgets the record.
        """
        ...

    async def unfinished_moves(self) -> list[tuple[str, str]]:
        """(old, new) of the moves `move_conversation` made and `move_finished` did not close,
        in the order they were made (a chain a -> b -> c is finished in that order)."""
        ...

    async def move_finished(self, old_contact_id: str, new_contact_id: str) -> None:
        """The move's jobs followed too: its record goes (nothing when there is none)."""
        ...
