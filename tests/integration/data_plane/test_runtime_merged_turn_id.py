"""The id a merged turn (`settings.debounce_ms`) is keyed by: the first text's. Its connector
calls' idempotency keys come from it, as they would for that text alone, while the answer stays
with the last text (its journal entry, its caller). The replay after a crash, with more texts
joining the batch, is `tests/faults/test_merged_turn_replay.py`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botfleet.adapters.connectors.scripted import OperationScript, ScriptedConnector
from botfleet.adapters.stores.memory import InMemoryTenantStore
from botfleet.domain.outputs import Text
from botfleet.testing.runtime import bootstrap_test_runtime, text_message

CONTACT = "c1"
FLOW: dict[str, Any] = {
    "id": "merged_keys",
    "initial_state": "IDLE",
    "settings": {"debounce_ms": 150},
    "states": {
        "IDLE": {"transitions": [{"on_type": "text", "target": "CONFIRM"}]},
        "CONFIRM": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "mock",
                    "operation": "confirm",
                    "params": {"ref": "{{ message.id }}"},
                    "result_key": "confirmed",
                },
                {"action": "send_text", "text": "noted: {{ message.text }}"},
            ],
            "next": "IDLE",
        },
    },
}


def recording_connector() -> ScriptedConnector:
    return ScriptedConnector({"confirm": OperationScript(result={"ok": True})})


async def keys_of(texts: Sequence[tuple[str, str]]) -> list[str]:
    """The idempotency keys of the calls made for texts accepted back to back (one batch)."""
    connector = recording_connector()
    async with bootstrap_test_runtime(flow=FLOW, connectors={"mock": connector}) as runtime:
        for message_id, text in texts:
            assert await runtime.accept(text_message(CONTACT, text, message_id=message_id))
        await runtime.sequencer.drain()
    return [call.idempotency_key for call in connector.calls]


async def test_a_merged_turn_keys_its_calls_by_the_first_text_as_that_text_alone_would() -> None:
    [alone] = await keys_of([("m-1", "I want")])
    merged = await keys_of([("m-1", "I want"), ("m-2", "a cut"), ("m-3", "tomorrow")])
    assert merged == [alone]
    assert alone.startswith(f"test:{CONTACT}:m-1/")


async def test_the_merged_turn_is_answered_on_the_last_text_and_sees_the_first_id() -> None:
    store, connector = InMemoryTenantStore(), recording_connector()
    async with bootstrap_test_runtime(
        flow=FLOW, stores=store, connectors={"mock": connector}
    ) as runtime:
        for message_id, text in [("m-1", "I want"), ("m-2", "a cut")]:
            assert await runtime.accept(text_message(CONTACT, text, message_id=message_id))
        await runtime.sequencer.drain()
    assert runtime.metrics.registry.get_sample_value("botfleet_merged_messages_total") == 1
    # `message.id` is the turn's id too: a flow that sends it as a reference keeps it on replay.
    assert [call.params for call in connector.calls] == [{"ref": "m-1"}]
    first, last = await store.journal.get("m-1"), await store.journal.get("m-2")
    assert first is not None and (first.status, len(first.replies)) == ("done", 0)
    assert last is not None and last.status == "done"
    assert [r["text"] for r in last.replies] == ["noted: I want\na cut"]
    assert [r["output"]["text"] for r in await store.outbox.since(contact_id=CONTACT)] == [
        "noted: I want\na cut"
    ]


async def test_texts_answered_one_by_one_each_key_their_own_calls() -> None:
    connector = recording_connector()
    async with bootstrap_test_runtime(flow=FLOW, connectors={"mock": connector}) as runtime:
        one = await runtime.handle(text_message(CONTACT, "one", message_id="m-1"))
        two = await runtime.handle(text_message(CONTACT, "two", message_id="m-2"))
    assert (one.outputs, two.outputs) == ((Text("noted: one"),), (Text("noted: two"),))
    keys = [call.idempotency_key for call in connector.calls]
    assert [key.split("/", 1)[0] for key in keys] == [f"test:{CONTACT}:m-1", f"test:{CONTACT}:m-2"]
