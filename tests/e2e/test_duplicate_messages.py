"""A message id seen before is processed once; its redelivery gets the same replies back."""

from __future__ import annotations

import asyncio
from pathlib import Path

from demo_chat import texts

from botfleet.adapters.connectors.scripted import OperationScript, ScriptedConnector
from botfleet.domain.tenant_config import TenantConfig
from botfleet.testing.runtime import ChatClient, running_app

SLOW_FLOW = {
    "id": "slow_v1",
    "initial_state": "ASK",
    "states": {
        "ASK": {
            "on_enter": [
                {
                    "action": "invoke_connector",
                    "connector": "mock",
                    "operation": "lookup",
                    "params": {"text": "{{ message.text }}"},
                    "result_key": "answer",
                },
                {"action": "send_text", "text": "answer: {{ data.answer }}"},
            ],
            "fallback": "ASK",
        }
    },
}


async def test_a_redelivered_message_is_processed_once(chat: ChatClient) -> None:
    body = {"contact_id": "c1", "text": "hi", "message_id": "wamid.1"}
    first = await chat.post(body)
    book = await chat.press("c1", "menu_book")
    again = await chat.post(body)

    assert first["duplicate"] is False
    assert again == {**first, "duplicate": True}
    state = await chat.runtime.states.load("c1")
    assert state is not None
    assert (state.node, state.version) == ("BOOK_SERVICE", 2)  # the redelivery moved nothing
    rows = await chat.messages("c1")
    assert [r["output"] for r in rows] == [*first["replies"], *book]


async def test_a_redelivery_through_the_async_path_is_refused_as_duplicate(
    chat: ChatClient,
) -> None:
    body = {"contact_id": "c1", "text": "hi", "message_id": "wamid.2"}
    await chat.post(body)
    accepted = await chat.post(body, wait=False)
    assert accepted == {"message_id": "wamid.2", "duplicate": True, "replies": []}
    await chat.runtime.sequencer.drain()
    assert len(await chat.messages("c1")) == 1


async def test_a_redelivery_during_processing_waits_and_gets_the_same_replies(
    demo_config: TenantConfig, tmp_path: Path
) -> None:
    crm = ScriptedConnector({"lookup": OperationScript(result="42", delay_ms=100)}, category="mock")
    config = demo_config.model_copy(update={"flow_path": None, "flow": SLOW_FLOW})
    async with running_app(config, state_db=tmp_path / "s.db", connectors={"mock": crm}) as chat:
        body = {"contact_id": "c1", "text": "question", "message_id": "m-1"}
        first, again = await asyncio.gather(chat.post(body), chat.post(body))
        assert texts(first["replies"]) == ["answer: 42"]
        assert sorted([first["duplicate"], again["duplicate"]]) == [False, True]
        assert again["replies"] == first["replies"]
        assert len(crm.calls) == 1
        assert len(await chat.messages("c1")) == 1


async def test_ids_are_global_an_id_another_contact_used_is_refused_and_changes_nothing(
    chat: ChatClient,
) -> None:
    """Not answered as a duplicate: that would hand c2 the replies c1 got."""
    first = await chat.post({"contact_id": "c1", "text": "hi", "message_id": "same-id"})
    other = await chat.http.post(
        "/inbound", json={"contact_id": "c2", "text": "hi", "message_id": "same-id"}
    )
    assert other.status_code == 409
    assert "already used by another contact" in other.json()["detail"]
    assert await chat.runtime.states.load("c2") is None
    again = await chat.post({"contact_id": "c1", "text": "hi", "message_id": "same-id"})
    assert again["duplicate"] is True and again["replies"] == first["replies"]
