"""Failures inside one turn stay inside it: a copy of a message whose turn could not commit is
not told it was answered, and a turn that dies of a stray cancellation does not take the
contact's queued messages with it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from botfleet.adapters.connectors.scripted import OperationScript, ScriptedConnector
from botfleet.domain.errors import StoreUnavailable
from botfleet.domain.outputs import Output, Text
from botfleet.flows.state import ConversationState
from botfleet.flows.turn import DEFAULT_ERROR_TEXT
from botfleet.testing.runtime import RecordingSender, bootstrap_test_runtime, text_message
from botfleet.testing.stores import GatedStore


def texts(outputs: Sequence[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Text)]


class GatedFailingStore(GatedStore):
    """Commits wait at the gate, then the first one finds the store unavailable."""

    def __init__(self) -> None:
        super().__init__(closed=True)
        self.failures = 1

    async def commit_turn(self, state: ConversationState, **fields: Any) -> ConversationState:
        if not self.gate.is_set():
            self.waiting.set()
            await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise StoreUnavailable("state.db: cannot commit: database or disk is full")
        return await super().commit_turn(state, **fields)


async def test_a_copy_waiting_for_a_turn_that_could_not_commit_is_told_to_retry() -> None:
    """The web chat client sent its message twice (a retry after a slow answer). The first
    copy's turn met a full disk: it gets a 503 and nothing was journaled. The copy that waited
    for it was answered `duplicate` with no replies, so its client never sent the message
    again: the message was lost without a word."""
    store = GatedFailingStore()
    async with bootstrap_test_runtime(stores=store) as runtime:
        message = text_message("c1", "hello", message_id="m-1")
        first = asyncio.create_task(runtime.handle(message))
        await store.waiting.wait()
        copy = asyncio.create_task(runtime.handle(message))
        await asyncio.sleep(0.01)  # the copy waits behind the first
        store.gate.set()
        with pytest.raises(StoreUnavailable):
            await first
        with pytest.raises(StoreUnavailable):
            await copy
        assert await store.journal.get("m-1") is None
        retried = await runtime.handle(message)  # the client's retry
    assert retried.duplicate is False
    assert texts(retried.outputs) == ["You said: hello"]


LOOKUP_FLOW: dict[str, Any] = {
    "id": "lookup_v1",
    "initial_state": "ASK",
    "states": {
        "ASK": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "mock",
                    "operation": "lookup",
                    "params": {"q": "{{ message.text }}"},
                    "result_key": "answer",
                },
                {"action": "send_text", "text": "answer: {{ data.answer }}"},
            ],
            "fallback": "ASK",
        }
    },
}


class CancelledOnce(ScriptedConnector):
    """A connector whose first call raises `CancelledError` of its own, as one awaiting a
    future that another caller's timeout cancelled does (its caller was not cancelled)."""

    def __init__(self) -> None:
        super().__init__({"lookup": OperationScript(result="42")}, category="mock")
        self.cancelled = False

    async def call(self, operation: str, params: Mapping[str, Any], *, idempotency_key: str) -> Any:
        if not self.cancelled:
            self.cancelled = True
            raise asyncio.CancelledError
        return await super().call(operation, params, idempotency_key=idempotency_key)


async def test_a_stray_cancellation_in_a_turn_spares_the_contacts_queued_messages() -> None:
    sender = RecordingSender()
    async with bootstrap_test_runtime(
        flow=LOOKUP_FLOW, sender=sender, connectors={"mock": CancelledOnce()}
    ) as runtime:
        assert await runtime.accept(text_message("c1", "one", message_id="w-1"))
        assert await runtime.accept(text_message("c1", "two", message_id="w-2"))
        await asyncio.wait_for(runtime.sequencer.drain(), timeout=2)
        # "one" took the flow's failure path (a connector failure: no `on_error` here, so the
        # flow's error text), and "two" was answered, not dropped with the first turn's queue
        assert texts(sender.to("c1")) == [DEFAULT_ERROR_TEXT, "answer: 42"]
        # nothing is left "in flight" forever (a redelivery would be taken for a duplicate,
        # and the backlog would count it until the process ends)
        assert runtime._in_flight == {}
        # "one" was answered: its redelivery is a duplicate
        assert await runtime.accept(text_message("c1", "one", message_id="w-1")) is False
        await runtime.sequencer.drain()
        assert texts(sender.to("c1")) == [DEFAULT_ERROR_TEXT, "answer: 42"]
