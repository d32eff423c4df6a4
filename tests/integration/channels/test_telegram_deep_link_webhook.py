"""A deep link (`t.me/<bot>?start=order_1234`) through the real data plane, with the recipe
docs/channels.md gives: a global transition reads the parameter, for a new contact and for one
who opens the link again from any state."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channel_harness import (
    BOT_TOKEN,
    FLOW,
    TELEGRAM_CHANNEL,
    WEBHOOK_SECRET,
    DataPlane,
    bot_api,
    channel_app,
    fixture,
)

from botfleet.adapters.channels.telegram import SECRET_HEADER

DEEP_LINK_FLOW: dict[str, Any] = {
    **copy.deepcopy(FLOW),
    "global_transitions": [
        {
            "condition": "message.text.startswith('/start ')",
            "set_data": {"ref": "{{ message.text[7:] | trim }}"},
            "target": "ORDER",
        }
    ],
}
DEEP_LINK_FLOW["states"]["ORDER"] = {
    "on_enter": [{"action": "send_text", "text": "Your order {{ data.ref }}"}],
    "fallback": "MENU",
}


@pytest.fixture
async def dp() -> AsyncIterator[DataPlane]:
    async with channel_app(TELEGRAM_CHANNEL, bot_api(), flow=DEEP_LINK_FLOW) as running:
        yield running


def start(update_id: int, text: str) -> Any:
    update = fixture("telegram", "command_start")
    update["update_id"], update["message"]["message_id"] = update_id, update_id
    update["message"]["text"] = text
    return update


def texts(dp: DataPlane) -> list[str]:
    return [body["text"] for body in dp.provider.bodies(f"/bot{BOT_TOKEN}/sendMessage")]


async def test_a_deep_links_parameter_reaches_the_flow_first_time_and_again(dp: DataPlane) -> None:
    headers = {SECRET_HEADER: WEBHOOK_SECRET}
    await dp.client.post("/webhook", json=start(1, "/start order_1234"), headers=headers)
    await dp.settle()
    await dp.client.post("/webhook", json=start(2, "hello"), headers=headers)  # back to MENU
    await dp.settle()
    await dp.client.post("/webhook", json=start(3, "/start order_99"), headers=headers)
    await dp.settle()
    assert texts(dp) == [
        "Your order order_1234",
        "Hi! What would you like to do?",
        "Your order order_99",
    ]
