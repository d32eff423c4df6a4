"""An erasure of a contact with an unfinished move (a Telegram group become a supergroup whose
reminders stayed under the group's id) runs in the order of every id it erases
(`ConversationRuntime.in_orders`): a reminder's turn under way under the old id, waiting for a
connector, ends before the erasure does anything, and what it wrote or scheduled is erased.

It used to run in the new id's order only: the old id's reminder turn, mid-call, scheduled its
follow-up after the erasure had cancelled the old id's jobs and answered, so a job carrying the
erased person's data was left to fire into the supergroup.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from botfleet.adapters.connectors.scripted import OperationScript, ScriptedConnector
from botfleet.data_plane.runtime.contact_data import ContactData, ContactErasure
from botfleet.data_plane.runtime.handle import ConversationRuntime
from botfleet.domain.errors import StoreUnavailable
from botfleet.domain.outputs import Output
from botfleet.flows.effects import ScheduleTask
from botfleet.ports.channels import SendOutcome
from botfleet.ports.stores import MovesConversations
from botfleet.testing.runtime import (
    FrozenClock,
    RecordingSender,
    bootstrap_test_runtime,
    text_message,
)
from botfleet.testing.scheduling import ManualScheduler

OLD, NEW = "-4012345678", "-1001234567890"
FLOW: dict[str, Any] = {
    "id": "erasure_in_moved_orders",
    "initial_state": "ASK",
    "tasks": {
        "ping": [
            {
                "action": "invoke_connector",
                "connector": "mock",
                "operation": "lookup",
                "params": {"q": "{{ data.n }}"},
                "result_key": "answer",
            },
            {
                "action": "schedule_task",
                "task": "ping",
                "delay": "1d",
                "idempotency_key": "again",
                "data": {"n": "{{ data.n }}"},
            },
            {"action": "send_text", "text": "Reminder for {{ data.n }}"},
        ]
    },
    "states": {
        "ASK": {
            "on_enter": [{"action": "send_text", "text": "Your name?"}],
            "transitions": [{"set_data": {"name": "{{ message.text }}"}, "target": "ASK"}],
        },
    },
}


class HeldConnector(ScriptedConnector):
    """Each call waits until `release` is set (a slow calendar, an LLM)."""

    def __init__(self) -> None:
        super().__init__({"lookup": OperationScript(result="ok")}, category="mock")
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        self.entered.set()
        await self.release.wait()
        return await super().call(operation, params, idempotency_key=idempotency_key)


class EventSender(RecordingSender):
    """Records each send in `events` too, to tell it from the erasure's answer."""

    def __init__(self, events: list[str]) -> None:
        super().__init__()
        self.events = events

    async def send(self, contact_id: str, outputs: Sequence[Output]) -> SendOutcome:
        self.events.append(f"sent to {contact_id}")
        return await super().send(contact_id, outputs)


@dataclass
class Setup:
    runtime: ConversationRuntime
    scheduler: ManualScheduler
    connector: HeldConnector
    events: list[str]
    #: Set at each job queued in a contact's order, and by `erasing` at its end (`until`).
    changed: asyncio.Event

    def erasing(self, contact_id: str) -> asyncio.Future[ContactErasure]:
        erasing = asyncio.ensure_future(self.data.erase(contact_id))
        erasing.add_done_callback(lambda _: self.events.append("erased"))
        erasing.add_done_callback(lambda _: self.changed.set())
        return erasing

    @property
    def data(self) -> ContactData:
        assert self.runtime.records is not None
        return ContactData(self.runtime, self.runtime.records)

    async def jobs(self) -> list[tuple[str, str | None]]:
        return [(j.key, j.contact_id) for j in await self.scheduler.jobs()]


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    clock = FrozenClock()
    scheduler = ManualScheduler(clock, tenant_id="test")
    connector = HeldConnector()
    events: list[str] = []
    async with bootstrap_test_runtime(
        flow=FLOW,
        clock=clock,
        scheduler=scheduler,
        connectors={"mock": connector},
        sender=EventSender(events),
    ) as runtime:
        changed = asyncio.Event()
        submit = runtime.sequencer.submit

        def submitted(key: str, job: Any) -> asyncio.Future[Any]:
            changed.set()
            return submit(key, job)

        runtime.sequencer.submit = submitted  # type: ignore[method-assign]
        yield Setup(runtime, scheduler, connector, events, changed)
        # A failed test (a deadlock) must not hang the runtime's shutdown, which waits for turns.
        connector.release.set()
        try:
            await asyncio.wait_for(runtime.sequencer.drain(), timeout=5)
        except TimeoutError:
            runtime.sequencer.cancel()


async def move_cut_short(runtime: ConversationRuntime, scheduler: ManualScheduler) -> None:
    """OLD's conversation moves to NEW; the job file refuses its reminders (the record stays)."""
    real = scheduler.move_jobs

    async def refused(*args: Any, **kwargs: Any) -> int:
        raise StoreUnavailable("job file: disk full", cause="disk full")

    scheduler.move_jobs = refused  # type: ignore[method-assign]
    try:
        with pytest.raises(StoreUnavailable):
            await runtime.move_contact(OLD, NEW)
    finally:
        scheduler.move_jobs = real  # type: ignore[method-assign]
    assert isinstance(runtime.records, MovesConversations)
    assert await runtime.records.unfinished_moves() == [(OLD, NEW)]


async def until(s: Setup, condition: Callable[[], object]) -> None:
    """Wait until `condition` holds; it is looked at again at each job queued in the runtime's
    orders and at each erasure's end (`Setup.changed`), all it reads."""

    async def wait() -> None:
        while not condition():
            s.changed.clear()
            await s.changed.wait()

    await asyncio.wait_for(wait(), timeout=5)


