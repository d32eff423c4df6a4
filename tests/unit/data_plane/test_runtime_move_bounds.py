"""`ConversationRuntime.move_contact` while a contact is busy: the same move asked again shares
the queued one, and moves waiting to start are bounded (`max_backlog`), as messages are."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from botfleet.domain.errors import Overloaded
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
