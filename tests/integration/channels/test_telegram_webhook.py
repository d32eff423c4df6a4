"""Telegram webhook through the real data plane app: secret token, exactly-once, fast
acknowledgement, inline keyboards out, callback queries in (and answered)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from channel_harness import (
    BOT_TOKEN,
    LONG_IDS_FLOW,
    TELEGRAM_CHANNEL,
    WEBHOOK_SECRET,
    DataPlane,
    FakeProvider,
    bot_api,
    channel_app,
    fixture,
)

from botfleet.adapters import registry
from botfleet.adapters.channels.telegram import SECRET_HEADER
from botfleet.domain.built_in_texts import BUILT_IN_TEXTS

CHAT = 111111111
AUTH = {SECRET_HEADER: WEBHOOK_SECRET}


@pytest.fixture(autouse=True, params=["route", "fast-path"])
def fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Every test runs with the data plane's `TelegramWebhookFastPath` and with the route alone."""
    if request.param == "route":
        monkeypatch.delitem(registry.FAST_PATHS, "telegram")
    return bool(request.param == "fast-path")


@pytest.fixture
async def dp() -> AsyncIterator[DataPlane]:
    async with channel_app(TELEGRAM_CHANNEL, bot_api()) as running:
        yield running


async def post(dp: DataPlane, update: Any, headers: dict[str, str] = AUTH) -> httpx.Response:
    return await dp.client.post("/webhook", json=update, headers=headers)


def calls(provider: FakeProvider, method: str) -> list[dict[str, Any]]:
    return provider.bodies(f"/bot{BOT_TOKEN}/{method}")


async def test_a_text_update_is_answered_with_an_inline_keyboard(dp: DataPlane) -> None:
    response = await post(dp, fixture("telegram", "text"))
    assert response.status_code == 200
    assert response.json() == {"ok": True, "accepted": True}
    await dp.settle()
    assert calls(dp.provider, "sendMessage") == [
        {
            "chat_id": CHAT,
            "text": "Hi! What would you like to do?",
            "reply_markup": {
                "inline_keyboard": [
                    [{"text": "Book appointment", "callback_data": "menu_book"}],
                    [{"text": "Cancel appointment", "callback_data": "menu_cancel"}],
                ]
            },
        }
    ]
    entry = await dp.runtime.journal.get(f"{CHAT}:1365")
    assert entry is not None
    assert entry.message.contact_name == "Ana García"


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({SECRET_HEADER: ""}, 401), ({SECRET_HEADER: "wrong"}, 403)],
)
async def test_updates_without_the_secret_token_are_refused(
    dp: DataPlane, headers: dict[str, str], status: int
) -> None:
    response = await post(dp, fixture("telegram", "text"), headers)
    assert response.status_code == status
    await dp.settle()
    assert dp.messages_in == 0
    assert dp.provider.requests == []


async def test_a_pressed_button_is_a_payload_and_its_query_is_answered(dp: DataPlane) -> None:
    response = await post(dp, fixture("telegram", "callback_query"))
    assert response.json()["accepted"] is True
    await dp.settle()
    assert calls(dp.provider, "answerCallbackQuery") == [
        {"callback_query_id": "4382bfdwdsb323b2d9"}
    ]
    assert calls(dp.provider, "sendMessage") == [
        {"chat_id": CHAT, "text": "Booked, Book appointment!"}
    ]


async def test_a_redelivered_callback_is_processed_and_answered_once(dp: DataPlane) -> None:
    await post(dp, fixture("telegram", "callback_query"))
    await dp.settle()
    again = await post(dp, fixture("telegram", "callback_query"))
    await dp.settle()
    assert again.status_code == 200
    assert again.json()["accepted"] is False
    assert len(calls(dp.provider, "answerCallbackQuery")) == 1
    assert len(calls(dp.provider, "sendMessage")) == 1


async def test_a_redelivered_update_is_processed_once(dp: DataPlane) -> None:
    for _ in range(3):
        assert (await post(dp, fixture("telegram", "text"))).status_code == 200
    await dp.settle()
    assert len(calls(dp.provider, "sendMessage")) == 1
    assert dp.metric("botfleet_duplicate_messages_total") == 2


async def test_the_same_message_id_in_two_chats_is_two_messages(dp: DataPlane) -> None:
    other = fixture("telegram", "text")
    other["message"]["chat"]["id"] = 222222222
    await post(dp, fixture("telegram", "text"))
    await post(dp, other)
    await dp.settle()
    assert sorted(b["chat_id"] for b in calls(dp.provider, "sendMessage")) == [CHAT, 222222222]


