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

Crash-safe: the state file (`state.db`) and the job file (`state.jobs.db`) share no transaction,
so the commit that moves the conversation also records the move as unfinished; the jobs move in
one transaction of the job file; then the record goes. A crash (or a job file that could not be
written) between the two leaves the record, and the next start finishes the move
(`finish_moves`) before the scheduler fires any job and before the journal's pending messages
are replayed, which then run under the new id (`ConversationRuntime.recover`). Every step can be
run again: a repeated move finds nothing left under the old id and does only what is left.

A moved job's id, and so its run id, changes with its key (`moved_key`): the conversation's
later `cancel_task`s and `schedule_task`s name the new key, and a waiting run is cancelled by
its job id. What the stable run id guarded (a run that ran, left in the job file by a crash, is
not run again) is kept by the move itself: a job whose run is recorded as done
(`TurnStore.task_ran`) is removed, not moved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
    stays moved, and a repeated move, or the next start, does the rest."""
    store = runtime.records
    if not isinstance(store, MovesConversations):
        return ContactMove(None, 0)
    conversation = await store.move_conversation(old, new)
    if conversation == "moved":
        # At once, not after the jobs: if they fail to follow, the old id's cached state (gone
        # from the store) would meet a version conflict at its next turn, and a task run
        # handed over meanwhile must run in the moved conversation.
        runtime.contact_moved(old, new)
    tasks = 0
    # A conversation that stays (`taken`) keeps its reminders: they belong to its data.
    if conversation != "taken":
        tasks = await _move_jobs(runtime, old, new)
        # Also when `absent`: a move asked again may finish one a failed job file left open.
        await store.move_finished(old, new)
    if tasks and conversation != "moved":
        runtime.contact_moved(old, new)
    if conversation != "absent" or tasks:
        _log_move("contact_moved", runtime, old, new, conversation=conversation, tasks_moved=tasks)
    return ContactMove(conversation, tasks)


async def finish_moves(runtime: ConversationRuntime) -> int:
    """At start, before the scheduler and the journal's replay: the jobs of every move whose
    conversation moved but whose record is still there follow it; returns how many moves.

    Raises what the store or the job file raised: a start that cannot finish them must not fire
    the old id's reminders into a conversation that is gone."""
    store = runtime.records
    if not isinstance(store, MovesConversations):
        return 0
    moves = await store.unfinished_moves()
    for old, new in moves:
        tasks = await _move_jobs(runtime, old, new)
        await store.move_finished(old, new)
        runtime.contact_moved(old, new)
        _log_move("contact_move_finished", runtime, old, new, tasks_moved=tasks)
    return len(moves)


async def _move_jobs(runtime: ConversationRuntime, old: str, new: str) -> int:
    scheduler = runtime.scheduler
    if not isinstance(scheduler, MovesContactJobs):
        return 0
    return await scheduler.move_jobs(old, new, ran=runtime.turns.task_ran)


def _log_move(event: str, runtime: ConversationRuntime, old: str, new: str, **fields: Any) -> None:
    tenant = runtime.ctx.tenant.id
    log.info(
        event,
        tenant=tenant,
        contact=hash_contact(tenant, old),
        new_contact=hash_contact(tenant, new),
        **fields,
    )
