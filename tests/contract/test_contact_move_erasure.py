"""An erasure (and an export) of a contact whose move is unfinished, against every store adapter.

A Telegram group that became a supergroup moves its conversation and reminders from the old
chat id to the new one. When the job file refused the reminders' move, the move's record
(`unfinished_moves`) is what links them, still under the old id, to the moved conversation. An
erasure of the new id used to delete that record with the contact's rows and leave the
reminders, the erased person's data, to fire under the old id into the supergroup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, TypeAlias

import pytest

from botfleet.adapters.stores import InMemoryTenantStore, SqliteTenantStore
from botfleet.data_plane.runtime.contact_data import ContactData
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.domain.errors import StoreUnavailable
from botfleet.flows.effects import ScheduleTask
from botfleet.ports.stores import MovesConversations
from botfleet.testing.runtime import FrozenClock, bootstrap_test_runtime, text_message
from botfleet.testing.scheduling import ManualScheduler

TenantStore: TypeAlias = InMemoryTenantStore | SqliteTenantStore
OLD, NEW, NEWER = "-4012345678", "-1001234567890", "-1009876543210"
FLOW: dict[str, Any] = {
    "id": "move_erasure",
    "initial_state": "ASK",
    "tasks": {"ping": [{"action": "send_text", "text": "Reminder for {{ data.name }}"}]},
    "states": {
        "ASK": {
            "on_enter": [{"action": "send_text", "text": "Your name?"}],
            "transitions": [{"set_data": {"name": "{{ message.text }}"}, "target": "ASK"}],
        },
    },
}


@pytest.fixture
async def runtime(tenant_store: TenantStore) -> AsyncIterator[ConversationRuntime]:
    clock = FrozenClock()
    scheduler = ManualScheduler(clock, tenant_id="test")
    async with bootstrap_test_runtime(
        flow=FLOW, stores=tenant_store, clock=clock, scheduler=scheduler
    ) as running:
        yield running


def parts(runtime: ConversationRuntime) -> tuple[ManualScheduler, MovesConversations]:
    scheduler, records = runtime.scheduler, runtime.records
    assert isinstance(scheduler, ManualScheduler)
    assert isinstance(records, MovesConversations)
    return scheduler, records


def data_of(runtime: ConversationRuntime) -> ContactData:
    assert runtime.records is not None
    return ContactData(runtime, runtime.records)


async def booked(runtime: ConversationRuntime, contact: str) -> None:
    """The contact talked, and has a reminder of its own (`reminder:<contact>`)."""
    scheduler, _ = parts(runtime)
    await runtime.handle(text_message(contact, "Ana"))
    at = runtime.clock.now() + timedelta(days=1)
    await scheduler.schedule(ScheduleTask("ping", at, f"reminder:{contact}", contact, {"n": "Ana"}))


async def move_cut_short(runtime: ConversationRuntime, old: str, new: str) -> None:
    """The conversation moves; the job file refuses the reminders (the record stays)."""
    scheduler, records = parts(runtime)
    real = scheduler.move_jobs

    async def refused(*args: Any, **kwargs: Any) -> int:
        raise StoreUnavailable("job file: disk full", cause="disk full")

    scheduler.move_jobs = refused  # type: ignore[method-assign]
    try:
        with pytest.raises(StoreUnavailable):
            await runtime.move_contact(old, new)
    finally:
        scheduler.move_jobs = real  # type: ignore[method-assign]
    assert (old, new) in await records.unfinished_moves()


async def jobs(runtime: ConversationRuntime) -> list[tuple[str, str | None]]:
    scheduler, _ = parts(runtime)
    return [(j.key, j.contact_id) for j in await scheduler.jobs()]


async def test_erasing_the_new_id_cancels_the_reminders_left_under_the_old_one(
    runtime: ConversationRuntime,
) -> None:
    await booked(runtime, OLD)
    await booked(runtime, "someone-else")
    await move_cut_short(runtime, OLD, NEW)
    data = data_of(runtime)

    erased = await data.erase(NEW)

    assert erased.records.conversation is True
    assert erased.tasks_cancelled == 1  # the old id's reminder, the erased conversation's
    assert await jobs(runtime) == [("reminder:someone-else", "someone-else")]
    assert await parts(runtime)[1].unfinished_moves() == []
    # Erased again: nothing more (the old id's messages are its own: erased with it).
    again = await data.erase(NEW)
    assert (again.records.conversation, again.tasks_cancelled) == (False, 0)


async def test_erasing_the_old_id_leaves_the_moved_conversation_to_the_new_one(
    runtime: ConversationRuntime,
) -> None:
    """As after a finished move: the old id's erasure takes what is under it, its reminder
    included; the conversation is the new id's (erase it too: docs/operations.md)."""
    await booked(runtime, OLD)
    await move_cut_short(runtime, OLD, NEW)
    data = data_of(runtime)

    erased = await data.erase(OLD)

    assert (erased.records.conversation, erased.tasks_cancelled) == (False, 1)
    assert await jobs(runtime) == []
    assert await parts(runtime)[1].unfinished_moves() == []
    assert await runtime.states.load(NEW) is not None


async def test_a_chain_of_unfinished_moves_is_erased_from_its_last_id(
    runtime: ConversationRuntime,
) -> None:
    """OLD -> NEW -> NEWER, neither move's reminders followed: NEWER's erasure cancels both
    earlier ids' reminders and closes both records; another contact's move is left alone."""
    await booked(runtime, OLD)
    await move_cut_short(runtime, OLD, NEW)
    scheduler, records = parts(runtime)
    at = runtime.clock.now() + timedelta(days=2)
    await scheduler.schedule(ScheduleTask("ping", at, f"later:{NEW}", NEW, {"n": "Ana"}))
    await move_cut_short(runtime, NEW, NEWER)
    await booked(runtime, "x")
    await move_cut_short(runtime, "x", "y")

    export = await data_of(runtime).export(NEWER)
    assert [t.contact_id for t in export.tasks] == [NEW, OLD]  # nearest first
    assert export.moves == [(OLD, NEW), (NEW, NEWER)]

    erased = await data_of(runtime).erase(NEWER)

    assert erased.tasks_cancelled == 2
    assert await jobs(runtime) == [("reminder:x", "x")]
    assert await records.unfinished_moves() == [("x", "y")]


async def test_the_export_of_either_id_lists_the_unfinished_move(
    runtime: ConversationRuntime,
) -> None:
    """What the new id's erasure would cancel is in its export (the old id's reminder, naming
    the old id), and both ids' exports name the move, so the other id is found."""
    await booked(runtime, OLD)
    await move_cut_short(runtime, OLD, NEW)
    data = data_of(runtime)

    new, old = await data.export(NEW), await data.export(OLD)

    assert [(t.key, t.contact_id) for t in new.tasks] == [(f"reminder:{OLD}", OLD)]
    assert new.moves == old.moves == [(OLD, NEW)]
    assert new.conversation is not None and old.conversation is None
    assert [e.message.text for e in old.received] == ["Ana"]  # the old id's messages stay
    assert (await data.export("someone")).moves == []
