"""A contact whose id changed: its conversation and pending reminders follow it to the new id.

A Telegram group that becomes a supergroup gets a new chat id, and the chat id is the contact.
Left under the old id, the group's conversation would start over from the flow's first state at
its next message, and its reminders would run in a conversation nobody writes to any more. The
move runs in the order of both contacts (`ConversationRuntime.move_contact`): after the turns
queued for either, before any queued after it, so no turn reads a state the move takes away.

What moves: the conversation state, with its version (`MovesConversations`), then the pending
one-off jobs (`MovesContactJobs`). What stays: the journal and the outbox, the history of what
the old id said and was sent. Never clobbered: when the new id has a conversation of its own
already (its first message was answered before the move ran), nothing moves (`taken`), and the
old conversation's reminders stay with it (their sends reach the new chat through the channel).
A repeated move finds nothing left under the old id and does nothing more than what is left
(jobs a crash kept from moving the first time).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from botfleet.contact_hash import hash_contact
from botfleet.ports.scheduling import MovesContactJobs
from botfleet.ports.stores import ConversationMove, MovesConversations

if TYPE_CHECKING:
    from botfleet.data_plane.runtime.handle import ConversationRuntime

log = structlog.get_logger("botfleet.runtime")


@dataclass(frozen=True, slots=True)
class ContactMove:
    """What a move did."""

    #: None: the store cannot move conversations (a test double), and nothing moved.
    conversation: ConversationMove | None
    tasks_moved: int


async def move_records(runtime: ConversationRuntime, old: str, new: str) -> ContactMove:
    """Move the conversation, then the jobs (in the order of both contacts: the caller's).

    Raises what the store or the scheduler raised (`StoreUnavailable`); what moved before it
    stays moved, and a repeated move does the rest."""
    store = runtime.records
    if not isinstance(store, MovesConversations):
        return ContactMove(None, 0)
    conversation = await store.move_conversation(old, new)
    tasks = 0
    scheduler = runtime.scheduler
    # A conversation that stays (`taken`) keeps its reminders: they belong to its data.
    if conversation != "taken" and isinstance(scheduler, MovesContactJobs):
        tasks = await scheduler.move_jobs(old, new)
    if conversation == "moved" or tasks:
        runtime.contact_moved(old, new)
    if conversation != "absent" or tasks:
        tenant = runtime.ctx.tenant.id
        log.info(
            "contact_moved",
            tenant=tenant,
            contact=hash_contact(tenant, old),
            new_contact=hash_contact(tenant, new),
            conversation=conversation,
            tasks_moved=tasks,
        )
    return ContactMove(conversation, tasks)
