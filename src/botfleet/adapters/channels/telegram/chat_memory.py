"""What the bot has learnt about its chats that later sends need: which cannot be written to,
and which groups became supergroups (a new chat id).

A contact who blocked the bot (or a group that removed it) makes every `sendMessage` fail with a
403, reminders included, each costing a request and a warning. Telegram says so as it happens
(`my_chat_member`), and the first refused send says it too; until the chat's people undo it (the
contact unblocks the bot or writes to it, the group adds it back or writes in it), sends there
are skipped without a request.

A group that became a supergroup refuses every send to its old id (400, naming the new one):
once the migration is known (its notice, or the first refused send), sends to the old id go to
the new one at once: what is still sent to the old id (a reply redelivered after a crash, the
reminders of a conversation the runtime could not move) reaches the group. The conversation
itself moves to the new id on either (`ConversationRuntime.move_contact`).

Kept in memory, bounded, per process: the state store has no place for it, and forgetting costs
one refused request per chat after a restart, which marks it again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from botfleet.adapters.channels.telegram.contact_ids import TOPIC

#: Chats remembered as unreachable (the most recently marked; older ones are forgotten).
MAX_UNREACHABLE = 10_000
#: Groups remembered as moved to a supergroup (the most recently learnt).
MAX_MOVED = 10_000
#: Recent chat-member updates and group migrations, to act on each once when redelivered.
MAX_SEEN = 1_000


def chat_of(contact_id: str) -> str:
    """The chat a contact is (a forum topic belongs to its chat: blocked with it)."""
    return contact_id.partition(TOPIC)[0]


class ChatMemory:
    """Unreachable chats (by chat id, with why), migrated groups and recently seen events."""

    def __init__(self) -> None:
        self._unreachable: OrderedDict[str, str] = OrderedDict()
        self._moved: OrderedDict[str, str] = OrderedDict()
        self._seen: OrderedDict[Hashable, None] = OrderedDict()
        self._unqueued_moves: OrderedDict[str, str] = OrderedDict()

    def unreachable(self, contact_id: str) -> str | None:
        """Why the contact's chat cannot be written to ("blocked", "removed", "deactivated"),
        or None."""
        return self._unreachable.get(chat_of(contact_id)) if self._unreachable else None

    def mark_unreachable(self, contact_id: str, reason: str) -> None:
        chat = chat_of(contact_id)
        self._unreachable[chat] = reason
        self._unreachable.move_to_end(chat)
        if len(self._unreachable) > MAX_UNREACHABLE:
            self._unreachable.popitem(last=False)

    def mark_reachable(self, contact_id: str) -> str | None:
        """Forget the contact's chat as unreachable; why it was, or None if it was not."""
        return self._unreachable.pop(chat_of(contact_id), None) if self._unreachable else None

    def moved_to(self, contact_id: str) -> str | None:
        """The supergroup's chat id if the contact's chat is a group that became one, or None."""
        return self._moved.get(chat_of(contact_id)) if self._moved else None

    def mark_moved(self, old_chat_id: str, new_chat_id: str) -> None:
        old = chat_of(old_chat_id)
        self._moved[old] = new_chat_id
        self._moved.move_to_end(old)
        if len(self._moved) > MAX_MOVED:
            self._moved.popitem(last=False)

    def mark_move_unqueued(self, old_contact_id: str, new_chat_id: str) -> None:
        """A move of the contact's conversation to `new_chat_id` could not be queued."""
        self._unqueued_moves[old_contact_id] = new_chat_id
        self._unqueued_moves.move_to_end(old_contact_id)
        if len(self._unqueued_moves) > MAX_MOVED:
            self._unqueued_moves.popitem(last=False)

    def take_unqueued_move(self, old_contact_id: str) -> str | None:
        """The new chat id of a move of this contact that could not be queued (forgotten)."""
        return self._unqueued_moves.pop(old_contact_id, None) if self._unqueued_moves else None

    def first_time(self, key: Hashable) -> bool:
        """Whether `key` was not seen recently (and remember it)."""
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > MAX_SEEN:
            self._seen.popitem(last=False)
        return True
