"""A stray `CancelledError` (not a cancellation of the turn: the store awaited something another
task cancelled, such as the group commit its write waited for) out of the store's load, its
commit or its delivery confirmation is a store that could not be used this time
(`StoreUnavailable`): nothing was written, so a journaled message's turn runs again in the
contact's order, a waiting web chat caller gets the error (a 503) and sends it again, and the
contact's next message is answered. It used to end the turn without a word: the next message
was answered, that one left pending until the next start. A real cancellation of the turn (a
shutdown that cannot wait) still ends it, the message pending for the next start."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
import structlog

from botfleet.domain.errors import StoreUnavailable
from botfleet.domain.outputs import Output, Text
from botfleet.flows.state import ConversationState
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime, text_message
from botfleet.testing.stores import InMemoryStateStore, InMemoryTenantStore

#: Pauses before a turn that met an unavailable store runs again, shortened for the tests.
QUICK = (0.01, 0.02)
TASK_FLOW: dict[str, Any] = {
    "id": "stray_store_v1",
    "initial_state": "ECHO",
    "tasks": {"reminder": [{"action": "send_text", "text": "reminder"}]},
    "states": {
        "ECHO": {
            "on_enter": [{"action": "send_text", "text": "You said: {{ message.text }}"}],
            "fallback": "ECHO",
        }
    },
}


class CancelledOnceStates(InMemoryStateStore):
    def __init__(self, store: CancelledOnceStore) -> None:
        super().__init__()
        self.store = store

    async def load(self, contact_id: str) -> ConversationState | None:
        self.store.once("load")
        return await super().load(contact_id)


class CancelledOnceStore(InMemoryTenantStore):
    """In-memory stores whose first `failing` call (`load`, `commit`, `confirm`, `read`) raises a
    `CancelledError` of its own before doing anything."""

    def __init__(self, failing: str) -> None:
        super().__init__()
        self.states = CancelledOnceStates(self)
        self.failing = failing
        self.calls: list[str] = []

    def once(self, call: str) -> None:
        self.calls.append(call)
        if self.failing == call:
            self.failing = ""
            raise asyncio.CancelledError

    async def commit_turn(self, state: ConversationState, **fields: Any) -> ConversationState:
        self.once("commit")
        return await super().commit_turn(state, **fields)

    async def confirm_delivered(self, contact_id: str, *, up_to: int | None = None) -> int:
        self.once("confirm")
        return await super().confirm_delivered(contact_id, up_to=up_to)

    async def task_ran(self, run_id: str) -> bool:
        self.once("read")
        return await super().task_ran(run_id)


class HangingCommitStore(InMemoryTenantStore):
    def __init__(self) -> None:
        super().__init__()
        self.waiting = asyncio.Event()

    async def commit_turn(self, state: ConversationState, **fields: Any) -> ConversationState:
        self.waiting.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def texts(outputs: Sequence[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Text)]


def events(logs: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    return [line for line in logs if line["event"] == event]


async def status(runtime: Any, message_id: str) -> str:
    entry = await runtime.journal.get(message_id)
    assert entry is not None
    return str(entry.status)


@pytest.mark.parametrize("call", ["load", "commit"])
async def test_a_journaled_message_whose_store_call_was_cancelled_runs_again(call: str) -> None:
    store, sender = CancelledOnceStore(call), RecordingSender()
    async with bootstrap_test_runtime(stores=store, sender=sender) as rt:
        rt.store_retry_pauses = QUICK
        with structlog.testing.capture_logs() as logs:
            assert await rt.accept(text_message("c1", "one", message_id="w-1"))
            assert await rt.accept(text_message("c1", "two", message_id="w-2"))
            await asyncio.wait_for(rt.sequencer.drain(), timeout=2)
        assert texts(sender.to("c1")) == ["You said: one", "You said: two"]  # in order
        assert (await status(rt, "w-1"), await status(rt, "w-2")) == ("done", "done")
        assert rt._in_flight == {}
    (retry,) = events(logs, "turn_retry_later")
    assert (retry["error"], retry["detail"]) == (
        "StoreUnavailable",
        f"the store's {call} was cancelled",
    )
    assert not events(logs, "turn_failed")


async def test_a_web_chat_caller_whose_commit_was_cancelled_gets_a_retryable_error() -> None:
    async with bootstrap_test_runtime(stores=CancelledOnceStore("commit")) as rt:
        with pytest.raises(StoreUnavailable, match="the store's commit was cancelled"):
            await rt.handle(text_message("c1", "one", message_id="m-1"))
        assert await rt.journal.get("m-1") is None  # not acknowledged: the client sends it again
        again = await rt.handle(text_message("c1", "one", message_id="m-1"))
        assert texts(again.outputs) == ["You said: one"]
        assert not again.duplicate
        assert rt._in_flight == {}


async def test_a_cancelled_delivery_confirmation_is_an_unconfirmed_delivery() -> None:
    store, sender = CancelledOnceStore("confirm"), RecordingSender()
    async with bootstrap_test_runtime(stores=store, sender=sender) as rt:
        rt.confirm_delivery = True  # a provider's channel
        with structlog.testing.capture_logs() as logs:
            result = await rt.handle(text_message("c1", "one", message_id="m-1"))
            assert texts(result.outputs) == ["You said: one"]  # the committed turn's answer
            # sent, not confirmed: at worst sent again after a crash, as after a locked file
            [unconfirmed_row] = await rt.turns.pending_deliveries()
            assert unconfirmed_row["output"]["text"] == "You said: one"
            assert await rt.accept(text_message("c1", "two", message_id="w-2"))
            await asyncio.wait_for(rt.sequencer.drain(), timeout=2)
        assert texts(sender.to("c1")) == ["You said: one", "You said: two"]
        assert await status(rt, "w-2") == "done"
    (unconfirmed,) = events(logs, "delivery_not_confirmed")
    assert (unconfirmed["error"], unconfirmed["detail"]) == (
        "StoreUnavailable",
        "the delivery's confirmation was cancelled",
    )


@pytest.mark.parametrize("call", ["read", "commit"])  # `read`: whether its run was recorded
async def test_a_due_task_whose_store_call_was_cancelled_runs_again_once(call: str) -> None:
    store, sender = CancelledOnceStore(call), RecordingSender()
    async with bootstrap_test_runtime(flow=TASK_FLOW, stores=store, sender=sender) as rt:
        rt.store_retry_pauses = QUICK
        run = "once:reminder:c1@20240507T080000Z"
        with structlog.testing.capture_logs() as logs:
            await asyncio.wait_for(rt.run_task("c1", "reminder", {}, run), timeout=2)
        assert texts(sender.to("c1")) == ["reminder"]
        assert await store.task_ran(run)
    assert [e["event"] for e in logs if e["event"].startswith(("turn_retry", "task_"))] == [
        "turn_retry_later"
    ]


async def test_cancelling_the_turn_during_its_commit_still_ends_it_pending() -> None:
    store, sender = HangingCommitStore(), RecordingSender()
    async with bootstrap_test_runtime(stores=store, sender=sender) as rt:
        with structlog.testing.capture_logs() as logs:
            assert await rt.accept(text_message("c1", "one", message_id="w-1"))
            await asyncio.wait_for(store.waiting.wait(), timeout=2)
            rt.sequencer.cancel()  # a shutdown that cannot wait any longer
            await asyncio.wait_for(rt.sequencer.drain(), timeout=2)
        assert sender.sent == []
        assert await status(rt, "w-1") == "pending"  # the next start runs it
    assert not events(logs, "turn_failed")
    assert not events(logs, "turn_retry_later")