async def test_the_webhook_answers_while_the_turn_is_still_running() -> None:
    provider = bot_api()
    provider.gate = asyncio.Event()
    async with channel_app(TELEGRAM_CHANNEL, provider) as dp:
        response = await asyncio.wait_for(post(dp, fixture("telegram", "text")), timeout=5)
        assert response.status_code == 200
        for _ in range(100):
            if provider.waiting:
                break
            await asyncio.sleep(0.01)
        assert provider.waiting == 1
        provider.gate.set()
        await dp.settle()
        assert len(calls(provider, "sendMessage")) == 1


@pytest.mark.parametrize(
    ("name", "notice"),
    [
        # Content the flow cannot read is told so before the menu (flow-dsl.md, `media_text`),
        # in the contact's language (the fixtures' `language_code`).
        ("poll", [BUILT_IN_TEXTS["es"].media]),
        ("dice", [BUILT_IN_TEXTS["es"].media]),
        ("sticker", [BUILT_IN_TEXTS["es"].media]),
        ("venue", []),  # a location
    ],
)
async def test_other_content_reaches_the_flow_and_gets_its_fallback(
    dp: DataPlane, name: str, notice: list[str]
) -> None:
    await post(dp, fixture("telegram", name))
    await dp.settle()
    *before, reply = calls(dp.provider, "sendMessage")
    assert [sent["text"] for sent in before] == notice
    assert reply["text"] == "Hi! What would you like to do?"
    assert dp.metric("botfleet_turn_errors_total") == 0


async def test_a_reaction_reaches_the_flow_but_is_not_answered_with_the_fallback(
    dp: DataPlane,
) -> None:
    await post(dp, fixture("telegram", "message_reaction"))
    await dp.settle()
    assert dp.messages_in == 1  # the flow saw it (`on_type: reaction` could answer it)
    assert calls(dp.provider, "sendMessage") == []
    assert dp.metric("botfleet_turn_errors_total") == 0


@pytest.mark.parametrize("name", ["edited_message", "my_chat_member", "group_new_member"])
async def test_edits_and_notices_are_acknowledged_and_ignored(dp: DataPlane, name: str) -> None:
    response = await post(dp, fixture("telegram", name))
    assert response.json() == {"ok": True, "accepted": False}
    await dp.settle()
    assert dp.messages_in == 0
    assert dp.provider.requests == []


# ---------------------------------------------------------------- groups (privacy mode off)

GROUP = -1001234567890
#: The fixtures' bot: its id is the token's number; its username comes from getMe.
GROUP_BOT_TOKEN = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
GROUP_BOT_CHANNEL = {**TELEGRAM_CHANNEL, "bot_token": GROUP_BOT_TOKEN}


def bot_api_with_get_me() -> FakeProvider:
    me, ok = fixture("telegram", "api_get_me"), fixture("telegram", "api_send_ok")
    return FakeProvider(
        lambda request: httpx.Response(200, json=me if request.url.path.endswith("/getMe") else ok)
    )


@pytest.fixture
async def group_dp() -> AsyncIterator[DataPlane]:
    async with channel_app(GROUP_BOT_CHANNEL, bot_api_with_get_me()) as running:
        yield running


def group_calls(dp: DataPlane, method: str) -> list[dict[str, Any]]:
    return dp.provider.bodies(f"/{method}")


def group_update(name: str, update_id: int, message_id: int, text: str) -> Any:
    update = fixture("telegram", name)
    update["update_id"] = update_id
    update["message"].update(message_id=message_id, text=text)
    return update


async def test_group_chatter_not_addressed_to_the_bot_is_skipped(group_dp: DataPlane) -> None:
    response = await post(group_dp, fixture("telegram", "group_text"))
    assert response.json() == {"ok": True, "accepted": False}
    await group_dp.settle()
    assert group_dp.messages_in == 0
    assert group_dp.provider.requests == []  # no getMe either: nothing needed the username


async def test_a_group_message_mentioning_the_bot_is_answered_in_the_group(
    group_dp: DataPlane,
) -> None:
    response = await post(group_dp, fixture("telegram", "group_mention"))
    assert response.json() == {"ok": True, "accepted": True}
    await group_dp.settle()
    (menu,) = group_calls(group_dp, "sendMessage")
    assert (menu["chat_id"], menu["text"]) == (GROUP, "Hi! What would you like to do?")
    # "@peluqueria_ana_bot 1" reads "1": the menu's first option.
    await post(group_dp, group_update("group_mention", 872000040, 50, "@peluqueria_ana_bot 1"))
    await group_dp.settle()
    assert group_calls(group_dp, "sendMessage")[-1]["text"] == "Booked, 1!"
    assert len(group_calls(group_dp, "getMe")) == 1  # asked once


