"""`ConversationRuntime.move_contact`: in the order of both contacts, never waiting for good;
what it does with a store or scheduler that cannot move (test doubles); the same move asked
again shares the queued one, and moves waiting to start are bounded (`max_backlog`), as
messages are."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import structlog

from botfleet.data_plane.runtime.contact_moves import ContactMove
from botfleet.domain.errors import Overloaded, StoreUnavailable
from botfleet.testing.runtime import bootstrap_test_runtime, text_message

FLOW: dict[str, Any] = {
    "id": "moves",
    "initial_state": "MENU",
    "states": {
        "MENU": {
            "on_enter": [{"action": "send_text", "text": "menu"}],
            "transitions": [{"on_type": "text", "target": "ASKED"}],
        },
        "ASKED": {"on_enter": [{"action": "send_text", "text": "asked"}], "fallback": "ASKED"},
    },
}


async def test_moves_both_ways_queued_together_both_finish() -> None:
    async with bootstrap_test_runtime(flow=FLOW) as runtime:
        await runtime.accept(text_message("a", "hi"))
        await runtime.sequencer.drain()
        there = runtime.move_contact("a", "b")
        back = runtime.move_contact("b", "a")
        done = await asyncio.wait_for(asyncio.gather(there, back), timeout=2)
        assert done == [ContactMove("moved", 0), ContactMove("moved", 0)]
        state = await runtime.states.load("a")
        assert state is not None and state.node == "ASKED"


async def test_a_contact_is_not_moved_onto_itself() -> None:
    async with bootstrap_test_runtime(flow=FLOW) as runtime:
        with pytest.raises(ValueError, match="onto itself"):
            runtime.move_contact("a", "a")


async def test_a_store_that_cannot_move_leaves_everything_as_it_was() -> None:
    async with bootstrap_test_runtime(flow=FLOW) as runtime:
        await runtime.accept(text_message("a", "hi"))
        await runtime.sequencer.drain()
        runtime.records = None
        assert await runtime.move_contact("a", "b") == ContactMove(None, 0)
        assert await runtime.states.load("a") is not None


async def test_a_failed_move_is_logged_and_the_contacts_go_on() -> None:
    async with bootstrap_test_runtime(flow=FLOW) as runtime:
        await runtime.accept(text_message("a", "hi"))
        await runtime.sequencer.drain()

        async def unavailable(old: str, new: str) -> str:
            raise StoreUnavailable("the store cannot move a conversation: locked", cause="locked")

        assert runtime.records is not None
        runtime.records.move_conversation = unavailable  # type: ignore[attr-defined]
        with structlog.testing.capture_logs() as logs:
            with pytest.raises(StoreUnavailable):
                await runtime.move_contact("a", "b")
        (failed,) = [e for e in logs if e["event"] == "contact_move_failed"]
        assert failed["log_level"] == "error" and failed["error"] == "StoreUnavailable"
        # Neither contact's order is held up by it.
        await runtime.accept(text_message("a", "again"))
        await runtime.accept(text_message("b", "hello"))
        await asyncio.wait_for(runtime.sequencer.drain(), timeout=2)
        state = await runtime.states.load("b")
        assert state is not None and state.node == "ASKED"


async def test_a_repeated_notice_while_the_contact_is_busy_queues_one_move() -> None:
    async with bootstrap_test_runtime(flow=FLOW) as runtime:
        await runtime.accept(text_message("a", "hi"))
        await runtime.sequencer.drain()
        gate = asyncio.Event()
        busy = runtime.after_turns("a", gate.wait)
        moves = [runtime.move_contact("a", "b") for _ in range(100)]
        assert len({id(m) for m in moves}) == 1
        assert len(runtime.sequencer.queued("a")) == 1  # one hold, not a hundred
        gate.set()
        await busy
        await asyncio.wait_for(moves[0], timeout=2)
        # Once started, a later notice queues its own (it finds nothing left to move).
        again = await asyncio.wait_for(runtime.move_contact("a", "b"), timeout=2)
        assert again.conversation == "absent"


async def test_moves_waiting_to_start_are_bounded() -> None:
    async with bootstrap_test_runtime(flow=FLOW) as runtime:
        runtime.max_backlog = 3
        gate = asyncio.Event()
        busy = runtime.after_turns("a", gate.wait)
        queued = [runtime.move_contact("a", f"new-{n}") for n in range(3)]
        with pytest.raises(Overloaded):
            runtime.move_contact("a", "new-3")
        gate.set()
        await busy
        await asyncio.wait_for(asyncio.gather(*queued), timeout=2)
        await asyncio.wait_for(runtime.move_contact("a", "new-3"), timeout=2)
