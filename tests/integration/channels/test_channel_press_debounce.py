"""`settings.debounce_ms` never merges a press: a button, a list row, or an option sent by
position (`#opt<n>.<fingerprint>`, which reaches the runtime as the typed answer "<n>")."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from channel_harness import fixture

from botfleet.adapters.channels.telegram import parse_update
from botfleet.adapters.channels.whatsapp import parse_webhook
from botfleet.domain.messages import OPTION_MENU, InboundMessage, MessageType
from botfleet.testing.runtime import bootstrap_test_runtime, choice_message, text_message
from botfleet.testing.stores import InMemoryTenantStore

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CONTACT = "16505551234"


def echo_flow(debounce_ms: int) -> dict[str, Any]:
    return {
        "id": "echo_debounced",
        "initial_state": "ECHO",
        "settings": {"debounce_ms": debounce_ms},
        "states": {
            "ECHO": {
                "on_enter": [{"action": "send_text", "text": "you said: {{ message.text }}"}],
                "fallback": "ECHO",
            }
        },
    }


def whatsapp_press(option_id: str, message_id: str) -> InboundMessage:
    payload = fixture("whatsapp", "interactive_button_reply")
    raw = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    raw["id"] = message_id
    raw["interactive"]["button_reply"]["id"] = option_id
    (message,) = parse_webhook(payload, phone_number_id=None, received_at=NOW).messages
    return message


def telegram_press(data: str) -> InboundMessage:
    payload = fixture("telegram", "callback_query")
    payload["callback_query"]["data"] = data
    message = parse_update(payload, received_at=NOW).message
    assert message is not None
    return message


async def outbox_texts(store: InMemoryTenantStore, contact_id: str) -> list[str]:
    return [r["output"]["text"] for r in await store.outbox.since(contact_id=contact_id)]


async def send_all(runtime: Any, messages: Sequence[InboundMessage], gap_s: float) -> None:
    turns = []
    for message in messages:
        turns.append(asyncio.create_task(runtime.handle(message)))
        await asyncio.sleep(gap_s)
    await asyncio.gather(*turns)


async def test_a_press_sent_by_position_after_texts_is_its_own_turn_after_theirs() -> None:
    press = whatsapp_press("#opt2.0123456789", "wamid.press")
    assert press.type is MessageType.TEXT and press.extra[OPTION_MENU] == "0123456789"
    messages = [
        text_message(CONTACT, "hi"),
        text_message(CONTACT, "I want"),
        press,
        text_message(CONTACT, "a cut"),
    ]
    store = InMemoryTenantStore()
    async with bootstrap_test_runtime(flow=echo_flow(200), stores=store) as runtime:
        await send_all(runtime, messages, 0.01)
    assert await outbox_texts(store, CONTACT) == [
        "you said: hi\nI want",
        "you said: 2",
        "you said: a cut",
    ]


async def test_a_press_sent_by_position_takes_no_texts_in_behind_it() -> None:
    chat = "111111111"
    messages = [
        telegram_press("#opt1.0123456789"),
        text_message(chat, "a"),
        text_message(chat, "b"),
    ]
    store = InMemoryTenantStore()
    async with bootstrap_test_runtime(flow=echo_flow(200), stores=store) as runtime:
        await send_all(runtime, messages, 0.01)
    assert await outbox_texts(store, chat) == ["you said: 1", "you said: a\nb"]


async def test_a_button_press_before_texts_is_not_merged_with_them() -> None:
    messages = [
        choice_message(CONTACT, "ping", title="Ping"),
        text_message(CONTACT, "a"),
        text_message(CONTACT, "b"),
    ]
    store = InMemoryTenantStore()
    async with bootstrap_test_runtime(flow=echo_flow(200), stores=store) as runtime:
        await send_all(runtime, messages, 0.01)
    assert await outbox_texts(store, CONTACT) == ["you said: Ping", "you said: a\nb"]
