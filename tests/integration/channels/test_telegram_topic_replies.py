"""A forum supergroup through the real data plane app: the bot answers in the topic it was
addressed in, a button pressed there is answered there, and each topic keeps its own
conversation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from channel_harness import (
    TELEGRAM_CHANNEL,
    WEBHOOK_SECRET,
    DataPlane,
    FakeProvider,
    channel_app,
    fixture,
)

from botfleet.adapters.channels.telegram import SECRET_HEADER

AUTH = {SECRET_HEADER: WEBHOOK_SECRET}
GROUP = -1001234567890
BOT_CHANNEL = {
    **TELEGRAM_CHANNEL,
    "bot_token": "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    "bot_username": "peluqueria_ana_bot",
}


@pytest.fixture
async def dp() -> AsyncIterator[DataPlane]:
    ok = fixture("telegram", "api_send_ok")
    async with channel_app(BOT_CHANNEL, FakeProvider(lambda _: httpx.Response(200, json=ok))) as dp:
        yield dp


async def post(dp: DataPlane, update: Any) -> None:
    response = await dp.client.post("/webhook", json=update, headers=AUTH)
    assert response.json() == {"ok": True, "accepted": True}
    await dp.settle()


def sent(dp: DataPlane) -> list[dict[str, Any]]:
    return dp.provider.bodies("/sendMessage")


def in_topic(thread: int, update_id: int, message_id: int) -> Any:
    update = fixture("telegram", "forum_topic_mention")
    update["update_id"] = update_id
    update["message"].update(message_id=message_id, message_thread_id=thread)
    update["message"]["reply_to_message"].update(message_id=thread, message_thread_id=thread)
    return update


async def test_the_bot_answers_in_the_topic_and_so_does_a_press(dp: DataPlane) -> None:
    await post(dp, fixture("telegram", "forum_topic_mention"))
    (menu,) = sent(dp)
    assert (menu["chat_id"], menu["message_thread_id"]) == (GROUP, 42)
    assert "inline_keyboard" in menu["reply_markup"]

    await post(dp, fixture("telegram", "forum_callback_query"))
    booked = sent(dp)[-1]
    assert booked == {
        "chat_id": GROUP,
        "message_thread_id": 42,
        "text": "Booked, Book appointment!",
    }
    assert dp.provider.bodies("/answerCallbackQuery") == [
        {"callback_query_id": "4382bfdwdsb323b2e7"}
    ]


async def test_each_topic_is_a_conversation_of_its_own(dp: DataPlane) -> None:
    await post(dp, in_topic(42, 872000060, 90))
    await post(dp, in_topic(43, 872000061, 91))
    await post(dp, fixture("telegram", "forum_callback_query"))  # pressed in topic 42
    assert [b["message_thread_id"] for b in sent(dp)] == [42, 43, 42]
    states = dp.runtime.states
    booked = await states.load(f"{GROUP}:topic:42")
    waiting = await states.load(f"{GROUP}:topic:43")
    assert booked is not None and booked.node == "BOOKED"
    assert waiting is not None and waiting.node == "MENU"  # the press in 42 was not 43's
    assert await states.load(str(GROUP)) is None  # nor the General topic's


async def test_the_general_topic_is_answered_without_a_thread(dp: DataPlane) -> None:
    general = fixture("telegram", "forum_topic_mention")
    for key in ("message_thread_id", "is_topic_message", "reply_to_message"):
        del general["message"][key]
    await post(dp, general)
    (menu,) = sent(dp)
    assert menu["chat_id"] == GROUP
    assert "message_thread_id" not in menu