async def old_reminder_mid_call(s: Setup) -> asyncio.Task[Any]:
    """OLD booked (a reminder under OLD), its move cut short, then the reminder fell due: its
    turn, in OLD's order, waits inside its connector call. Returns the scheduler's firing."""
    await s.runtime.handle(text_message(OLD, "Ana"))
    at = s.runtime.clock.now() + timedelta(days=1)
    await s.scheduler.schedule(ScheduleTask("ping", at, "reminder", OLD, {"n": "Ana"}))
    await move_cut_short(s.runtime, s.scheduler)
    s.events.clear()
    firing = asyncio.create_task(s.scheduler.advance(days=1))
    await asyncio.wait_for(s.connector.entered.wait(), timeout=5)
    return firing


async def assert_nothing_left_of(s: Setup, contact_id: str) -> None:
    """As the erasure defines it: the id's conversation, messages, outbox rows, the jobs
    under it or under an earlier id of an unfinished move (none left anywhere here)."""
    export = await s.data.export(contact_id)
    assert export.conversation is None
    assert (export.received, export.sent, export.tasks, export.moves) == ([], [], [], [])
    assert await s.jobs() == []


async def test_the_erasure_waits_for_an_old_id_reminder_turn_under_way(setup: Setup) -> None:
    s = setup
    firing = await old_reminder_mid_call(s)

    erasing = s.erasing(NEW)
    # Either the erasure answers at once (it did not wait), or it waits in OLD's order.
    await until(s, lambda: erasing.done() or s.runtime.sequencer.queued(OLD))
    assert not erasing.done(), "the erasure answered while the old id's turn was under way"

    s.connector.release.set()
    erased = await asyncio.wait_for(erasing, timeout=5)
    await asyncio.wait_for(firing, timeout=5)

    # The turn ended (and sent) before the erasure did anything; what it scheduled (its
    # follow-up, under OLD) was cancelled with the rest.
    assert s.events == [f"sent to {OLD}", "erased"]
    assert erased.records.conversation is True
    assert erased.tasks_cancelled == 1
    await assert_nothing_left_of(s, NEW)


@pytest.mark.parametrize("first", ["move", "erasure", "erasure_waiting"])
async def test_a_move_of_the_pair_queued_with_the_erasure_does_not_deadlock(
    setup: Setup, first: str
) -> None:
    """The group's move notice again (the pair's move, in both orders) and the erasure of the
    new id, queued either way round while the old id's reminder turn is under way; and the
    erasure waiting in the new id's order (behind a turn there) when the move comes: had it
    taken the old id's order from there, it would wait for the move's place in it, the move
    for the new id's order, which it held."""
    s = setup
    firing = await old_reminder_mid_call(s)
    queued = s.runtime.sequencer.queued
    if first == "move":
        moving = s.runtime.move_contact(OLD, NEW)  # its place in OLD's order, behind the turn
        erasing = s.erasing(NEW)
        await until(s, lambda: erasing.done() or queued(NEW))  # the erasure, behind the move
    elif first == "erasure":
        erasing = s.erasing(NEW)
        await until(s, lambda: erasing.done() or queued(OLD))  # the erasure, behind the turn
        moving = s.runtime.move_contact(OLD, NEW)
    else:
        gate = asyncio.Event()
        busy = s.runtime.after_turns(NEW, gate.wait)  # a turn of the new id under way
        erasing = s.erasing(NEW)
        await until(s, lambda: erasing.done() or queued(NEW))
        moving = s.runtime.move_contact(OLD, NEW)
        gate.set()
        await busy
        # The erasure, in the order of both ids now, behind the move in each.
        await until(s, lambda: erasing.done() or len(queued(OLD)) == 2)
    assert not erasing.done() and not moving.done()

    s.connector.release.set()
    await asyncio.wait_for(asyncio.gather(erasing, moving, firing), timeout=5)

    assert s.events[0] == f"sent to {OLD}" and "erased" in s.events
    if first == "erasure":
        # The erasure first (nothing of the person left then); the move, asked after it, took
        # what the old id's turn had written under the old id, and no job.
        assert await s.jobs() == []
        assert isinstance(s.runtime.records, MovesConversations)
        assert await s.runtime.records.unfinished_moves() == []
    else:
        # The move found the new id's conversation in place (the old id's reminder turn had
        # made one under the old id): nothing moved, the record stayed, and the erasure, after
        # it, took the old id's reminders as an unfinished move's.
        await assert_nothing_left_of(s, NEW)


async def test_an_erasure_without_a_move_reads_the_moves_once_in_one_order(setup: Setup) -> None:
    """The contact's order only, and one read of the moves: as before there were moves."""
    s = setup
    await s.runtime.handle(text_message(NEW, "Ana"))
    records = s.runtime.records
    assert isinstance(records, MovesConversations)
    reads: list[object] = []
    real = records.unfinished_moves

    async def counted() -> list[tuple[str, str]]:
        reads.append(None)
        return await real()

    records.unfinished_moves = counted  # type: ignore[method-assign]
    orders: list[Sequence[str]] = []
    real_orders = s.runtime.in_orders

    def in_orders(contacts: Sequence[str], job: Any) -> asyncio.Future[Any]:
        orders.append(contacts)
        return real_orders(contacts, job)

    s.runtime.in_orders = in_orders  # type: ignore[method-assign]

    erased = await asyncio.wait_for(s.data.erase(NEW), timeout=5)

    assert erased.records.conversation is True
    assert (len(reads), orders) == (1, [])
