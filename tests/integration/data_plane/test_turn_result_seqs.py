"""`ConversationRuntime.handle`'s `TurnResult.seqs`: the outbox seq of each reply, from the
turn's own commit (no read after it), the same again for a retried message, and for texts a
debounced turn answered together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from botfleet.adapters.stores import InMemoryTenantStore, SqliteTenantStore
from botfleet.domain.outputs import output_to_dict
from botfleet.flows.state import ConversationState
from botfleet.testing.runtime import bootstrap_test_runtime, text_message

FLOW: dict[str, Any] = {
    "id": "two_replies",
    "initial_state": "ECHO",
    "states": {
        "ECHO": {
            "on_enter": [
                {"action": "send_text", "text": "you said: {{ message.text }}"},
                {"action": "send_text", "text": "anything else?"},
            ],
            "fallback": "ECHO",
        }
    },
}
DEBOUNCED = {**FLOW, "id": "debounced", "settings": {"debounce_ms": 100}}


@pytest.fixture(params=["memory", "sqlite"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[InMemoryTenantStore | SqliteTenantStore]:
    if request.param == "memory":
        yield InMemoryTenantStore()
    else:
        async with SqliteTenantStore.open(tmp_path / "tenant.db") as sqlite:
            yield sqlite


async def outbox(store: InMemoryTenantStore | SqliteTenantStore) -> dict[int, Any]:
    return {row["seq"]: row["output"] for row in await store.outbox.since()}


async def test_a_turn_and_its_retry_carry_the_seqs_of_its_replies(
    store: InMemoryTenantStore | SqliteTenantStore,
) -> None:
    async with bootstrap_test_runtime(flow=FLOW, stores=store) as runtime:
        await runtime.handle(text_message("c0", "earlier", message_id="m0"))
        first = await runtime.handle(text_message("c1", "hi", message_id="m1"))
        again = await runtime.handle(text_message("c1", "hi", message_id="m1"))
    rows = await outbox(store)
    assert first.seqs is not None and len(first.seqs) == 2
    assert [rows[seq] for seq in first.seqs] == [output_to_dict(o) for o in first.outputs]
    assert first.seqs == (3, 4)  # after the other contact's two
    assert again.duplicate and (again.outputs, again.seqs) == (first.outputs, first.seqs)


async def test_a_copy_sent_while_the_first_runs_gets_its_seqs(
    store: InMemoryTenantStore | SqliteTenantStore,
) -> None:
    async with bootstrap_test_runtime(flow=FLOW, stores=store) as runtime:
        message = text_message("c1", "hi", message_id="m1")
        first, copy = await asyncio.gather(runtime.handle(message), runtime.handle(message))
    assert copy.duplicate and first.seqs is not None and copy.seqs == first.seqs


async def test_texts_answered_together_give_the_seqs_to_the_last_one(
    store: InMemoryTenantStore | SqliteTenantStore,
) -> None:
    async with bootstrap_test_runtime(flow=DEBOUNCED, stores=store) as runtime:
        messages = [text_message("c1", t, message_id=f"m{i}") for i, t in enumerate("ab")]
        earlier, last = await asyncio.gather(*(runtime.handle(m) for m in messages))
    rows = await outbox(store)
    assert (earlier.outputs, earlier.seqs) == ((), ())
    assert last.seqs is not None
    assert [rows[seq] for seq in last.seqs] == [output_to_dict(o) for o in last.outputs]


class UnnumberedStore(InMemoryTenantStore):
    """A `TurnStore` that says nothing of its seqs (one written before `seqs` existed)."""

    async def commit_turn(self, state: ConversationState, **fields: Any) -> ConversationState:
        fields.pop("seqs", None)
        return await super().commit_turn(state, **fields)


async def test_a_store_that_gives_no_seqs_leaves_them_unknown() -> None:
    async with bootstrap_test_runtime(flow=FLOW, stores=UnnumberedStore()) as runtime:
        result = await runtime.handle(text_message("c1", "hi", message_id="m1"))
    assert len(result.outputs) == 2 and result.seqs is None
