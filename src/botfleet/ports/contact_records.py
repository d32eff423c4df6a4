"""What the store keeps about one contact, for a person's request to see or erase their data.

A contact (a customer of the tenant's business) may ask what the bot holds about them, or to
be forgotten. The conversation state is `StateStore`'s and the bot's messages `OutboxStore`'s;
this port adds the two things no other port does: the contact's own messages as the journal
keeps them, and erasing everything the store holds about the contact in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from botfleet.ports.stores import JournalEntry


@dataclass(frozen=True, slots=True)
class ErasedRecords:
    """What `ContactRecords.erase` removed."""

    #: The conversation state (and any copy of it set aside as unreadable) was there.
    conversation: bool
    #: Journal entries emptied: the contact's messages and the replies kept with them.
    messages_received: int
    #: Outbox rows deleted: what the bot sent the contact (unsent ones included).
    messages_sent: int
    #: Connector calls of the contact's turns kept to be made again (`ports.redelivery`):
    #: notifications not delivered yet, which would carry the contact's data to the business.
    calls_kept: int = 0


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One conversation as a list of them shows it: who, where, and when; not its content."""

    contact_id: str
    #: The state the contact is in.
    node: str
    created_at: datetime
    #: The last turn (a message, or a scheduled task).
    updated_at: datetime
    #: The contact's last message; None in states stored before it was recorded.
    last_inbound_at: datetime | None


class ContactRecords(Protocol):
    """A contact's records across the store's tables."""

    async def received(self, contact_id: str, *, limit: int) -> list[JournalEntry]:
        """The contact's messages in the journal (kept for its retention), oldest first, at
        most `limit`."""
        ...

    async def recent(
        self,
        *,
        limit: int,
        active_since: datetime | None = None,
        before: tuple[datetime, str] | None = None,
    ) -> list[ConversationSummary]:
        """Conversations, the most recently updated first, at most `limit`; with
        `active_since`, only those updated at or after it. A row that cannot be read back is
        left out.

        Those updated at the same time (to the store's resolution: SQLite compares times to
        the millisecond) come by contact id, the greatest first, so the order is total and
        `before` pages through it: given the (`updated_at`, `contact_id`) of the last
        conversation of a page, only those after it in that order are listed, none skipped
        nor repeated (but for a conversation with a turn in between: it moves to the top).
        """
        ...

    async def erase(self, contact_id: str) -> ErasedRecords:
        """Erase the contact, all or nothing: the conversation state and any copy set aside,
        every outbox row, the calls of its turns kept for redelivery, and the content of
        every processed journal entry.

        A processed entry keeps its message id and received time only (its contact id,
        message and replies emptied) until the journal's retention prunes it: a provider's
        redelivery of the message is still recognised and not answered again, now as a
        message of nobody's. Pending entries (messages that arrived after the erasure was
        asked for, their turns still to run) are left to run: the contact wrote again.
        """
        ...
