"""Telegram's "typing…": `sendChatAction` with action "typing" into the contact's chat (its forum
topic, the supergroup a group became), one attempt, never to a chat known unreachable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from botfleet.adapters.channels.telegram import TelegramBotSender
from botfleet.domain.outputs import Text
from botfleet.ports.channels import TypingIndicator, TypingRule

FIXTURES = Path(__file__).parents[3] / "fixtures" / "telegram"
CHAT = "111111111"
GROUP = "-1001234567890"
OK = httpx.Response(200, json={"ok": True, "result": True})


@pytest.fixture
def actions(api: respx.MockRouter) -> respx.Route:
    return api.post("/sendChatAction", name="sendChatAction").mock(return_value=OK)


def bodies(route: respx.Route) -> list[dict[str, Any]]:
    return [json.loads(call.request.content) for call in route.calls]


@pytest.mark.parametrize(
    ("contact_id", "body"),
    [
        (CHAT, {"chat_id": 111111111, "action": "typing"}),
        (
            f"{GROUP}:topic:42",
            {"chat_id": -1001234567890, "message_thread_id": 42, "action": "typing"},
        ),
    ],
)
async def test_typing_is_a_chat_action(
    sender: TelegramBotSender, actions: respx.Route, contact_id: str, body: dict[str, Any]
) -> None:
    assert isinstance(sender, TypingIndicator)
    assert await sender.show_typing(contact_id, "8841") is True
    assert bodies(actions) == [body]


async def test_a_group_that_became_a_supergroup_is_shown_it_there(
    sender: TelegramBotSender, actions: respx.Route
) -> None:
    sender.chats.mark_moved("-4000001", GROUP)
    await sender.show_typing("-4000001", "17")
    assert bodies(actions) == [{"chat_id": -1001234567890, "action": "typing"}]


async def test_a_failed_showing_is_tried_once(
    sender: TelegramBotSender, actions: respx.Route
) -> None:
    actions.mock(return_value=httpx.Response(502))
    assert await sender.show_typing(CHAT, "8841") is False
    assert actions.call_count == 1


async def test_no_showing_to_a_chat_that_blocked_the_bot(
    sender: TelegramBotSender, api: respx.MockRouter, actions: respx.Route
) -> None:
    blocked = json.loads((FIXTURES / "api_error_403_blocked.json").read_text(encoding="utf-8"))
    api["sendMessage"].mock(return_value=httpx.Response(403, json=blocked))
    await sender.send(CHAT, [Text("hi")])
    assert await sender.show_typing(CHAT, "8841") is False
    assert actions.call_count == 0


@pytest.mark.parametrize(
    ("after_ms", "rule"),
    [(1000, TypingRule(1.0, 5.0)), (300, TypingRule(0.3, 5.0)), (None, None)],
)
def test_the_rule_follows_the_setting(
    sender: TelegramBotSender, after_ms: int | None, rule: TypingRule | None
) -> None:
    sender.settings = sender.settings.model_copy(update={"typing_after_ms": after_ms})
    assert sender.typing_rule(CHAT) == rule
