"""Telegram forum topics: a topic is a conversation of its own, and every reply goes back into
the topic it answers (`message_thread_id`), never into the General topic."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
import structlog
from prometheus_client import CollectorRegistry

from botfleet.adapters.channels.telegram import TelegramBotSender, parse_update
from botfleet.adapters.channels.telegram.contact_ids import chat_target, contact_of
from botfleet.domain.messages import MessageType
from botfleet.domain.outputs import Buttons, ListMenu, Option, Section, TemplateMessage, Text

FIXTURES = Path(__file__).parents[3] / "fixtures" / "telegram"
RECEIVED = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
GROUP = -1001234567890
TOPIC = f"{GROUP}:topic:42"
BOT_ID = 7000000001

Send = Callable[..., Awaitable[list[dict[str, Any]]]]


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def contact(update: Any) -> str:
    parsed = parse_update(update, received_at=RECEIVED)
    assert parsed.message is not None
    return parsed.message.contact_id


# ---------------------------------------------------------------- inbound: which conversation


def test_a_message_in_a_forum_topic_is_the_topic_s_conversation() -> None:
    parsed = parse_update(load("forum_topic_mention"), received_at=RECEIVED)
    assert parsed.message is not None
    assert parsed.message.contact_id == TOPIC
    # Message ids count per chat, topics or not: the id stays the chat's.
    assert parsed.message.message_id == f"{GROUP}:77"
    assert parsed.group is not None and parsed.group.to_bot(BOT_ID, "peluqueria_ana_bot")


def test_two_topics_of_one_forum_are_two_conversations() -> None:
    other = load("forum_topic_mention")
    other["message"]["message_thread_id"] = 43
    assert contact(other) == f"{GROUP}:topic:43" != contact(load("forum_topic_mention"))


def test_the_general_topic_is_the_chat_itself() -> None:
    # Messages of the General topic carry no thread: the group's conversation, as before the
    # group became a forum.
    update = load("forum_topic_mention")
    for key in ("message_thread_id", "is_topic_message", "reply_to_message"):
        del update["message"][key]
    assert contact(update) == str(GROUP)


def test_a_reply_thread_of_a_supergroup_without_topics_is_no_topic() -> None:
    # Without `is_topic_message`, `message_thread_id` names a thread of replies: answering
    # "into" it would fail (or land nowhere useful), so the contact stays the chat.
    update = load("group_reply_to_bot")
    update["message"]["message_thread_id"] = 42
    assert contact(update) == str(GROUP)


@pytest.mark.parametrize("thread", [0, -5, "42", True, 2**60, None])
def test_an_unusable_thread_id_leaves_the_chat(thread: object) -> None:
    update = load("forum_topic_mention")
    update["message"]["message_thread_id"] = thread
    assert contact(update) == str(GROUP)


def test_a_button_pressed_in_a_topic_answers_in_that_topic() -> None:
    parsed = parse_update(load("forum_callback_query"), received_at=RECEIVED)
    assert parsed.message is not None
    assert parsed.message.type is MessageType.BUTTON_REPLY
    assert parsed.message.contact_id == TOPIC
    assert parsed.message.extra["reply_to"] == f"{GROUP}:78"


def test_a_press_under_a_message_too_old_to_see_goes_to_the_chat() -> None:
    # InaccessibleMessage: chat, message_id and date 0, nothing about the topic.
    update = load("forum_callback_query")
    origin = update["callback_query"]["message"]
    update["callback_query"]["message"] = {
        "chat": origin["chat"],
        "message_id": origin["message_id"],
        "date": 0,
    }
    assert contact(update) == str(GROUP)


def test_private_chats_and_groups_keep_their_contact_ids() -> None:
    assert contact(load("text")) == "111111111"
    assert contact(load("callback_query")) == "111111111"
    assert contact(load("group_mention")) == str(GROUP)


@pytest.mark.parametrize(
    ("contact_id", "target"),
    [
        ("111111111", {"chat_id": 111111111}),
        (str(GROUP), {"chat_id": GROUP}),
        (TOPIC, {"chat_id": GROUP, "message_thread_id": 42}),
        ("@salon_news", {"chat_id": "@salon_news"}),
    ],
)
def test_a_contact_id_addresses_its_chat_and_topic(
    contact_id: str, target: dict[str, object]
) -> None:
    assert chat_target(contact_id) == target


def test_the_contact_read_from_a_message_addresses_the_message_s_topic() -> None:
    message = load("forum_topic_mention")["message"]
    target = chat_target(contact_of(str(message["chat"]["id"]), message))
    assert target == {"chat_id": GROUP, "message_thread_id": message["message_thread_id"]}


# ---------------------------------------------------------------- outbound: into the topic


@pytest.fixture
def send_to_topic(sender: TelegramBotSender, api: respx.MockRouter) -> Send:
    async def sent(*outputs: Any) -> list[dict[str, Any]]:
        await sender.send(TOPIC, outputs)
        return [json.loads(c.request.content) for c in api["sendMessage"].calls]

    return sent


async def test_every_message_of_a_turn_goes_into_the_topic(send_to_topic: Send) -> None:
    menu = ListMenu("Pick", "Days", (Section("Week", (Option("d1", "Tue", "3 slots"),)),))
    bodies = await send_to_topic(
        Text("a" * 5000),  # two messages
        Buttons("x" * 4100, (Option("book", "Book"),)),  # a text, then the keyboard
        menu,
        TemplateMessage("reminder", "es", fallback_text="See you tomorrow"),
    )
    assert len(bodies) == 6
    assert all((b["chat_id"], b["message_thread_id"]) == (GROUP, 42) for b in bodies)


async def test_a_chat_s_messages_carry_no_thread(send: Send) -> None:
    bodies = await send(Text("hi"), Buttons("Pick", (Option("a", "A"),)))
    assert all("message_thread_id" not in b for b in bodies)


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("api_error_400_thread_not_found", "telegram_topic_not_found"),
        ("api_error_400_topic_closed", "telegram_topic_closed"),
    ],
)
async def test_a_deleted_or_closed_topic_stops_the_turn_s_messages(
    sender: TelegramBotSender,
    api: respx.MockRouter,
    registry: CollectorRegistry,
    name: str,
    event: str,
) -> None:
    route = api["sendMessage"].mock(return_value=httpx.Response(400, json=load(name)))
    with structlog.testing.capture_logs() as logs:
        await sender.send(TOPIC, [Text("one"), Text("two")])
    assert route.call_count == 1  # the second would fail the same way
    assert [e["event"] for e in logs] == [event]
    assert registry.get_sample_value("botfleet_telegram_errors_total", {"event": event}) == 1