async def test_a_reply_to_the_bot_is_answered_and_a_press_in_the_group_too(
    group_dp: DataPlane,
) -> None:
    await post(group_dp, fixture("telegram", "group_reply_to_bot"))
    press = fixture("telegram", "callback_query")
    press["callback_query"]["message"]["chat"] = fixture("telegram", "group_text")["message"][
        "chat"
    ]
    await post(group_dp, press)
    await group_dp.settle()
    assert group_dp.messages_in == 2
    assert [c["chat_id"] for c in group_calls(group_dp, "sendMessage")] == [GROUP, GROUP]
    assert group_calls(group_dp, "getMe") == []  # the reply's author id was enough


async def test_private_chats_are_answered_without_mentions(group_dp: DataPlane) -> None:
    await post(group_dp, fixture("telegram", "text"))
    await group_dp.settle()
    assert len(group_calls(group_dp, "sendMessage")) == 1


async def test_send_retries_honour_retry_after_inside_the_app() -> None:
    answers = iter(
        [
            httpx.Response(
                429, json={**fixture("telegram", "api_error_429"), "parameters": {"retry_after": 0}}
            ),
            httpx.Response(200, json=fixture("telegram", "api_send_ok")),
        ]
    )
    provider = FakeProvider(lambda request: next(answers))
    async with channel_app(TELEGRAM_CHANNEL, provider) as dp:
        await post(dp, fixture("telegram", "text"))
        await dp.settle()
        assert len(calls(provider, "sendMessage")) == 2
        assert dp.metric("botfleet_telegram_retries_total") == 1
        exported = (await dp.client.get("/metrics")).text
        assert (
            'botfleet_telegram_api_requests_total{method="sendMessage",outcome="ok"} 1.0'
            in exported
        )


# ---------------------------------------------------------------- ids sent by position


@pytest.fixture
async def long_ids() -> AsyncIterator[DataPlane]:
    async with channel_app(TELEGRAM_CHANNEL, bot_api(), flow=LONG_IDS_FLOW) as running:
        yield running


def press(data: str, number: int) -> Any:
    """A callback query pressing the button whose `callback_data` is `data`."""
    update = fixture("telegram", "callback_query")
    update["update_id"] = 872100000 + number
    update["callback_query"]["id"] = f"positional-{number}"
    update["callback_query"]["data"] = data
    return update


def keyboard_data(dp: DataPlane) -> list[str]:
    """The `callback_data` of the last keyboard sent."""
    last = [c for c in calls(dp.provider, "sendMessage") if "reply_markup" in c][-1]
    return [row[0]["callback_data"] for row in last["reply_markup"]["inline_keyboard"]]


def last_text(dp: DataPlane) -> str:
    return str(calls(dp.provider, "sendMessage")[-1]["text"])


async def test_a_press_of_an_older_keyboard_sent_by_position_picks_nothing_of_the_new_one(
    long_ids: DataPlane,
) -> None:
    dp = long_ids
    await post(dp, fixture("telegram", "text"))
    await dp.settle()
    book, cancel = keyboard_data(dp)
    assert book.startswith("#opt1.") and cancel.startswith("#opt2.")
    await post(dp, press(book, 1))
    await dp.settle()
    assert last_text(dp) == "Pick a time"
    ten, eleven = keyboard_data(dp)
    assert (ten[:6], eleven[:6]) == ("#opt1.", "#opt2.") and eleven != cancel
    # The contact scrolls up and presses the menu's "Cancel": not the slot list's "11:00".
    await post(dp, press(cancel, 2))
    await dp.settle()
    assert last_text(dp) == "Pick a time"  # the slot list again, nothing booked or cancelled
    assert keyboard_data(dp) == [ten, eleven]
    await post(dp, press(eleven, 3))  # the current list's button is still that option
    await dp.settle()
    assert last_text(dp) == "Booked 11:00"
    assert len(calls(dp.provider, "answerCallbackQuery")) == 3


async def test_a_press_sent_by_position_before_fingerprints_is_the_last_menu_s_option(
    long_ids: DataPlane,
) -> None:
    dp = long_ids
    await post(dp, fixture("telegram", "text"))
    await dp.settle()
    await post(dp, press("#opt2", 1))
    await dp.settle()
    assert last_text(dp) == "Cancelled"
